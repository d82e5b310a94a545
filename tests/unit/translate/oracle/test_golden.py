"""Golden tests for the pure OpenAI ⇄ OCI native translations (tests/unit/translate/oracle/golden/<kind>/*.json)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocigate.catalog.models import find_model
from ocigate.translate.oracle.chat import from_oci_chat_response, to_oci_chat_request
from ocigate.translate.oracle.embed import (
    from_oci_embed_results,
    from_oci_rerank_result,
    to_oci_embed_requests,
    to_oci_rerank_request,
)
from ocigate.translate.oracle.schema import inline_schema
from ocigate.translate.oracle.serving import ServingMode
from ocigate.translate.oracle.stream import OciStreamTranslator
from tests.support.golden import cases, check, load

GOLDEN = Path(__file__).parent / "golden"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaexample"


def _id(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("path", cases(GOLDEN / "chat_request"), ids=_id)
def test_chat_request(path: Path) -> None:
    case = load(path)
    model_id = case["model_id"]
    actual = to_oci_chat_request(
        case["request"],
        model_id=model_id,
        compartment_id=COMPARTMENT,
        serving=ServingMode.for_target(model_id),
        model=find_model(model_id),
    )
    check(path, case, actual)


@pytest.mark.parametrize("path", cases(GOLDEN / "chat_response"), ids=_id)
def test_chat_response(path: Path) -> None:
    case = load(path)
    actual = from_oci_chat_response(
        case["raw"], model="client-model", completion_id="chatcmpl-golden", created=1700000000
    )
    check(path, case, actual)


@pytest.mark.parametrize("path", cases(GOLDEN / "stream"), ids=_id)
def test_stream(path: Path) -> None:
    case = load(path)
    translator = OciStreamTranslator(
        case["api_format"],
        model="client-model",
        completion_id="chatcmpl-golden",
        created=1700000000,
        include_usage=case["include_usage"],
    )
    chunks = [chunk for data in case["events"] for chunk in translator.feed(data)]
    chunks.extend(translator.finish())
    check(path, case, chunks)


@pytest.mark.parametrize("path", [p for p in cases(GOLDEN / "embed") if p.stem.startswith("requests")], ids=_id)
def test_embed_requests(path: Path) -> None:
    case = load(path)
    serving = ServingMode.on_demand(case["model_id"])
    actual = to_oci_embed_requests(
        case["request"], model_id=case["model_id"], compartment_id=COMPARTMENT, serving=serving
    )
    check(path, case, actual)


@pytest.mark.parametrize("path", [p for p in cases(GOLDEN / "embed") if p.stem.startswith("results")], ids=_id)
def test_embed_results(path: Path) -> None:
    case = load(path)
    actual = from_oci_embed_results(case["results"], model="client-embed", encoding_format=case["encoding_format"])
    check(path, case, actual)


@pytest.mark.parametrize("path", [p for p in cases(GOLDEN / "rerank") if p.stem == "request"], ids=_id)
def test_rerank_request(path: Path) -> None:
    case = load(path)
    serving = ServingMode.on_demand("cohere.rerank-v3.5")
    check(path, case, to_oci_rerank_request(case["request"], compartment_id=COMPARTMENT, serving=serving))


@pytest.mark.parametrize("path", [p for p in cases(GOLDEN / "rerank") if p.stem.startswith("result")], ids=_id)
def test_rerank_result(path: Path) -> None:
    case = load(path)
    actual = from_oci_rerank_result(
        case["raw"], model="client-rerank", return_documents=case["return_documents"], documents=case["documents"]
    )
    check(path, case, actual)


@pytest.mark.parametrize("path", cases(GOLDEN / "schema"), ids=_id)
def test_schema(path: Path) -> None:
    case = load(path)
    check(path, case, inline_schema(case["schema"]))
