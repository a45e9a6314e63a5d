"""The house rules that keep the layout livable: arrows run one way, and asset modules stay small."""

import ast
from pathlib import Path

import pytest

from jiwa.paths import PROJECT_ROOT

# What each top-level package may import from the project; everything else is a third-party library.
ALLOWED = {
    "jiwa": {"jiwa"},
    "assets": {"assets", "jiwa"},
    "pipelines": {"pipelines", "assets", "jiwa"},
    "serving": {"serving", "jiwa"},
    # The benchmarks measure the project; what they share with the tests lives in bench/support/, never in tests/.
    "bench": {"bench", "assets", "serving", "jiwa"},
}
MAX_ASSET_MODULE_LINES = 250


def _project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & (set(ALLOWED) | {"tests", "bench"})


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_run_one_way(package):
    offending = {
        str(path.relative_to(PROJECT_ROOT)): sorted(_project_imports(path) - ALLOWED[package])
        for path in (PROJECT_ROOT / package).rglob("*.py")
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_checker_sees_an_upward_import(tmp_path):
    module = tmp_path / "upward.py"
    module.write_text("from pipelines.definitions import defs\nimport serving.app\nimport numpy\n")
    assert _project_imports(module) == {"pipelines", "serving"}


def test_asset_modules_stay_small():
    sizes = {
        str(p.relative_to(PROJECT_ROOT)): len(p.read_text().splitlines())
        for p in (PROJECT_ROOT / "assets").rglob("*.py")
    }
    assert {path: lines for path, lines in sizes.items() if lines > MAX_ASSET_MODULE_LINES} == {}


def test_every_module_imports_on_its_own():
    """Whatever a process imports first, no module meets a half-initialised one (an import cycle)."""
    import subprocess
    import sys

    modules = sorted(
        ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in ("jiwa", "serving")
        for path in (PROJECT_ROOT / package).rglob("*.py")
        # Alembic's migration scripts run inside Alembic only, not as modules of their own.
        if path.name != "__main__.py" and "migrations" not in path.parts
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] in ('jiwa', 'serving')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
