"""``routing:``, ``models:``, per-provider timeouts and secondary secrets: read, and bad values reported."""

from __future__ import annotations

from pathlib import Path

from ocigate.config.settings import load_settings


def test_routing_models_and_env_overrides(tmp_path: Path) -> None:
    path = tmp_path / "ocigate.yaml"
    path.write_text(
        """
providers:
  oracle-ord: {base_url: "https://x/20231130/actions/v1", api_key: a, api_key_secondary: b, timeouts: {idle: 7}}
routing:
  retries: {max_attempts: 4, base_delay: 0.1}
  budget: 90
  stream_failover: first_block
  breaker: {failure_threshold: 2, cooldown: 5}
  timeouts: {connect: 3}
models:
  gpt-oss:
    strategy: round_robin
    deployments: [{provider: oracle-ord, model: m, weight: 2, priority: 1}]
""",
        encoding="utf-8",
    )
    env = {"OCIGATE_MAX_ATTEMPTS": "2", "OCIGATE_FIRST_BYTE_TIMEOUT": "9", "ORACLE_IAD_API_KEY_SECONDARY": "s2"}
    settings = load_settings(env, config_file=str(path))
    assert settings.diagnostics == ()
    routing = settings.routing
    assert (routing.retry.max_attempts, routing.retry.base_delay, routing.retry.budget_s) == (2, 0.1, 90)
    assert routing.retry.stream_failover == "first_block"
    assert (routing.breaker.failure_threshold, routing.breaker.cooldown_s) == (2, 5)
    route = routing.routes[0]
    assert (route.public_name, route.strategy, route.deployments[0].weight, route.deployments[0].priority) == (
        "gpt-oss",
        "round_robin",
        2,
        1,
    )
    providers = {p.name: p for p in settings.providers}
    ord_ = providers["oracle-ord"]
    assert ord_.api_key_secondary == "b"
    assert (ord_.timeouts.connect_s, ord_.timeouts.first_byte_s, ord_.timeouts.idle_s) == (3, 9, 7)
    assert providers["oracle-iad"].api_key_secondary == "s2"


def test_bad_routing_values_are_diagnostics_not_crashes(tmp_path: Path) -> None:
    path = tmp_path / "ocigate.yaml"
    path.write_text(
        """
routing:
  retries: {max_attempts: 0}
  budget: soon
  breaker: {cooldown: -1}
  timeouts: {idle: 0}
models:
  a: {strategy: fastest, deployments: [{provider: p, model: m}], fallbacks: [nowhere]}
  b: {deployments: []}
""",
        encoding="utf-8",
    )
    settings = load_settings({"OCIGATE_REQUEST_BUDGET": "-3", "OCIGATE_CONNECT_TIMEOUT": "x"}, config_file=str(path))
    text = "\n".join(d.message for d in settings.diagnostics)
    for needle in ("max_attempts", "budget", "cooldown", "idle", "fastest", "nowhere", "models.b.deployments"):
        assert needle in text
    assert "OCIGATE_REQUEST_BUDGET" in text and "OCIGATE_CONNECT_TIMEOUT" in text
    assert settings.routing.retry.max_attempts == 3 and settings.routing.retry.budget_s == 600
    assert [r.public_name for r in settings.routing.routes] == ["a"]
    assert settings.routing.routes[0].fallbacks == ()
