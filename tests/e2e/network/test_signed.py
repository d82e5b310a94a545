"""The native API under IAM through a proxy and a private CA: every signed call (the catalogue's ListModels at
start, chat, a stream) goes through the forward proxy's tunnel to ``genai.test``, trusting ``ca_bundle:``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from ocigate.emulator import EmulatorConfig
from tests.e2e.network.conftest import NAME, Authority
from tests.support.iam import REGION, Principals, iam_keys, oci_provider, start
from tests.support.proxy import ForwardProxy
from tests.support.servers import GatewayFactory, ServerThread, start_emulator

MODEL = "meta.llama-3.3-70b-instruct"


@pytest.fixture(scope="module")
def tls_iam_emulator(authority: Authority, principals: Principals) -> Iterator[ServerThread]:
    server = start_emulator(
        EmulatorConfig(region=REGION, iam_keys=iam_keys(principals)), tls=(authority.cert_file, authority.key_file)
    )
    yield server
    server.stop()


def test_signed_native_calls_and_discovery_through_the_proxy(
    tls_iam_emulator: ServerThread,
    authority: Authority,
    oci_dir: Path,
    proxy: ForwardProxy,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
) -> None:
    provider = oci_provider(tls_iam_emulator, oci_dir, ca_bundle=authority.ca_file)
    provider["endpoint"] = f"https://{NAME}:{tls_iam_emulator.port}"
    server, _ = start(
        lambda env, config_file=None: gateway_factory({**env, "HTTPS_PROXY": proxy.url}, config_file=config_file),
        tmp_path,
        {"oci": provider},
    )
    sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key="gw-key", max_retries=0)
    listed = {m.id for m in sdk.models.list().data}
    assert MODEL in listed or f"oci/{MODEL}" in listed  # from ListModels, signed, through the proxy
    reply = sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content
    chunks = sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert proxy.targets[f"{NAME}:{tls_iam_emulator.port}"] >= 1
