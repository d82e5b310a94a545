"""Oracle's model catalogue cannot be read (here: a management endpoint whose policy does not cover the compartment,
as a missing ``inspect generative-ai-model`` would be): the gateway says so at WARNING, stays unready while no
provider has a model, puts the reason and the policy to add into the unknown-model error, and still tries a
``provider/model`` name, which inference answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from ocigate.emulator import EmulatorConfig
from tests.support.iam import COMPARTMENT, OTHER_COMPARTMENT, REGION, Principals, iam_keys, oci_provider, start
from tests.support.servers import GatewayFactory, ServerThread, start_emulator

pytestmark = pytest.mark.e2e
POLICY = f"allow group <group> to use generative-ai-family in compartment id {COMPARTMENT}"
MODEL = "cohere.command-a-03-2025"


@pytest.fixture(scope="module")
def refusing_management(principals: Principals) -> Iterator[ServerThread]:
    """A management API whose policies allow the principals another compartment only: ListModels answers 404."""
    server = start_emulator(EmulatorConfig(region=REGION, iam_keys=iam_keys(principals, (OTHER_COMPARTMENT,))))
    yield server
    server.stop()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_an_unreadable_catalogue_is_said_and_explained(
    iam_emulator: ServerThread,
    refusing_management: ServerThread,
    oci_dir: Path,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
) -> None:
    records = _Records()
    logger = logging.getLogger("ocigate")
    logger.addHandler(records)
    try:
        provider = oci_provider(iam_emulator, oci_dir, management_endpoint=refusing_management.url)
        server, _ = start(gateway_factory, tmp_path, {"oci": provider})
    finally:
        logger.removeHandler(records)
    (warning,) = [r.getMessage() for r in records.records if "catalogue" in r.getMessage()]
    assert warning.startswith("provider 'oci': its model catalogue cannot be read, so it serves only its configured ")
    assert "'oci/<model>' names are tried as given" in warning and POLICY in warning

    ready = httpx.get(f"{server.url}/readyz", headers={"Authorization": "Bearer gw-key"})
    assert ready.status_code == 503 and ready.json()["status"] == "no models"
    (state,) = ready.json()["providers"]
    assert state["in_service"] and state["models"] == 0 and POLICY in state["catalogue_error"]

    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="gw-key", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    message = caught.value.message
    assert "(known: none)" in message and "Provider 'oci' could not read Oracle's model catalogue" in message
    assert POLICY in message and "'oci/<model>'" in message

    reply = client.chat.completions.with_raw_response.create(
        model=f"oci/{MODEL}", messages=[{"role": "user", "content": "Hi"}]
    )
    assert reply.headers["x-ocigate-provider"] == "oci"
    assert f"Hello from {MODEL} in {REGION}" in (reply.parse().choices[0].message.content or "")
