"""Runs real emulators with uvicorn on loopback, each in a thread with its own event loop.

The fixtures are named ``emu_*`` so that they never shadow the gateway fixtures of tests/e2e/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from ocigate.emulator import DEFAULT_KEY, EmulatorConfig
from tests.support.emulator import COMPAT, OPENAI, PROJECT, SEED, serve


@pytest.fixture(scope="session")
def emu_url() -> Iterator[str]:
    with serve(EmulatorConfig(seed=SEED)) as url:
        yield url


@pytest.fixture(scope="session")
def emu_http(emu_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def emu_client(emu_url: str) -> openai.OpenAI:
    """The OpenAI SDK on the older base, which needs no project."""
    return openai.OpenAI(base_url=emu_url + COMPAT, api_key=DEFAULT_KEY, max_retries=0, timeout=10)


@pytest.fixture(scope="session")
def emu_project_client(emu_url: str) -> openai.OpenAI:
    """The OpenAI SDK on the current base, with a project OCID."""
    return openai.OpenAI(base_url=emu_url + OPENAI, api_key=DEFAULT_KEY, project=PROJECT, max_retries=0, timeout=10)


@pytest.fixture
def emu_aclient(emu_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=emu_url + OPENAI, api_key=DEFAULT_KEY, project=PROJECT, max_retries=0)
