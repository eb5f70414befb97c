"""Messages a job shows its user: no server paths, no internal file names."""

from __future__ import annotations

import re
from typing import Any

# An absolute path (POSIX or Windows) at the start of a word: keep only its last part.
_ABSOLUTE_PATH = re.compile(
    r"(?:(?<=^)|(?<=[\s'\"(\[=:,]))(?:/|[A-Za-z]:\\)(?:[^\s'\"/\\]+[/\\])*([^\s'\"/\\)\],:;]+)"
)
# A stored upload is named "00001__original.zip" (its place in the upload, then the user's
# name), maybe inside folders ("uploads/12/..."): show the user's name only.
_STORED_NAME = re.compile(r"(?:[\w.-]+/)*\d{5}__")


def _is_address(key: str) -> bool:
    """Keys of a job's result that hold addresses in the app ("url", "newer_url"), not messages."""
    return key == "url" or key.endswith("_url")


def public_message(text: str) -> str:
    """A message as the user may see it: absolute paths and stored names cut to the file name."""
    if not text:
        return text
    return _STORED_NAME.sub("", _ABSOLUTE_PATH.sub(r"\1", text))


def public_result(value: Any, key: str = "") -> Any:
    """A job's result with every message in it made public (addresses are left alone)."""
    if isinstance(value, str):
        return value if _is_address(key) else public_message(value)
    if isinstance(value, dict):
        return {k: public_result(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [public_result(v, key) for v in value]
    return value
