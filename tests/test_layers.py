"""The house rules that keep the layout livable: arrows run one way, and asset modules stay small."""

import ast
from pathlib import Path

import pytest

from jiwa.paths import PROJECT_ROOT
from jiwa.versions import imported_modules

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


# Inside jiwa: the vocabulary (what the models write, the profile, the status words, the languages, the team's
# catalogues) imports nothing but itself and the foundation; the store imports the vocabulary, never the services
# that use the store.
FOUNDATION = {"jiwa", "jiwa.paths", "jiwa.versions"}
DOMAIN = {"jiwa.domain", "jiwa.catalogue"}
STORE = {"jiwa.store"}
# What the store may import besides itself, the vocabulary and the foundation: the embedder whose vectors it keeps,
# and the conversation store it compacts.
STORE_ALSO = {"jiwa.embedding", "jiwa.conversations"}


def _jiwa_modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (PROJECT_ROOT / "jiwa").rglob("*.py")
        if "migrations" not in path.parts
    )


def _unit(module: str) -> str:
    """A subpackage of jiwa (jiwa.store), or a module directly in jiwa (jiwa.settings)."""
    return ".".join(module.split(".")[:2])


def _graph() -> dict[str, set[str]]:
    return {module: imported_modules(module, ("jiwa",)) for module in _jiwa_modules()}


def _outside(module: str, allowed: set[str]) -> bool:
    return not any(module == unit or module.startswith(f"{unit}.") for unit in allowed)


def test_the_vocabulary_imports_nothing_else():
    graph = _graph()
    offending = {
        module: sorted(name for name in imports if _outside(name, DOMAIN | FOUNDATION))
        for module, imports in graph.items()
        if not _outside(module, DOMAIN)
    }
    assert {module: names for module, names in offending.items() if names} == {}


def test_the_store_imports_the_vocabulary_never_the_reverse():
    graph = _graph()
    offending = {
        module: sorted(name for name in imports if _outside(name, STORE | DOMAIN | FOUNDATION | STORE_ALSO))
        for module, imports in graph.items()
        if not _outside(module, STORE)
    }
    assert {module: names for module, names in offending.items() if names} == {}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one node (Tarjan), sorted: no group, no cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_no_cycles_between_jiwas_subpackages():
    units: dict[str, set[str]] = {}
    for module, imports in _graph().items():
        units.setdefault(_unit(module), set()).update(_unit(name) for name in imports if _unit(name) != _unit(module))
    assert _cycles(units) == []


def test_no_cycles_between_jiwas_modules():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_of_another_subpackage_hides_inside_a_function():
    """An import inside a function works around a cycle instead of removing it: the cycle bites whoever calls it
    first. Within one subpackage it is allowed (the LLAMA worker process imports its backend when it starts)."""
    hidden = {}
    for module in _jiwa_modules():
        path = PROJECT_ROOT.joinpath(*module.split(".")).with_suffix(".py")
        path = path if path.is_file() else path.with_suffix("") / "__init__.py"
        for function in ast.walk(ast.parse(path.read_text())):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if (
                        isinstance(node, ast.ImportFrom)
                        and (node.module or "").split(".")[0] == "jiwa"
                        and _unit(node.module) != _unit(module)
                    ):
                        hidden.setdefault(module, []).append(node.module)
    assert hidden == {}
