"""The CSV readers of the context datasets: good files, refusals with their row, hostile bytes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keystage.formats.csvsource import read_csv
from keystage.formats.errors import FormatError
from keystage.formats.kinds import kind_of
from keystage.formats.tabular import read_extra, read_ks2, read_ks4, read_ks5, read_pp

PP_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON"
KS2_HEADER = ("UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,READSCORE,READOUTCOME,MATSCORE,MATOUTCOME,"
              "GPSSCORE,GPSOUTCOME,WRITTAOUTCOME,SCITAOUTCOME")
KS4_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,QUALTYPE,SUBJECT,GRADE"
KS5_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,QUALCODE,SUBJECTCODE,GRADE,PRIORAPS"


def csv(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_pupil_premium_file_reads_every_row_with_its_row_number():
    data = csv(PP_HEADER, "A330200121001,3302001,Lee,Sam,2015-01-02,Y,FSM6",
               "a330200121002,3302001,Öztürk,Ada,02/03/2015,n,")
    file = read_pp(data, filename="pp.csv")
    assert (file.kind, file.dataset) == ("pp_csv", "pp")
    rows = file.frames["pupils"].to_dicts()
    assert rows == [
        {"row": 2, "upn": "A330200121001", "laestab": "3302001", "surname": "Lee",
         "forenames": "Sam", "dob": dt.date(2015, 1, 2), "pp_eligible": "Y", "pp_reason": "FSM6"},
        {"row": 3, "upn": "A330200121002", "laestab": "3302001", "surname": "Öztürk",
         "forenames": "Ada", "dob": dt.date(2015, 3, 2), "pp_eligible": "N", "pp_reason": ""},
    ]


def test_columns_come_in_any_order_and_case_and_unknown_ones_are_reported():
    data = csv("pp_reason,Note,upn,laestab,dob,surname,forenames,pp_eligible",
               "CLA,hello,A330200121001,3302001,2015-01-02,Lee,Sam,Y")
    file = read_pp(data, filename="pp.csv")
    assert file.frames["pupils"]["pp_reason"].to_list() == ["CLA"]
    assert any("Note" in w for w in file.warnings)


def test_ks2_scores_are_numbers_and_codes_leave_them_empty():
    data = csv(KS2_HEADER, "A330200121001,3302001,Lee,Sam,2014-09-03,M,104,AS,A,A,99,NS,EXS,EXS")
    [row] = read_ks2(data, filename="ks2.csv").frames["results"].to_dicts()
    assert (row["readscore"], row["matscore"], row["gpsscore"]) == (104, None, 99)
    assert (row["matoutcome"], row["writtaoutcome"]) == ("A", "EXS")


def test_a_ks2_code_in_the_score_cell_with_no_outcome_becomes_the_outcome():
    """An absent pupil (A) still counts in the subject's denominator (methods.md 11.2)."""
    data = csv(KS2_HEADER, "A330200121001,3302001,Lee,Sam,2014-09-03,M,b,,A,NS,104,,EXS,EXS")
    [row] = read_ks2(data, filename="ks2.csv").frames["results"].to_dicts()
    assert (row["readscore"], row["matscore"], row["gpsscore"]) == (None, None, 104)
    assert (row["readoutcome"], row["matoutcome"], row["gpsoutcome"]) == ("B", "NS", "")


def test_ks4_reads_one_row_per_qualification():
    data = csv(KS4_HEADER, "A330200121001,3302001,Lee,Sam,2010-01-02,F,GCSE,MATHS,7",
               "A330200121001,3302001,Lee,Sam,2010-01-02,F,GCSE,COMBSCI,5-4",
               "A330200121001,3302001,Lee,Sam,2010-01-02,F,GCSE,KLINGON,4")
    frame = read_ks4(data, filename="ks4.csv", year=2026).frames["results"]
    assert frame.select("subject", "grade").rows() == [("MATHS", "7"), ("COMBSCI", "5-4"),
                                                       ("KLINGON", "4")]


def test_ks5_reads_one_row_per_qualification_with_the_prior_as_a_number():
    data = csv(KS5_HEADER, "A330200121001,3302001,Lee,Sam,2007-01-02,F,111,11010,*,6.84",
               "A330200121001,3302001,Lee,Sam,2007-01-02,F,121,14410,b,6.84",
               "A330200121002,3302001,Ng,Bo,2007-03-02,M,253,99999,DIST,")
    frame = read_ks5(data, filename="ks5.csv", year=2025).frames["results"]
    assert frame.select("qualcode", "subjectcode", "grade", "prioraps").rows() == [
        ("111", "11010", "A*", 6.84), ("121", "14410", "B", 6.84), ("253", "99999", "DIST", None)]


def test_extra_fields_keep_the_named_columns_under_their_names_in_long_form():
    data = csv("UPN,LAESTAB,Young carer,Other", "A330200121001,3302001,Y,x",
               "A330200121002,3302001,,y")
    file = read_extra(data, filename="extra.csv", fields={"Young carer": "young_carer"})
    assert file.frames["values"].rows() == [
        (2, "A330200121001", "3302001", "young_carer", "Y"),
        (3, "A330200121002", "3302001", "young_carer", ""),
    ]


REFUSALS = [
    (read_pp, csv("UPN,LAESTAB,SURNAME,DOB"), "missing column(s) FORENAMES, PP_ELIGIBLE", 1),
    (read_pp, csv(PP_HEADER, "A330200121001,3302001,Lee,Sam,2015-13-02,Y,FSM6"),
     "'2015-13-02' is not a date", 2),
    (read_pp, csv(PP_HEADER, "A330200121001,3302001,Lee,Sam,2015-01-02,Maybe,FSM6"),
     "PP_ELIGIBLE 'MAYBE' is not Y or N", 2),
    (read_pp, csv(PP_HEADER, "A330200121001,3302001,Lee,Sam,2015-01-02,Y,RICH"),
     "PP_REASON 'RICH' is not a pupil premium reason", 2),
    (read_pp, csv(PP_HEADER, "A330200121001,330,Lee,Sam,2015-01-02,Y,FSM6"),
     "LAESTAB '330' is not 7 digits", 2),
    (read_pp, csv(PP_HEADER, "A330200121001,3302001,Lee,Sam,2015-01-02,Y,FSM6,extra"),
     "row 2 has 8 cells where the header has 7", 2),
    (read_ks2, csv(KS2_HEADER, "A330200121001,3302001,Lee,Sam,2014-09-03,M,1o4,AS,100,AS,99,"
                               "AS,EXS,EXS"), "READSCORE '1o4' is not a whole number", 2),
    (read_ks4, csv(KS4_HEADER, "A330200121001,3302001,Lee,Sam,2010-01-02,F,GCSE,MATHS,A*"),
     "grade 'A*' is not a GCSE grade (MATHS, Mathematics)", 2),
    (read_ks5, csv(KS5_HEADER, "A330200121001,3302001,Lee,Sam,2007-01-02,F,111,11010,F,6"),
     "grade 'F' is not an A level grade", 2),
    (read_ks5, csv(KS5_HEADER, "A330200121001,3302001,Lee,Sam,2007-01-02,F,11,11010,A,6"),
     "QUALCODE '11' is not a DfE qualification code", 2),
    (read_ks5, csv(KS5_HEADER, "A330200121001,3302001,Lee,Sam,2007-01-02,F,111,11010,A,NaN"),
     "PRIORAPS 'NaN' is not a KS4 average point score", 2),
    (read_ks5, csv(KS5_HEADER, "A330200121001,3302001,Lee,Sam,2007-01-02,F,111,11010,A,-1"),
     "PRIORAPS '-1' is not a KS4 average point score", 2),
    (read_extra, csv("UPN,LAESTAB,Young carer", "A330200121001,3302001,Y"),
     "no column named Carer", 1),
    (read_pp, b"", "the file is empty", None),
    (read_pp, PP_HEADER.encode() + b"\nA\x00B", "NUL bytes", 2),
    (read_pp, b"\xff\xfeU\x00P\x00N\x00", "NUL bytes", 1),
]


@pytest.mark.parametrize(("reader", "data", "message", "line"), REFUSALS)
def test_a_bad_file_is_refused_naming_the_row_and_what_to_do(reader, data, message, line):
    options = {"fields": {"Carer": "carer"}} if reader is read_extra else {}
    with pytest.raises(FormatError) as caught:
        reader(data, filename="f.csv", year=2026, **options)
    assert message in caught.value.message
    assert caught.value.line == line and caught.value.filename == "f.csv"


def test_formula_cells_are_data_and_windows_1252_is_read_with_a_warning():
    data = (PP_HEADER + "\r\n=HYPERLINK(\"x\"),3302001,M\xfcller,Sam,2015-01-02,Y,\r\n").encode(
        "cp1252")
    file = read_pp(data, filename="pp.csv")
    row = file.frames["pupils"].row(0, named=True)
    assert row["upn"] == '=HYPERLINK("X")' and row["surname"] == "Müller"
    assert any("Windows-1252" in w for w in file.warnings)


def test_an_empty_date_of_birth_is_kept_as_unknown_for_the_cleaning_rules():
    data = csv(PP_HEADER, "A330200121001,3302001,Lee,Sam,,Y,FSM6")
    assert read_pp(data, filename="pp.csv").frames["pupils"]["dob"].to_list() == [None]


def test_blank_trailing_rows_are_not_data_and_a_bom_is_tolerated():
    data = b"\xef\xbb\xbf" + csv(PP_HEADER, "A330200121001,3302001,Lee,Sam,2015-01-02,Y,FSM6",
                                 ",,,,,,", "")
    assert read_pp(data, filename="pp.csv").frames["pupils"].height == 1


@pytest.mark.parametrize(("header", "kind"), [
    (PP_HEADER, "pp_csv"), (KS2_HEADER, "ks2_csv"), (KS4_HEADER.lower(), "ks4_csv"),
    (KS5_HEADER, "ks5_csv"),
    ("UPN,LAESTAB,Young carer", None), ("LAESTAB,Collection,AcademicYear,ExpectedCount", None),
])
def test_each_kind_is_recognised_from_its_header_row(header, kind):
    found = kind_of(csv(header, "x"))
    assert (found.code if found else None) == kind


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400),
       which=st.sampled_from([read_pp, read_ks2, read_ks4, read_ks5]))
def test_any_bytes_give_a_file_or_a_format_error_never_another_exception(data, which):
    header = {read_pp: PP_HEADER, read_ks2: KS2_HEADER, read_ks4: KS4_HEADER,
              read_ks5: KS5_HEADER}[which]
    for candidate in (data, header.encode() + b"\n" + data):
        try:
            which(candidate, filename="f.csv", year=2026)
        except FormatError:
            pass


@settings(max_examples=100, deadline=None)
@given(cells=st.lists(st.text(max_size=12), min_size=7, max_size=7))
def test_any_cell_text_in_a_pupil_premium_row_is_read_or_refused_cleanly(cells):
    line = ",".join('"' + c.replace('"', '""') + '"' for c in cells)
    try:
        file = read_pp((PP_HEADER + "\n" + line + "\n").encode(), filename="f.csv")
    except FormatError:
        return
    assert file.frames["pupils"].height <= 1


def test_read_csv_names_the_columns_it_expected_and_found():
    with pytest.raises(FormatError) as caught:
        read_csv(b"a,b\n1,2\n", filename="x.csv", required=["UPN"])
    assert "needs UPN; the file has a, b" in caught.value.message


def test_a_row_with_fewer_cells_than_the_header_is_refused_naming_it():
    from keystage.formats.csvsource import read_csv

    with pytest.raises(FormatError, match="row 3 has 2 cells where the header has 3") as error:
        read_csv(b"A,B,C\n1,2,3\n4,5\n", filename="short.csv", required=["A", "B", "C"])
    assert error.value.line == 3
