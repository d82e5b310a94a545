"""``memory:`` and ``OCIGATE_MEMORY_*``: the bounds of client-fed tables and the heap's trimming; defaults, the
file, the environment over the file, and values refused (the gateway does not start on them)."""

from __future__ import annotations

from pathlib import Path

from ocigate.config.memory import MemorySettings, read_memory
from ocigate.config.settings import load_settings


def test_the_defaults() -> None:
    settings, problems = read_memory({}, {})
    assert settings == MemorySettings(100_000, 10_000, 60.0, 2) and problems == []


def test_the_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "ocigate.yaml"
    config.write_text(
        "providers:\n  oracle:\n    base_url: http://127.0.0.1:1/v1\n    api_key: sk-x\n    models: [xai.grok-4]\n"
        "memory:\n  key_cache: 500\n  unknown_keys: 0\n  trim_interval_s: 0\n  malloc_arenas: 0\n"
    )
    settings = load_settings({"OCIGATE_MEMORY_KEY_CACHE": "700"}, config_file=str(config))
    assert settings.memory == MemorySettings(700, 0, 0.0, 0)
    assert settings.errors == ()


def test_bad_values_are_errors_that_name_the_setting_and_keep_the_default() -> None:
    settings, problems = read_memory(
        {"memory": {"key_cache": 0, "unknown_keys": -1, "trim_interval_s": "often", "malloc_arenas": 1.5}}, {}
    )
    assert settings == MemorySettings()
    assert [p.split("=")[0] for p in problems] == [
        "memory.key_cache",
        "memory.unknown_keys",
        "memory.trim_interval_s",
        "memory.malloc_arenas",
    ]
    assert read_memory({"memory": [1]}, {})[1] == [
        "memory: must be a mapping with "
        + ", ".join(("key_cache", "unknown_keys", "trim_interval_s", "malloc_arenas"))
        + "."
    ]


def test_a_misspelt_key_stops_the_gateway(tmp_path: Path) -> None:
    config = tmp_path / "ocigate.yaml"
    config.write_text(
        "providers:\n  oracle:\n    base_url: http://127.0.0.1:1/v1\n    api_key: sk-x\n    models: [xai.grok-4]\n"
        "memory:\n  key_cahce: 10\n"
    )
    errors = load_settings({}, config_file=str(config)).errors
    assert any("key_cahce" in e and "key_cache" in e for e in errors)
