"""Code versions are derived from the import graph: a change anywhere in the code an asset runs marks it stale, and
only the assets that run that code."""

import shutil
import subprocess
import sys

import pytest

from assets.versions import NOT_FOLLOWED, asset_code_version, loaded_prompts
from jiwa.paths import PROJECT_ROOT
from jiwa.versions import import_closure, imported_modules

# Every asset module whose rows the output models' validators shape, and one they do not.
USES_OUTPUT_MODELS = (
    "assets.knowledge.insights",
    "assets.knowledge.curated",
    "assets.nightly.findings",
    "assets.nightly.learned",
    "assets.enrichment.analyses",
    "assets.response_cache.cache",
)
UNRELATED = "assets.nightly.feedback"


def test_the_screen_follows_the_truth_gate_it_calls():
    """learned_insights once hashed jiwa/knowledge/screen.py but not truth_gate.planted_content, which it calls."""
    closure = import_closure(["assets.nightly.learned"], skip=NOT_FOLLOWED)
    assert {"jiwa.knowledge.screen", "jiwa.knowledge.truth_gate", "jiwa.domain.insights"} <= closure


def test_imports_for_type_checking_only_are_not_followed(tmp_path, monkeypatch):
    package = tmp_path / "jiwa_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nfrom jiwa import paths\nif TYPE_CHECKING:\n    from jiwa import settings\n"
        "def f():\n    from jiwa.domain import status\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert imported_modules("jiwa_probe.a") == {"jiwa.paths", "jiwa.domain.status"}


def test_llm_assets_name_their_prompts():
    assert loaded_prompts("assets.nightly.findings") >= {"nightly_finding", "insight_verification"}
    assert loaded_prompts("assets.enrichment.analyses") == {"conversation_analysis"}
    assert loaded_prompts(UNRELATED) == set()


_VERSIONS = (
    "import json, sys\n"
    "from assets.versions import asset_code_version\n"
    "print(json.dumps({m: asset_code_version(m) for m in sys.argv[1:]}))\n"
)


def _versions_in(root, modules) -> dict[str, str]:
    import json

    result = subprocess.run(
        [sys.executable, "-c", _VERSIONS, *modules], cwd=root, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize("module", [*USES_OUTPUT_MODELS, UNRELATED])
def test_the_closure_of_each_module_is_found(module):
    assert asset_code_version(module)


def test_a_changed_validator_marks_every_dependent_asset_stale_and_no_other(tmp_path):
    """In a copy of the tree, one validator of the output models changes: every asset whose rows it shapes gets a
    new code version, an unrelated one keeps its own."""
    copy = tmp_path / "tree"
    for package in ("jiwa", "assets", "prompts"):
        shutil.copytree(PROJECT_ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    modules = [*USES_OUTPUT_MODELS, UNRELATED]
    before = _versions_in(copy, modules)
    assert before == {module: asset_code_version(module) for module in modules}

    text = copy / "jiwa" / "domain" / "text.py"
    source = text.read_text()
    assert 'raise ValueError("needs at least four words")' in source
    text.write_text(source.replace("if len(words) < 4:", "if len(words) < 5:"))
    after = _versions_in(copy, modules)

    assert {module for module in USES_OUTPUT_MODELS if after[module] == before[module]} == set()
    assert after[UNRELATED] == before[UNRELATED]
