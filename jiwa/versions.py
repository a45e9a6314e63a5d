"""Code versions: a hash of what defines an output, so Dagster marks an asset stale exactly when that changes."""

from __future__ import annotations

import hashlib
import inspect
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
