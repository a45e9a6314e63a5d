"""Each asset's code version, derived: the asset's module and every project module it imports (jiwa's and the asset
helpers', transitively, read from the source files), the prompt files they load, and the configured models it uses.

A different GGUF, llama.cpp server model or embedder writes different rows, so it marks the assets that use it
stale in the UI; the other settings are read when a run starts. An asset module imported by another (to name it as a
dependency, or for a helper) is followed too: a change there may mark the importer stale needlessly, never the
reverse.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from jiwa.embedding import EmbedderSettings
from jiwa.llm import LlamaSettings
from jiwa.prompts import load_prompt
from jiwa.settings import ClaudeSettings
from jiwa.versions import code_version, derived_code_version, import_closure, module_path

# How assets run and report, not what they write: shared by every asset, followed by no code version.
NOT_FOLLOWED = frozenset(
    {"assets.resources", "assets.previews", "assets.checks", "assets.publishing", "assets.versions"}
)


def configured_model() -> str:
    return f"llm={LlamaSettings().model_id}"


def configured_embedder() -> str:
    return f"embedder={EmbedderSettings().vectors_id}"


def configured_claude() -> str:
    """The primer is sized for the Claude models' cache minimum: another model may need a longer one."""
    claude = ClaudeSettings()
    return f"claude={','.join(claude.claude_models)}+min={claude.claude_cache_min_tokens}"


def asset_code_version(
    module: str,
    *,
    model: bool = False,
    embedder: bool = False,
    claude: bool = False,
    files: Iterable[Path] = (),
    files_only: bool = False,
) -> str:
    """The code version of the assets defined in `module` (pass `__name__`): its code, transitively, the prompt files
    that code loads (`load_prompt("name")`), the given team files, and the configured models the flags name.

    `files_only`: a team catalogue read as written is versioned by its files alone, so the version an analyst sees is
    the file's own hash (one file: its SHA-256's first 16 hex characters)."""
    if files_only:
        return code_version(*files)
    prompts = sorted(loaded_prompts(module))
    return derived_code_version(
        module,
        *(f"prompt={name}:{load_prompt(name).sha256}" for name in prompts),
        *files,
        *([configured_model()] if model else []),
        *([configured_embedder()] if embedder else []),
        *([configured_claude()] if claude else []),
        skip=NOT_FOLLOWED,
    )


def loaded_prompts(module: str) -> set[str]:
    """The prompt files loaded, by name as a literal, anywhere in the module's code or the code it imports."""
    names = set()
    for name in import_closure([module], skip=NOT_FOLLOWED):
        path = module_path(name)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "load_prompt"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    return names
