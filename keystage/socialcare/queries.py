"""Reads of the social care returns: the frames `export pupils` and `export socialcare` need."""

from __future__ import annotations

import polars as pl

from keystage.formats.ssda903 import parse_903_date
from keystage.socialcare.models import CareChild, CareReturn, CareRow, ReturnStatus

EXPORT_COLUMNS = ("source", "child_id", "upn", "dob", "sex", "episodes", "reviews", "missing",
                  "cin_details", "assessments", "cpp_plans", "linked_upn")
_SOURCE_ORDER = ("ssda903", "cin")


def current_returns(la, year: int) -> dict[str, CareReturn]:
    """The LA's current return of each social care dataset for the collection year."""
    found = CareReturn.objects.filter(la=la, year=year, status=ReturnStatus.CURRENT)
    return {r.dataset: r for r in found}


def _dates(rows: list[tuple], names: tuple[str, ...], columns: tuple[str, ...],
           parse) -> pl.DataFrame:
    """pupil_id and the named text fields of each row's data, parsed as dates (null if not)."""
    frame = pl.DataFrame(
        [(pupil_id, *[(data or {}).get(n) for n in names]) for pupil_id, data in rows],
        schema={"pupil_id": pl.Int64, **dict.fromkeys(columns, pl.String)}, orient="row",
    )
    return frame.with_columns(parse(frame[c]).alias(c) for c in columns)


def _iso_date(series: pl.Series) -> pl.Series:
    """A CIN date column (YYYY-MM-DD) as dates, null where it is not one."""
    return series.str.strip_chars().str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def rows_of_children(care_return: CareReturn, table: str):
    """The rows of one table of a return that belong to its children, found through the
    children: the rows' one index is on the child (a row naming no child of the return is
    kept, and shown nowhere but in the stored table)."""
    return CareRow.objects.filter(child__care_return=care_return, care_return=care_return,
                                  table=table)


def _table(care_return: CareReturn, table: str) -> list[tuple]:
    return list(rows_of_children(care_return, table).filter(child__pupil__isnull=False)
                .values_list("child__pupil_id", "data"))


def care_sources(la, year: int) -> dict[str, pl.DataFrame]:
    """The frames keystage.measures.characteristics reads for cla, cin and cpp."""
    returns = current_returns(la, year)
    sources = {"care_loaded": pl.DataFrame({"dataset": sorted(returns)},
                                           schema={"dataset": pl.String})}
    if "ssda903" in returns:
        sources["care_episodes"] = _dates(_table(returns["ssda903"], "episodes"),
                                          ("decom", "dec"), ("decom", "dec"), parse_903_date)
    if "cin" in returns:
        sources["cin_details"] = _dates(_table(returns["cin"], "cin_details"),
                                        ("referral_date", "closure_date"),
                                        ("referral_date", "closure_date"), _iso_date)
        sources["cpp_plans"] = _dates(_table(returns["cin"], "cpp"),
                                      ("start_date", "end_date"), ("start_date", "end_date"),
                                      _iso_date)
    return sources


def socialcare_export_rows(la, year: int) -> list[dict]:
    """One row per child of the LA's returns of the collection year, in EXPORT_COLUMNS."""
    returns = current_returns(la, year)
    rows = []
    for dataset in _SOURCE_ORDER:
        care_return = returns.get(dataset)
        if care_return is None:
            continue
        children = (CareChild.objects.filter(care_return=care_return)
                    .select_related("pupil").order_by("line", "id"))
        for child in children:
            rows.append({
                "source": dataset, "child_id": child.child_id, "upn": child.upn,
                "dob": child.dob.isoformat() if child.dob else child.dob_text,
                "sex": child.sex,
                "episodes": _count(child.episodes), "reviews": _count(child.reviews),
                "missing": _count(child.missing), "cin_details": _count(child.cin_details),
                "assessments": _count(child.assessments), "cpp_plans": _count(child.cpp_plans),
                "linked_upn": child.pupil.upn if child.pupil_id else "",
            })
    return rows


def _count(value: int | None) -> str:
    return "" if value is None else str(value)
