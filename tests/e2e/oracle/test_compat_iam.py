"""Oracle's OpenAI-compatible path under IAM (``type: oracle`` with ``auth: user_principal``): requests signed, the
compartment sent as ``opc-compartment-id`` and ``CompartmentId`` on the ``/20231130/actions/v1`` base, the project
as ``OpenAI-Project`` on ``/openai/v1`` (doc §2.3), and models listed through the management API.

The emulator's compatible path verifies signatures and the compartment like Oracle (the first tests); a recorder
that checks each signature with the emulator's verifier shows the headers on the wire (the others)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from ocigate.core.asgi import Receive, Scope, Send
from ocigate.emulator.signing import SignatureVerifier
from tests.support.iam import COMPARTMENT, Principals, iam_keys, start
from tests.support.servers import GatewayFactory, ServerThread

PROJECT = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaproject"


def test_signed_requests_reach_the_emulators_compatible_path(
    iam_emulator: ServerThread, oci_dir: Path, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    provider = {
        "type": "oracle",
        "auth": "user_principal",
        "base_url": f"{iam_emulator.url}/20231130/actions/v1",
        "compartment_id": COMPARTMENT,
        "config_file": str(oci_dir / "config"),
        "discovery": False,
        "models": ["xai.grok-4", "meta.llama-3.3-70b-instruct"],
    }
    gateway, _ = start(gateway_factory, tmp_path, {"oracle": provider})
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="gw-key", max_retries=0)
    said = client.chat.completions.create(
        model="xai.grok-4", messages=[{"role": "user", "content": "Reply with the single word signed."}]
    )
    assert said.choices[0].message.content == "signed"
    streamed = client.chat.completions.create(
        model="meta.llama-3.3-70b-instruct", messages=[{"role": "user", "content": "hello"}], stream=True
    )
    assert "hello" in "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)


def test_a_compartment_outside_the_policy_gets_the_iam_hint(
    iam_emulator: ServerThread, oci_dir: Path, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    provider = {
        "type": "oracle",
        "auth": "user_principal",
        "base_url": f"{iam_emulator.url}/20231130/actions/v1",
        "compartment_id": "ocid1.compartment.oc1..elsewhere",
        "config_file": str(oci_dir / "config"),
        "discovery": False,
        "models": ["xai.grok-4"],
    }
    gateway, _ = start(gateway_factory, tmp_path, {"oracle": provider})
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="gw-key", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="xai.grok-4", messages=[{"role": "user", "content": "Hi"}])
    assert "generative-ai-family" in caught.value.message and "elsewhere" in caught.value.message


class Recorder:
    def __init__(self, principals: Principals) -> None:
        self.verifier = SignatureVerifier(iam_keys(principals))
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        target = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        self.verifier.verify(scope["method"], target, headers, body)  # raises on a bad signature: a 500 here
        self.seen.append({"path": scope["path"], **headers})
        request: dict[str, Any] = orjson.loads(body)
        text = f"signed reply to {request['model']}"
        if request.get("stream"):
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": request["model"]}
            events = [
                {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}}]},
                {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            ]
            payload = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"
            content_type = b"text/event-stream"
        else:
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            answer = {
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": request["model"],
                "choices": [choice],
            }
            payload, content_type = orjson.dumps(answer), b"application/json"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture
def recorder(principals: Principals) -> Iterator[tuple[Recorder, ServerThread]]:
    upstream = Recorder(principals)
    server = ServerThread(upstream, lifespan="off").start()
    yield upstream, server
    server.stop()


def test_actions_base_sends_the_compartment(
    recorder: tuple[Recorder, ServerThread],
    iam_emulator: ServerThread,
    oci_dir: Path,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
) -> None:
    upstream, server = recorder
    provider: dict[str, object] = {
        "type": "oracle",
        "auth": "user_principal",
        "base_url": f"{server.url}/20231130/actions/v1",
        "compartment_id": COMPARTMENT,
        "config_file": str(oci_dir / "config"),
        "management_endpoint": iam_emulator.url,
    }
    gateway, app = start(gateway_factory, tmp_path, {"oracle": provider})
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="gw-key", max_retries=0)
    listed = {m.id for m in client.models.list().data}
    assert "xai.grok-4" in listed and "meta.llama-3.3-70b-instruct" in listed
    assert not any(m.startswith("cohere.") for m in listed)  # the compatible path does not serve Cohere
    said = client.chat.completions.create(model="xai.grok-4", messages=[{"role": "user", "content": "Hi"}])
    assert said.choices[0].message.content == "signed reply to xai.grok-4"
    streamed = client.chat.completions.create(
        model="xai.grok-4", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "signed reply to xai.grok-4"
    for seen in upstream.seen:
        assert seen["authorization"].startswith("Signature ") and "ocid1.user.oc1" in seen["authorization"]
        assert seen["opc-compartment-id"] == seen["compartmentid"] == COMPARTMENT
        assert "openai-project" not in seen
    assert {seen["path"] for seen in upstream.seen} == {"/20231130/actions/v1/chat/completions"}


def test_openai_base_sends_the_project(
    recorder: tuple[Recorder, ServerThread], oci_dir: Path, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    upstream, server = recorder
    provider = {
        "type": "oracle",
        "auth": "user_principal",
        "base_url": f"{server.url}/openai/v1",
        "project": PROJECT,
        "config_file": str(oci_dir / "config"),
        "discovery": False,
        "models": ["openai.gpt-oss-120b"],
    }
    gateway, _ = start(gateway_factory, tmp_path, {"oracle": provider})
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="gw-key", max_retries=0)
    said = client.chat.completions.create(model="openai.gpt-oss-120b", messages=[{"role": "user", "content": "Hi"}])
    assert said.choices[0].message.content == "signed reply to openai.gpt-oss-120b"
    (seen,) = upstream.seen
    assert seen["openai-project"] == PROJECT and "opc-compartment-id" not in seen
    assert seen["authorization"].startswith("Signature ")
