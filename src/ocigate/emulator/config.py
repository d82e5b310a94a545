"""What one emulator instance is: a region and the API keys Oracle would know about."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EmulatorKey:
    """A Generative AI API key secret. Oracle binds every key to one region and honours it only where an IAM
    policy allows ``request.principal.type='generativeaiapikey'``; ``policy=False`` models that policy missing."""

    secret: str
    region: str = "us-chicago-1"
    policy: bool = True


DEFAULT_KEY = "sk-emulator-chicago"

DEFAULT_KEYS: tuple[EmulatorKey, ...] = (
    EmulatorKey(DEFAULT_KEY, "us-chicago-1"),
    EmulatorKey("sk-emulator-ashburn", "us-ashburn-1"),
    EmulatorKey("sk-emulator-phoenix", "us-phoenix-1"),
    EmulatorKey("sk-emulator-nopolicy", "us-chicago-1", policy=False),
)


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    region: str = "us-chicago-1"
    keys: tuple[EmulatorKey, ...] = DEFAULT_KEYS
    # Pause between stream events, to make streams observable in time (first byte vs. last byte).
    stream_delay_s: float = 0.0
    # Oracle's answer to an unknown modelId is uncertain (doc §4: 404 NotAuthorizedOrNotFound or 400
    # InvalidParameter): 404 or 400.
    unknown_model_status: int = 404
    # Seeds the random draws of fault rules that have no seed of their own, so test runs repeat.
    seed: int | None = None
