"""The native API's routes (doc §1.2, §1.4): chat, embedText and rerankText on the inference base, and the
management API's model listing, all under ``/20231130``."""

from __future__ import annotations

from ocigate.core.asgi import Handler
from ocigate.emulator.context import Context
from ocigate.emulator.management import PATH as MODELS_PATH
from ocigate.emulator.management import list_models_handler
from ocigate.emulator.native_auth import NativeGate
from ocigate.emulator.native_chat import PATH as CHAT_PATH
from ocigate.emulator.native_chat import native_chat_handler
from ocigate.emulator.native_embed import EMBED_PATH, RERANK_PATH, embed_handler, rerank_handler
from ocigate.emulator.native_models import NativeModels


def routes(ctx: Context) -> list[tuple[str, str, Handler]]:
    gate = NativeGate(ctx)
    models = NativeModels(ctx)
    return [
        ("POST", CHAT_PATH, native_chat_handler(ctx, gate, models)),
        ("POST", EMBED_PATH, embed_handler(ctx, gate, models)),
        ("POST", RERANK_PATH, rerank_handler(ctx, gate, models)),
        ("GET", MODELS_PATH, list_models_handler(ctx, gate)),
    ]
