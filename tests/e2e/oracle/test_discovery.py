"""``/v1/models`` from Oracle's own catalogue: ListModels signed, paginated, ACTIVE only, with each model's kind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ocigate.app.runtime import Gateway
from ocigate.catalog.models import MODELS
from tests.support.iam import COMMAND_R_OCID, REGION, Principals, iam_keys, oci_provider, start
from tests.support.servers import GatewayFactory, ServerThread, start_emulator


def cards(server: ServerThread) -> dict[str, dict[str, object]]:
    listed = httpx.get(f"{server.url}/v1/models", headers={"Authorization": "Bearer gw-key"}).json()["data"]
    return {card["id"]: card for card in listed}


def test_models_come_from_the_catalogue(iam_gateway: tuple[ServerThread, Gateway]) -> None:
    found = cards(iam_gateway[0])
    offered = {m.id for m in MODELS if REGION in m.regions}
    discovered = {name for name, card in found.items() if card["source"] == "discovered"}
    assert discovered == offered
    assert "cohere.command-r-16k" not in found and "meta.llama-3-70b-instruct" not in found  # DELETED
    assert found["cohere.embed-english-v3.0"]["kind"] == "embeddings"
    assert found["cohere.rerank-v3.5"]["kind"] == "rerank"
    assert found["cohere.command-a-03-2025"]["kind"] == "chat"
    assert found["team-command-r"]["source"] == "configured" and found["team-command-r"]["kind"] == "chat"
    assert found[COMMAND_R_OCID]["source"] == "configured"
    assert {card["owned_by"] for card in found.values()} == {"oci"}


@pytest.fixture
def paging_emulator(principals: Principals) -> Iterator[ServerThread]:
    from ocigate.emulator import EmulatorConfig

    server = start_emulator(EmulatorConfig(region="us-ashburn-1", iam_keys=iam_keys(principals)))
    yield server
    server.stop()


def test_pages_are_followed(
    paging_emulator: ServerThread,
    oci_dir: Path,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("ocigate.providers.oracle.discovery.PAGE_SIZE", 7)
    server, app = start(gateway_factory, tmp_path, {"oci": oci_provider(paging_emulator, oci_dir)})
    offered = [m.id for m in MODELS if "us-ashburn-1" in m.regions]
    assert sorted(name for name in cards(server)) == sorted(offered)
    stats = httpx.get(f"{paging_emulator.url}/_emulator/stats").json()["requests"]
    assert stats["/20231130/models"] == {"200": -(-len(offered) // 7)}
    (state,) = app.runtime.registry.states
    assert state.discovery_note == f"the upstream listed {len(offered)} models"


def test_a_failed_listing_keeps_the_last_one(iam_gateway: tuple[ServerThread, Gateway]) -> None:
    runtime = iam_gateway[1].runtime
    assert runtime.discovery is not None
    loop = runtime.discovery.get_loop()
    before = cards(iam_gateway[0])
    (signer,) = runtime.signers
    signer.clock = lambda: time.time() - 3600  # Oracle refuses the signature: the listing fails
    try:
        asyncio.run_coroutine_threadsafe(runtime.registry.discover(), loop).result(10)
    finally:
        signer.clock = time.time
    assert cards(iam_gateway[0]) == before
    (state,) = runtime.registry.states
    assert state.discovery_note.startswith("listing failed (Oracle did not accept the request signature")
    assert state.discovery_note.endswith("serving the last listing")
    asyncio.run_coroutine_threadsafe(runtime.registry.discover(), loop).result(10)
    assert state.discovery_note.startswith("the upstream listed")
