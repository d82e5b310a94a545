"""``POST /20231130/actions/chat``: Oracle's native chat (doc §3.1-§3.6) in its three formats, replying with the
same deterministic generation as the OpenAI-compatible path.

A Cohere model speaks COHERE or COHEREV2, every other model GENERIC; Cohere's vision and reasoning models need
COHEREV2 [uncertain: the doc shows image and thinking content only in V2]."""

from __future__ import annotations

from ocigate.catalog.models import ModelInfo
from ocigate.core.asgi import Handler, Request, Response, StreamingResponse
from ocigate.core.types import JSON
from ocigate.emulator.context import Context, json_reply
from ocigate.emulator.errors import invalid
from ocigate.emulator.faults import paced
from ocigate.emulator.generation import generate
from ocigate.emulator.native_auth import NativeGate
from ocigate.emulator.native_cohere import cohere_events, cohere_response, read_cohere
from ocigate.emulator.native_cohere_v2 import cohere_v2_events, cohere_v2_response, read_cohere_v2
from ocigate.emulator.native_generic import generic_events, generic_response, read_generic
from ocigate.emulator.native_models import NativeModels
from ocigate.emulator.native_wire import MODEL_VERSION, SSE_HEADERS, enum, obj

PATH = "/20231130/actions/chat"
FORMATS = ("GENERIC", "COHERE", "COHEREV2")


def check_format(model: ModelInfo, fmt: str) -> None:
    if model.vendor != "cohere":
        if fmt != "GENERIC":
            raise invalid(f"Invalid parameter: model {model.id} supports apiFormat GENERIC, not {fmt}.")
        return
    if fmt == "GENERIC":
        raise invalid(f"Invalid parameter: model {model.id} supports apiFormat COHERE or COHEREV2, not GENERIC.")
    if fmt == "COHERE" and (model.vision or model.reasoning):
        raise invalid(f"Invalid parameter: model {model.id} supports apiFormat COHEREV2, not COHERE.")


def native_chat_handler(ctx: Context, gate: NativeGate, models: NativeModels) -> Handler:
    async def chat(request: Request) -> Response | StreamingResponse:
        body, cut_after = await gate.admit(request)
        chat_request = obj(body.get("chatRequest"), "chatRequest", required=True)
        model = models.resolve(body.get("servingMode"), "chat")
        fmt = enum(chat_request.get("apiFormat"), "chatRequest.apiFormat", FORMATS) or ""
        check_format(model, fmt)
        stream = chat_request.get("isStream") is True
        options = obj(chat_request.get("streamOptions"), "chatRequest.streamOptions")
        include_usage = options.get("isIncludeUsage") is True
        response: JSON
        if fmt == "GENERIC":
            prompt, params = read_generic(chat_request, model, ctx.region)
            gen = generate(prompt, params)
            if stream:
                events = generic_events(gen, include_usage)
            response = generic_response(gen)
        elif fmt == "COHERE":
            prompt, params, history = read_cohere(chat_request, model, ctx.region)
            gen = generate(prompt, params)
            if stream:
                events = cohere_events(gen, chat_request, history, include_usage)
            response = cohere_response(gen, chat_request, history)
        else:
            prompt, params = read_cohere_v2(chat_request, model, ctx.region)
            gen = generate(prompt, params)
            if stream:
                events = cohere_v2_events(gen, include_usage)
            response = cohere_v2_response(gen, ctx.ids.object_id(""))
        if stream:
            return StreamingResponse(paced(events, ctx.config.stream_delay_s, cut_after), headers=SSE_HEADERS)
        return json_reply({"modelId": model.id, "modelVersion": MODEL_VERSION, "chatResponse": response})

    return chat
