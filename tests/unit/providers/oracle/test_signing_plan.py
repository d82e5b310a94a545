"""The signing string planned once per method and URL (``_Plan``) against ``canonical_string``, which builds it from
the draft's rules each time; and a request signed through a plan against Oracle's SDK signing the same request."""

from __future__ import annotations

import oci  # type: ignore[import-untyped]
import pytest
import requests

from ocigate.providers.oracle.principals import Credential
from ocigate.providers.oracle.signing import OciRequestSigner, _Plan, canonical_string
from tests.support.iam import Key, new_key

TENANCY = "ocid1.tenancy.oc1..aaaaaaaatenancy"
USER = "ocid1.user.oc1..aaaaaaaauser"
HEADERS = {
    "date": "Thu, 01 Jan 2026 00:00:00 GMT",
    "content-length": "42",
    "content-type": "application/json",
    "x-content-sha256": "abc%sdef=",
}
NAMES = [
    ["date", "(request-target)", "host", "content-length", "content-type", "x-content-sha256"],
    ["date", "(request-target)", "host"],
    ["(request-target)", "host"],
    ["x-content-sha256"],
    [],
]


@pytest.mark.parametrize("names", NAMES)
@pytest.mark.parametrize("path", ["/20231130/actions/chat", "/20231130/models?compartmentId=a%2Fb&name=100%25%s"])
def test_the_plan_makes_the_canonical_string(names: list[str], path: str) -> None:
    plan = _Plan(names, 'Signature headers="x",signature="%s"', "POST", path, "host.example:8443")
    expected = canonical_string(names, HEADERS, "POST", path, "host.example:8443")
    assert plan.signable(HEADERS) == expected
    assert plan.authorization("c2ln") == 'Signature headers="x",signature="c2ln"'


def test_a_missing_signed_header_raises_as_canonical_string_does() -> None:
    names = ["date", "(request-target)", "opc-obo-token"]
    with pytest.raises(KeyError):
        canonical_string(names, HEADERS, "GET", "/", "h")
    with pytest.raises(KeyError):
        _Plan(names, "%s", "GET", "/", "h").signable(HEADERS)


def test_a_template_with_other_percent_signs_is_formatted() -> None:
    assert _Plan([], "a%%b %s", "GET", "/", "h").authorization("sig") == "a%b sig"


@pytest.fixture(scope="module")
def key() -> Key:
    return new_key()


def test_signatures_through_plans_match_the_sdk_across_urls_and_a_new_principal(key: Key) -> None:
    user = USER

    def sdk() -> oci.signer.Signer:
        return oci.signer.Signer(TENANCY, user, key.fingerprint, None, private_key_content=key.pem())

    credential = Credential(sdk(), tenancy=TENANCY, region=None)
    signer = OciRequestSigner("user_principal", lambda: credential, describe="user principal")
    signer.build()
    urls = ["https://h.example/20231130/actions/chat", "https://h.example/20231130/models?compartmentId=a%2Fb"]
    for _ in range(2):  # the second round signs through the plans made by the first, then through new ones
        for url in urls * 2:
            for method, body in (("POST", b'{"a":1}'), ("GET", None)):
                signed = signer.sign(method, url, {"content-type": "application/json"}, body)
                prepared = requests.Request(method, url, data=body, headers={"date": signed["date"],
                                            "content-type": "application/json"}).prepare()  # fmt: skip
                assert signed["authorization"] == sdk()(prepared).headers["authorization"], (method, url)
        user = USER + "2"
        credential.sdk = sdk()  # another principal (its keyId in the template): new header signers, new plans
