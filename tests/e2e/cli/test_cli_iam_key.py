"""``ocigate emulator --iam-key KEY_ID=PUBLIC_PEM_FILE``, run as a user runs it: in a subprocess, with the gateway's
``type: oci`` provider signing as the user principal whose key it registers."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.servers import GatewayFactory

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaclitenancy"
USER = "ocid1.user.oc1..aaaaaaaacliuser"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaclicompartment"
MODEL = "meta.llama-3.3-70b-instruct"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_", "OCI_"))}


def _user_key(folder: Path, name: str) -> tuple[str, Path]:
    """A user's API signing key written as ``<name>.pem`` and ``<name>.pub.pem``: its keyId and the public file."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / f"{name}.pem").write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = folder / f"{name}.pub.pem"
    public.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()  # noqa: S324 - OCI's key fingerprint is MD5 by definition
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, 32, 2))
    (folder / f"{name}.config").write_text(
        f"[DEFAULT]\nuser={USER}\nfingerprint={fingerprint}\ntenancy={TENANCY}\nregion=us-chicago-1\n"
        f"key_file={folder / f'{name}.pem'}\n"
    )
    return f"{TENANCY}/{USER}/{fingerprint}", public


@contextmanager
def _emulator(*args: str) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ocigate", "emulator", "--port", str(port), *args],
        env=_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _gateway(factory: GatewayFactory, folder: Path, emulator: str, name: str) -> openai.OpenAI:
    provider = {
        "type": "oci",
        "endpoint": emulator,
        "compartment_id": COMPARTMENT,
        "auth": "user_principal",
        "config_file": str(folder / f"{name}.config"),
        "discovery": False,
        "models": [MODEL],
    }
    config = folder / f"{name}.yaml"
    config.write_text(yaml.safe_dump({"providers": {"oci": provider}}), encoding="utf-8")
    server, _ = factory({"OCIGATE_MASTER_KEY": "gw-key"}, config_file=str(config))
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="gw-key", max_retries=0)


def test_emulator_accepts_the_signatures_of_its_iam_keys(tmp_path: Path, gateway_factory: GatewayFactory) -> None:
    key_id, public = _user_key(tmp_path, "known")
    _user_key(tmp_path, "stranger")
    with _emulator("--iam-key", f"{key_id}={public}") as url:
        known = _gateway(gateway_factory, tmp_path, url, "known")
        reply = known.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert reply.choices[0].message.content and reply.choices[0].finish_reason == "stop"
        stream = known.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == reply.choices[0].message.content

        stranger = _gateway(gateway_factory, tmp_path, url, "stranger")
        try:
            stranger.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
        except openai.AuthenticationError:
            pass
        else:
            raise AssertionError("a key the emulator was not given signed successfully")
        unsigned = httpx.post(f"{url}/20231130/actions/chat", json={"compartmentId": COMPARTMENT})
        assert unsigned.status_code == 401 and unsigned.json()["code"] == "NotAuthenticated"


def test_emulator_refuses_a_malformed_iam_key(tmp_path: Path) -> None:
    key_id, public = _user_key(tmp_path, "key")
    for spec in (key_id, f"{key_id}={tmp_path / 'missing.pem'}", f"{key_id}={tmp_path / 'key.config'}"):
        result = subprocess.run(
            [sys.executable, "-m", "ocigate", "emulator", "--port", str(_free_port()), "--iam-key", spec],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2 and "--iam-key" in result.stderr, result.stderr
