"""The shapes of ``POST /v1/embeddings`` (OpenAI's) and ``POST /v1/rerank`` (Cohere's), checked before any upstream
call.

Embeddings: ``input`` a non-empty string, or a non-empty array of strings, of token ids, or of arrays of token ids
(OpenAI's four forms; the native translation refuses tokens with its own message); ``encoding_format`` float or
base64; ``dimensions`` a positive integer; Cohere's ``input_type`` and ``truncate`` strings. Rerank: ``query`` a
non-empty string; ``documents`` a non-empty array of strings or ``{"text": ...}`` objects; ``top_n``,
``max_chunks_per_doc``, ``max_tokens_per_doc`` positive integers; ``return_documents`` a boolean.
"""

from __future__ import annotations

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.schemas.fields import (
    Checker,
    boolean,
    check_fields,
    check_model,
    choice,
    integer,
    is_int,
    refuse,
    require,
    string,
    strings,
)

ENCODING_FORMATS = ("float", "base64")
_INPUT = "a string or an array of strings to embed"


def check_embeddings(payload: JSON) -> None:
    """Raises :class:`InvalidRequest` naming the first field of ``payload`` with a wrong shape."""
    check_model(payload)
    value = payload.get("input")
    if value is None or value == "" or value == []:
        raise InvalidRequest(f"'input' is required: {_INPUT}.", param="input")
    if not isinstance(value, str):
        _inputs(value)
    check_fields(payload, _EMBEDDING_FIELDS)


def _inputs(value: object) -> None:
    if not isinstance(value, list):
        raise refuse("input", _INPUT, value)
    first = value[0]
    if isinstance(first, str):
        for index, text in enumerate(value):
            if not isinstance(text, str):
                raise refuse(f"input[{index}]", "a string, as the first input is", text)
    elif is_int(first):
        _tokens(value, "input")
    elif isinstance(first, list):
        for index, tokens in enumerate(value):
            if not isinstance(tokens, list) or not tokens:
                raise refuse(f"input[{index}]", "a non-empty array of token ids", tokens)
            _tokens(tokens, f"input[{index}]")
    else:
        raise refuse("input[0]", "a string", first)


def _tokens(tokens: list[object], where: str) -> None:
    for index, token in enumerate(tokens):
        if not is_int(token) or token < 0:
            raise refuse(f"{where}[{index}]", "a token id (an integer of at least 0)", token)


def check_rerank(payload: JSON) -> None:
    """Raises :class:`InvalidRequest` naming the first field of ``payload`` with a wrong shape."""
    check_model(payload)
    query = payload.get("query")
    if not isinstance(query, str) or not query:
        raise InvalidRequest("'query' is required: the text to rank the documents against.", param="query")
    documents = payload.get("documents")
    if not isinstance(documents, list) or not documents:
        raise InvalidRequest("'documents' must be a non-empty array of strings or {\"text\": ...}.", param="documents")
    for index, document in enumerate(documents):
        if isinstance(document, dict):
            require(document, "text", string, f"documents[{index}].")
        elif not isinstance(document, str):
            raise refuse(f"documents[{index}]", "a string or an object with 'text'", document)
    check_fields(payload, _RERANK_FIELDS)


_EMBEDDING_FIELDS: dict[str, Checker] = {
    "encoding_format": choice(*ENCODING_FORMATS),
    "dimensions": integer(1),
    "user": string,
    "input_type": string,
    "truncate": string,
}
_RERANK_FIELDS: dict[str, Checker] = {
    "top_n": integer(1),
    "max_chunks_per_doc": integer(1),
    "max_tokens_per_doc": integer(1),
    "return_documents": boolean,
    "rank_fields": strings,
}
