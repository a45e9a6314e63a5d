"""A README line is a promise: every JIWA_* variable it documents is a setting the code declares, and back."""

import re

from jiwa.embedding import EmbedderSettings
from jiwa.llm import LlamaSettings
from jiwa.paths import PROJECT_ROOT
from jiwa.settings import AnalysisSettings, KnowledgeSettings, LearningSettings, Settings


def _declared() -> set[str]:
    names = set()
    for settings_class in (
        Settings,
        AnalysisSettings,
        KnowledgeSettings,
        LearningSettings,
        LlamaSettings,
        EmbedderSettings,
    ):
        prefix = settings_class.model_config["env_prefix"]
        names |= {
            f"{prefix}{field}".upper()
            for field, info in settings_class.model_fields.items()
            if info.annotation is not None
        }
    # Nested settings objects are not variables of their own.
    return names - {"JIWA_LLM", "JIWA_EMBEDDING", "JIWA_LEARNING"}


def _documented(section: str | None = None) -> set[str]:
    text = PROJECT_ROOT.joinpath("README.md").read_text()
    if section:
        text = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"JIWA_[A-Z0-9]+(?:_[A-Z0-9]+)*", text))


def test_every_variable_the_readme_names_is_declared():
    assert _documented() - _declared() == set()


def test_every_pipeline_and_model_variable_is_documented():
    server_only = {
        name
        for name in Settings.model_fields
        if name not in ("data_uri", "store_retention_hours", "llm", "embedding", "learning")
    }
    undocumented = _declared() - _documented("Configuration") - {f"JIWA_{name.upper()}" for name in server_only}
    assert undocumented == set()
