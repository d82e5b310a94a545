"""A stand-in for Oracle Cloud Generative AI's OpenAI-compatible inference service, for tests, the benchmark
and offline use. One instance is one Oracle region.

Usage::

    from ocigate.emulator import DEFAULT_KEY, EmulatorConfig, create_emulator_app

    app = create_emulator_app(EmulatorConfig(region="us-chicago-1", seed=7))
    # serve it with uvicorn; call it with openai.OpenAI(base_url=".../20231130/actions/v1", api_key=DEFAULT_KEY)
"""

from __future__ import annotations

from ocigate.catalog.models import MODELS, ModelInfo, chat_model_ids, find_model
from ocigate.emulator.app import create_emulator_app
from ocigate.emulator.config import DEFAULT_KEY, DEFAULT_KEYS, EmulatorConfig, EmulatorKey

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_KEYS",
    "MODELS",
    "EmulatorConfig",
    "EmulatorKey",
    "ModelInfo",
    "chat_model_ids",
    "create_emulator_app",
    "find_model",
]
