"""Sort keys that read as people expect (pure; never imports Django)."""

from __future__ import annotations


def mark_key(value) -> tuple:
    """Marks and scores in numeric order (2 before 10), then any text codes alphabetically."""
    text = str(value).strip()
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)
