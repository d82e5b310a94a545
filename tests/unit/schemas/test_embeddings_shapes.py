"""check_embeddings and check_rerank: wrong inputs and documents are 400s that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from ocigate.core.errors import InvalidRequest
from ocigate.schemas.embeddings import check_embeddings, check_rerank


def embed(**fields: Any) -> dict[str, Any]:
    return {"model": "cohere.embed-v4.0", "input": "text", **fields}


def rerank(**fields: Any) -> dict[str, Any]:
    return {"model": "cohere.rerank-v3.5", "query": "q", "documents": ["a", {"text": "b"}], **fields}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"input": ["a", "b"]},
        {"input": [1, 2, 3]},
        {"input": [[1, 2], [3]]},
        {"encoding_format": "base64", "dimensions": 256, "user": "u", "input_type": "search_query", "extra": 1},
    ],
)
def test_embeddings_that_pass(fields: dict[str, Any]) -> None:
    check_embeddings(embed(**fields))


@pytest.mark.parametrize(
    ("fields", "param", "message"),
    [
        ({"input": None}, "input", "'input' is required: a string or an array of strings to embed."),
        ({"input": ""}, "input", None),
        ({"input": []}, "input", None),
        ({"input": 5}, "input", None),
        ({"input": {"text": "a"}}, "input", None),
        ({"input": ["a", 5]}, "input[1]", None),
        ({"input": [{"text": "a"}]}, "input[0]", None),
        ({"input": [1, "a"]}, "input[1]", None),
        ({"input": [1, -2]}, "input[1]", None),
        ({"input": [[1], []]}, "input[1]", None),
        ({"input": [[1], [True]]}, "input[1][0]", None),
        ({"encoding_format": "hex"}, "encoding_format", None),
        ({"dimensions": 0}, "dimensions", None),
        ({"dimensions": "256"}, "dimensions", None),
        ({"input_type": ["query"]}, "input_type", None),
        ({"model": ""}, "model", None),
    ],
)
def test_embeddings_that_are_refused(fields: dict[str, Any], param: str, message: str | None) -> None:
    with pytest.raises(InvalidRequest) as raised:
        check_embeddings(embed(**fields))
    assert raised.value.param == param
    if message is not None:
        assert raised.value.message == message


def test_rerank_that_passes() -> None:
    check_rerank(rerank(top_n=1, return_documents=True, max_chunks_per_doc=2, max_tokens_per_doc=100))


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"query": None}, "query"),
        ({"query": ""}, "query"),
        ({"query": ["q"]}, "query"),
        ({"documents": None}, "documents"),
        ({"documents": []}, "documents"),
        ({"documents": "a"}, "documents"),
        ({"documents": ["a", 5]}, "documents[1]"),
        ({"documents": [{"title": "a"}]}, "documents[0].text"),
        ({"documents": [{"text": ["a"]}]}, "documents[0].text"),
        ({"top_n": 0}, "top_n"),
        ({"top_n": "3"}, "top_n"),
        ({"max_tokens_per_doc": -1}, "max_tokens_per_doc"),
        ({"return_documents": "yes"}, "return_documents"),
        ({"rank_fields": "text"}, "rank_fields"),
    ],
)
def test_rerank_that_is_refused(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        check_rerank(rerank(**fields))
    assert raised.value.param == param
