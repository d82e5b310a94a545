"""``model_aliases:``: read with their targets checked (a bad one stops the gateway, naming the alias and its
place), and looked up exactly or by pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocigate.app.runtime import ConfigurationError, create_app
from ocigate.config.aliases import ModelAliases
from ocigate.config.settings import load_settings

PROVIDER = """
providers:
  oracle: {base_url: "https://x/20231130/actions/v1", api_key: a, models: [xai.grok-4, team-model]}
models:
  coder:
    deployments: [{provider: oracle, model: xai.grok-4}]
"""


def settings_with(tmp_path: Path, aliases: str) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    path = tmp_path / "ocigate.yaml"
    path.write_text(PROVIDER + aliases, encoding="utf-8")
    settings = load_settings({"OCIGATE_DATA_DIR": str(tmp_path)}, config_file=str(path))
    return list(settings.errors), settings.model_aliases


def test_targets_may_be_routes_listed_models_provider_models_or_the_catalogue(tmp_path: Path) -> None:
    errors, aliases = settings_with(
        tmp_path,
        """
model_aliases:
  claude-sonnet-*: xai.grok-4
  claude-opus-4: coder
  gpt-4o: oracle/team-model
  claude-haiku-*: openai.gpt-oss-20b
""",
    )
    assert errors == []
    assert aliases == (
        ("claude-sonnet-*", "xai.grok-4"),
        ("claude-opus-4", "coder"),
        ("gpt-4o", "oracle/team-model"),
        ("claude-haiku-*", "openai.gpt-oss-20b"),
    )


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ("model_aliases:\n  claude-x: no.such-model\n", "'no.such-model' is not a model this gateway serves"),
        ("model_aliases:\n  claude-x: claude-y\n  claude-y: xai.grok-4\n", "is itself an alias"),
        ("model_aliases:\n  claude-x: [xai.grok-4]\n", "the target must be the name of a model"),
        ("model_aliases: [claude-x]\n", "must map model names"),
        ("model_aliases:\n  claude-x: nope/xai.grok-4\n", "is not a model this gateway serves"),
    ],
)
def test_a_bad_alias_stops_the_gateway_naming_it(tmp_path: Path, block: str, says: str) -> None:
    errors, _ = settings_with(tmp_path, block)
    assert len(errors) == 1 and says in errors[0], errors
    assert "ocigate.yaml:" in errors[0]  # its place in the file
    path = tmp_path / "ocigate.yaml"
    with pytest.raises(ConfigurationError, match="model_aliases"):
        create_app(load_settings({"OCIGATE_DATA_DIR": str(tmp_path)}, config_file=str(path)))


def test_exact_names_and_patterns_in_the_files_order() -> None:
    aliases = ModelAliases([("claude-sonnet-4-5", "a"), ("claude-sonnet-*", "b"), ("claude-*", "c")])
    assert aliases.exact == {"claude-sonnet-4-5": "a"}
    assert aliases.match("claude-sonnet-4-6") == "b"
    assert aliases.match("claude-haiku-4-5") == "c"
    assert aliases.match("gpt-4o") is None
    assert not ModelAliases()
