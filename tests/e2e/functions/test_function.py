"""The gateway as an OCI Function behind API Gateway (ocigate.functions, deploy/functions/), run by the FDK's own
runtime on its Unix socket, with a resource principal set up as OCI Functions sets it, against an emulator that
knows only that principal's key (tests/support/functions.py)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai
import pytest

from ocigate.core.asgi import ASGIApp, Receive, Scope, Send
from ocigate.emulator import EmulatorConfig, create_emulator_app
from ocigate.emulator.config import IamKey
from tests.support.functions import ApiGatewayFront, FunctionContainer
from tests.support.iam import COMPARTMENT, REGION, Principals
from tests.support.servers import ServerThread

LLAMA = "meta.llama-3.3-70b-instruct"
KEY = "gw-function-key"
KEY_ID = re.compile(r'keyId="([^"]+)"')


@dataclass
class Recorder:
    """The emulator, noting who signed each request that reached it."""

    app: ASGIApp
    seen: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            auth = dict(scope["headers"]).get(b"authorization", b"").decode()
            found = KEY_ID.search(auth)
            self.seen.append((scope["path"], found.group(1) if found else auth[:6]))
        await self.app(scope, receive, send)


@dataclass
class Deployment:
    front: ServerThread
    gateway: ApiGatewayFront
    emulator: Recorder
    container: FunctionContainer
    data_dir: Path

    @property
    def base_url(self) -> str:
        return f"{self.front.url}/ocigate/v1"

    def client(self, key: str = KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=key, max_retries=0)


def rp_config(principals: Principals, folder: Path, endpoint: str) -> dict[str, str]:
    """The function's configuration and the variables OCI Functions sets for its resource principal."""
    pem = folder / "rp.pem"
    pem.write_text(principals.resource.pem())
    return {
        "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
        "OCI_RESOURCE_PRINCIPAL_RPST": principals.resource_token,
        "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(pem),
        "OCI_RESOURCE_PRINCIPAL_REGION": REGION,
        "OCI_AUTH": "resource_principal",
        "OCI_COMPARTMENT_ID": COMPARTMENT,
        "OCI_ENDPOINT": endpoint,
        "OCIGATE_DATA_DIR": str(folder / "data"),
        "OCIGATE_FUNCTION_PATH_PREFIX": "/ocigate",
    }


def deploy(emulator: Recorder, config: dict[str, str], folder: Path) -> Iterator[Deployment]:
    upstream = ServerThread(emulator, lifespan="off").start()
    container = FunctionContainer(folder, {k: v.replace("{emulator}", upstream.url) for k, v in config.items()})
    gateway = ApiGatewayFront(container.socket)
    front = ServerThread(gateway, lifespan="off").start()
    try:
        yield Deployment(front, gateway, emulator, container, folder / "data")
    finally:
        front.stop()
        container.stop()
        upstream.stop()


@pytest.fixture(scope="module")
def function(principals: Principals, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    only_rp = (IamKey("ST$" + principals.resource_token, principals.resource.public_pem, compartments=(COMPARTMENT,)),)
    emulator = Recorder(create_emulator_app(EmulatorConfig(region=REGION, iam_keys=only_rp)))
    folder = tmp_path_factory.mktemp("function")
    config = {**rp_config(principals, folder, "{emulator}"), "OCIGATE_MASTER_KEY": KEY}
    yield from deploy(emulator, config, folder)


def test_chat_signed_as_the_resource_principal(function: Deployment, principals: Principals) -> None:
    before = len(function.emulator.seen)
    raw = function.client().chat.completions.with_raw_response.create(
        model=LLAMA, messages=[{"role": "user", "content": "Hi"}]
    )
    answer = raw.parse()
    assert answer.choices[0].message.content == f"Hello from {LLAMA} in {REGION}. You said: Hi"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    (chat,) = [(path, key) for path, key in function.emulator.seen[before:] if path.endswith("/actions/chat")]
    assert chat[1] == "ST$" + principals.resource_token  # the function's resource principal signed it
    # The usage row is written before the answer leaves the function (a container may be frozen right after).
    request_id = raw.headers["x-request-id"]
    with sqlite3.connect(function.data_dir / "ocigate.db") as db:
        rows = db.execute("SELECT model, status, prompt_tokens FROM usage WHERE request_id = ?", (request_id,))
        assert [(model, status, tokens > 0) for model, status, tokens in rows] == [(LLAMA, 200, True)]


def test_a_stream_is_returned_whole_and_parses_as_a_stream(function: Deployment) -> None:
    with httpx.stream(
        "POST",
        f"{function.base_url}/chat/completions",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": LLAMA, "messages": [{"role": "user", "content": "Hi"}], "stream": True},
    ) as raw:
        assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/event-stream")
        body = raw.read().decode()
    assert body.rstrip().endswith("data: [DONE]")
    stream = function.client().chat.completions.create(
        model=LLAMA, messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == f"Hello from {LLAMA} in {REGION}. You said: Hi"


def test_models_embeddings_and_responses(function: Deployment) -> None:
    client = function.client()
    assert LLAMA in {m.id for m in client.models.list()}
    vectors = client.embeddings.create(model="cohere.embed-english-v3.0", input=["a", "b"])
    assert len(vectors.data) == 2 and len(vectors.data[0].embedding) == 1024
    first = client.responses.create(model=LLAMA, input="Hi")
    assert first.output_text == f"Hello from {LLAMA} in {REGION}. You said: Hi"
    again = client.responses.retrieve(first.id)  # stored by the container, found by the next call
    assert again.id == first.id


def test_a_key_is_required_and_errors_keep_their_status(function: Deployment) -> None:
    with pytest.raises(openai.AuthenticationError) as no_key:
        function.client("wrong").models.list()
    assert no_key.value.status_code == 401 and isinstance(no_key.value.body, dict)
    assert no_key.value.body.get("message")  # OpenAI's envelope, through API Gateway
    with pytest.raises(openai.NotFoundError) as unknown:
        function.client().chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "Hi"}])
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        function.client().chat.completions.create(model=LLAMA, messages=[])
    assert bad.value.status_code == 400
    anonymous = httpx.get(f"{function.base_url}/models")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"]


def test_one_start_per_container(function: Deployment) -> None:
    """The lifespan runs at the first call only: the models are listed once however many calls came since."""
    for _ in range(3):
        function.client().models.list()
    listings = [path for path, _ in function.emulator.seen if path.endswith("/models")]
    assert len(listings) == 1 and function.gateway.calls >= 3


def test_without_a_master_key_every_call_says_so(
    principals: Principals, tmp_path_factory: pytest.TempPathFactory
) -> None:
    emulator = Recorder(create_emulator_app(EmulatorConfig(region=REGION)))
    folder = tmp_path_factory.mktemp("function-nokey")
    for deployment in deploy(emulator, rp_config(principals, folder, "{emulator}"), folder):
        for _ in range(2):
            answer = httpx.get(f"{deployment.base_url}/models")
            assert answer.status_code == 500
            assert "OCIGATE_MASTER_KEY" in answer.json()["error"]["message"]
        assert emulator.seen == []
