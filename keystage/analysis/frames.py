"""Reads of the results the primary measures need, as polars frames (COPY out on PostgreSQL)."""

from __future__ import annotations

import re

import polars as pl

from keystage.collection.models import AssessmentResult, PupilRecord, Submission
from keystage.context.models import CensusDetail, Ks2Result, Ks4Result, Ks5Result
from keystage.core.bulk import read_frame
from keystage.measures.primary import PUPIL_SCHEMA
from keystage.schools.queries import with_school_codes


def _t(model) -> str:
    return model._meta.db_table


def _scope(la_id: int | tuple[int, ...] | None) -> tuple[str, list]:
    """The statement's filter to one LA, several (a tuple of ids) or none (every LA)."""
    if la_id is None:
        return "", []
    if isinstance(la_id, tuple):
        return f" AND p.la_id IN ({', '.join(['%s'] * len(la_id))})", list(la_id)
    return " AND p.la_id = %s", [la_id]


def collection_frame(dataset: str, year: int, la_id: int | tuple[int, ...] | None) -> pl.DataFrame:
    """One row per current record of a statutory collection, a column per component (latest).

    Each record arrives with its latest results folded into one text by the database (a
    national EYFSP year is 600,000 rows, not 10 million), spread here into a column per
    component of the year's specification (keystage.formats.assessment_spec)."""
    from django.db import connection

    from keystage.formats.assessment_spec import collection_components

    where, params = _scope(la_id)
    codes = list(dict.fromkeys(c.component for c in collection_components(dataset, year)))
    # Folded per record by a subquery on the results' (pupil, component) index: no sort and
    # grouping of every result row (a third of the time of a GROUP BY with a MAX(CASE) per
    # component, which spilled a batch of LAs' EYFSP rows to disk).
    fold = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    folded = read_frame(
        f"SELECT p.id, p.pupil_id, p.la_id, p.school_id, p.ncyear, "  # noqa: S608
        f"(SELECT {fold}(r.component || %s || r.result, %s) FROM {_t(AssessmentResult)} r "
        f"WHERE r.pupil_id = p.id AND r.is_latest) "
        f"FROM {_t(PupilRecord)} p JOIN {_t(Submission)} s ON s.id = p.submission_id "
        f"WHERE s.status = 'current' AND p.collection = %s AND p.year = %s{where}",
        [_PAIR, _ITEM, dataset, year, *params],
        {"record_id": pl.Int64, "pupil_id": pl.Int64, "la_id": pl.Int64,
         "school_id": pl.Int64, "ncyear": pl.String, "latest": pl.String})
    return with_school_codes(_spread(folded, codes))


# Between a result's component and value, and between results, in a record's folded text:
# control characters no XML text or form value carries.
_PAIR, _ITEM = "\x01", "\x02"


def _spread(folded: pl.DataFrame, codes: list[str]) -> pl.DataFrame:
    """The folded `latest` text as a column per component code (the greatest value where a
    record has two of one component, as MAX would), in the order of `codes`.

    Each component's value is cut straight from the text (its first); only the records that
    hold a component twice, which a count of their listed components finds, are spread in
    full (_spread_exact) to take the greatest. Half the time of spreading every record."""
    if not codes:
        return folded.drop("latest")
    text = pl.lit(_ITEM) + pl.col("latest")  # every item then starts with the separator
    listed = "|".join(re.escape(c) for c in codes)
    wide = folded.with_columns(
        *(text.str.extract(f"{_ITEM}{re.escape(c)}{_PAIR}([^{_ITEM}]*)", 1).alias(c)
          for c in codes),
        _listed=text.str.count_matches(f"{_ITEM}(?:{listed}){_PAIR}").fill_null(0))
    found = pl.sum_horizontal(pl.col(c).is_not_null().cast(pl.UInt32) for c in codes)
    twice = wide.filter(pl.col("_listed") > found)
    out = wide.drop("latest", "_listed")
    if twice.height:
        exact = _spread_exact(twice.select(folded.columns), codes)
        out = out.update(exact.select("record_id", *codes), on="record_id",
                         include_nulls=True)
    return out


def _spread_exact(folded: pl.DataFrame, codes: list[str]) -> pl.DataFrame:
    """_spread by splitting every record's text into its results and taking each
    component's greatest."""
    pairs = (folded.lazy().select("record_id", pl.col("latest").str.split(_ITEM))
             .explode("latest").drop_nulls("latest")
             .select("record_id", pl.col("latest").str.splitn(_PAIR, 2)
                     .struct.rename_fields(["component", "result"]).alias("pair"))
             .unnest("pair").filter(pl.col("component").is_in(codes))
             .group_by("record_id", "component").agg(pl.col("result").max()).collect())
    wide = (pairs.pivot(on="component", index="record_id", values="result")
            if pairs.height else pl.DataFrame(schema={"record_id": pl.Int64}))
    missing = [pl.lit(None, pl.String).alias(c) for c in codes if c not in wide.columns]
    wide = wide.with_columns(missing) if missing else wide
    return folded.drop("latest").join(
        wide.select("record_id", *(pl.col(c).cast(pl.String) for c in codes)),
        on="record_id", how="left", maintain_order="left")


def ks2_frame(year: int, la_id: int | tuple[int, ...] | None) -> pl.DataFrame:
    """The KS2 results file's rows, with the columns of its CSV layout."""
    where, params = _scope(la_id)
    return with_school_codes(read_frame(
        f"SELECT p.id, p.pupil_id, p.la_id, p.school_id, p.ncyear, "  # noqa: S608
        f"CAST(k.read_score AS TEXT), k.read_outcome, CAST(k.mat_score AS TEXT), "
        f"k.mat_outcome, CAST(k.gps_score AS TEXT), k.gps_outcome, k.writ_ta_outcome "
        f"FROM {_t(Ks2Result)} k JOIN {_t(PupilRecord)} p ON p.id = k.record_id "
        f"JOIN {_t(Submission)} s ON s.id = p.submission_id "
        f"WHERE s.status = 'current' AND p.collection = 'ks2' AND p.year = %s{where}",
        [year, *params],
        {"record_id": pl.Int64, "pupil_id": pl.Int64, "la_id": pl.Int64,
         "school_id": pl.Int64, "ncyear": pl.String, "READSCORE": pl.String,
         "READOUTCOME": pl.String, "MATSCORE": pl.String, "MATOUTCOME": pl.String,
         "GPSSCORE": pl.String, "GPSOUTCOME": pl.String, "WRITTAOUTCOME": pl.String}))


def _results_frame(model, dataset: str, columns: str, schema: dict, year: int,
                   la_id: int | tuple[int, ...] | None) -> pl.DataFrame:
    """A results file's rows (KS4, KS5): one per pupil and qualification, with the pupil's
    record, UPN, LA and school before the table's own `columns` (SQL, as `r.`)."""
    where, params = _scope(la_id)
    return with_school_codes(read_frame(
        f"SELECT p.id, p.pupil_id, p.upn, p.la_id, p.school_id, {columns} "  # noqa: S608
        f"FROM {_t(model)} r JOIN {_t(PupilRecord)} p ON p.id = r.record_id "
        f"JOIN {_t(Submission)} s ON s.id = p.submission_id "
        f"WHERE s.status = 'current' AND p.collection = %s AND p.year = %s{where}",
        [dataset, year, *params],
        {"record_id": pl.Int64, "pupil_id": pl.Int64, "upn": pl.String, "la_id": pl.Int64,
         "school_id": pl.Int64, **schema}))


def ks4_frame(year: int, la_id: int | tuple[int, ...] | None) -> pl.DataFrame:
    """The KS4 results file's rows: one per pupil and qualification, with the pupil's school."""
    return _results_frame(Ks4Result, "ks4", "r.subject, r.grade",
                          {"subject": pl.String, "grade": pl.String}, year, la_id)


def ks5_frame(year: int, la_id: int | tuple[int, ...] | None) -> pl.DataFrame:
    """The KS5 results file's rows: one per student and qualification, with the student's
    school and KS4 prior attainment."""
    return _results_frame(
        Ks5Result, "ks5", "r.qualification, r.subject, r.grade, r.prior_aps",
        {"qualification": pl.String, "subject": pl.String, "grade": pl.String,
         "prior": pl.Float64}, year, la_id)


def ks2_prior_table(year: int) -> pl.DataFrame:
    """Every LA's KS2 reading and maths scaled (or nominal) scores of a KS2 year, with each
    pupil's record and UPN: what ks2_priors looks KS4 pupils up in."""
    from keystage.measures.ks2_scores import prior_scores

    # Scaled scores, else the DfE's nominal scores for pupils working below the test (1.3).
    ks2 = prior_scores(ks2_frame(year, None), year).select(
        "pupil_id", "record_id", "read", "maths").drop_nulls(["read", "maths"])
    if ks2.is_empty():
        return ks2.with_columns(upn=pl.lit(None, pl.String))
    upns = read_frame(
        f"SELECT p.id, p.upn FROM {_t(PupilRecord)} p "  # noqa: S608
        f"WHERE p.collection = 'ks2' AND p.year = %s", [year],
        {"record_id": pl.Int64, "upn": pl.String})
    return ks2.join(upns, on="record_id", how="left")


def ks2_priors(year: int, results: pl.DataFrame,
               table: pl.DataFrame | None = None) -> pl.DataFrame:
    """The KS2 reading and maths scaled scores (or nominal scores), five years before the KS4
    year, of the pupils with KS4 results: through identity (the same pupil), else the same UPN
    in another LA. `table`: ks2_prior_table(year - 5), when the caller has read it."""
    ks2 = ks2_prior_table(year - 5) if table is None else table
    if ks2.is_empty():
        return pl.DataFrame(schema={"pupil_id": pl.Int64, "read": pl.Float64,
                                    "maths": pl.Float64})
    pupils = results.select("pupil_id", "upn").unique("pupil_id", keep="first")
    same = pupils.join(ks2.select("pupil_id", "read", "maths").unique("pupil_id"),
                       on="pupil_id", how="inner")
    rest = pupils.join(same.select("pupil_id"), on="pupil_id", how="anti").filter(
        pl.col("upn") != "")
    by_upn = rest.join(ks2.select("upn", "read", "maths").unique("upn"), on="upn",
                       how="inner")
    return pl.concat([same.select("pupil_id", "read", "maths"),
                      by_upn.select("pupil_id", "read", "maths")])


def _ks2_outcomes(year: int, la_id: int | tuple[int, ...] | None, estimates: pl.DataFrame | None
                  ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The KS2 results' measures and KS1 to KS2 progress of one LA or all, and the emerging
    estimates progress was scored against (every LA's: made from the frames when they are every
    LA's, else from every LA's read now, unless the caller has them); None without KS1."""
    from keystage.measures import ks2_progress, primary

    frame = ks2_frame(year, la_id)
    ks1 = collection_frame("ks1", year - 4, la_id)
    if estimates is None and not ks1.is_empty():
        every_ks1, every_ks2 = ((ks1, frame) if la_id is None else
                                (collection_frame("ks1", year - 4, None), ks2_frame(year, None)))
        if not every_ks2.is_empty():
            estimates = ks2_progress.emerging_estimates(every_ks1, every_ks2, year)
    progress = (ks2_progress.progress_rows(ks1, frame, year, estimates)
                if estimates is not None else pl.DataFrame(schema=PUPIL_SCHEMA))
    return pl.concat([primary.ks2(frame), progress]), estimates


def census_year2(year: int, la_id: int | tuple[int, ...] | None) -> pl.DataFrame:
    """Pupils in Year 2 in the year's spring census, at their census school: the school of
    their main registration, as methods.md 11.1 places a pupil (`laestab`), then the earlier
    record, so a pupil on roll at two schools is always placed at the same one."""
    from django.db import connection

    from keystage.measures.characteristics import main_registration_rows

    where, params = _scope(la_id)
    # The LAs' Year 2 census records first, then their submissions: with statistics,
    # PostgreSQL otherwise starts from every LA's spring census submissions and reads all their
    # records (1.1 s against 0.27 s for a batch of 16 LAs of a national year).
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    rows = read_frame(
        f"WITH y2 AS {materialized}(SELECT p.id, p.pupil_id, p.la_id, p.school_id, "  # noqa: S608
        f"p.submission_id FROM {_t(PupilRecord)} p WHERE p.collection = 'census' "
        f"AND p.year = %s AND p.ncyear = '2' AND p.pupil_id IS NOT NULL{where}) "
        f"SELECT y2.id, y2.pupil_id, y2.la_id, y2.school_id, c.enrol_status "
        f"FROM y2 JOIN {_t(Submission)} s ON s.id = y2.submission_id "
        f"LEFT JOIN {_t(CensusDetail)} c ON c.record_id = y2.id "
        f"WHERE s.status = 'current' AND s.term = 'SPR'",
        [year, *params], {"record_id": pl.Int64, "pupil_id": pl.Int64, "la_id": pl.Int64,
                          "school_id": pl.Int64, "enrol_status": pl.String})
    return with_school_codes(
        main_registration_rows(rows).select("pupil_id", "la_id", "school_id"))


def pupil_outcomes(dataset: str, year: int, la_id: int | tuple[int, ...] | None,
                   estimates: pl.DataFrame | None = None,
                   ks2_table: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every pupil's counted flag and value for each measure of a dataset (one LA, several or all);
    `estimates`: the emerging KS2 progress estimates, and `ks2_table`: KS4's KS2 priors
    (ks2_prior_table), when the caller has them."""
    from keystage.measures import primary

    if dataset == "ks2":
        return _ks2_outcomes(year, la_id, estimates)[0]
    if dataset == "ks4":
        from keystage.measures import ks4

        results = ks4_frame(year, la_id)
        return ks4.ks4(results, ks2_priors(year, results, ks2_table), year)
    if dataset == "ks5":
        from keystage.measures import ks5

        return ks5.ks5(ks5_frame(year, la_id), year)
    frame = collection_frame(dataset, year, la_id)
    if dataset == "phonics":
        earlier = collection_frame("phonics", year - 1, la_id)
        return primary.phonics(frame, earlier, census_year2(year, la_id))
    return primary.PUPIL_MEASURES[dataset](frame)
