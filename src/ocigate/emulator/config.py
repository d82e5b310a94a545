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


@dataclass(frozen=True, slots=True)
class IamKey:
    """An IAM signing key Oracle would know, for the native API's request signatures (doc §2.2).

    ``key_id`` is ``<tenancy OCID>/<user OCID>/<fingerprint>`` for a user's API signing key, or ``ST$<token>`` for
    a session, instance- or resource-principal token; ``public_key_pem`` verifies its signatures.
    ``compartments`` lists the compartments its IAM policies allow (empty: any)."""

    key_id: str
    public_key_pem: str
    compartments: tuple[str, ...] = ()


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
    # Keys that may sign requests to the native API (/20231130/actions/*, /20231130/models).
    iam_keys: tuple[IamKey, ...] = ()
    # Dedicated AI cluster endpoints: (endpoint OCID, the model id it serves).
    dedicated_endpoints: tuple[tuple[str, str], ...] = ()
    # How far a signed request's date may be from the emulator's clock (Oracle: 5 minutes, doc §2.2).
    max_clock_skew_s: float = 300.0
