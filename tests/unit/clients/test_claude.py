"""``ocigate claude``'s choices and output: the models Claude Code gets, and exports that keep the key a
reference."""

from __future__ import annotations

import pytest

from ocigate.clients.claude import as_shell, claude_env, pick_models
from ocigate.config.aliases import ModelAliases

SERVED = ["meta.llama-3.3-70b-instruct", "openai.gpt-oss-20b", "xai.grok-4", "cohere.command-a-03-2025"]


def test_the_best_served_models_by_default() -> None:
    assert pick_models(SERVED, None, None) == ("xai.grok-4", "openai.gpt-oss-20b")
    assert pick_models(["meta.llama-3.3-70b-instruct"], None, None) == ("meta.llama-3.3-70b-instruct",) * 2


def test_given_models_must_be_served_or_aliases() -> None:
    assert pick_models(SERVED, "cohere.command-a-03-2025", None) == ("cohere.command-a-03-2025", "openai.gpt-oss-20b")
    aliases = ModelAliases([("claude-sonnet-*", "xai.grok-4")])
    assert pick_models(SERVED, "claude-sonnet-4-5", None, aliases)[0] == "claude-sonnet-4-5"
    with pytest.raises(ValueError, match="--small-model gpt-4o is not a chat model this gateway serves"):
        pick_models(SERVED, None, "gpt-4o")


def test_the_exports_keep_the_key_a_reference() -> None:
    text = as_shell(claude_env("http://gw:8080", "${OCIGATE_MASTER_KEY}", "xai.grok-4", "openai.gpt-oss-20b"))
    assert 'export ANTHROPIC_AUTH_TOKEN="${OCIGATE_MASTER_KEY}"' in text
    assert "export ANTHROPIC_API_KEY=''" in text  # empty: it would take precedence over the token
    assert "export ANTHROPIC_BASE_URL=http://gw:8080\n" in text
    assert "export ANTHROPIC_DEFAULT_HAIKU_MODEL=openai.gpt-oss-20b" in text
