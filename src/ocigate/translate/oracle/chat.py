"""OpenAI Chat Completions ⇄ Oracle's native chat (``POST /20231130/actions/chat``, doc §3.1-§3.5).

Usage::

    details = to_oci_chat_request(body, model_id="meta.llama-3.3-70b-instruct", compartment_id=compartment,
                                  serving=ServingMode.on_demand("meta.llama-3.3-70b-instruct"), model=info)
    # POST details; then, for a JSON answer:
    completion = from_oci_chat_response(raw, model=body["model"], completion_id="chatcmpl-...", created=now)

Parameters a model cannot take are dropped or mapped, never refused; only a client's real mistake (a malformed
field) raises :class:`~ocigate.core.errors.InvalidRequest`.
"""

from __future__ import annotations

from ocigate.catalog.models import ModelInfo
from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.translate.oracle.chat_cohere import (
    to_cohere_fields,
    to_cohere_response_format,
    to_cohere_v2_messages,
    to_cohere_v2_tools,
)
from ocigate.translate.oracle.chat_generic import (
    to_generic_messages,
    to_generic_response_format,
    to_generic_tool_choice,
    to_generic_tools,
    to_plain_generic_messages,
)
from ocigate.translate.oracle.chat_response import from_oci_chat_response
from ocigate.translate.oracle.messages import Function, ToolChoice, Turn, read_functions, read_tool_choice, read_turns
from ocigate.translate.oracle.serving import ServingMode

__all__ = ["api_format_for", "from_oci_chat_response", "to_oci_chat_request", "DEFAULT_MAX_TOKENS"]

GENERIC = "GENERIC"
COHERE = "COHERE"
COHEREV2 = "COHEREV2"
# Oracle's own default output budget is tiny (doc §3.4: "~20 tokens" [uncertain]): a request without one gets this.
DEFAULT_MAX_TOKENS = 4096
# Cohere models whose features exist only in COHEREV2: image content (vision) and THINKING (reasoning), doc §3.3.
COHERE_V2_PREFIXES = ("cohere.command-a-vision", "cohere.command-a-reasoning")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")
_SERVICE_TIERS = {"auto": "AUTO", "default": "DEFAULT", "priority": "PRIORITY"}
_VERBOSITY = ("low", "medium", "high")
# OpenAI's name → Oracle's, for the sampling parameters every format shares (doc §3.2-§3.4).
_SAMPLING = (
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("frequency_penalty", "frequencyPenalty"),
    ("presence_penalty", "presencePenalty"),
)
# A request of nothing but these, with plain text messages, takes the short way to GENERIC (to_plain_generic_messages):
# none of them changes what the general reading of messages, tools and formats would make of it.
_PLAIN_KEYS = frozenset(
    {"model", "messages", "max_tokens", "max_completion_tokens", "stop", "seed", "stream", "stream_options"}
    | {"top_k", "user", "store"}
    | {name for name, _ in _SAMPLING}
)


def api_format_for(model: ModelInfo | None, model_id: str) -> str:
    """COHERE for Cohere chat models, COHEREV2 for Cohere's vision and reasoning models, GENERIC otherwise."""
    cohere = model.vendor == "cohere" if model is not None else model_id.startswith("cohere.")
    if not cohere:
        return GENERIC
    name = model.id if model is not None else model_id
    if (model is not None and (model.vision or model.reasoning)) or name.startswith(COHERE_V2_PREFIXES):
        return COHEREV2
    return COHERE


def to_oci_chat_request(
    request: JSON,
    *,
    model_id: str,
    compartment_id: str,
    serving: ServingMode,
    model: ModelInfo | None,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
) -> JSON:
    """ChatDetails for an OpenAI chat completion request. ``model_id`` is the upstream model's name (it picks the
    format when ``model`` is unknown); ``model`` is its catalogue entry, if any."""
    fmt = api_format_for(model, model_id)
    chat: JSON | None = None
    if fmt == GENERIC and request.keys() <= _PLAIN_KEYS:
        developer = model.vendor == "openai" if model is not None else model_id.startswith("openai.")
        messages = to_plain_generic_messages(request.get("messages"), developer_role=developer)
        if messages is not None:
            chat = {"apiFormat": GENERIC, "messages": messages}
    if chat is None:
        chat = _formatted(request, fmt, model, model_id)
    get = request.get
    for name, oci_name in _SAMPLING:
        if get(name) is not None:
            chat[oci_name] = _number(request, name)
    if get("top_k") is not None:
        chat["topK"] = _int(request, "top_k", 0)  # not OpenAI's, but clients send it as an extra field
    if get("seed") is not None:
        chat["seed"] = _int(request, "seed", None)
    budget = _int(request, "max_completion_tokens", 1) if get("max_completion_tokens") is not None else None
    if budget is None and get("max_tokens") is not None:
        budget = _int(request, "max_tokens", 1)
    if budget is None:
        budget = default_max_tokens
        if model is not None and model.max_output_tokens > 0:
            budget = min(budget, model.max_output_tokens)
    # OpenAI's reasoning models reject maxTokens and want maxCompletionTokens, which counts reasoning too (§3.4).
    reasoning = model.reasoning if model is not None else model_id.startswith("openai.")
    chat["maxCompletionTokens" if fmt == GENERIC and reasoning else "maxTokens"] = budget
    if (stop := get("stop")) is not None:
        _put(chat, "stop" if fmt == GENERIC else "stopSequences", _stop(stop))
    if get("stream") is True:
        chat["isStream"] = True
        # Usage is always asked for, whatever the client wants: the gateway meters every stream. The stream
        # translator passes it on only when the client asked (stream_options.include_usage).
        chat["streamOptions"] = {"isIncludeUsage": True}
    return {"compartmentId": compartment_id, "servingMode": serving.to_json(), "chatRequest": chat}


def _formatted(request: JSON, fmt: str, model: ModelInfo | None, model_id: str) -> JSON:
    """Everything of ChatDetails' chatRequest but the sampling parameters, the budget, stop and streaming."""
    turns = read_turns(request.get("messages"))
    functions = read_functions(request.get("tools"))
    choice = read_tool_choice(request.get("tool_choice"), functions)
    if functions and model is not None and not model.tools:
        raise InvalidRequest(f"Model {model_id} does not support tool calling: remove 'tools'.", param="tools")
    chat: JSON = {"apiFormat": fmt}
    if fmt == GENERIC:
        chat.update(_generic(request, turns, functions, choice, model, model_id))
    elif fmt == COHERE:
        chat.update(to_cohere_fields(turns, functions, choice))
        _put(chat, "responseFormat", to_cohere_response_format(request.get("response_format")))
    else:
        chat["messages"] = to_cohere_v2_messages(turns)
        chat.update(to_cohere_v2_tools(functions, choice))
        _put(chat, "responseFormat", to_cohere_response_format(request.get("response_format")))
        if model is not None and model.reasoning:
            effort = _reasoning_effort(request)
            if effort is not None:
                chat["thinking"] = {"type": "DISABLED" if effort == "none" else "ENABLED"}
    if fmt != GENERIC and _int(request, "n", 1) not in (None, 1):
        raise InvalidRequest("Cohere models return one choice: 'n' must be 1.", param="n")
    return chat


def _generic(
    request: JSON, turns: list[Turn], functions: list[Function], choice: ToolChoice, model: ModelInfo | None, mid: str
) -> JSON:
    # DEVELOPER is OpenAI's role; other vendors' models get their developer messages as SYSTEM.
    developer = model.vendor == "openai" if model is not None else mid.startswith("openai.")
    chat: JSON = {"messages": to_generic_messages(turns, developer_role=developer)}
    if functions:
        chat["tools"] = to_generic_tools(functions)
        if request.get("tool_choice") is not None:
            chat["toolChoice"] = to_generic_tool_choice(choice)
        if isinstance(request.get("parallel_tool_calls"), bool):
            chat["isParallelToolCalls"] = request["parallel_tool_calls"]
    _put(chat, "responseFormat", to_generic_response_format(request.get("response_format")))
    effort = _reasoning_effort(request)
    if effort is not None and (model is None or model.reasoning):
        chat["reasoningEffort"] = effort.upper()  # Oracle wants it upper-case (LL)
    verbosity = request.get("verbosity")
    if isinstance(verbosity, str) and verbosity.lower() in _VERBOSITY:
        chat["verbosity"] = verbosity.upper()
    tier = request.get("service_tier")
    if isinstance(tier, str) and tier.lower() in _SERVICE_TIERS:
        chat["serviceTier"] = _SERVICE_TIERS[tier.lower()]
    n = _int(request, "n", 1)
    if n is not None and n != 1:
        chat["numGenerations"] = n
    bias = request.get("logit_bias")
    if isinstance(bias, dict) and bias:
        chat["logitBias"] = bias
    metadata = request.get("metadata")
    if isinstance(metadata, dict) and metadata:
        chat["metadata"] = metadata
    prediction = _prediction(request.get("prediction"))
    _put(chat, "prediction", prediction)
    # Not mapped: logprobs (Oracle's logProbs shape differs and nothing reads it back), web_search_options (its
    # Oracle field names are unverified), user and store.
    return chat


def _prediction(value: object) -> JSON | None:
    if not isinstance(value, dict) or value.get("type") != "content":
        return None
    content = value.get("content")
    if isinstance(content, str):
        texts = [content]
    elif isinstance(content, list):
        texts = [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
    else:
        return None
    return {"type": "CONTENT", "content": [{"type": "TEXT", "text": text} for text in texts]}


def _reasoning_effort(request: JSON) -> str | None:
    effort = request.get("reasoning_effort")
    if effort is None:
        return None
    if not isinstance(effort, str) or effort.lower() not in REASONING_EFFORTS:
        raise InvalidRequest(
            f"'reasoning_effort' must be one of {', '.join(REASONING_EFFORTS)}, got {effort!r}.",
            param="reasoning_effort",
        )
    return effort.lower()


def _put(target: JSON, key: str, value: object) -> None:
    if value is not None:
        target[key] = value


def _number(request: JSON, name: str) -> float | int | None:
    value = request.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"'{name}' must be a number, got {value!r}.", param=name)
    return value


def _int(request: JSON, name: str, minimum: int | None) -> int | None:
    value = request.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        floor = f" of at least {minimum}" if minimum is not None else ""
        raise InvalidRequest(f"'{name}' must be an integer{floor}, got {value!r}.", param=name)
    return value


def _stop(stop: object) -> list[str] | None:
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop) or None
    raise InvalidRequest("'stop' must be a string or an array of strings.", param="stop")
