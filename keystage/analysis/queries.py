"""The rows of `keystage report` and the reports page, from one function."""

from __future__ import annotations

import polars as pl

from keystage.measures import primary
from keystage.schools.models import LocalAuthority


def progress_sds(dataset: str, year: int) -> dict[str, float] | None:
    """The published national SDs that give KS4 and KS5 progress measures their intervals
    (KS4: the DfE's, per year; KS5: the A level subjects' pooled), or None. KS1 to KS2
    progress takes the deployment's own, from the national picture (keystage.analysis.national),
    which keeps them all."""
    if dataset == "ks5":
        from keystage.measures.ks5 import pooled_sd

        sd = pooled_sd(year)
        return {"ks5_va": sd} if sd else None
    if dataset != "ks4":
        return None
    from keystage.measures.ks4 import estimates

    found = estimates(year)
    return found.sd if found else None


def report_rows(la: LocalAuthority, dataset: str, year: int, *, by: str | None = None,
                national: bool = False, cross: str | None = None,
                extra_fields: bool = False, inputs=None) -> tuple[list[list], bool]:
    """The report's rows (primary.REPORT_COLUMNS) and whether the LA has any result counted.
    The pages may add, to `--by group`, each group crossed with another (`cross`, for example
    disadvantaged boys: group `sex+disadvantaged`, value `M+Y`) and the LA's extra pupil fields
    (group `extra:FIELD`); the command line's layout keeps to the groups of `export pupils`.

    The LA's own pupils are read; the emerging national figures (and the bands against them)
    come from the national picture, summed once for every LA (keystage.analysis.national).
    Crossed groups' national rows are summed from every LA's pupils when asked for."""
    from keystage.analysis.frames import pupil_outcomes
    from keystage.analysis.national import national_picture
    from keystage.context.queries import pupil_characteristics

    more = by == "group" and (cross in primary.GROUPS or extra_fields)
    picture = national_picture(dataset, year, inputs=inputs)
    ours = pupil_outcomes(dataset, year, la.pk, estimates=picture.estimates)
    characteristics = pl.DataFrame(schema={"pupil_id": pl.Int64,
                                           **dict.fromkeys(primary.GROUPS, pl.String)})
    if by == "group":
        characteristics = pupil_characteristics(la, year).select(
            characteristics.columns).cast(characteristics.schema)
    groups = None
    everyone = None
    if more:
        if national:
            # The crossed groups' national rows need every LA's pupils and characteristics.
            everyone = pupil_outcomes(dataset, year, None)
            others = [pupil_characteristics(other, year).select(characteristics.columns)
                      .cast(characteristics.schema) for other in
                      LocalAuthority.objects.exclude(pk=la.pk)
                      .filter(code__in=everyone["la"].unique().to_list())]
            characteristics = pl.concat([characteristics, *others])
        characteristics, groups = _more_groups(characteristics, la, year,
                                               cross if cross in primary.GROUPS else None,
                                               extra_fields)
    rows = primary.cells(ours, characteristics, dataset=dataset, year=year, la=la.code, by=by,
                         national=everyone, show_national=national, sds=picture.sds,
                         groups=groups, nation=None if everyone is not None else picture.sums)
    return rows, bool(ours.filter(pl.col("counted")).height)


def ks4_working(pupil, year: int) -> dict | None:
    """A pupil's KS4 working for a year (keystage.measures.ks4.explain), from their own current
    KS4 results and their own KS2 scaled (or nominal) scores of five years before (same pupil,
    same LA)."""
    from keystage.context.models import Ks2Result, Ks4Result
    from keystage.measures import ks4

    rows = list(Ks4Result.objects.filter(
        record__pupil=pupil, record__la=pupil.la, record__year=year,
        record__submission__status="current").values_list("subject", "grade"))
    if not rows:
        return None
    results = pl.DataFrame([{"pupil_id": pupil.pk, "la": pupil.la.code, "laestab": "",
                             "subject": s, "grade": g} for s, g in rows])
    from keystage.measures.ks2_scores import prior_scores

    fields = ("read_score", "read_outcome", "mat_score", "mat_outcome")
    found = list(Ks2Result.objects.filter(
        record__pupil=pupil, record__la=pupil.la, record__year=year - 5,
        record__collection="ks2").order_by("record_id").values_list(*fields)[:1])
    if not found and pupil.upn:
        found = list(Ks2Result.objects.filter(
            record__upn=pupil.upn, record__la=pupil.la, record__year=year - 5,
            record__collection="ks2").order_by("record_id").values_list(*fields)[:1])
    priors = None
    if found:
        # Scaled scores, else the DfE's nominal scores for pupils working below the test.
        [(read, read_outcome, maths, maths_outcome)] = found
        scores = prior_scores(pl.DataFrame(
            {"READSCORE": [None if read is None else str(read)], "READOUTCOME": [read_outcome],
             "MATSCORE": [None if maths is None else str(maths)],
             "MATOUTCOME": [maths_outcome]}, schema=dict.fromkeys(
                ("READSCORE", "READOUTCOME", "MATSCORE", "MATOUTCOME"), pl.String)), year - 5)
        scores = scores.drop_nulls(["read", "maths"])
        if scores.height:
            priors = scores.select(pupil_id=pl.lit(pupil.pk, pl.Int64), read="read",
                                   maths="maths")
    return ks4.explain(results, priors, year)


TREND_YEARS = 3


def trend_rows(la: LocalAuthority, dataset: str, year: int, inputs=None) -> list[dict]:
    """Each measure's LA and emerging national figures over the three years up to `year`, with
    the published national figure where there is one; years with no data are shown empty."""
    from keystage.analysis.stored import stored_report

    years = list(range(year - TREND_YEARS + 1, year + 1))
    # The worker's stored figures where their files are unchanged (else computed now).
    by_year = {y: stored_report(la, dataset, y, by=None, national=True,
                                inputs=inputs if y == year else None)[0] for y in years}
    out = []
    for measure in primary.measures_of(dataset):
        cells = []
        for y in years:
            figures = {r[3]: r[10] for r in by_year[y] if r[2] == measure.code and r[6] == "all"
                       and r[11] == "N"}
            published = primary.published_national(dataset, y).get(measure.code)
            cells.append({"year": y, "la": figures.get("la", ""),
                          "national": figures.get("national", ""),
                          "published": "" if published is None else f"{published.value:g}"})
        if any(c["la"] or c["national"] or c["published"] for c in cells):
            out.append({"measure": measure.code, "label": measure.label, "years": cells})
    return out


def _more_groups(characteristics: pl.DataFrame, la: LocalAuthority, year: int,
                 cross: str | None, extra_fields: bool) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Characteristics with the crossed groups and the LA's extra fields as more columns."""
    from keystage.context.models import ExtraValue

    groups = list(primary.GROUPS)
    value = lambda g: pl.col(g).cast(pl.String).fill_null("").replace("", "unknown")  # noqa: E731
    if cross is not None:
        crossed = [g for g in primary.GROUPS if g != cross]
        characteristics = characteristics.with_columns(
            pl.concat_str([value(g), value(cross)], separator="+").alias(f"{g}+{cross}")
            for g in crossed)
        groups += [f"{g}+{cross}" for g in crossed]
    if extra_fields:
        extra = pl.DataFrame(
            list(ExtraValue.objects.filter(
                record__la=la, record__year=year, record__pupil__isnull=False,
                record__submission__status="current").values_list(
                "record__pupil_id", "field", "value")),
            schema={"pupil_id": pl.Int64, "field": pl.String, "value": pl.String},
            orient="row")
        if extra.height:
            wide = extra.unique(["pupil_id", "field"], keep="last").with_columns(
                field=pl.lit("extra:") + pl.col("field")).pivot(
                on="field", index="pupil_id", values="value")
            characteristics = characteristics.join(wide, on="pupil_id", how="full",
                                                   coalesce=True)
            groups += [c for c in wide.columns if c != "pupil_id"]
    return characteristics, tuple(groups)


def national_report_rows(dataset: str, year: int) -> list[list]:
    """The national analyst's picture: the emerging national rows (all and every group) and
    each LA's own figure, small cells hidden as for any reader outside the LA (11.2); all
    from the national picture, with no pupil read once it is kept."""
    from keystage.analysis.national import national_picture

    picture = national_picture(dataset, year)
    codes = sorted({code for (_, group, code) in picture.sums if group == primary.LA})
    if not codes:
        return []

    def own(code: str) -> primary.Sums:
        return {(m, "all", "all"): value for (m, group, c), value in picture.sums.items()
                if group == primary.LA and c == code}

    none = pl.DataFrame(schema={"pupil_id": pl.Int64, **dict.fromkeys(primary.GROUPS,
                                                                       pl.String)})
    first, *rest = codes
    # The national rows once (with the first LA's), then each LA's own row, suppressed.
    rows = primary.cells(None, none, dataset=dataset, year=year, la=first, by="group",
                         nation=picture.sums, own=own(first), show_national=True,
                         sds=picture.sds, suppress_la=True)
    for code in rest:
        rows += primary.cells(None, none, dataset=dataset, year=year, la=code, by=None,
                              nation=picture.sums, own=own(code), show_national=False,
                              sds=picture.sds, suppress_la=True)
    return rows


def school_ranks(dataset: str, year: int,
                 inputs=None) -> dict[tuple[str, str], tuple[int, int]]:
    """Each school's percentile rank among the deployment's schools with the measure (1 is the
    highest, as the IDSR ranks), by (measure, laestab): (rank, schools ranked). From every LA's
    stored school rows while they are all current, else from every LA's pupils now."""
    from keystage.analysis.frames import pupil_outcomes
    from keystage.analysis.stored import current_school_rows

    stored = current_school_rows(dataset, year, inputs)
    if stored is not None:
        schools = pl.DataFrame(
            [(r[2], r[5], float(r[9]) / int(r[8])) for r in stored
             if r[3] == "school" and r[8] and r[9] not in ("", None)],
            schema={"measure": pl.String, "laestab": pl.String, "value": pl.Float64},
            orient="row")
    else:
        everyone = pupil_outcomes(dataset, year, None).filter(pl.col("counted"))
        schools = everyone.group_by("measure", "laestab").agg(value=pl.col("value").mean())
    if schools.is_empty():
        return {}
    lower_better = {m.code for m in primary.measures_of(dataset) if m.direction != "higher"}
    ranked = schools.with_columns(
        n=pl.len().over("measure"),
        place=pl.when(pl.col("measure").is_in(list(lower_better)))
        .then(pl.col("value").rank("max").over("measure"))
        .otherwise(pl.col("value").rank("max", descending=True).over("measure")))
    ranked = ranked.with_columns(
        percentile=(100 * pl.col("place") / pl.col("n")).ceil().cast(pl.Int64))
    return {(r["measure"], r["laestab"]): (r["percentile"], r["n"])
            for r in ranked.iter_rows(named=True)}


def disadvantage_scatter(la: LocalAuthority, dataset: str, year: int,
                         measure: str) -> list[dict]:
    """Each school of the LA: the share of its pupils counted in a measure who are
    disadvantaged, against its value of the measure (percent for a percentage)."""
    from keystage.analysis.frames import pupil_outcomes
    from keystage.context.queries import pupil_characteristics

    counted = pupil_outcomes(dataset, year, la.pk).filter(
        (pl.col("measure") == measure) & pl.col("counted"))
    if counted.is_empty():
        return []
    kind = next((m.kind for m in primary.measures_of(dataset) if m.code == measure), "avg")
    flags = pupil_characteristics(la, year).select(
        "pupil_id", disadvantaged=pl.col("disadvantaged").cast(pl.String) == "Y")
    schools = counted.join(flags, on="pupil_id", how="left").group_by("laestab").agg(
        pupils=pl.len(), value=pl.col("value").mean(),
        disadvantaged=pl.col("disadvantaged").fill_null(False).mean())
    scale = 100 if kind == "pct" else 1
    return [{"laestab": r["laestab"], "pupils": r["pupils"],
             "x": round(100 * r["disadvantaged"], 1), "y": round(scale * r["value"], 2)}
            for r in schools.sort("laestab").iter_rows(named=True)]


_NO_NAME = {"upn": "", "name": ""}


def _record_names(records) -> dict[int, dict]:
    """pupil_id -> UPN and name as these pupil records give them, in one query."""
    return {pupil: {"upn": upn, "name": f"{forename} {surname}".strip()}
            for pupil, upn, surname, forename in records.values_list(
                "pupil_id", "upn", "surname", "forename")}


def _result_names(results: pl.DataFrame) -> dict[int, dict]:
    """_record_names of the records a results frame (KS4, KS5) was read from."""
    from keystage.collection.models import PupilRecord

    return _record_names(PupilRecord.objects.filter(
        pk__in=results["record_id"].unique().to_list()))


def ks4_school(school, year: int) -> tuple[list[dict], list[dict]]:
    """A school's KS4 pupils of a year (KS2 prior, group, A8, P8, EBacc entry) and its EBacc
    subject value added (science, humanities, languages) with the DfE's interval (VA +/- 1.96 sd
    / sqrt(n)) and band; the results and priors are read once for both."""
    import math

    from keystage.analysis.frames import ks2_priors, ks4_frame
    from keystage.measures import ks4

    results = ks4_frame(year, school.la_id).filter(pl.col("laestab") == school.laestab)
    if results.is_empty():
        return [], []
    priors = ks2_priors(year, results)
    scores = ks4.pupil_scores(results, priors, year)
    names = _result_names(results)
    pupils = []
    for row in scores.sort("a8", descending=True).iter_rows(named=True):
        pupils.append({"pupil_id": row["pupil_id"], **names.get(row["pupil_id"], _NO_NAME),
                       "ks2_prior": row["ks2_prior"], "pag": row["pag"], "a8": row["a8"],
                       "p8": row["p8"], "ebacc_entry": row["ebacc_entry"]})
    found = ks4.ebacc_va_estimates(year)
    subject_va = []
    if found is not None:
        sds = found[1]
        va = ks4.ebacc_subject_va(results, priors, year)
        for area in ks4.EBACC_AREAS:
            area_scores = va.filter(pl.col("area") == area)["va"]
            if not area_scores.len():
                continue
            mean = area_scores.mean()
            half = primary.Z95 * sds[area] / math.sqrt(area_scores.len())
            subject_va.append({"area": area, "pupils": area_scores.len(), "va": mean,
                               "low": mean - half, "high": mean + half,
                               "band": ks4.band(mean, mean - half, mean + half)})
    return pupils, subject_va


def ks5_working(pupil, year: int) -> dict | None:
    """A student's KS5 working for a year (keystage.measures.ks5.explain), from their own
    current KS5 results."""
    from keystage.context.models import Ks5Result
    from keystage.measures import ks5

    rows = list(Ks5Result.objects.filter(
        record__pupil=pupil, record__la=pupil.la, record__year=year,
        record__submission__status="current").values_list(
        "qualification", "subject", "grade", "prior_aps"))
    if not rows:
        return None
    results = pl.DataFrame(
        [{"pupil_id": pupil.pk, "la": pupil.la.code, "laestab": "", "qualification": q,
          "subject": s, "grade": g, "prior": p} for q, s, g, p in rows],
        schema={"pupil_id": pl.Int64, "la": pl.String, "laestab": pl.String,
                "qualification": pl.String, "subject": pl.String, "grade": pl.String,
                "prior": pl.Float64})
    return ks5.explain(results, year)


def ks5_school(school, year: int) -> tuple[list[dict], list[dict], dict | None]:
    """A school's KS5 students of a year (prior, entries, APS per entry and average grade, best
    three, VA), its subjects (entries, points per entry, average grade, grade shares, value
    added) and its A level cohort value added, each VA with the DfE 16-18 interval and band;
    the results are read once for all three."""
    from keystage.analysis.frames import ks5_frame
    from keystage.measures import ks5

    results = ks5_frame(year, school.la_id).filter(pl.col("laestab") == school.laestab)
    if results.is_empty():
        return [], [], None
    entries = ks5.entries(results, year)
    if entries.is_empty():
        return [], [], None
    names = _result_names(results)
    students = []
    for row in ks5.students(entries).sort("aps", descending=True).iter_rows(named=True):
        students.append({
            "pupil_id": row["pupil_id"], **names.get(row["pupil_id"], _NO_NAME),
            "prior": row["prior"], "a_levels": row["a_levels"], "entries": row["entries"],
            "aps": row["aps"], "grade": ks5.average_grade(row["aps"]), "best3": row["best3"],
            "va": row["va"]})
    va = {(r["qualification"], r["subject"]): r
          for r in ks5.subject_va(entries, year).to_dicts()}
    subjects = []
    for subject in ks5.subject_points(entries, year).to_dicts():
        found = va.get((subject["qualification"], subject["subject"]), {})
        subjects.append({**subject, "va": found.get("va"), "va_students": found.get("students"),
                         "ci_low": found.get("ci_low"), "ci_high": found.get("ci_high"),
                         "band": found.get("band", ""),
                         "qualification_name": ks5.QUALIFICATIONS[subject["qualification"]]})
    return students, subjects, ks5.cohort_va(entries, year)


def report_coverage(la: LocalAuthority, dataset: str, year: int) -> dict | None:
    """How complete a dataset's figures are for the LA (issue 12: a measure whose inputs are
    incomplete is shown with its coverage): pupils loaded against expected (the LA's expected
    cohorts, else the spring census), schools loaded, and the schools expected that have sent
    nothing; None for the social care returns (no schools)."""
    from keystage import datasets
    from keystage.collection.indicators import indicators
    from keystage.collection.queries import completeness

    if datasets.dataset(dataset).family == datasets.Family.SOCIAL_CARE:
        return None
    row = next((r for r in indicators(la=la, year=year) if r["dataset"] == dataset), None)
    if row is None:
        return None
    missing = []
    if datasets.dataset(dataset).cohort_codes:
        missing = [r["school"].name for r in completeness(la, dataset, year) if r["missing"]
                   and r["expected"]]
    pct = row["coverage_pct"]
    return {"pupils": row["pupils"], "expected": row["expected_pupils"], "pct": pct,
            "schools": row["schools"], "missing": missing,
            "complete": not missing and (pct == "" or float(pct) >= 100)}


# The gaps an LA watches: (group, the value compared, the value it is compared with).
GAPS = (("disadvantaged", "Y", "N"), ("sex", "F", "M"), ("eal", "Y", "N"),
        ("sen", "K", "N"), ("sen", "E", "N"), ("fsm", "Y", "N"))


def report_gaps(rows: list[list]) -> list[dict]:
    """Each measure's gaps between groups (for example disadvantaged less the others), the LA's
    and, where the rows have them, the emerging national one, in points of the measure."""
    values = {(r[2], r[3], r[6], r[7]): float(r[10]) for r in rows
              if r[11] == "N" and r[10] != "" and r[6] != "all"}
    out = []
    for measure in dict.fromkeys(r[2] for r in rows):
        for group, one, other in GAPS:
            la = [values.get((measure, "la", group, v)) for v in (one, other)]
            if None in la:
                continue
            nat = [values.get((measure, "national", group, v)) for v in (one, other)]
            out.append({"measure": measure, "group": group, "one": one, "other": other,
                        "la": round(la[0] - la[1], 2),
                        "national": None if None in nat else round(nat[0] - nat[1], 2)})
    return out


def school_report(school, dataset: str, year: int, *,
                  compare: bool) -> tuple[list[dict], list[dict], list[str]]:
    """A school's page: each measure for `all` and every group, beside the LA's and the emerging
    national figures (with `compare`), and its pupils with their outcome of each measure."""
    from keystage.analysis.frames import pupil_outcomes
    from keystage.analysis.national import national_picture
    from keystage.analysis.stored import stored_report
    from keystage.collection.models import PupilRecord
    from keystage.context.queries import pupil_characteristics

    own = school.report_code
    picture = national_picture(dataset, year)
    everyone = pupil_outcomes(dataset, year, school.la_id, estimates=picture.estimates)
    mine = everyone.filter(pl.col("laestab") == own)
    if mine.filter(pl.col("counted")).is_empty():
        return [], [], []
    characteristics = pupil_characteristics(school.la, year).select("pupil_id", *primary.GROUPS)
    sds = picture.sds
    school_rows = primary.cells(mine, characteristics, dataset=dataset, year=year,
                                la=school.la.code, by="group", national=None, sds=sds)
    others = {}
    if compare:
        rows, _, _ = stored_report(school.la, dataset, year, by="group", national=True)
        others = {(r[3], r[2], r[6], r[7]): r for r in rows if r[3] in ("la", "national")}
    labels = {m.code: m.label for m in primary.measures_of(dataset)}
    figures = []
    for r in school_rows:
        key = (r[2], r[6], r[7])
        la_row, nat_row = others.get(("la", *key)), others.get(("national", *key))
        figures.append({
            "measure": labels.get(r[2], r[2]), "group": r[6], "value_key": r[7],
            "pupils": r[8], "value": r[10], "low": r[12], "high": r[13],
            "la": la_row[10] if la_row and la_row[11] == "N" else "",
            "national": nat_row[10] if nat_row and nat_row[11] == "N" else "",
            "band": _band_against(r, nat_row)})
    codes = [m.code for m in primary.measures_of(dataset)
             if mine.filter((pl.col("measure") == m.code) & pl.col("counted")).height]
    wide = mine.filter(pl.col("counted")).pivot(on="measure", index="pupil_id",
                                                  values="value", aggregate_function="first")
    names = _record_names(PupilRecord.objects.filter(
        la_id=school.la_id, school=school, year=year, collection=dataset,
        submission__status="current",
        pupil__isnull=False))
    pupils = []
    for row in wide.iter_rows(named=True):
        pupils.append({"pupil_id": row["pupil_id"], **names.get(row["pupil_id"], _NO_NAME),
                       "values": [_shown(row.get(c), c, dataset) for c in codes]})
    pupils.sort(key=lambda p: (p["name"].split(" ")[-1:], p["name"]))
    return figures, pupils, [labels[c] for c in codes]


def _band_against(row: list, national: list | None) -> str:
    """The school row's own band against the emerging national figure, where there is one."""
    if national is None or national[11] != "N" or row[10] == "" or row[12] == "":
        return ""
    if row[2].startswith("p8") or row[2].startswith("ks5"):
        return row[14]
    low, high, nat = float(row[12]), float(row[13]), float(national[10])
    return "above" if low > nat else "below" if high < nat else "in line"


def _shown(value, code: str, dataset: str) -> str:
    if value is None:
        return ""
    kind = next((m.kind for m in primary.measures_of(dataset) if m.code == code), "avg")
    if kind == "pct":
        return "yes" if value >= 0.5 else "no"
    return f"{value:.2f}" if kind == "progress" else f"{value:g}"


def group_report(la: LocalAuthority, dataset: str, year: int, group: str,
                 value: str) -> list[list]:
    """One pupil group (for example disadvantaged `Y`) across the LA: the group's LA row and
    each school's row for its pupils in the group, with the emerging national row of the group;
    the rows' group columns read `all`, as every row is the group's."""
    from keystage.analysis.frames import pupil_outcomes
    from keystage.analysis.national import national_picture
    from keystage.analysis.stored import stored_report
    from keystage.context.queries import pupil_characteristics

    if group not in primary.GROUPS:
        return []
    picture = national_picture(dataset, year)
    ours = pupil_outcomes(dataset, year, la.pk, estimates=picture.estimates)
    characteristics = pupil_characteristics(la, year)
    members = characteristics.select(
        "pupil_id", member=pl.col(group).cast(pl.String).fill_null("").replace("", "unknown")
        == value).filter(pl.col("member"))
    in_group = ours.join(members.select("pupil_id"), on="pupil_id", how="semi")
    rows = primary.cells(in_group, characteristics, dataset=dataset, year=year, la=la.code,
                         by="school", national=None, sds=picture.sds)
    # Every row is the group's (the page says which): its national row reads as the nation's.
    stored, _, _ = stored_report(la, dataset, year, by="group", national=True)
    national = [[*r[:6], "all", "all", *r[8:]] for r in stored
                if r[3] == "national" and r[6] == group and r[7] == value]
    return rows + national
