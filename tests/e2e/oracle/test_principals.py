"""Every IAM principal through the gateway: user principals (plain, encrypted with a pass_phrase, key_content),
session tokens (re-read when the token file changes), resource principals and instance principals (federated
by Oracle's own signer against a stand-in metadata service); and the hints for a refused signature and a missing
policy."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from ocigate.app.runtime import Gateway
from tests.support.iam import COMPARTMENT, OTHER_COMPARTMENT, REGION, TENANCY, Principals, oci_provider, start
from tests.support.servers import GatewayFactory, ServerThread

from .instance import FakeInstance

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]
LLAMA = "meta.llama-3.3-70b-instruct"


def answer(server: ServerThread, model: str = LLAMA) -> str:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="gw-key", max_retries=0)
    return client.chat.completions.create(model=model, messages=HI).choices[0].message.content or ""


def expected(model: str = LLAMA) -> str:
    return f"Hello from {model} in {REGION}. You said: Hi"


@pytest.mark.parametrize(
    "extra",
    [
        {"profile": "ENCRYPTED"},
        {"profile": "CONTENT", "key_content": "${IAM_KEY_PEM}"},
    ],
    ids=["encrypted-key", "key-content"],
)
def test_user_principal_variants(
    iam_emulator: ServerThread,
    oci_dir: Path,
    principals: Principals,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
    extra: dict[str, object],
) -> None:
    provider = oci_provider(iam_emulator, oci_dir, models=[LLAMA], discovery=False, **extra)
    config = tmp_path / "c.yaml"
    import yaml

    config.write_text(yaml.safe_dump({"providers": {"oci": provider}}))
    server, app = gateway_factory(
        {"OCIGATE_MASTER_KEY": "gw-key", "IAM_KEY_PEM": principals.user.pem()}, config_file=str(config)
    )
    assert answer(server) == expected()
    (signer,) = app.runtime.signers
    assert signer.key_id == f"{TENANCY}/ocid1.user.oc1..aaaaaaaaiamuser/{principals.user.fingerprint}"


def test_session_token_is_read_again_when_its_file_changes(
    iam_emulator: ServerThread, oci_dir: Path, principals: Principals, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    token_file = oci_dir / "token"
    provider = oci_provider(iam_emulator, oci_dir, auth="session_token", profile="SESSION", models=[LLAMA])
    server, app = start(gateway_factory, tmp_path, {"oci": provider})
    try:
        assert answer(server) == expected()
        assert app.runtime.registry.states[0].discovered  # ListModels signed with the session token
        token_file.write_text("not.a-known.token")
        os.utime(token_file, (time.time() + 5, time.time() + 5))
        with pytest.raises(openai.AuthenticationError) as caught:
            answer(server)
        message = caught.value.message
        assert "session token" in message and "oci session refresh" in message and "No key is known" in message
        token_file.write_text(principals.spare_token)
        os.utime(token_file, (time.time() + 10, time.time() + 10))
        httpx.delete(f"{iam_emulator.url}/_emulator/stats")
        assert answer(server) == expected()
        # Read again before signing, not after a 401.
        assert httpx.get(f"{iam_emulator.url}/_emulator/stats").json()["requests"] == {
            "/20231130/actions/chat": {"200": 1}
        }
    finally:
        token_file.write_text(principals.session_token)


def test_resource_principal(
    iam_emulator: ServerThread,
    principals: Principals,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pem = tmp_path / "rp.pem"
    pem.write_text(principals.resource.pem())
    rp_env = {
        "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
        "OCI_RESOURCE_PRINCIPAL_RPST": principals.resource_token,
        "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(pem),
        "OCI_RESOURCE_PRINCIPAL_REGION": REGION,
    }
    for name, value in rp_env.items():
        monkeypatch.setenv(name, value)  # Oracle's SDK reads them itself, as OCI Functions set them
    config = tmp_path / "c.yaml"
    config.write_text(f"providers:\n  oci:\n    type: oci\n    endpoint: {iam_emulator.url}\n")
    server, app = gateway_factory({"OCIGATE_MASTER_KEY": "gw-key", **rp_env}, config_file=str(config))
    (state,) = app.runtime.registry.states
    assert state.provider is not None and state.type == "oci"
    (signer,) = app.runtime.signers
    assert signer.auth == "resource_principal" and signer.default_compartment == COMPARTMENT  # from the token
    assert answer(server, "cohere.command-a-03-2025") == expected("cohere.command-a-03-2025")
    assert len(state.discovered) > 30


@pytest.fixture
def instance(principals: Principals) -> Iterator[tuple[FakeInstance, ServerThread]]:
    # The first token expires in 4 minutes: within the refresh margin, so the gateway federates again before use.
    fake = FakeInstance(TENANCY, REGION, (COMPARTMENT,), first_token_s=240)
    server = ServerThread(fake, lifespan="off").start()
    yield fake, server
    server.stop()


def test_instance_principal_federates_and_refreshes_before_expiry(
    instance: tuple[FakeInstance, ServerThread],
    gateway_factory: GatewayFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, imds = instance
    monkeypatch.setenv("OCI_METADATA_BASE_URL", f"{imds.url}/opc/v2")
    provider = {
        "type": "oci",
        "auth": "instance_principal",
        "endpoint": imds.url,
        "federation_endpoint": f"{imds.url}/v1/x509",
        "compartment_id": COMPARTMENT,
        "discovery": False,
        "models": [LLAMA],
    }
    server, app = start(gateway_factory, tmp_path, {"oci": provider})
    (signer,) = app.runtime.signers
    assert signer.ready and signer.tenancy == TENANCY and signer.region == REGION
    assert len(fake.tokens) == 1
    assert answer(server) == expected()
    assert len(fake.tokens) == 2  # refreshed in a worker thread before signing, not on Oracle's 401
    assert answer(server) == expected() and len(fake.tokens) == 2


def test_a_refused_signature_names_clock_and_fingerprint(iam_gateway: tuple[ServerThread, Gateway]) -> None:
    server, app = iam_gateway
    (signer,) = app.runtime.signers
    signer.clock = lambda: time.time() - 3600
    try:
        with pytest.raises(openai.AuthenticationError) as caught:
            answer(server)
    finally:
        signer.clock = time.time
    message = caught.value.message
    assert "did not accept the request signature of provider 'oci'" in message
    assert signer.key_id is not None and signer.key_id in message
    assert "clock" in message and "fingerprint" in message and "3600 s away" in message
    assert answer(server) == expected()


def test_one_resign_after_a_401(iam_gateway: tuple[ServerThread, Gateway], iam_emulator: ServerThread) -> None:
    httpx.delete(f"{iam_emulator.url}/_emulator/stats")
    rule = {"status": 401, "code": "NotAuthenticated", "path": "/20231130/actions/chat", "count": 1}
    assert httpx.post(f"{iam_emulator.url}/_emulator/faults", json=rule).status_code == 201
    assert answer(iam_gateway[0]) == expected()
    stats = httpx.get(f"{iam_emulator.url}/_emulator/stats").json()["requests"]
    assert stats["/20231130/actions/chat"] == {"401": 1, "200": 1}


def test_a_compartment_without_policy_prints_the_statement(
    iam_emulator: ServerThread, oci_dir: Path, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    provider = oci_provider(iam_emulator, oci_dir, compartment_id=OTHER_COMPARTMENT, models=[LLAMA])
    server, app = start(gateway_factory, tmp_path, {"oci": provider})
    with pytest.raises(openai.NotFoundError) as caught:
        answer(server)
    statement = f"allow group <group> to use generative-ai-family in compartment id {OTHER_COMPARTMENT}"
    assert statement in caught.value.message
    (state,) = app.runtime.registry.states
    assert "listing failed" in state.discovery_note and statement in state.discovery_note


def test_an_api_key_on_the_native_api(
    iam_emulator: ServerThread, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    provider: dict[str, object] = {
        "type": "oci",
        "auth": "api_key",
        "api_key": "sk-emulator-chicago",
        "endpoint": iam_emulator.url,
        "compartment_id": COMPARTMENT,
        "models": ["cohere.command-r-08-2024", "cohere.embed-english-light-v3.0"],
    }
    server, app = start(gateway_factory, tmp_path, {"oci": provider})
    assert app.runtime.signers == [] and app.runtime.registry.states[0].discovered == ()
    assert answer(server, "cohere.command-r-08-2024") == expected("cohere.command-r-08-2024")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="gw-key", max_retries=0)
    assert len(client.embeddings.create(model="cohere.embed-english-light-v3.0", input="x").data[0].embedding) == 384
