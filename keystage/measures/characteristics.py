"""Pupil characteristics for a year, exactly as methods.md section 11.1 defines them; no Django.

`derive_characteristics(sources, year)` takes the frames keystage.context.queries reads (all
keyed by `pupil_id`, Keystage's pupil identity) and gives one row per pupil in EXPORT_COLUMNS,
the layout of `keystage export pupils`. Flags are "Y"/"N", "" where no source says.

The input frames:
- pupils: pupil_id, upn, former_upns (space-separated), surname, forename, dob, sex
- census: record_id, pupil_id, laestab, year, term, ncyear, enrol_status, ethnicity,
  first_language, sen_provision, adopted_from_care (the year's spring census: no other
  census row is read)
- fsm_periods: record_id, pupil_id, start, end (the periods of every census of the last six
  years: FSM6 looks back over them)
- sen_needs: record_id, pupil_id, sen_type, rank
- pp: pupil_id, eligible (Boolean), reason
- results: pupil_id, dataset, laestab, ncyear, submitted (text that sorts by time)
- care (optional, the social-care returns of the collection year ending 31 March of the year;
  keystage.socialcare.queries): "care_loaded" (one row per dataset loaded: dataset),
  "care_episodes" (pupil_id, decom, dec: the 903 episodes of linked children), "cin_details"
  (pupil_id, referral_date, closure_date) and "cpp_plans" (pupil_id, start_date, end_date)

Choices where methods.md leaves one (also in the README):
- The year's census is the spring census of the assessment year. A pupil's row in it is their
  main registration (EnrolStatus C or M); a pupil with only subsidiary or guest rows takes their
  characteristics from one of those, but not their school (methods: S and G never decide it).
  Two main rows (an error the cleaning rules report) are settled by the lower record id.
- Without a spring census row, `laestab` and `ncyear` come from the pupil's latest result of the
  year, and every census-derived column (ethnicity, EAL, FSM, FSM6, SEN) is empty.
- Historic SEN provision codes map to today's: S (statement) to E; A and P (School Action, Plus)
  to K. AdoptedFromCare counts as adopted or left care for any value but empty, N, 0 or false.
- `cla`, `cin`, `cpp` come from the social-care returns of the collection year ending 31 March
  of the assessment year when they are loaded ("N" for every other pupil then); empty otherwise.
  The census has no in-care indicator Keystage reads, so without a 903 `cla` is empty. A pupil
  linked to a child of either return belongs to the year's population even with no census row
  or result (design.md, `export pupils`).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from keystage.years import census_reference_date

EXPORT_COLUMNS = (
    "upn", "former_upns", "laestab", "surname", "forename", "dob", "sex", "ncyear", "ethnicity",
    "ethnicity_major", "eal", "fsm", "fsm6", "pp", "disadvantaged", "sen", "sen_primary_need",
    "summer_born", "cla", "cin", "cpp",
)
FSM6_YEARS = 6
MAIN_REGISTRATION = ("C", "M")
ENGLISH = ("ENG", "ENB")
LANGUAGE_UNKNOWN = ("NOT", "REF", "")
MAJOR_BY_LETTER = {"W": "WHIT", "M": "MIXD", "A": "ASIA", "B": "BLAC"}
MAJOR_BY_CODE = {"CHNE": "CHIN", "OOTH": "AOEG", "REFU": "UNCL", "NOBT": "UNCL"}
SEN_CODES = {"E": "E", "K": "K", "N": "N", "S": "E", "A": "K", "P": "K"}
PP_DISADVANTAGE_REASONS = ("FSM6", "CLA", "POSTLAC")
NOT_ADOPTED = ("", "N", "0", "FALSE", "NO")


def _yn(condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.lit("Y")).otherwise(pl.lit("N"))


def _only_with_census(expr: pl.Expr) -> pl.Expr:
    return pl.when(pl.col("_census")).then(expr).otherwise(pl.lit(""))


def ethnicity_major(code: pl.Expr) -> pl.Expr:
    """The DfE major ethnic group of a 4-character code (UNCL for refused, not obtained, none)."""
    code = code.fill_null("").str.strip_chars().str.to_uppercase()
    by_letter = code.str.slice(0, 1).replace_strict(MAJOR_BY_LETTER, default=None)
    return (pl.when(code == "").then(pl.lit("UNCL"))
            .when(code.is_in(list(MAJOR_BY_CODE))).then(code.replace_strict(MAJOR_BY_CODE,
                                                                             default=None))
            .otherwise(by_letter.fill_null("UNCL")))


def _spring_rows(census: pl.DataFrame, year: int) -> pl.DataFrame:
    """Each pupil's row of the year's spring census: main registration first."""
    return main_registration_rows(
        census.filter((pl.col("year") == year) & (pl.col("term") == "SPR")))


def main_registration_rows(census: pl.DataFrame) -> pl.DataFrame:
    """Each pupil's one census row (columns pupil_id, record_id, enrol_status), with `_main`
    saying whether it is a main registration (EnrolStatus C or M): their main registration
    where they have one, then the earlier record, so a pupil on roll at two schools is always
    placed at the same one."""
    return (census.with_columns(_main=pl.col("enrol_status").fill_null("").str.to_uppercase()
                                .is_in(list(MAIN_REGISTRATION)))
            .sort(["pupil_id", "_main", "record_id"], descending=[False, True, False])
            .unique("pupil_id", keep="first", maintain_order=True))


def social_care_flags(sources: dict[str, pl.DataFrame], year: int) -> pl.DataFrame:
    """pupil_id, cla, cin, cpp for the pupils linked to a child of the year's returns."""
    reference = census_reference_date(year)
    year_end = date(year, 3, 31)
    year_start = date(year - 1, 4, 1)
    loaded = set(sources.get("care_loaded", pl.DataFrame({"dataset": []}))["dataset"].to_list())
    empty = pl.DataFrame(schema={"pupil_id": pl.Int64})
    episodes = sources.get("care_episodes", empty)
    details = sources.get("cin_details", empty)
    plans = sources.get("cpp_plans", empty)
    frames = []
    if "ssda903" in loaded and episodes.height:
        # Looked after on the reference date: started on or before it, not ended by it.
        frames.append(episodes.filter(pl.col("pupil_id").is_not_null()).group_by("pupil_id").agg(
            _cla=((pl.col("decom") <= reference)
                  & (pl.col("dec").is_null() | (pl.col("dec") > reference))).any()))
    if "cin" in loaded and details.height:
        frames.append(details.filter(pl.col("pupil_id").is_not_null()).group_by("pupil_id").agg(
            _cin=((pl.col("referral_date") <= year_end)
                  & (pl.col("closure_date").is_null()
                     | (pl.col("closure_date") >= year_end))).any()))
    if "cin" in loaded and plans.height:
        frames.append(plans.filter(pl.col("pupil_id").is_not_null()).group_by("pupil_id").agg(
            _cpp=((pl.col("start_date") <= year_end)
                  & (pl.col("end_date").is_null() | (pl.col("end_date") >= year_start))).any()))
    flags = pl.DataFrame(schema={"pupil_id": pl.Int64})
    for frame in frames:
        flags = flags.join(frame, on="pupil_id", how="full", coalesce=True)
    for name, dataset in (("cla", "ssda903"), ("cin", "cin"), ("cpp", "cin")):
        column = f"_{name}"
        value = (pl.col(column).fill_null(False) if column in flags.columns
                 else pl.lit(False))
        flags = flags.with_columns(_yn(value).alias(name) if dataset in loaded
                                   else pl.lit(None, pl.String).alias(name))
    return flags.select("pupil_id", "cla", "cin", "cpp")


def derive_characteristics(sources: dict[str, pl.DataFrame], year: int) -> pl.DataFrame:
    """One row per pupil of the year (a spring census row or a result), in EXPORT_COLUMNS."""
    reference = census_reference_date(year)
    window_start = reference.replace(year=reference.year - FSM6_YEARS)
    census = sources["census"]
    spring = _spring_rows(census, year)
    results = sources["results"].filter(pl.col("pupil_id").is_not_null())
    latest_result = (results.sort(["pupil_id", "submitted"])
                     .unique("pupil_id", keep="last", maintain_order=True)
                     .select("pupil_id", _r_laestab="laestab", _r_ncyear="ncyear"))
    social = sources.get("social_care")
    if social is None:
        social = social_care_flags(sources, year)
    loaded = set(sources.get("care_loaded", pl.DataFrame({"dataset": []}))["dataset"].to_list())
    population = pl.concat([spring.select("pupil_id"), results.select("pupil_id"),
                            social.select("pupil_id")]).unique()

    periods = sources["fsm_periods"]
    fsm_now = (periods.join(spring.select("record_id"), on="record_id", how="semi")
               .filter((pl.col("start") <= reference)
                       & (pl.col("end").is_null() | (pl.col("end") >= reference)))
               .select("pupil_id").unique().with_columns(_fsm=pl.lit(True)))
    fsm_ever6 = (periods.filter((pl.col("start") <= reference)
                                & (pl.col("end").is_null() | (pl.col("end") >= window_start)))
                 .select("pupil_id").unique().with_columns(_fsm6=pl.lit(True)))
    primary_need = (sources["sen_needs"].join(spring.select("record_id"), on="record_id",
                                              how="semi")
                    .filter(pl.col("rank") == 1).sort("record_id")
                    .unique("pupil_id", keep="first")
                    .select("pupil_id", _need="sen_type"))
    pp = (sources["pp"].filter(pl.col("pupil_id").is_not_null())
          .sort("eligible", descending=True, nulls_last=True)
          .unique("pupil_id", keep="first")
          .select("pupil_id", _pp="eligible", _pp_reason="reason"))
    frame = (population
             .join(sources["pupils"], on="pupil_id", how="left")
             .join(spring.drop("upn", "surname", "forename", "dob", "sex", strict=False),
                   on="pupil_id", how="left")
             .join(latest_result, on="pupil_id", how="left")
             .join(fsm_now, on="pupil_id", how="left")
             .join(fsm_ever6, on="pupil_id", how="left")
             .join(primary_need, on="pupil_id", how="left")
             .join(pp, on="pupil_id", how="left")
             .join(social.select("pupil_id", "cla", "cin", "cpp"), on="pupil_id", how="left")
             .with_columns(_census=pl.col("record_id").is_not_null()))

    language = pl.col("first_language").fill_null("").str.strip_chars().str.to_uppercase()
    adopted = ~pl.col("adopted_from_care").fill_null("").str.strip_chars().str.to_uppercase()\
        .is_in(list(NOT_ADOPTED))
    fsm6 = pl.col("_fsm6").fill_null(False)
    # With a return loaded, a pupil with no child of it is "N"; without one, empty.
    cla = pl.col("cla").fill_null("N" if "ssda903" in loaded else "")
    pp_disadvantage = pl.col("_pp").fill_null(False) & pl.col("_pp_reason").fill_null("")\
        .str.to_uppercase().is_in(list(PP_DISADVANTAGE_REASONS))
    disadvantaged = (pl.col("_census") & fsm6) | (cla == "Y") | (pl.col("_census") & adopted) \
        | pp_disadvantage
    known_disadvantage = pl.col("_census") | pl.col("_pp").is_not_null() | (cla == "Y")

    out = frame.with_columns(
        laestab=pl.when(pl.col("_census") & pl.col("_main")).then(pl.col("laestab"))
        .otherwise(pl.col("_r_laestab")).fill_null(""),
        ncyear=pl.when(pl.col("_census")).then(pl.col("ncyear"))
        .otherwise(pl.col("_r_ncyear")).fill_null(""),
        ethnicity=_only_with_census(pl.col("ethnicity").fill_null("").str.to_uppercase()),
        ethnicity_major=_only_with_census(ethnicity_major(pl.col("ethnicity"))),
        eal=_only_with_census(pl.when(language.is_in(list(LANGUAGE_UNKNOWN))).then(pl.lit(""))
                              .when(language.is_in(list(ENGLISH))).then(pl.lit("N"))
                              .otherwise(pl.lit("Y"))),
        fsm=_only_with_census(_yn(pl.col("_fsm").fill_null(False))),
        fsm6=_only_with_census(_yn(fsm6)),
        pp=pl.when(pl.col("_pp").is_null()).then(pl.lit("")).otherwise(_yn(pl.col("_pp"))),
        disadvantaged=pl.when(disadvantaged).then(pl.lit("Y"))
        .when(known_disadvantage).then(pl.lit("N")).otherwise(pl.lit("")),
        sen=_only_with_census(pl.col("sen_provision").fill_null("").str.to_uppercase()
                              .replace_strict(SEN_CODES, default="N")),
        sen_primary_need=_only_with_census(pl.col("_need").fill_null("")),
        summer_born=pl.when(pl.col("dob").is_null()).then(pl.lit(""))
        .otherwise(_yn(pl.col("dob").dt.month().is_in([5, 6, 7, 8]))),
        cla=cla, cin=pl.col("cin").fill_null("N" if "cin" in loaded else ""),
        cpp=pl.col("cpp").fill_null("N" if "cin" in loaded else ""),
        dob=pl.col("dob").dt.to_string("%Y-%m-%d").fill_null(""),
    )
    return (out.with_columns(pl.col("upn", "former_upns", "surname", "forename", "sex")
                             .fill_null(""))
            .sort("laestab", "upn", "pupil_id")
            .select("pupil_id", *EXPORT_COLUMNS))
