"""Prompt files: one YAML file per prompt in prompts/, with name, version, system, template and output model."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel

from jiwa.llm.outputs import OUTPUT_MODELS
from jiwa.settings import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"
_REQUIRED_KEYS = ("name", "version", "system", "template")


class PromptError(ValueError):
    """A prompt file is malformed, or a render call lacks a variable."""


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    system: str
    template: str
    output: str | None
    max_tokens: int
    sha256: str

    @property
    def output_model(self) -> type[BaseModel] | None:
        return OUTPUT_MODELS[self.output] if self.output else None

    @property
    def variables(self) -> set[str]:
        return {
            named or braced
            for _, named, braced, _ in string.Template.pattern.findall(self.template)
            if named or braced
        }

    def render(self, **values: object) -> list[dict[str, str]]:
        missing = sorted(self.variables - values.keys())
        if missing:
            raise PromptError(f"Prompt '{self.name}' needs variable(s) {', '.join(missing)}; pass them to render().")
        user = string.Template(self.template).substitute({key: str(value) for key, value in values.items()})
        return [{"role": "system", "content": self.system.strip()}, {"role": "user", "content": user.strip()}]

    def code_version(self, model_id: str) -> str:
        """Changes whenever the prompt file or the model changes, so Dagster marks dependent assets stale."""
        return hashlib.sha256(f"{self.sha256}:{model_id}".encode()).hexdigest()[:16]


def parse_prompt(path: Path) -> Prompt:
    raw = path.read_bytes()
    try:
        spec = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PromptError(f"Prompt file {path} is not valid YAML: {exc}") from exc
    if not isinstance(spec, dict):
        raise PromptError(f"Prompt file {path} must be a mapping with keys {', '.join(_REQUIRED_KEYS)}.")
    absent = [key for key in _REQUIRED_KEYS if not spec.get(key)]
    if absent:
        raise PromptError(f"Prompt file {path} lacks {', '.join(absent)}.")
    output = spec.get("output")
    if output and output not in OUTPUT_MODELS:
        raise PromptError(
            f"Prompt file {path} names output '{output}', which is not one of {', '.join(sorted(OUTPUT_MODELS))}."
        )
    return Prompt(
        name=str(spec["name"]),
        version=str(spec["version"]),
        system=str(spec["system"]),
        template=str(spec["template"]),
        output=output,
        max_tokens=int(spec.get("max_tokens", 512)),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


@lru_cache(maxsize=None)
def load_prompt(name: str) -> Prompt:
    path = PROMPTS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise PromptError(f"No prompt file {path}; prompts live in {PROMPTS_DIR} as <name>.yaml.")
    return parse_prompt(path)
