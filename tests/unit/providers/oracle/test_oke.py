"""OKE workload identity (``auth: oke_workload_identity``): what a pod of an enhanced OKE cluster gives Oracle's SDK,
set up here as Kubernetes and OKE set it up, as far as that goes without Oracle: the ``KUBERNETES_SERVICE_HOST``
variable, the service account's token and CA certificate, and the token proxy OKE runs beside the API server (a
TLS server on loopback that answers as Oracle documents it, with a resource principal session token). The SDK's
own signer is built and signs; every missing piece is one error that names the fix."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import oci  # type: ignore[import-untyped]
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ocigate.config.settings import load_settings
from ocigate.providers.oracle import principals
from ocigate.providers.oracle.checks import check_provider
from ocigate.providers.oracle.hints import iam_policy
from ocigate.providers.oracle.signing import SignerSetupError, signer_for
from tests.support.iam import COMPARTMENT, REGION, TENANCY, jwt_token

SA_TOKEN = jwt_token({"sub": "system:serviceaccount:genai:ocigate", "exp": int(time.time()) + 3600})
RPST = jwt_token({"res_tenant": TENANCY, "res_compartment": COMPARTMENT, "exp": int(time.time()) + 3600})


class TokenProxy(BaseHTTPRequestHandler):
    """OKE's proxy: a service account token in, a resource principal session token (base64 JSON) out."""

    seen: list[dict[str, object]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        TokenProxy.seen.append({"path": self.path, "authorization": self.headers["Authorization"], **body})
        if self.headers["Authorization"] != f"Bearer {SA_TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        answer = base64.b64encode(json.dumps({"token": f"ST${RPST}"}).encode())
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA (as the cluster's CA is for the pod), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "ca.crt", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A pod's view: the service account folder, KUBERNETES_SERVICE_HOST, and the token proxy on loopback."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(SA_TOKEN)
    cert, key = self_signed(account)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenProxy)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # Where Kubernetes mounts them, and OKE's fixed port (12250), moved into this test's reach: the SDK's own names.
    monkeypatch.setattr(
        oci.auth.rpt_path_providers, "OCI_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH", str(account / "token")
    )
    monkeypatch.setattr(
        oci.auth.signers.resource_principals_signer, "OCI_KUBERNETES_PROXYMUX_SERVICE_PORT", str(server.server_port)
    )
    monkeypatch.setenv("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH", str(cert))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_REGION", REGION)
    TokenProxy.seen.clear()
    try:
        yield account
    finally:
        server.shutdown()
        server.server_close()


def test_the_pod_token_becomes_a_signing_identity(pod: Path) -> None:
    config_env = {"OCI_AUTH": "oke_workload_identity", "KUBERNETES_SERVICE_HOST": "127.0.0.1"}
    (provider,) = load_settings({**config_env, "OCI_RESOURCE_PRINCIPAL_REGION": REGION}).providers
    assert provider.auth == "oke_workload_identity" and provider.region == REGION
    assert not [d for d in check_provider(provider) if d.level == "error"]
    signer = signer_for(provider)
    signer.build()
    (asked,) = TokenProxy.seen
    assert asked["path"] == "/resourcePrincipalSessionTokens"
    assert asked["authorization"] == f"Bearer {SA_TOKEN}" and str(asked["podKey"]).startswith("MII")
    headers = signer.sign("POST", "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/x", {}, b"{}")
    assert f'keyId="ST${RPST}"' in headers["authorization"]
    credential = principals.oke_workload_identity()
    assert (credential.tenancy, credential.region, credential.compartment) == (TENANCY, REGION, COMPARTMENT)


def test_a_pod_without_its_token_is_told_to_mount_it(pod: Path) -> None:
    (pod / "token").unlink()
    with pytest.raises(SignerSetupError, match="automountServiceAccountToken: true") as caught:
        principals.oke_workload_identity()
    assert str(pod / "token") in str(caught.value)


def test_a_refused_token_names_the_cluster_type(pod: Path) -> None:
    (pod / "token").write_text(jwt_token({"sub": "someone-else", "exp": int(time.time()) + 3600}))
    with pytest.raises(SignerSetupError, match="refused the service account token .401.*enhanced OKE cluster"):
        principals.oke_workload_identity()


def test_outside_kubernetes_the_checks_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    (provider,) = load_settings({"OCI_AUTH": "oke_workload_identity", "OCI_REGION": REGION}).providers
    errors = [d.message for d in check_provider(provider) if d.level == "error"]
    assert errors == [
        "Provider 'oci': auth oke_workload_identity, but KUBERNETES_SERVICE_HOST is not set: OKE workload identity "
        "exists only in a pod of an enhanced OKE cluster (Kubernetes sets the variable)."
    ]
    with pytest.raises(SignerSetupError, match="enhanced OKE cluster .KUBERNETES_SERVICE_HOST"):
        principals.oke_workload_identity()


def test_the_policy_names_the_workload() -> None:
    assert iam_policy("oke_workload_identity", COMPARTMENT) == (
        f"allow any-user to use generative-ai-family in compartment id {COMPARTMENT} where all "
        "{request.principal.type='workload', request.principal.namespace='<namespace>', "
        "request.principal.service_account='<service account>', request.principal.cluster_id='<cluster OCID>'}"
    )
