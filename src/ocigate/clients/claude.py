"""``ocigate claude``: what Claude Code needs to work through the gateway, as shell exports or as the ``env`` block of
``~/.claude/settings.json``.

Claude Code reads (Anthropic's Claude Code documentation, "Environment variables" and "LLM gateway"):

- ``ANTHROPIC_BASE_URL``: the gateway's root; Claude Code appends ``/v1/messages`` itself;
- ``ANTHROPIC_AUTH_TOKEN``: sent as ``Authorization: Bearer``; ``ANTHROPIC_API_KEY`` must then be empty, since it
  takes precedence (and is sent as ``x-api-key``, which the gateway accepts too);
- ``ANTHROPIC_MODEL`` and ``ANTHROPIC_DEFAULT_OPUS_MODEL`` / ``ANTHROPIC_DEFAULT_SONNET_MODEL`` /
  ``ANTHROPIC_DEFAULT_HAIKU_MODEL`` (Claude Code 2), ``ANTHROPIC_SMALL_FAST_MODEL`` (Claude Code 1, the haiku one);
- ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``: no telemetry or update checks to Anthropic from a machine that
  only reaches the gateway.

The key is printed as a reference (``${OCIGATE_MASTER_KEY}`` by default, or ``--key-ref``), never its value; a
gateway without a master key takes any key on loopback, so it then prints a placeholder. The
models are the served chat models that call tools (Claude Code cannot work without tools): by default the first of
:data:`MAIN` and :data:`SMALL` the gateway serves, else the first such model; ``--model`` and ``--small-model``
name others, and must be served.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from collections.abc import Sequence

from ocigate.catalog.metadata import model_metadata
from ocigate.clients.served import gateway_root, load, served_models
from ocigate.config.aliases import ModelAliases

MAIN = ("xai.grok-4", "openai.gpt-oss-120b", "xai.grok-code-fast-1", "meta.llama-4-maverick-17b-128e-instruct-fp8")
SMALL = ("openai.gpt-oss-20b", "xai.grok-3-mini", "xai.grok-3-mini-fast", "meta.llama-3.3-70b-instruct")
DEFAULT_KEY_REF = "${OCIGATE_MASTER_KEY}"
NO_MASTER_KEY = "ocigate-local"
"""The token given when the gateway has no master key (and so takes any): Claude Code will not start without one."""


def pick_models(
    chat: Sequence[str], model: str | None, small: str | None, aliases: ModelAliases | None = None
) -> tuple[str, str]:
    """The main and the small-fast model; ValueError naming the choices when a given one is neither served nor
    an alias (``model_aliases:``), or no served model calls tools."""
    tooled = [name for name in chat if model_metadata(name)["toolCalling"]]
    aliases = aliases or ModelAliases()
    for given, flag in ((model, "--model"), (small, "--small-model")):
        if given is not None and given not in chat and not (aliases.exact.get(given) or aliases.match(given)):
            raise ValueError(f"{flag} {given} is not a chat model this gateway serves; it serves {', '.join(chat)}.")
    if not tooled and (model is None or small is None):
        raise ValueError("the gateway serves no chat model that calls tools, which Claude Code needs.")
    main = model or next((name for name in MAIN if name in tooled), tooled[0] if tooled else "")
    fast = small or next((name for name in SMALL if name in tooled), main)
    return main, fast


def claude_env(url: str, key_ref: str, main: str, small: str) -> dict[str, str]:
    return {
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_AUTH_TOKEN": key_ref,
        "ANTHROPIC_API_KEY": "",
        "ANTHROPIC_MODEL": main,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": main,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": main,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": small,
        "ANTHROPIC_SMALL_FAST_MODEL": small,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def as_shell(env: dict[str, str]) -> str:
    """``export`` lines; the key reference stays unexpanded until the shell runs them (double quotes)."""
    lines = [f'# Claude Code through ocigate at {env["ANTHROPIC_BASE_URL"]}: eval "$(ocigate claude)", then claude']
    for name, value in env.items():
        quoted = f'"{value}"' if name == "ANTHROPIC_AUTH_TOKEN" and value.startswith("$") else shlex.quote(value)
        lines.append(f"export {name}={quoted}")
    return "\n".join(lines) + "\n"


def claude_command(
    url: str | None, key_ref: str, model: str | None, small: str | None, settings_json: bool, config_file: str | None
) -> int:
    settings = load(config_file)
    served = asyncio.run(served_models(settings))
    for note in served.notes:
        print(f"ocigate claude: {note}", file=sys.stderr)
    try:
        main, fast = pick_models(served.chat, model, small, ModelAliases(settings.model_aliases))
    except ValueError as exc:
        print(f"ocigate claude: {exc}", file=sys.stderr)
        return 1
    if key_ref == DEFAULT_KEY_REF and not settings.master_key:
        # Without a master key the gateway (loopback only) takes any key, but Claude Code wants one to send.
        key_ref = NO_MASTER_KEY
        print("ocigate claude: OCIGATE_MASTER_KEY is not set: any key works on loopback.", file=sys.stderr)
    env = claude_env(gateway_root(url, settings), key_ref, main, fast)
    if settings_json:
        print(json.dumps({"env": env}, indent=2))
    else:
        sys.stdout.write(as_shell(env))
    return 0
