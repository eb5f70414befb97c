"""Counts in words: "1 query", "2 queries" (pure; never imports Django)."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """The number and the noun that agrees with it: counted(1, "query", "queries") -> "1 query"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
