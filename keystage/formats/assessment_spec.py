"""Which CTF assessment rows belong to which statutory collection, held as data.

The table is data/assessment_components.csv (one row per component and range of years), so a
new DfE specification is a data change. Collections: keystage.datasets.COLLECTION_CODES.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SPEC_FILE = Path(__file__).with_name("data") / "assessment_components.csv"


@dataclass(frozen=True)
class Component:
    """One component of a collection: its CTF tuple and the results it may take."""

    collection: str
    first_year: int
    last_year: int | None
    stage: str
    subject: str
    method: str
    component: str
    qualifier: str
    results: frozenset[str]

    def applies_in(self, year: int) -> bool:
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)


def _expand(results: str) -> frozenset[str]:
    values: set[str] = set()
    for token in results.split():
        if ".." in token:
            low, high = token.split("..")
            values.update(str(n) for n in range(int(low), int(high) + 1))
        else:
            values.add(token)
    return frozenset(values)


@cache
def components() -> tuple[Component, ...]:
    """Every component row of the specification file."""
    with SPEC_FILE.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return tuple(
            Component(
                collection=row["collection"],
                first_year=int(row["first_year"]),
                last_year=int(row["last_year"]) if row["last_year"] else None,
                stage=row["stage"],
                subject=row["subject"],
                method=row["method"],
                component=row["component"],
                qualifier=row["qualifier"],
                results=_expand(row["results"]),
            )
            for row in rows
        )


@cache
def _by_key() -> dict[tuple[str, str, str, str], list[Component]]:
    index: dict[tuple[str, str, str, str], list[Component]] = {}
    for comp in components():
        index.setdefault((comp.stage, comp.subject, comp.method, comp.component), []).append(comp)
    return index


def component_for(
    stage: str, subject: str, method: str, component: str, year: int | None
) -> Component | None:
    """The collection component a CTF row belongs to (matched case-insensitively), or None."""
    key = (stage.upper(), subject.upper(), method.upper(), component.upper())
    for comp in _by_key().get(key, ()):
        if year is None or comp.applies_in(year):
            return comp
    return None


def collection_components(collection: str, year: int) -> list[Component]:
    """The components of one collection in one assessment year, in specification order."""
    return [c for c in components() if c.collection == collection and c.applies_in(year)]
