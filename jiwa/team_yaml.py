"""Reading the files the team writes by hand (catalogues, facts, prompts): YAML, with every key written once.

PyYAML keeps the last of two equal keys without a word, so a fact or an intent written twice replaces the first one
silently, and whatever was built on the first is served with the second's content. Here the file is refused, and
the error names the key and both lines.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml


class _OnceLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        # The mapping's own keys: keys merged in from an anchor (<<: *base) may be overridden, as YAML means them to.
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class refuses it, with the YAML error it always gave
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key '{key}' is written twice (lines {first_line[key]} and {line}); keep one, or rename one",
                    key_node.start_mark,
                )
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def load_team_yaml(raw: bytes | str) -> Any:
    """The document, as yaml.safe_load reads it; a key written twice in one mapping raises yaml.YAMLError."""
    return yaml.load(raw, Loader=_OnceLoader)  # noqa: S506 (a SafeLoader)
