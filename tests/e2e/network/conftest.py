"""A private certificate authority (``trustme``), an emulator serving TLS with its certificate (for ``genai.test``,
``localhost`` and 127.0.0.1), and a forward proxy on loopback that resolves ``genai.test`` to the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from ocigate.emulator import EmulatorConfig
from tests.support.proxy import ForwardProxy
from tests.support.servers import ServerThread, start_emulator

NAME = "genai.test"
"""A name only the test proxy resolves (``.test`` is reserved, RFC 2606): reaching it proves the proxy was used."""


@dataclass(frozen=True)
class Authority:
    ca_file: str
    """The authority's certificate (PEM): what ``ca_bundle:`` and ``SSL_CERT_FILE`` name."""
    cert_file: str
    """A server's certificate chain, issued by the authority for genai.test, localhost and 127.0.0.1."""
    key_file: str
    other_ca_file: str
    """Another authority, which did not sign the server's certificate."""


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    folder: Path = tmp_path_factory.mktemp("pki")
    ca, other = trustme.CA(), trustme.CA()
    server = ca.issue_cert(NAME, "localhost", "127.0.0.1")
    paths = {name: str(folder / f"{name}.pem") for name in ("ca", "cert", "key", "other")}
    ca.cert_pem.write_to_path(paths["ca"])
    other.cert_pem.write_to_path(paths["other"])
    for index, blob in enumerate(server.cert_chain_pems):
        blob.write_to_path(paths["cert"], append=index > 0)
    server.private_key_pem.write_to_path(paths["key"])
    return Authority(paths["ca"], paths["cert"], paths["key"], paths["other"])


@pytest.fixture(scope="session")
def tls_emulator(authority: Authority) -> Iterator[ServerThread]:
    server = start_emulator(EmulatorConfig(region="us-chicago-1"), tls=(authority.cert_file, authority.key_file))
    yield server
    server.stop()


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    server = ForwardProxy(hosts={NAME: "127.0.0.1"}).start()
    yield server
    server.stop()


@pytest.fixture
def locked_proxy() -> Iterator[ForwardProxy]:
    """A proxy that wants Basic credentials."""
    server = ForwardProxy(hosts={NAME: "127.0.0.1"}, credentials=("alice", "pr0xy-s3cret")).start()
    yield server
    server.stop()
