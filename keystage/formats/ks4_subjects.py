"""The KS4 subject list: which qualifications and subjects a KS4 results file may carry in a year,
and the grades each takes (keystage/formats/data/ks4_subjects.csv); no Django.

The KS4 results reader and the cleaning rules both read it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from keystage.formats.errors import DataFileError

KS4_SUBJECTS_FILE = Path(__file__).with_name("data") / "ks4_subjects.csv"
_COLUMNS = ("qualification", "subject", "title", "slot", "first_year", "last_year", "grades")


class Ks4SubjectsError(DataFileError):
    """The KS4 subject file is not valid; the message names the line."""


@dataclass(frozen=True)
class Ks4Subject:
    """One subject of one qualification, the years it is accepted and the grades it takes."""

    qualification: str
    subject: str
    title: str
    slot: str  # the Attainment 8 slot it can fill
    first_year: int
    last_year: int | None
    grades: tuple[str, ...]

    def in_force(self, year: int) -> bool:
        """True when the subject is accepted in the assessment year."""
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)


@cache
def _all_subjects(path: Path) -> tuple[Ks4Subject, ...]:
    text = path.read_text(encoding="utf-8-sig")
    # Comment lines become blank lines, so that line numbers stay those of the file.
    kept = "".join("\n" if line.startswith("#") else line
                   for line in text.splitlines(keepends=True))
    reader = csv.reader(io.StringIO(kept, newline=""))
    header: tuple[str, ...] | None = None
    subjects = []
    for cells in reader:
        line = reader.line_num
        if not any(cells):
            continue
        if header is None:
            header = tuple(cells)
            if header != _COLUMNS:
                raise Ks4SubjectsError(path, line, f"the header must be {','.join(_COLUMNS)}")
            continue
        if len(cells) != len(_COLUMNS):
            raise Ks4SubjectsError(path, line, f"{len(cells)} fields where the header has "
                                   f"{len(_COLUMNS)}")
        row = dict(zip(_COLUMNS, cells, strict=True))
        try:
            first = int(row["first_year"])
            last = int(row["last_year"]) if row["last_year"] else None
        except ValueError:
            raise Ks4SubjectsError(path, line, "first_year and last_year must be years") from None
        grades = tuple(row["grades"].split())
        if not row["qualification"] or not row["subject"] or not grades:
            raise Ks4SubjectsError(path, line, "qualification, subject and grades are required")
        subjects.append(Ks4Subject(row["qualification"], row["subject"], row["title"],
                                   row["slot"], first, last, grades))
    return tuple(subjects)


def ks4_subjects(year: int, path: Path | str = KS4_SUBJECTS_FILE) -> tuple[Ks4Subject, ...]:
    """The KS4 subjects accepted in an assessment (summer) year."""
    return tuple(s for s in _all_subjects(Path(path)) if s.in_force(year))


def ks4_grades(year: int) -> dict[tuple[str, str], tuple[str, ...]]:
    """(qualification, subject) -> the grades it takes, for the subjects of the year."""
    return {(s.qualification, s.subject): s.grades for s in ks4_subjects(year)}
