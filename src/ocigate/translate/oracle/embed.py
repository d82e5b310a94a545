"""OpenAI embeddings and Cohere-style rerank ⇄ Oracle's embedText and rerankText (doc §3.7).

Usage::

    bodies = to_oci_embed_requests(body, model_id=mid, compartment_id=c, serving=ServingMode.on_demand(mid))
    results = [post("/actions/embedText", b) for b in bodies]          # at most 96 inputs each
    answer = from_oci_embed_results(results, model=body["model"], encoding_format=embedding_format(body))
"""

from __future__ import annotations

import base64
import struct

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.translate.oracle.serving import ServingMode

# Oracle takes at most 96 inputs per embedText call (doc §3.7, a public blog [uncertain]).
MAX_EMBED_INPUTS = 96
ENCODING_FORMATS = ("float", "base64")
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering", "image")
TRUNCATE = ("none", "start", "end")


def embedding_format(request: JSON) -> str:
    """The checked ``encoding_format`` of an OpenAI embeddings request: float (the default) or base64."""
    fmt = request.get("encoding_format")
    if fmt is None:
        return "float"
    if fmt not in ENCODING_FORMATS:
        raise InvalidRequest("'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
    return str(fmt)


def to_oci_embed_requests(request: JSON, *, model_id: str, compartment_id: str, serving: ServingMode) -> list[JSON]:
    """EmbedTextDetails bodies for an OpenAI ``/v1/embeddings`` request, one per batch of 96 inputs.

    Floats are always asked of Oracle: base64 is encoded here, as OpenAI does (little-endian float32). Cohere's
    ``input_type`` and ``truncate`` are accepted as extra fields; inputs that are all image data URLs default to
    ``inputType: IMAGE``."""
    inputs = _inputs(request.get("input"))
    embedding_format(request)
    options: JSON = {}
    dimensions = request.get("dimensions")
    if dimensions is not None:
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise InvalidRequest("'dimensions' must be a positive integer.", param="dimensions")
        options["outputDimensions"] = dimensions
    input_type = _choice(request, "input_type", INPUT_TYPES)
    if input_type is None and all(text.startswith("data:image/") for text in inputs):
        input_type = "IMAGE"
    if input_type is not None:
        options["inputType"] = input_type
    truncate = _choice(request, "truncate", TRUNCATE)
    if truncate is not None:
        options["truncate"] = truncate
    return [
        {
            "inputs": inputs[start : start + MAX_EMBED_INPUTS],
            "servingMode": serving.to_json(),
            "compartmentId": compartment_id,
            **options,
        }
        for start in range(0, len(inputs), MAX_EMBED_INPUTS)
    ]


def _inputs(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(item, str) for item in value):
            return list(value)
        if all(isinstance(item, int | list) for item in value):
            raise InvalidRequest(
                "'input' holds token arrays: Oracle embeds text only, send strings instead.", param="input"
            )
    raise InvalidRequest("'input' must be a string or a non-empty array of strings.", param="input")


def _choice(request: JSON, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in allowed:
        raise InvalidRequest(f"'{name}' must be one of {', '.join(allowed)}, got {value!r}.", param=name)
    return value.upper()


def from_oci_embed_results(results: list[JSON], *, model: str, encoding_format: str) -> JSON:
    """One OpenAI embeddings answer for the results of the batches, in order, with running indices."""
    data: list[JSON] = []
    prompt_tokens = 0
    for result in results:
        vectors = result.get("embeddings")
        if not isinstance(vectors, list):
            by_type = result.get("embeddingsByType")
            vectors = by_type.get("float") if isinstance(by_type, dict) else None
        for vector in vectors if isinstance(vectors, list) else []:
            data.append({"object": "embedding", "index": len(data), "embedding": _encode(vector, encoding_format)})
        usage = result.get("usage")
        if isinstance(usage, dict):
            tokens = usage.get("promptTokens", usage.get("totalTokens"))
            prompt_tokens += tokens if isinstance(tokens, int) else 0
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def _encode(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format != "base64":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def to_oci_rerank_request(request: JSON, *, compartment_id: str, serving: ServingMode) -> JSON:
    """RerankTextDetails for a Cohere-style rerank body: ``query``, ``documents`` (strings or ``{"text"}``),
    ``top_n``, ``return_documents``, ``max_chunks_per_doc``, ``max_tokens_per_doc``."""
    query = request.get("query")
    if not isinstance(query, str) or not query:
        raise InvalidRequest("'query' must be a non-empty string.", param="query")
    details: JSON = {
        "input": query,
        "documents": rerank_documents(request),
        "compartmentId": compartment_id,
        "servingMode": serving.to_json(),
    }
    for name, oci_name in (
        ("top_n", "topN"),
        ("max_chunks_per_doc", "maxChunksPerDocument"),
        ("max_tokens_per_doc", "maxTokensPerDocument"),
    ):
        value = request.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidRequest(f"'{name}' must be a positive integer.", param=name)
        details[oci_name] = value
    if request.get("return_documents") is True:
        details["isEcho"] = True
    return details


def rerank_documents(request: JSON) -> list[str]:
    """The documents of a rerank body as strings."""
    documents = request.get("documents")
    if not isinstance(documents, list) or not documents:
        raise InvalidRequest("'documents' must be a non-empty array.", param="documents")
    texts: list[str] = []
    for index, document in enumerate(documents):
        text = document.get("text") if isinstance(document, dict) else document
        if not isinstance(text, str):
            raise InvalidRequest(
                f"'documents[{index}]' must be a string or an object with 'text'.", param=f"documents[{index}]"
            )
        texts.append(text)
    return texts


def from_oci_rerank_result(
    raw: JSON, *, model: str, return_documents: bool, documents: list[str] | None = None
) -> JSON:
    """Cohere's rerank answer, best first. A document's text comes from Oracle's echo, or else from
    ``documents`` (the request's, by index) when the client asked for documents."""
    ranks = raw.get("documentRanks")
    entries = (
        [r for r in ranks if isinstance(r, dict) and isinstance(r.get("index"), int)] if isinstance(ranks, list) else []
    )
    entries.sort(key=lambda r: (-float(r.get("relevanceScore") or 0.0), r["index"]))
    results: list[JSON] = []
    for rank in entries:
        index: int = rank["index"]
        result: JSON = {"index": index, "relevance_score": float(rank.get("relevanceScore") or 0.0)}
        if return_documents:
            echoed = rank.get("document")
            text = echoed.get("text") if isinstance(echoed, dict) else None
            if not isinstance(text, str) and documents is not None and 0 <= index < len(documents):
                text = documents[index]
            if isinstance(text, str):
                result["document"] = {"text": text}
        results.append(result)
    return {
        "id": raw.get("id") if isinstance(raw.get("id"), str) else "",
        "results": results,
        "meta": {"api_version": {"version": "2"}},
        "model": model,
    }
