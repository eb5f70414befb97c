"""Each characteristic of `export pupils`, case by case, as methods.md 11.1 defines it."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from keystage.measures.characteristics import EXPORT_COLUMNS, derive_characteristics

YEAR = 2026
REF = dt.date(2026, 1, 15)  # the spring census reference date of 2025/26

SCHEMAS = {
    "pupils": {"pupil_id": pl.Int64, "upn": pl.String, "former_upns": pl.String,
               "surname": pl.String, "forename": pl.String, "dob": pl.Date, "sex": pl.String},
    "census": {"record_id": pl.Int64, "pupil_id": pl.Int64, "laestab": pl.String,
               "year": pl.Int64, "term": pl.String, "reference_date": pl.Date,
               "ncyear": pl.String, "enrol_status": pl.String, "ethnicity": pl.String,
               "first_language": pl.String, "sen_provision": pl.String,
               "adopted_from_care": pl.String},
    "fsm_periods": {"record_id": pl.Int64, "pupil_id": pl.Int64, "start": pl.Date,
                    "end": pl.Date},
    "sen_needs": {"record_id": pl.Int64, "pupil_id": pl.Int64, "sen_type": pl.String,
                  "rank": pl.Int64},
    "pp": {"pupil_id": pl.Int64, "eligible": pl.Boolean, "reason": pl.String},
    "results": {"pupil_id": pl.Int64, "dataset": pl.String, "laestab": pl.String,
                "ncyear": pl.String, "submitted": pl.String},
    "social_care": {"pupil_id": pl.Int64, "cla": pl.String, "cin": pl.String, "cpp": pl.String},
}


def census_row(record_id=1, *, laestab="3302001", year=YEAR, term="SPR", ncyear="5",
               enrol="C", ethnicity="WBRI", language="ENG", sen="N", adopted=""):
    return {"record_id": record_id, "pupil_id": 1, "laestab": laestab, "year": year,
            "term": term, "reference_date": REF, "ncyear": ncyear, "enrol_status": enrol,
            "ethnicity": ethnicity, "first_language": language, "sen_provision": sen,
            "adopted_from_care": adopted}


def derive(*, census=(None,), dob=dt.date(2015, 1, 2), fsm=(), needs=(), pp=(), results=(),
           social=None):
    """The characteristics of pupil 1, from one spring census row unless told otherwise."""
    rows = {
        "pupils": [{"pupil_id": 1, "upn": "A330200121001", "former_upns": "", "surname": "Lee",
                    "forename": "Sam", "dob": dob, "sex": "M"}],
        "census": [census_row() if c is None else c for c in census],
        "fsm_periods": [{"record_id": r, "pupil_id": 1, "start": s, "end": e}
                        for r, s, e in fsm],
        "sen_needs": [{"record_id": 1, "pupil_id": 1, "sen_type": t, "rank": k}
                      for t, k in needs],
        "pp": [{"pupil_id": 1, "eligible": e, "reason": r} for e, r in pp],
        "results": [{"pupil_id": 1, "dataset": d, "laestab": la, "ncyear": n, "submitted": s}
                    for d, la, n, s in results],
        "social_care": [{"pupil_id": 1, **social}] if social else [],
    }
    sources = {name: pl.DataFrame(rows[name], schema=schema) for name, schema in SCHEMAS.items()}
    frame = derive_characteristics(sources, YEAR)
    return frame.row(0, named=True) if frame.height else None


D = dt.date
CASES = [
    # (column, inputs, expected)
    ("laestab", {}, "3302001"),
    ("laestab", {"census": [census_row(1, enrol="S", laestab="3302002"),
                            census_row(2, enrol="M", laestab="3302003")]}, "3302003"),
    ("laestab", {"census": [census_row(1, enrol="S", laestab="3302002")],
                 "results": [("ks2", "3302009", "6", "2026-07-01")]}, "3302009"),
    ("laestab", {"census": [], "results": [("ks2", "3302009", "6", "2026-07-01"),
                                           ("ks2ta", "3302008", "6", "2026-06-01")]}, "3302009"),
    ("laestab", {"census": [census_row(term="AUT")], "results": []}, None),
    ("ncyear", {"census": [census_row(ncyear="R")]}, "R"),
    ("ncyear", {"census": [], "results": [("ks2", "3302009", "6", "2026-07-01")]}, "6"),
    ("ethnicity", {"census": [census_row(ethnicity="bafr")]}, "BAFR"),
    ("ethnicity_major", {"census": [census_row(ethnicity="WIRT")]}, "WHIT"),
    ("ethnicity_major", {"census": [census_row(ethnicity="MWBC")]}, "MIXD"),
    ("ethnicity_major", {"census": [census_row(ethnicity="APKN")]}, "ASIA"),
    ("ethnicity_major", {"census": [census_row(ethnicity="BCRB")]}, "BLAC"),
    ("ethnicity_major", {"census": [census_row(ethnicity="CHNE")]}, "CHIN"),
    ("ethnicity_major", {"census": [census_row(ethnicity="OOTH")]}, "AOEG"),
    ("ethnicity_major", {"census": [census_row(ethnicity="REFU")]}, "UNCL"),
    ("ethnicity_major", {"census": [census_row(ethnicity="NOBT")]}, "UNCL"),
    ("ethnicity_major", {"census": [census_row(ethnicity="")]}, "UNCL"),
    ("ethnicity_major", {"census": [], "results": [("ks2", "3302009", "6", "x")]}, ""),
    ("eal", {"census": [census_row(language="ENG")]}, "N"),
    ("eal", {"census": [census_row(language="ENB")]}, "N"),
    ("eal", {"census": [census_row(language="POL")]}, "Y"),
    ("eal", {"census": [census_row(language="OTB")]}, "Y"),
    ("eal", {"census": [census_row(language="NOT")]}, ""),
    ("eal", {"census": [census_row(language="REF")]}, ""),
    ("eal", {"census": [census_row(language="")]}, ""),
    ("fsm", {"fsm": [(1, D(2025, 9, 1), None)]}, "Y"),
    ("fsm", {"fsm": [(1, REF, None)]}, "Y"),
    ("fsm", {"fsm": [(1, D(2025, 9, 1), REF)]}, "Y"),
    ("fsm", {"fsm": [(1, D(2025, 9, 1), D(2026, 1, 14))]}, "N"),
    ("fsm", {"fsm": [(1, D(2026, 1, 16), None)]}, "N"),
    ("fsm", {}, "N"),
    ("fsm", {"census": [], "results": [("ks2", "3302009", "6", "x")]}, ""),
    ("fsm6", {"fsm": [(1, D(2020, 9, 1), D(2020, 12, 1))]}, "Y"),
    ("fsm6", {"fsm": [(1, D(2019, 9, 1), D(2020, 1, 15))]}, "Y"),  # ends on the window's start
    ("fsm6", {"fsm": [(1, D(2019, 9, 1), D(2020, 1, 14))]}, "N"),  # ends before it
    ("fsm6", {"census": [census_row(1), census_row(2, year=2022)],
              "fsm": [(2, D(2021, 9, 1), None)]}, "Y"),  # an earlier census's period
    ("fsm6", {}, "N"),
    ("pp", {"pp": [(True, "SERVICE")]}, "Y"),
    ("pp", {"pp": [(False, "")]}, "N"),
    ("pp", {}, ""),
    ("disadvantaged", {"fsm": [(1, D(2021, 1, 1), D(2021, 2, 1))]}, "Y"),
    ("disadvantaged", {"social": {"cla": "Y", "cin": "N", "cpp": "N"}}, "Y"),
    ("disadvantaged", {"census": [census_row(adopted="A")]}, "Y"),
    ("disadvantaged", {"pp": [(True, "POSTLAC")]}, "Y"),
    ("disadvantaged", {"pp": [(True, "SERVICE")]}, "N"),
    ("disadvantaged", {}, "N"),
    ("disadvantaged", {"census": [], "results": [("ks2", "3302009", "6", "x")]}, ""),
    ("sen", {"census": [census_row(sen="E")]}, "E"),
    ("sen", {"census": [census_row(sen="K")]}, "K"),
    ("sen", {"census": [census_row(sen="")]}, "N"),
    ("sen", {"census": [census_row(sen="S")]}, "E"),
    ("sen", {"census": [census_row(sen="A")]}, "K"),
    ("sen", {"census": [], "results": [("ks2", "3302009", "6", "x")]}, ""),
    ("sen_primary_need", {"needs": [("ASD", 2), ("SLCN", 1)]}, "SLCN"),
    ("sen_primary_need", {}, ""),
    ("summer_born", {"dob": D(2015, 8, 31)}, "Y"),
    ("summer_born", {"dob": D(2015, 5, 1)}, "Y"),
    ("summer_born", {"dob": D(2015, 4, 30)}, "N"),
    ("summer_born", {"dob": D(2015, 9, 1)}, "N"),
    ("summer_born", {"dob": None}, ""),
    ("cla", {"social": {"cla": "Y", "cin": "N", "cpp": "N"}}, "Y"),
    ("cla", {}, ""),
    ("cin", {"social": {"cla": "N", "cin": "Y", "cpp": "N"}}, "Y"),
    ("cpp", {"social": {"cla": "N", "cin": "Y", "cpp": "Y"}}, "Y"),
    ("upn", {}, "A330200121001"),
    ("former_upns", {}, ""),
    ("surname", {}, "Lee"),
    ("forename", {}, "Sam"),
    ("dob", {}, "2015-01-02"),
    ("sex", {}, "M"),
]


@pytest.mark.parametrize(("column", "inputs", "expected"), CASES,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_each_characteristic_follows_its_definition(column, inputs, expected):
    row = derive(**inputs)
    if expected is None:
        assert row is None  # not a pupil of the year: no spring census row and no result
    else:
        assert row[column] == expected


def test_every_export_column_has_a_case():
    assert {c for c, _, _ in CASES} == set(EXPORT_COLUMNS)
