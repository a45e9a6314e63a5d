"""Prompt files: one YAML file per prompt in prompts/, parsed strictly (an unknown or missing key is an error)."""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jiwa.domain.outputs import OUTPUT_MODELS
from jiwa.paths import PROJECT_ROOT
from jiwa.team_yaml import load_team_yaml
from jiwa.versions import code_version

PROMPTS_DIR = PROJECT_ROOT / "prompts"


class PromptError(ValueError):
    """A prompt file is malformed, or a render call lacks a variable."""


def as_data(text: str) -> str:
    """Text from users (or derived from them) placed in a prompt: it cannot close the tags that mark it as data."""
    return text.replace("<", "‹").replace(">", "›")


class Prompt(BaseModel):
    """One prompt file. Every key is known: a typo such as `max_token:` is refused, naming the file and the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    system: str = Field(min_length=1)
    template: str = Field(min_length=1)
    output: str | None = None
    max_tokens: int = Field(default=512, ge=1)
    sha256: str = Field(default="", exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("output")
    @classmethod
    def _known_output(cls, output: str | None) -> str | None:
        if output and output not in OUTPUT_MODELS:
            raise ValueError(f"names output '{output}', which is not one of {', '.join(sorted(OUTPUT_MODELS))}")
        return output

    @property
    def output_model(self) -> type[BaseModel] | None:
        return OUTPUT_MODELS[self.output] if self.output else None

    @property
    def variables(self) -> set[str]:
        return {
            named or braced for _, named, braced, _ in string.Template.pattern.findall(self.template) if named or braced
        }

    def render(self, **values: object) -> list[dict[str, str]]:
        missing = sorted(self.variables - values.keys())
        if missing:
            raise PromptError(f"Prompt '{self.name}' needs variable(s) {', '.join(missing)}; pass them to render().")
        user = string.Template(self.template).substitute({key: str(value) for key, value in values.items()})
        return [{"role": "system", "content": self.system.strip()}, {"role": "user", "content": user.strip()}]

    def code_version(self, *also: str) -> str:
        """Changes whenever the prompt file, or anything else given (the model, the embedder), changes."""
        return code_version(self.sha256, *also)


def parse_prompt(path: Path) -> Prompt:
    raw = path.read_bytes()
    try:
        spec = load_team_yaml(raw)
    except yaml.YAMLError as exc:
        raise PromptError(f"Prompt file {path} is not valid YAML: {exc}") from exc
    if not isinstance(spec, dict):
        raise PromptError(f"Prompt file {path} must be a mapping with keys name, version, system, template.")
    try:
        return Prompt(**spec, sha256=code_version(raw))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            if error["type"] == "extra_forbidden":
                problems.append(f"unknown key '{key}'")
            elif error["type"] == "missing":
                problems.append(f"lacks {key}")
            else:
                problems.append(f"{key} {error['msg'].removeprefix('Value error, ')}")
        raise PromptError(f"Prompt file {path}: {'; '.join(problems)}.") from exc


@cache
def load_prompt(name: str) -> Prompt:
    path = PROMPTS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise PromptError(f"No prompt file {path}; prompts live in {PROMPTS_DIR} as <name>.yaml.")
    return parse_prompt(path)
