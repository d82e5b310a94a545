"""Two Oracle regions for the routing suites: one public model on a provider in each (``routing:`` and ``models:``
in a gateway's config file), and the emulator's fault rules to break one of them."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from tests.support.servers import ASHBURN_KEY, CHICAGO_KEY, ServerThread

MODEL = "openai.gpt-oss-120b"
ORD = f"oracle-ord/{MODEL}"
IAD = f"oracle-iad/{MODEL}"


def fault(emulator: ServerThread, **rule: object) -> None:
    httpx.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()


def clear_faults(*emulators: ServerThread) -> None:
    for emulator in emulators:
        httpx.delete(f"{emulator.url}/_emulator/faults").raise_for_status()


def two_region_config(
    path: Path,
    a: ServerThread,
    b: ServerThread,
    *,
    routing: dict[str, object] | None = None,
    a_keys: tuple[str, str | None] = (CHICAGO_KEY, None),
    strategy: str = "least_in_flight",
) -> str:
    """gpt-oss on oracle-ord (region A) and oracle-iad (region B), with the given routing: block."""
    primary, secondary = a_keys
    ord_provider: dict[str, object] = {
        "base_url": f"{a.url}/20231130/actions/v1",
        "api_key": primary,
        "region": "us-chicago-1",
        "models": [MODEL],
    }
    if secondary:
        ord_provider["api_key_secondary"] = secondary
    document = {
        "providers": {
            "oracle-ord": ord_provider,
            "oracle-iad": {
                "base_url": f"{b.url}/20231130/actions/v1",
                "api_key": ASHBURN_KEY,
                "region": "us-ashburn-1",
                "models": [MODEL],
            },
        },
        "routing": routing or {},
        "models": {
            "gpt-oss": {
                "strategy": strategy,
                "deployments": [{"provider": "oracle-ord", "model": MODEL}, {"provider": "oracle-iad", "model": MODEL}],
            }
        },
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)
