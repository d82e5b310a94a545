"""What a request cost, in USD, from a per-model price table the operator can set.

Prices are USD per million tokens: ``input`` (prompt tokens not served from cache), ``output`` (completion
tokens, reasoning tokens included, as OpenAI counts them) and ``cached_input`` (prompt tokens served from
cache; the input price when not given). Embeddings and rerank have only an input price.

The defaults are Oracle's on-demand list prices for the models in ``catalog.py``, as given by Oracle's pricing
page (https://www.oracle.com/artificial-intelligence/generative-ai/generative-ai-service/pricing) through
litellm's ``model_prices_and_context_window.json`` (``oci/…`` entries). A model without a default (the
``openai.gpt-oss`` models, rerank) costs zero until the operator prices it. The operator's table, given as::

    prices:
      xai.grok-4: {input: 3.0, output: 15.0, cached_input: 0.75}
      "cohere.embed-*": {input: 0.10}     # fnmatch patterns, tried in order after the exact names
      "*": {input: 0, output: 0}          # a catch-all, if wanted

replaces a default entry of the same name and is consulted first. Usage::

    prices, problems = parse_prices(config.get("prices", {}))   # problems: messages for the diagnostics
    table = PriceTable(prices)
    cost = table.cost("xai.grok-4", prompt_tokens=1200, completion_tokens=300, cached_tokens=1000)
    estimate = table.estimate("xai.grok-4", prompt_tokens=estimate_prompt_tokens(len(body)), max_output_tokens=512)
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase

from ocigate.config.prices import Price

MILLION = 1_000_000


FREE = Price()


def _same(usd: float) -> Price:
    return Price(usd, usd)


DEFAULT_PRICES: Mapping[str, Price] = {
    "cohere.command-a-03-2025": _same(1.56),
    "cohere.command-a-reasoning-08-2025": _same(1.56),
    "cohere.command-a-vision-07-2025": _same(1.56),
    "cohere.command-latest": _same(1.56),
    "cohere.command-plus-latest": _same(1.56),
    "cohere.command-r-08-2024": _same(0.15),
    "cohere.command-r-plus-08-2024": _same(1.56),
    "cohere.embed-english-image-v3.0": Price(0.10),
    "cohere.embed-english-light-image-v3.0": Price(0.10),
    "cohere.embed-english-light-v3.0": Price(0.10),
    "cohere.embed-english-v3.0": Price(0.10),
    "cohere.embed-multilingual-image-v3.0": Price(0.10),
    "cohere.embed-multilingual-light-image-v3.0": Price(0.10),
    "cohere.embed-multilingual-light-v3.0": Price(0.10),
    "cohere.embed-multilingual-v3.0": Price(0.10),
    "cohere.embed-v4.0": Price(0.12),
    "google.gemini-2.5-flash": Price(0.15, 0.60),
    "google.gemini-2.5-flash-lite": Price(0.075, 0.30),
    "google.gemini-2.5-pro": Price(1.25, 10.0),
    "meta.llama-3.2-11b-vision-instruct": _same(2.0),
    "meta.llama-3.2-90b-vision-instruct": _same(2.0),
    "meta.llama-3.3-70b-instruct": _same(0.72),
    "meta.llama-4-maverick-17b-128e-instruct-fp8": _same(0.72),
    "meta.llama-4-scout-17b-16e-instruct": _same(0.72),
    "xai.grok-3": Price(3.0, 15.0),
    "xai.grok-3-fast": Price(5.0, 25.0),
    "xai.grok-3-mini": Price(0.30, 0.50),
    "xai.grok-3-mini-fast": Price(0.60, 4.0),
    "xai.grok-4": Price(3.0, 15.0),
    "xai.grok-4-fast-reasoning": Price(5.0, 25.0),
    "xai.grok-4-fast-non-reasoning": Price(5.0, 25.0),
    "xai.grok-4-1-fast-reasoning": Price(5.0, 25.0),
    "xai.grok-4-1-fast-non-reasoning": Price(5.0, 25.0),
    "xai.grok-code-fast-1": Price(5.0, 25.0),
}


class PriceTable:
    def __init__(self, prices: Mapping[str, Price] | None = None, *, defaults: bool = True) -> None:
        own = dict(prices or {})
        self._exact = {**(DEFAULT_PRICES if defaults else {}), **{k: v for k, v in own.items() if not _wild(k)}}
        self._patterns = [(k, v) for k, v in own.items() if _wild(k)]
        self._found: dict[str, Price] = {}

    def price(self, model: str) -> Price:
        """The model's price: its own entry, else the first matching pattern, else zero."""
        found = self._found.get(model)
        if found is None:
            found = self._exact.get(model)
            if found is None:
                found = next((p for pattern, p in self._patterns if fnmatchcase(model, pattern)), FREE)
            if len(self._found) < 10_000:  # model names come from clients: bound the memo
                self._found[model] = found
        return found

    def cost(self, model: str, *, prompt_tokens: int, completion_tokens: int = 0, cached_tokens: int = 0) -> float:
        """USD for one request; ``cached_tokens`` are the part of ``prompt_tokens`` served from cache."""
        price = self.price(model)
        cached = min(max(0, cached_tokens), max(0, prompt_tokens))
        cached_price = price.input if price.cached_input is None else price.cached_input
        return (
            (prompt_tokens - cached) * price.input + cached * cached_price + max(0, completion_tokens) * price.output
        ) / MILLION

    def estimate(self, model: str, *, prompt_tokens: int, max_output_tokens: int) -> float:
        """An upper estimate before the request runs, for a budget's reservation."""
        price = self.price(model)
        prompt, output = (
            (prompt_tokens if prompt_tokens > 0 else 0),
            (max_output_tokens if max_output_tokens > 0 else 0),
        )
        return (prompt * price.input + output * price.output) / MILLION


def estimate_prompt_tokens(body_bytes: int) -> int:
    """A cheap estimate of a request's prompt tokens from its JSON body's size (about 4 bytes a token for
    English text, less the JSON framing); good enough to reserve, since the real count settles it."""
    return body_bytes // 4


def _wild(name: str) -> bool:
    return any(c in name for c in "*?[")
