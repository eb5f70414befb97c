"""The current looked-after cohort and what the virtual school sees of each child's education.

The cohort is the children whose latest episode in the LA's latest SSDA903 is open (no DEC),
changed by the hand edits recorded since that return (a child who came into care or left it
this month), each with its date and reason. For each child linked to a pupil: their school and
NC year from the latest census, and the latest result of every dataset Keystage holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from keystage import datasets, years
from keystage.collection.models import PupilRecord, SubmissionStatus
from keystage.formats.ssda903 import parse_903_date
from keystage.socialcare.models import (
    CareChild,
    CareReturn,
    CohortChange,
    LookedAfterChange,
    ReturnStatus,
)
from keystage.socialcare.queries import rows_of_children

COLUMNS = ("child_id", "upn", "dob", "sex", "episode_from", "legal_status", "placement",
           "change", "pupil_id", "school", "laestab", "ncyear", "attendance_pct", "exclusions",
           "latest_results", "education_record")


@dataclass
class CohortChild:
    child_id: str
    upn: str = ""
    dob: date | None = None
    sex: str = ""
    in_care_since: str = ""
    legal_status: str = ""
    placement: str = ""
    change: str = ""  # the hand edit that put the child in the cohort, if one did
    pupil_id: int | None = None
    school: str = ""
    laestab: str = ""
    ncyear: str = ""
    attendance_pct: str = ""  # sessions attended of those possible, from the latest census
    exclusions: str = ""
    results: list[str] = field(default_factory=list)

    @property
    def has_education_record(self) -> bool:
        return bool(self.school or self.results)

    def row(self) -> list:
        """The child's row in COLUMNS, for downloads."""
        return [self.child_id, self.upn, self.dob.isoformat() if self.dob else "", self.sex,
                self.in_care_since, self.legal_status, self.placement, self.change,
                self.pupil_id or "", self.school, self.laestab, self.ncyear,
                self.attendance_pct, self.exclusions, "; ".join(self.results),
                "Y" if self.has_education_record else "N"]


def latest_903(la) -> CareReturn | None:
    """The LA's current SSDA903 of the latest collection year loaded."""
    return (CareReturn.objects.filter(la=la, dataset="ssda903", status=ReturnStatus.CURRENT)
            .order_by("-year").first())


def _open_latest_episodes(care_return: CareReturn) -> list[tuple[CareChild, dict]]:
    """Each child whose latest episode (by start, then line) has no end, with that episode."""
    rows = rows_of_children(care_return, "episodes").values_list("child_id", "line", "data")
    frame = pl.DataFrame(
        [(child, line, data.get("decom"), data.get("dec"), data.get("ls"), data.get("place"))
         for child, line, data in rows],
        schema={"child": pl.Int64, "line": pl.Int64, "decom": pl.String, "dec": pl.String,
                "ls": pl.String, "place": pl.String}, orient="row")
    latest = (frame.with_columns(started=parse_903_date(frame["decom"]))
              .drop_nulls("started").sort("started", "line").unique("child", keep="last")
              .filter(pl.col("dec").fill_null("").str.strip_chars() == ""))
    children = CareChild.objects.in_bulk(latest["child"].to_list())
    return [(children[row["child"]], row) for row in latest.iter_rows(named=True)
            if row["child"] in children]


def looked_after_cohort(la) -> tuple[CareReturn | None, list[CohortChild]]:
    """The children looked after now, from the latest 903 and the hand edits since it."""
    care_return = latest_903(la)
    cohort: dict[str, CohortChild] = {}
    if care_return is not None:
        for child, episode in _open_latest_episodes(care_return):
            cohort[child.child_id] = CohortChild(
                child_id=child.child_id, upn=child.upn, dob=child.dob, sex=child.sex,
                in_care_since=episode["started"].isoformat(),
                legal_status=episode["ls"] or "", placement=episode["place"] or "",
                pupil_id=child.pupil_id)
    since = care_return.submitted_at if care_return else None
    changes = LookedAfterChange.objects.filter(la=la).order_by("on", "id")
    if since is not None:
        changes = changes.filter(made_at__gte=since)
    for change in changes:
        if change.change == CohortChange.LEFT_CARE:
            cohort.pop(change.child_id, None)
        else:
            cohort[change.child_id] = CohortChild(
                child_id=change.child_id, in_care_since=change.on.isoformat(),
                change=f"came into care {change.on.isoformat()}: {change.reason}",
                pupil_id=change.pupil_id,
                upn=change.pupil.upn if change.pupil_id else "",
                dob=change.pupil.dob if change.pupil_id else None,
                sex=change.pupil.sex if change.pupil_id else "")
    _add_education(list(cohort.values()))
    return care_return, sorted(cohort.values(), key=lambda c: c.child_id)


def _add_education(children: list[CohortChild]) -> None:
    """Each linked child's latest census school and latest result of each dataset: one query."""
    by_pupil = {c.pupil_id: c for c in children if c.pupil_id}
    if not by_pupil:
        return
    records = (PupilRecord.objects.filter(pupil_id__in=list(by_pupil),
                                          submission__status=SubmissionStatus.CURRENT)
               .select_related("school").order_by("pupil_id", "-year", "-id")
               .values_list("pupil_id", "collection", "year", "school__name",
                            "school__laestab", "ncyear", "census__sessions_possible",
                            "census__sessions_absent", "census__exclusions"))
    seen: set[tuple[int, str]] = set()
    for pupil_id, collection, year, school, laestab, ncyear, possible, absent, excluded \
            in records:
        child = by_pupil[pupil_id]
        if collection == "census":
            if not child.school:
                child.school, child.laestab, child.ncyear = school, laestab or "", ncyear
                if possible:
                    child.attendance_pct = f"{100 * (possible - (absent or 0)) / possible:.1f}"
                if excluded is not None:
                    child.exclusions = str(excluded)
            continue
        if (pupil_id, collection) in seen:
            continue
        seen.add((pupil_id, collection))
        label = datasets.DATASETS[collection].label if collection in datasets.DATASETS \
            else collection
        child.results.append(f"{label} {years.academic_year_label(year)}")
