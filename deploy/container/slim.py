"""Makes the image's virtualenv small (build stage only): Oracle's SDK without its service clients, and bytecode
for what the gateway imports.

Bytecode: a read-only root filesystem cannot take the ``.pyc`` files Python writes on first import, so they are
made here, but only for the modules that importing every ``ocigate`` module loads (compiling every file of every
dependency would add about 28 MB); a module imported later (a database dialect, say) is compiled in memory once
per process.

The SDK:

The SDK is about 500 MB, nearly all of it generated clients for some 200 OCI services (``oci.core``,
``oci.database``...), imported lazily by name. ocigate uses only the SDK's signers and their plumbing
(``oci.auth``, ``oci.signer``, ``oci.config``, ``oci.regions``...), which in turn use the ``identity`` client.
This keeps every module that is not a service client, and every service client that a kept module imports or
uses in code (names in comments and docstrings do not count); the add-ons (``oci.addons``, the agent kit) and
client-side encryption (``oci.encryption``), which nothing imports unasked, go too. It then imports what the gateway's principals use, so a pruning that went too far fails the
build rather than a deployment.
"""

import importlib
import pkgutil
import re
import shutil
import sys
from pathlib import Path


def prune_oci() -> None:
    try:
        import oci  # type: ignore[import-untyped]
    except ImportError:
        print("slim: no oci SDK (EXTRAS without oci)", file=sys.stderr)
        return

    root = Path(oci.__file__).parent
    # The services are the lazily imported names of __all__, from "access_governance_cp" to the list's end.
    listed = (root / "__init__.py").read_text().split('"access_governance_cp"', 1)[1].split("]", 1)[0]
    services = {"access_governance_cp", *re.findall(r'"(\w+)"', listed)}
    before = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    for name in ("addons", "encryption"):
        shutil.rmtree(root / name, ignore_errors=True)
    kept_code = "\n".join(
        line.split("#", 1)[0]
        for path in root.rglob("*.py")
        if path.relative_to(root).parts[0] not in services
        for line in path.read_text(errors="replace").splitlines()
    )
    # A reference in code: "oci.identity.x", "from oci.identity import"; not Sphinx's ":py:class:`~oci.core...`".
    needed = {name for name in services if re.search(rf"(?<![~`\w.])oci\.{name}\b(?!\.models\.\w+`)", kept_code)}
    for name in sorted(services - needed):
        if (root / name).is_dir():
            shutil.rmtree(root / name)
    after = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    for module in ("oci.auth.signers", "oci.signer", "oci.config", "oci.regions", *(f"oci.{n}" for n in sorted(needed))):
        importlib.import_module(module)
    signers = oci.auth.signers
    for name in (
        "InstancePrincipalsSecurityTokenSigner",
        "SecurityTokenSigner",
        "get_resource_principals_signer",
        "get_oke_workload_identity_resource_principal_signer",
    ):
        getattr(signers, name)
    print(f"slim: oci SDK, kept {', '.join(sorted(needed))}; {before >> 20} MB -> {after >> 20} MB", file=sys.stderr)


def compile_imported() -> None:
    """Imports every ocigate module, with bytecode writing on: what they load gets its .pyc."""
    sys.dont_write_bytecode = False
    import ocigate

    for module in pkgutil.walk_packages(ocigate.__path__, "ocigate."):
        if module.name.endswith("__main__"):  # runs the CLI
            continue
        try:
            importlib.import_module(module.name)
        except ImportError as exc:  # an optional extra that this image does not have
            if (exc.name or "").startswith("ocigate"):
                raise
            print(f"slim: {module.name} left out ({exc})", file=sys.stderr)


prune_oci()
compile_imported()
