"""``POST /20231130/actions/embedText`` and ``/actions/rerankText`` (doc §3.7), deterministic.

An embedding is a unit vector of the model's dimension, drawn from a generator seeded with the model and the text,
so equal texts embed equally and tests can recompute it. Relevance is the share of the query's words that the
document contains (word overlap), plus a sliver for shorter documents so that ties break the same way every time.
"""

from __future__ import annotations

import hashlib
import math
import random
import re

from ocigate.catalog.models import ModelInfo
from ocigate.core.asgi import Handler, Request, Response
from ocigate.core.types import JSON
from ocigate.emulator.context import Context, json_reply
from ocigate.emulator.errors import invalid
from ocigate.emulator.generation import count_words
from ocigate.emulator.native_auth import NativeGate
from ocigate.emulator.native_models import NativeModels
from ocigate.emulator.native_wire import MODEL_VERSION, array, enum, positive, text

EMBED_PATH = "/20231130/actions/embedText"
RERANK_PATH = "/20231130/actions/rerankText"
MAX_INPUTS = 96  # doc §3.7 [uncertain: a public blog]
MAX_DOCUMENTS = 1000  # Cohere's rerank limit
# Cohere's embed v4 takes an output dimension among these; the v3 models have one fixed dimension.
V4_DIMENSIONS = (256, 512, 1024, 1536)
INPUT_TYPES = ("SEARCH_DOCUMENT", "SEARCH_QUERY", "CLASSIFICATION", "CLUSTERING", "IMAGE")
TRUNCATE = ("NONE", "START", "END")
_WORDS = re.compile(r"\w+")


def embedding(model_id: str, value: str, dimensions: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(f"{model_id}\x00{value}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    vector = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def relevance(query: str, document: str) -> float:
    wanted = set(_WORDS.findall(query.lower()))
    have = set(_WORDS.findall(document.lower()))
    if not wanted:
        return 0.0
    overlap = len(wanted & have) / len(wanted)
    return round(overlap * 0.99 + 0.01 / (1 + len(have)), 6)


def _dimensions(model: ModelInfo, requested: int | None) -> int:
    native = model.embedding_dimensions or 1024
    if requested is None or requested == native:
        return native
    if model.id.startswith("cohere.embed-v4") and requested in V4_DIMENSIONS:
        return requested
    raise invalid(f"Invalid parameter: 'outputDimensions' {requested} is not supported by {model.id}.")


def _inputs(body: JSON, model: ModelInfo, input_type: str | None) -> list[str]:
    inputs = array(body.get("inputs"), "inputs")
    if body.get("embedContents") is not None and not inputs:
        raise invalid("Invalid parameter: 'embedContents' is not supported by the emulator; send 'inputs'.")
    if not inputs:
        raise invalid("Invalid parameter: 'inputs' must be a non-empty array.")
    if len(inputs) > MAX_INPUTS:
        raise invalid(f"Invalid parameter: 'inputs' holds {len(inputs)} items; at most {MAX_INPUTS} are allowed.")
    truncate = enum(body.get("truncate"), "truncate", TRUNCATE) or "NONE"
    texts: list[str] = []
    for index, item in enumerate(inputs):
        value = text(item, f"inputs[{index}]", required=True) or ""
        if input_type != "IMAGE" and truncate == "NONE" and count_words(value) > model.context_window:
            raise invalid(
                f"Invalid parameter: 'inputs[{index}]' is longer than {model.context_window} tokens; "
                "set 'truncate' to START or END."
            )
        texts.append(value)
    return texts


def embed_handler(ctx: Context, gate: NativeGate, models: NativeModels) -> Handler:
    async def embed_text(request: Request) -> Response:
        body, _ = await gate.admit(request)
        model = models.resolve(body.get("servingMode"), "embeddings")
        input_type = enum(body.get("inputType"), "inputType", INPUT_TYPES)
        texts = _inputs(body, model, input_type)
        dimensions = _dimensions(model, positive(body.get("outputDimensions"), "outputDimensions"))
        tokens = sum(count_words(t) for t in texts)
        result: JSON = {
            "id": ctx.ids.object_id(""),
            "embeddings": [embedding(model.id, t, dimensions) for t in texts],
            "modelId": model.id,
            "modelVersion": MODEL_VERSION,
            "usage": {"promptTokens": tokens, "totalTokens": tokens},
        }
        if body.get("isEcho") is True:
            result["inputs"] = texts
        return json_reply(result)

    return embed_text


def rerank_handler(ctx: Context, gate: NativeGate, models: NativeModels) -> Handler:
    async def rerank_text(request: Request) -> Response:
        body, _ = await gate.admit(request)
        model = models.resolve(body.get("servingMode"), "rerank")
        query = text(body.get("input"), "input", required=True) or ""
        documents = array(body.get("documents"), "documents", required=True)
        if not documents or len(documents) > MAX_DOCUMENTS:
            raise invalid(f"Invalid parameter: 'documents' must hold 1 to {MAX_DOCUMENTS} items.")
        texts = [text(d, f"documents[{i}]", required=True) or "" for i, d in enumerate(documents)]
        top_n = positive(body.get("topN"), "topN") or len(texts)
        order = sorted(range(len(texts)), key=lambda i: (-relevance(query, texts[i]), i))[:top_n]
        ranks = [
            {"index": i, "relevanceScore": relevance(query, texts[i]), "document": {"text": texts[i]}} for i in order
        ]
        if body.get("isEcho") is not True:
            for rank in ranks:
                del rank["document"]
        return json_reply(
            {"id": ctx.ids.object_id(""), "modelId": model.id, "modelVersion": MODEL_VERSION, "documentRanks": ranks}
        )

    return rerank_text
