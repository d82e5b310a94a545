"""Authentication and the paths around inference, answered as Oracle answers them."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

from ocigate.emulator import DEFAULT_KEY
from tests.support.emulator import COMPAT, OPENAI, PROJECT, auth

LLAMA = "meta.llama-3.3-70b-instruct"
CHAT = {"model": LLAMA, "messages": [{"role": "user", "content": "Hi"}]}
NOT_AUTHENTICATED = {
    "code": "NotAuthenticated",
    "message": "The required information to complete authentication was not provided or was incorrect.",
}
NOT_FOUND = {"code": "NotAuthorizedOrNotFound", "message": "Authorization failed or requested resource not found."}
REQUEST_ID = re.compile(r"^[0-9A-F]{32}$")


@pytest.mark.parametrize("base", [COMPAT, OPENAI])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk-unknown"}, {"Authorization": DEFAULT_KEY}])
def test_missing_or_unknown_key_is_401(emu_http: httpx.Client, base: str, headers: dict[str, str]) -> None:
    response = emu_http.post(base + "/chat/completions", json=CHAT, headers=headers)
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert REQUEST_ID.match(response.headers["opc-request-id"])


@pytest.mark.parametrize("key", ["sk-emulator-ashburn", "sk-emulator-nopolicy"])
def test_other_region_and_missing_policy_are_the_same_404(emu_http: httpx.Client, key: str) -> None:
    response = emu_http.post(COMPAT + "/chat/completions", json=CHAT, headers=auth(key))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_current_base_needs_a_project(emu_http: httpx.Client) -> None:
    response = emu_http.post(OPENAI + "/chat/completions", json=CHAT, headers=auth())
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "MissingParameter" and "OpenAI-Project" in body["message"]
    bad = emu_http.post(OPENAI + "/chat/completions", json=CHAT, headers=auth(project="proj-123"))
    assert bad.status_code == 400 and "ocid1.generativeaiproject." in bad.json()["message"]


def test_authentication_comes_before_the_project_check(emu_http: httpx.Client) -> None:
    response = emu_http.post(OPENAI + "/responses", json=CHAT, headers={"Authorization": "Bearer sk-nope"})
    assert response.status_code == 401


def test_both_bases_serve_the_sdk(emu_client: openai.OpenAI, emu_project_client: openai.OpenAI) -> None:
    for sdk in (emu_client, emu_project_client):
        reply = sdk.chat.completions.create(model=LLAMA, messages=[{"role": "user", "content": "Hi"}])
        assert reply.choices[0].message.content == f"Hello from {LLAMA} in us-chicago-1. You said: Hi"


def test_sdk_sees_oracle_error_bodies(emu_url: str) -> None:
    sdk = openai.OpenAI(base_url=emu_url + COMPAT, api_key="sk-emulator-ashburn", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.chat.completions.create(model=LLAMA, messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.body == NOT_FOUND


def test_request_ids_are_unique_and_extend_the_callers(emu_http: httpx.Client) -> None:
    first = emu_http.post(COMPAT + "/chat/completions", json=CHAT, headers=auth())
    second = emu_http.get("/healthz")
    assert first.status_code == 200 and second.status_code == 200
    ids = {first.headers["opc-request-id"], second.headers["opc-request-id"]}
    assert len(ids) == 2 and all(REQUEST_ID.match(i) for i in ids)
    echoed = emu_http.get("/healthz", headers={"opc-request-id": "CALLER-1"})
    caller, ours = echoed.headers["opc-request-id"].split("/")
    assert caller == "CALLER-1" and REQUEST_ID.match(ours)


@pytest.mark.parametrize("base", [COMPAT, OPENAI])
def test_there_is_no_models_listing(emu_http: httpx.Client, base: str) -> None:
    for path in ("/models", "/models/xai.grok-4"):
        response = emu_http.get(base + path, headers=auth(project=PROJECT))
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
        assert "opc-request-id" in response.headers


def test_sdk_models_list_fails(emu_project_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        emu_project_client.models.list()


def test_healthz(emu_http: httpx.Client) -> None:
    response = emu_http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_unknown_paths_and_methods_answer_in_oracles_shape(emu_http: httpx.Client) -> None:
    unknown = emu_http.post("/20231130/actions/v1/embeddings", json={}, headers=auth())
    assert unknown.status_code == 404 and unknown.json() == NOT_FOUND
    wrong_method = emu_http.get(COMPAT + "/chat/completions", headers=auth())
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"code": "MethodNotAllowed", "message": "Method not allowed; use POST."}
