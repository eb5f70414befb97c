"""Names and dates made comparable across files, as polars expressions over whole columns."""

from __future__ import annotations

import polars as pl


def name_key(column: str | pl.Expr) -> pl.Expr:
    """A name lower-cased, accents removed, and everything but letters and spaces dropped.

    Hyphens and apostrophes become spaces, so "Smith-Jones" and "O'Neil" keep their parts.
    """
    expr = pl.col(column) if isinstance(column, str) else column
    # NFKD splits "é" into "e" and a combining accent, which the \p{M} class then removes.
    text = (expr.fill_null("").str.to_lowercase().str.replace_all("ß", "ss", literal=True)
            .str.normalize("NFKD").str.replace_all(r"\p{M}", ""))
    return (text.str.replace_all(r"[-'’.]", " ").str.replace_all(r"[^a-z ]", "")
            .str.replace_all(r"\s+", " ").str.strip_chars())


def swapped_day_month(column: str | pl.Expr) -> pl.Expr:
    """The date with day and month exchanged (null where the day is over 12 or they are equal)."""
    expr = pl.col(column) if isinstance(column, str) else column
    return pl.when((expr.dt.day() <= 12) & (expr.dt.day() != expr.dt.month())).then(
        pl.date(expr.dt.year(), expr.dt.day(), expr.dt.month())).otherwise(None)
