"""Per-pupil measures derived from committed results (encodings.md section 1); no Django.

Derived measures are computed, never imported: GLD, ELGs at expected, phonics standard met,
MTC full marks.
"""

from __future__ import annotations

from dataclasses import dataclass

from keystage.datasets import threshold

ELGS = tuple(f"E{n:02d}" for n in range(1, 18))
GLD_ELGS = ELGS[:12]  # prime areas plus literacy and mathematics (E01-E12)


@dataclass(frozen=True)
class Measures:
    gld: bool | None = None
    elgs_expected: int | None = None
    phonics_met: bool | None = None
    mtc_full_marks: bool | None = None


def _int(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def derive_measures(collection: str, results: dict[str, str]) -> Measures:
    """The derived measures of one pupil, from their latest result per component."""
    if collection == "eyfsp":
        if any(code not in results for code in ELGS):
            return Measures()  # incomplete record: the cleaning rules report it
        expected = sum(1 for code in ELGS if results[code] == "2")
        return Measures(
            gld=all(results[code] == "2" for code in GLD_ELGS), elgs_expected=expected
        )
    if collection == "phonics":
        mark = _int(results.get("PSC"))
        if mark is not None:
            return Measures(phonics_met=mark >= threshold("phonics", "pass_mark"))
        if results.get("PSC") in {"A", "D", "L", "Q"}:
            return Measures(phonics_met=False)
        return Measures()
    if collection == "mtc":
        score = _int(results.get("MTC"))
        if score is None:
            return Measures()
        return Measures(mtc_full_marks=score == threshold("mtc", "full_marks"))
    return Measures()
