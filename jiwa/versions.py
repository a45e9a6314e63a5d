"""Code versions: a hash of what defines an output, so Dagster marks an asset stale exactly when that changes.

What a module computes is defined by its source and by every project module it imports: `derived_code_version` reads
that import graph from the source files (statically, with `ast`, so the result is the same in every process), and
hashes all of it, so no module that shapes an output can be left off a hand-written list."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from types import FunctionType, ModuleType


def code_version(*parts: str | bytes | Path | ModuleType | FunctionType | type) -> str:
    """16 hex characters of the SHA-256 of the parts, NUL-separated: a file's bytes, a module's or function's source,
    or a plain string. One file alone gives its own SHA-256 prefix, so a catalogue's version is its file's hash."""
    return hashlib.sha256(b"\0".join(_as_bytes(part) for part in parts)).hexdigest()[:16]


def _as_bytes(part: str | bytes | Path | ModuleType | FunctionType | type) -> bytes:
    if isinstance(part, Path):
        return part.read_bytes()
    if isinstance(part, ModuleType | FunctionType | type):
        return inspect.getsource(part).encode()
    if isinstance(part, str):
        return part.encode()
    return part


# The project's own packages: an import of anything else is a library's, which a code version does not follow.
PROJECT_PACKAGES = ("jiwa", "assets")


def module_file(name: str) -> Path | None:
    """The source file of a project module, found without importing it; None for a name that is no module."""
    top, *rest = name.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        return None
    base = Path(spec.origin).parent.joinpath(*rest)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if rest and candidate.is_file():
            return candidate
    return Path(spec.origin) if not rest else None


def imported_modules(name: str, packages: tuple[str, ...] = PROJECT_PACKAGES) -> set[str]:
    """The project modules a module imports, read from its source (imports under `if TYPE_CHECKING:` excluded: they
    never run). `from package import name` counts the submodule when `name` is one, else the package."""
    path = module_path(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if module_file(submodule) is not None else base)
    return {module for module in found if module.split(".")[0] in packages}


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for branch in node.orelse:
                yield branch
                yield from _runtime_nodes(branch)
            continue
        yield node
        yield from _runtime_nodes(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_closure(roots: Iterable[str], *, skip: Collection[str] = ()) -> set[str]:
    """Every project module the roots import, directly or through others; modules in `skip` are not followed."""
    seen: set[str] = set()
    pending = [root for root in roots if root not in skip]
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        pending.extend(imported for imported in imported_modules(module) if imported not in seen | set(skip))
    return seen


def derived_code_version(module: str, *also: str | bytes | Path, skip: Collection[str] = ()) -> str:
    """The code version of what a module computes: its source and that of every project module it imports,
    transitively (sorted by name, each with its name, so the result does not depend on the order of discovery), and
    whatever else is given (prompt hashes, data files, configured models)."""
    sources = [
        name.encode() + b"\0" + module_path(name).read_bytes() for name in sorted(import_closure([module], skip=skip))
    ]
    return code_version(*sources, *also)


def module_path(name: str) -> Path:
    """The source file of a project module; raises ModuleNotFoundError for a name that is no module."""
    path = module_file(name)
    if path is None:
        raise ModuleNotFoundError(f"No source for module {name}")
    return path
