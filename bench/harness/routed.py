"""The routed target: one public model served by a configured route of two deployments, as a user writes it in the
gateway's YAML (``models:``), each deployment a provider of its own at the same emulator.

The route's public name is the bench model itself, so the loads send the same body as every other target and the
upstream model name is unchanged (the body is forwarded as received). The strategy is the default
(``weighted_random``, equal weights): every request draws an order of the two deployments. Before the loads, a
few requests must be served by both deployments (the ``x-ocigate-deployment`` header), so a route that is not in
effect fails the target instead of measuring the plain path; after them, ``/metrics`` says how the requests
were split.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.request
from pathlib import Path

from harness.layout import HOST, OUT
from harness.workloads import BODY, MODEL

ROUTED_DIR = OUT / "routed"
UPSTREAM_VAR = "BENCH_UPSTREAM"  # the emulator's OpenAI-compatible base URL, in the gateway's environment
PROVIDERS = ("oracle-a", "oracle-b")
ROUTED_DEPLOYMENTS = tuple(f"{provider}/{MODEL}" for provider in PROVIDERS)
CHECK_REQUESTS = 20  # both deployments serve some of them: all on one has probability 2 * 2^-20


@functools.cache
def routed_yaml(api_key: str) -> Path:
    """Writes the gateway's YAML (once per run): two providers at ``${BENCH_UPSTREAM}`` with the emulator's
    ``api_key``, and a route over both."""
    ROUTED_DIR.mkdir(parents=True, exist_ok=True)
    path = ROUTED_DIR / "ocigate.yaml"
    providers = "".join(
        f"  {name}:\n"
        "    type: oracle\n"
        f'    base_url: "${{{UPSTREAM_VAR}}}"\n'
        f"    api_key: {api_key}\n"
        f"    models: [{MODEL}]\n"
        for name in PROVIDERS
    )
    deployments = "".join(f"      - {{provider: {name}, model: {MODEL}}}\n" for name in PROVIDERS)
    path.write_text(f"providers:\n{providers}models:\n  {MODEL}:\n    deployments:\n{deployments}")
    return path


def served_by(port: int, path: str, key: str) -> str:
    """The deployment that served one non-streaming bench request (``x-ocigate-deployment``)."""
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}",
        data=json.dumps(BODY).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return str(response.headers.get("x-ocigate-deployment", ""))


def check_route(name: str, port: int, path: str, key: str, deployments: tuple[str, ...]) -> dict[str, int]:
    """``CHECK_REQUESTS`` requests, by the deployment that served them; every deployment must serve some."""
    seen: dict[str, int] = {}
    for _ in range(CHECK_REQUESTS):
        deployment = served_by(port, path, key)
        seen[deployment] = seen.get(deployment, 0) + 1
    missing = [d for d in deployments if d not in seen]
    if missing or set(seen) - set(deployments):
        raise RuntimeError(f"{name}: the route is not in effect: {CHECK_REQUESTS} requests were served by {seen}")
    return seen


def requests_by_deployment(port: int, key: str) -> dict[str, int]:
    """``ocigate_requests_total`` by deployment, from ``GET /metrics`` (every status class summed)."""
    request = urllib.request.Request(f"http://{HOST}:{port}/metrics", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    found: dict[str, int] = {}
    for match in re.finditer(r"^ocigate_requests_total\{([^}]*)\} ([0-9.e+]+)$", text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        deployment = labels.get("deployment", "")
        found[deployment] = found.get(deployment, 0) + int(float(match.group(2)))
    return found
