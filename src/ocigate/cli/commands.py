"""``ocigate models`` and ``ocigate doctor``: the registry and the checks, printed for a person."""

from __future__ import annotations

import os
import sys

import orjson

from ocigate.cli.serve import CONFIG_ERROR, cannot_listen, listen, print_errors
from ocigate.config.settings import Diagnostic, Settings, load_settings
from ocigate.core.errors import GatewayError
from ocigate.core.logs import redact
from ocigate.providers.oracle.checks import check_settings
from ocigate.providers.oracle.doctor import catalogue_probe, profile_findings, region_finding
from ocigate.providers.oracle.secrets_pair import SecretPair


async def _started_runtime(settings: Settings):  # type: ignore[no-untyped-def]
    from ocigate.app.runtime import Runtime

    runtime = Runtime(settings)
    import logging

    logging.getLogger("ocigate").disabled = True  # the command prints its own report
    await runtime.start()
    await runtime.discovery  # type: ignore[misc]
    return runtime


async def print_models(config_file: str | None) -> int:
    settings = load_settings(os.environ, config_file=config_file)
    if settings.errors:
        return print_errors("models", settings.errors)
    runtime = await _started_runtime(settings)
    try:
        rows = [("MODEL", "PROVIDER", "TYPE", "SOURCE")]
        for entry in runtime.registry.entries():
            rows.append((entry.id, entry.provider, entry.provider_type, entry.source))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        print()
        for state in runtime.registry.states:
            status = "in service" if state.provider is not None else f"OUT OF SERVICE: {state.disabled_reason}"
            print(f"provider {state.name} ({state.type}, from {state.source}): {status}; {state.discovery_note}")
        if runtime.emulator is not None:
            print("No Oracle provider is configured: `ocigate serve` serves the bundled emulator with these models.")
        return 0
    finally:
        await runtime.stop()


async def doctor(config_file: str | None, *, offline: bool) -> int:
    settings = load_settings(os.environ, config_file=config_file)
    if settings.errors:
        for diagnostic in settings.diagnostics:
            print(f"{diagnostic.level.upper()}: {redact(diagnostic.message)}")
        print("Fix the configuration first: nothing else was checked, and `ocigate serve` would not start.")
        return CONFIG_ERROR
    findings = check_settings(settings) + _listening_findings(settings)
    if not settings.providers:
        print("No Oracle provider is configured (no ORACLE_* variables, no providers: in a config file).")
        print("`ocigate serve` would serve the bundled emulator. To use Oracle:")
        print("  export ORACLE_REGION=us-chicago-1 ORACLE_API_KEY=sk-... ORACLE_MODELS=openai.gpt-oss-120b")
    for config in settings.providers:
        findings += profile_findings(config)
        region = region_finding(config) if config.uses_iam else None
        findings += [region] if region is not None else []
    for finding in findings:
        print(f"{finding.level.upper()}: {finding.message}")
    errors = sum(1 for f in findings if f.level == "error")
    findings = [f for f in findings if f.level != "ok"]
    if not offline and settings.providers:
        errors += await _probe(settings)
    if errors == 0:
        print("OK: no problems found." if not findings else "No blocking problems found.")
    return 1 if errors else 0


def _listening_findings(settings: Settings) -> list[Diagnostic]:
    """Whether ``ocigate serve`` could listen where it is told to (a warning: it may be this gateway, running)."""
    try:
        for sock in listen(settings.host, settings.port):
            sock.close()
    except OSError as exc:
        return [Diagnostic("warning", None, f"{cannot_listen(settings, exc)} Unless that is this gateway, running.")]
    return []


def _print_secrets(pair: SecretPair | None, provider: str) -> None:
    """Which secret of the provider's API key serves, and which one Oracle rejected (masked)."""
    if pair is None or not pair.failing():
        return
    snapshot = pair.snapshot()
    failing = pair.failing()
    for label in failing:
        field = f"api_key{'_secondary' if label == 'secondary' else ''}"
        if pair.active not in failing:
            print(
                f"WARNING: provider '{provider}': Oracle rejected the {label} secret of its API key "
                f"({snapshot[label]}); the {pair.active} secret serves. Replace the rejected one ({field})."
            )
        else:  # no secret serves: the only one was rejected, or both were
            other = "the other secret was rejected too" if len(failing) == 2 else "no second secret is configured"
            print(
                f"ERROR: provider '{provider}': Oracle rejected the {label} secret of its API key "
                f"({snapshot[label]}) and {other}: set {field} to one of the key's two secrets (sk-...)."
            )


async def _probe(settings: Settings) -> int:
    """One small chat request per provider in service, its outcome explained."""
    runtime = await _started_runtime(settings)
    failures = 0
    try:
        configs = {config.name: config for config in settings.providers}
        for state in runtime.registry.states:
            signer = getattr(state.provider, "signer", None)
            if state.provider is not None and signer is not None and state.name in configs:
                assert runtime.session is not None
                finding = await catalogue_probe(configs[state.name], signer, runtime.session)
                failures += finding.level == "error"
                print(f"{finding.level.upper()}: {finding.message}")
            chat = [entry.id for entry in state.models() if entry.kind == "chat"]
            if state.provider is None or not chat:
                continue
            model = chat[0]
            body = orjson.dumps({"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 16})
            try:
                try:
                    reply = await state.provider.send("chat/completions", body, model=model)
                except GatewayError as err:
                    if not (err.retryable and err.upstream_status == 401):
                        raise
                    reply = await state.provider.send("chat/completions", body, model=model)  # the other secret
            except GatewayError as err:
                failures += 1
                print(f"ERROR: provider '{state.name}', model '{model}': {err.message}")
                continue
            finally:
                _print_secrets(runtime.secrets.get(state.name), state.name)
            print(
                f"OK: provider '{state.name}' answered a chat request for '{model}' "
                f"(opc-request-id {reply.request_id})."
            )
    finally:
        await runtime.stop()
    sys.stdout.flush()
    return failures
