"""Digests of the code that derives kept data: part of a kept result's fingerprint, so an
upgrade that changes a definition makes it derived again without anyone having to say so."""

from __future__ import annotations

import functools
import hashlib
import importlib
from pathlib import Path


@functools.cache
def source_digest(modules: tuple[str, ...], data: tuple[str, ...] = ()) -> str:
    """The SHA-256 of the named modules' source files and of the CSV files in the named data
    folders (as `package/folder` paths relative to the keystage package), in the order given."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(Path(importlib.import_module(name).__file__).read_bytes())
    root = Path(__file__).resolve().parent.parent
    for folder in data:
        for path in sorted((root / folder).glob("*.csv")):
            digest.update(path.read_bytes())
    return digest.hexdigest()
