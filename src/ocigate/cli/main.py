"""The ``ocigate`` command: serve, emulator, models, doctor, vscode, claude, postman, keys, usage, prune."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from ocigate import __version__


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML file with a providers: block (or OCIGATE_CONFIG)")


def _add_tls(parser: argparse.ArgumentParser, certfile_help: str) -> None:
    parser.add_argument("--ssl-certfile", metavar="PEM", help=certfile_help)
    parser.add_argument("--ssl-keyfile", metavar="PEM", help="its private key (PEM), unless in the certificate file")


def _workers(text: str) -> int:
    from ocigate.cli.workers import parse_workers

    return parse_workers(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocigate", description="OpenAI-compatible gateway for Oracle Generative AI")
    parser.add_argument("--version", action="version", version=f"ocigate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1, or OCIGATE_HOST)")
    serve.add_argument("--port", type=int, help="port (default 8080, or OCIGATE_PORT)")
    serve.add_argument(
        "--emulator", action="store_true", help="serve the bundled emulator even if Oracle is configured"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="worker processes on the one port (default 1; auto: one per CPU); limits stay exact across them",
    )
    _add_config(serve)
    _add_tls(serve, "HTTPS on the port: the certificate chain (PEM; or OCIGATE_SSL_CERTFILE)")

    emulator = commands.add_parser("emulator", help="run the bundled Oracle emulator on its own")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.add_argument("--region", default="us-chicago-1")
    emulator.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="SECRET[:REGION[:nopolicy]]",
        help="an API key the emulator accepts (repeatable; default: its built-in keys)",
    )
    emulator.add_argument(
        "--iam-key",
        action="append",
        default=[],
        metavar="KEY_ID=PUBLIC_PEM_FILE",
        help="an IAM signing key the native API accepts, keyId <tenancy>/<user>/<fingerprint> (repeatable)",
    )
    emulator.add_argument("--stream-delay", type=float, default=0.0, metavar="SECONDS")
    _add_tls(emulator, "HTTPS on the port: the certificate chain (PEM)")

    models = commands.add_parser("models", help="print the model registry as the gateway sees it")
    _add_config(models)

    doctor = commands.add_parser("doctor", help="check the configuration against Oracle's known pitfalls")
    doctor.add_argument("--offline", action="store_true", help="check the configuration only; send no request")
    _add_config(doctor)

    _add_client_parsers(commands)

    from ocigate.cli.keys import add_parsers
    from ocigate.cli.prune import add_parser as add_prune

    add_parsers(commands, _add_config)
    add_prune(commands, _add_config)
    return parser


def _add_client_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``vscode``, ``claude`` and ``postman``: what a client needs to use the gateway."""
    gateway_url = "the gateway's address as the client reaches it (default http://OCIGATE_HOST:OCIGATE_PORT)"
    vscode = commands.add_parser("vscode", help="print VS Code's chatLanguageModels.json entry for the models")
    vscode.add_argument("--url", help=gateway_url)
    vscode.add_argument(
        "--key-ref", default="${input:ocigateKey}", metavar="REF", help="the apiKey value (default ${input:ocigateKey})"
    )
    vscode.add_argument("--write", metavar="PATH", help="merge the entry into this chatLanguageModels.json")
    _add_config(vscode)

    claude = commands.add_parser("claude", help="print the environment Claude Code needs to use the gateway")
    claude.add_argument("--url", help=gateway_url)
    claude.add_argument(
        "--key-ref", default="${OCIGATE_MASTER_KEY}", metavar="REF", help="ANTHROPIC_AUTH_TOKEN's value (a reference)"
    )
    claude.add_argument("--model", help="the main model (default: the best served model that calls tools)")
    claude.add_argument("--small-model", help="the small, fast model Claude Code uses for light tasks")
    claude.add_argument("--settings-json", action="store_true", help="print the env block of ~/.claude/settings.json")
    _add_config(claude)

    postman = commands.add_parser("postman", help="export a Postman collection (v2.1) that exercises the gateway")
    postman.add_argument("--url", help=gateway_url)
    postman.add_argument("--output", metavar="PATH", help="write the collection here instead of to stdout")
    _add_config(postman)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from ocigate.cli.serve import serve

        return serve(args)
    if args.command == "emulator":
        return run_emulator(args)
    if args.command == "models":
        from ocigate.cli.commands import print_models

        return asyncio.run(print_models(args.config))
    if args.command == "vscode":
        from ocigate.clients.vscode import vscode_command

        return vscode_command(args.url, args.key_ref, args.write, args.config)
    if args.command == "claude":
        from ocigate.clients.claude import claude_command

        return claude_command(args.url, args.key_ref, args.model, args.small_model, args.settings_json, args.config)
    if args.command in ("keys", "usage"):
        from ocigate.cli.keys import run

        return run(args)
    if args.command == "prune":
        from ocigate.cli.prune import run as run_prune

        return run_prune(args)
    if args.command == "postman":
        from ocigate.clients.postman import postman_command

        return postman_command(args.url, args.output, args.config)
    from ocigate.cli.commands import doctor

    return asyncio.run(doctor(args.config, offline=args.offline))


def run_emulator(args: argparse.Namespace) -> int:
    from pathlib import Path

    import uvicorn

    from ocigate.cli.serve import event_loop
    from ocigate.emulator import DEFAULT_KEYS, EmulatorConfig, EmulatorKey, create_emulator_app
    from ocigate.emulator.config import IamKey

    keys = DEFAULT_KEYS
    if args.key:
        parsed = []
        for spec in args.key:
            secret, _, rest = spec.partition(":")
            region, _, flag = rest.partition(":")
            parsed.append(EmulatorKey(secret, region or args.region, policy=flag != "nopolicy"))
        keys = tuple(parsed)
    iam_keys = []
    for spec in args.iam_key:
        key_id, _, pem_file = spec.partition("=")
        try:
            public_pem = Path(pem_file).read_text(encoding="utf-8") if key_id and pem_file else ""
        except OSError as exc:
            print(f"ocigate emulator: --iam-key {spec}: {exc}", file=sys.stderr)
            return 2
        if "PUBLIC KEY" not in public_pem:
            print(f"ocigate emulator: --iam-key needs KEY_ID=PUBLIC_PEM_FILE, got {spec!r}", file=sys.stderr)
            return 2
        iam_keys.append(IamKey(key_id, public_pem))
    config = EmulatorConfig(region=args.region, keys=keys, stream_delay_s=args.stream_delay, iam_keys=tuple(iam_keys))
    scheme = "https" if args.ssl_certfile else "http"
    print(
        f"ocigate emulator: Oracle Generative AI ({args.region}) at {scheme}://{args.host}:{args.port}"
        f"/20231130/actions/v1 and /openai/v1; keys: {', '.join(k.secret[:6] + '...' for k in keys)}"
        + (f"; IAM keys: {', '.join(k.key_id.rpartition('/')[2] for k in iam_keys)}" if iam_keys else ""),
        file=sys.stderr,
    )
    uvicorn.run(
        create_emulator_app(config),
        host=args.host,
        port=args.port,
        loop=event_loop(),
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
    )
    return 0
