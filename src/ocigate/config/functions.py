"""What the OCI Functions entrypoint (``ocigate.functions``) reads from the function's configuration.

OCI Functions hands a function's configuration to it as environment variables, so the gateway's own settings
(``OCIGATE_MASTER_KEY``, ``OCIGATE_CONFIG``, ``OCI_REGION``...) are read by ``settings.py`` as everywhere else.
The one setting only a function has: ``OCIGATE_FUNCTION_PATH_PREFIX`` (default none), the API Gateway
deployment's path prefix (``/ocigate``), taken off a request's path when the path starts with it.
"""

from __future__ import annotations

from collections.abc import Mapping

PATH_PREFIX = "OCIGATE_FUNCTION_PATH_PREFIX"


def function_path_prefix(env: Mapping[str, str]) -> tuple[str, list[str]]:
    """The deployment path prefix without its trailing ``/`` ("" for none), and a message if it is not a path."""
    raw = env.get(PATH_PREFIX, "").strip()
    if not raw or raw == "/":
        return "", []
    if not raw.startswith("/") or any(c in raw for c in "?#* \t"):
        return "", [
            f"{PATH_PREFIX}: '{raw}' is not a path prefix; write the API Gateway deployment's path prefix, "
            "for example /ocigate"
        ]
    return raw.rstrip("/"), []
