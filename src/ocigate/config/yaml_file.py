"""The YAML config file: its settings, and where each one is written (``file:line:column``, counted from 1).

Usage::

    file, problems = read_config_file("ocigate.yaml")   # problems: sentences, each starting "ocigate.yaml:3:5: "
    file.data["providers"]                               # the document, as yaml.safe_load gives it
    file.where("providers", "oracle", "api_key")         # "ocigate.yaml:4:5": the deepest key found on that path
    file.locate("routing.budget='soon' is not valid")    # the sentence, prefixed with the place of routing.budget

PyYAML's own messages name ``<unicode string>`` and count lines from 0; every problem here names the file and the
line an editor shows. The readers of each block (``routing.py``, ``rules.py``, ``pricing.py``) start their
sentences with the dotted path of the setting they are about, which :meth:`ConfigFile.locate` turns into its place.
A key written twice in one mapping is a problem: YAML would silently keep the last one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

Key = str | int
_MERGE = "tag:yaml.org,2002:merge"
_NAME_CHAR = re.compile(r"[A-Za-z0-9_\-]")
_INDEX = re.compile(r"\[(\d+)\]")
MAX_DEPTH = 32  # deeper than any setting; also ends a walk through a recursive anchor


@dataclass(frozen=True, slots=True)
class ConfigFile:
    path: str
    data: dict[Any, Any] = field(default_factory=dict)
    places: dict[tuple[Key, ...], tuple[int, int]] = field(default_factory=dict)
    """Each key (and list item) by its path from the top: its line and column."""

    def where(self, *keys: Key) -> str:
        """``path:line:column`` of the deepest key of ``keys`` the file has; the bare path when it has none."""
        for end in range(len(keys), 0, -1):
            place = self.places.get(keys[:end])
            if place is not None:
                return f"{self.path}:{place[0]}:{place[1]}"
        return self.path

    def locate(self, problem: str) -> str:
        """``problem`` prefixed with the place of the setting its first words name; unchanged when they name no
        setting of this file (the problem is about an environment variable)."""
        keys = self._setting_named(problem)
        return f"{self.where(*keys)}: {problem}" if keys else problem

    def _setting_named(self, text: str) -> tuple[Key, ...]:
        keys: list[Key] = []
        node: Any = self.data
        rest = text
        while len(keys) < MAX_DEPTH:
            index = _INDEX.match(rest)
            if isinstance(node, list) and index and int(index.group(1)) < len(node):
                key: Key = int(index.group(1))
                rest = rest[index.end() :]
            elif isinstance(node, dict):
                names = [k for k in node if isinstance(k, str) and _starts_with_name(rest, k)]
                if not names:
                    break
                key = max(names, key=len)  # "openai.gpt-oss" before "openai" where both are names
                rest = rest[len(key) :]
            else:
                break
            keys.append(key)
            node = node[key]
            if not rest.startswith((".", "[")):
                break
            rest = rest.removeprefix(".")
        return tuple(keys)


def _starts_with_name(text: str, name: str) -> bool:
    return text.startswith(name) and (len(text) == len(name) or not _NAME_CHAR.match(text[len(name)]))


def dotted(keys: tuple[Key, ...]) -> str:
    """``providers.oracle.api_key``, ``models.gpt-oss.deployments[0]``."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def read_config_file(path: str) -> tuple[ConfigFile | None, list[str]]:
    """The file's settings and their places (None when it cannot be read), and the problems found, each a
    sentence starting with the file's name and, where known, line and column."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [
            f"{path}: the config file (--config or OCIGATE_CONFIG) does not exist: give the right path, or neither "
            "to configure by environment variables alone."
        ]
    except UnicodeDecodeError as exc:
        return None, [f"{path}: the config file is not UTF-8 text (byte {exc.start}): save it as UTF-8."]
    except OSError as exc:
        return None, [f"{path}: the config file cannot be read: {exc.strerror or exc}."]
    import yaml  # here: a gateway configured by environment alone never loads PyYAML

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(path, exc)]
    except yaml.YAMLError as exc:
        return None, [f"{path}: not valid YAML: {exc}."]
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        return None, [
            f"{path}:1:1: the config file must be a mapping of settings (providers:, routing:, models:, "
            f"request_rules:, prices:), not a {type(data).__name__}."
        ]
    places: dict[tuple[Key, ...], tuple[int, int]] = {}
    problems: list[str] = []
    if node is not None:
        _walk(node, (), places, problems, path)
    return ConfigFile(path, data, places), problems


def _syntax_problem(path: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
    context = ""
    if exc.context:
        line = f" at line {exc.context_mark.line + 1}" if exc.context_mark is not None else ""
        context = f" ({exc.context}{line})"
    return (
        f"{where}: not valid YAML: {exc.problem or 'cannot be parsed'}{context}. Check the indentation (spaces, "
        "not tabs), the colons, quotes and brackets there."
    )


def _walk(
    node: yaml.Node,
    keys: tuple[Key, ...],
    places: dict[tuple[Key, ...], tuple[int, int]],
    problems: list[str],
    path: str,
) -> None:
    import yaml

    if len(keys) >= MAX_DEPTH:
        return
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
                continue  # "<<: *defaults" brings the anchor's keys; a complex key is refused by the schema
            key = str(key_node.value)
            place = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in seen:
                problems.append(
                    f"{path}:{place[0]}:{place[1]}: {dotted((*keys, key))} is written twice in the same block; "
                    "YAML would keep only the last one: keep one."
                )
            seen.add(key)
            places.setdefault((*keys, key), place)
            _walk(value_node, (*keys, key), places, problems, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            places.setdefault((*keys, index), (item.start_mark.line + 1, item.start_mark.column + 1))
            _walk(item, (*keys, index), places, problems, path)
