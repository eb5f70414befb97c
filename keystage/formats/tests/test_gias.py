"""Tests for the GIAS "all establishments" extract reader; every test file is built here."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keystage.formats import gias
from keystage.formats.errors import FormatError
from keystage.formats.gias import (
    GIAS_COLUMNS,
    EstablishmentRecord,
    GiasExtract,
    read_gias_extract,
)
from keystage.formats.la_codes import current_english_la_codes

FILENAME = "edubasealldata.csv"
REDOWNLOAD = "download the extract again from Get Information about Schools"

COLUMNS = list(GIAS_COLUMNS)
REQUIRED = ["URN", "LA (code)", "EstablishmentName", "EstablishmentStatus (name)"]

ROW = {
    "URN": "100000",
    "LA (code)": "201",
    "LA (name)": "City of London",
    "EstablishmentNumber": "3614",
    "EstablishmentName": "The Aldgate School",
    "TypeOfEstablishment (name)": "Voluntary aided school",
    "EstablishmentTypeGroup (name)": "Local authority maintained schools",
    "EstablishmentStatus (name)": "Open",
    "PhaseOfEducation (name)": "Primary",
    "StatutoryLowAge": "3",
    "StatutoryHighAge": "11",
    "OpenDate": "01-09-1988",
    "CloseDate": "",
    "Postcode": "EC3A 5DE",
}


# Record field name -> GIAS column, so that tests can say row(urn="100001", open_date="").
FIELD_COLUMNS = dict(
    zip(
        [
            "urn",
            "la_code",
            "la_name",
            "estab",
            "name",
            "type_name",
            "type_group",
            "status",
            "phase",
            "low_age",
            "high_age",
            "open_date",
            "close_date",
            "postcode",
        ],
        COLUMNS,
        strict=True,
    )
)


def row(**changes: str) -> dict[str, str]:
    """ROW with some values changed, named by record field."""
    return ROW | {FIELD_COLUMNS[field]: value for field, value in changes.items()}


def make_csv(
    rows: list[dict[str, str]],
    columns: list[str] | None = None,
    *,
    newline: str = "\r\n",
    header: list[str] | None = None,
) -> bytes:
    """A CSV file (UTF-8) with the given columns; `header` overrides the names written."""
    columns = columns if columns is not None else COLUMNS
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header if header is not None else columns)
    for values in rows:
        writer.writerow([values.get(column, "") for column in columns])
    return out.getvalue().encode("utf-8")


def read(data: bytes, **kwargs: str) -> GiasExtract:
    return read_gias_extract(data, filename=FILENAME, **kwargs)


def error_of(data: bytes, **kwargs: str) -> FormatError:
    with pytest.raises(FormatError) as caught:
        read(data, **kwargs)
    error = caught.value
    assert error.filename == FILENAME
    assert str(error).startswith(FILENAME)
    return error


# Reading good files


def test_a_good_file_reads_every_field() -> None:
    closed = row(
        urn="100001",
        estab="",
        name="Little Acorns Nursery",
        type_name="",
        status="Closed",
        low_age="0",
        high_age="5",
        open_date="2001-04-01",
        close_date="31/08/2019",
        postcode="",
    )
    extract = read(make_csv([ROW, closed]))
    assert extract.filename == FILENAME
    assert extract.unknown_columns == []
    assert extract.la_codes == ["201"]
    assert extract.records == [
        EstablishmentRecord(
            urn="100000",
            la_code="201",
            la_name="City of London",
            estab="3614",
            name="The Aldgate School",
            type_name="Voluntary aided school",
            type_group="Local authority maintained schools",
            status="Open",
            phase="Primary",
            low_age=3,
            high_age=11,
            open_date=date(1988, 9, 1),
            close_date=None,
            postcode="EC3A 5DE",
            line=2,
        ),
        EstablishmentRecord(
            urn="100001",
            la_code="201",
            la_name="City of London",
            estab=None,
            name="Little Acorns Nursery",
            type_name="",
            type_group="Local authority maintained schools",
            status="Closed",
            phase="Primary",
            low_age=0,
            high_age=5,
            open_date=date(2001, 4, 1),
            close_date=date(2019, 8, 31),
            postcode="",
            line=3,
        ),
    ]


def test_laestab_joins_la_code_and_establishment_number_and_is_none_without_one() -> None:
    extract = read(make_csv([ROW, row(urn="100001", estab="")]))
    assert [record.laestab for record in extract.records] == ["2013614", None]


@pytest.mark.parametrize(
    ("status", "is_open"),
    [
        ("Open", True),
        ("Open, but proposed to close", True),
        ("Closed", False),
        ("Proposed to open", False),
    ],
)
def test_is_open_is_true_for_open_and_open_but_proposed_to_close(
    status: str, is_open: bool
) -> None:
    (record,) = read(make_csv([row(status=status)])).records
    assert record.status == status
    assert record.is_open is is_open


def test_records_are_frozen() -> None:
    (record,) = read(make_csv([ROW])).records
    with pytest.raises(AttributeError):
        record.urn = "100001"  # type: ignore[misc]


def test_only_the_required_columns_are_needed_and_the_others_read_as_empty() -> None:
    (record,) = read(make_csv([ROW], REQUIRED)).records
    assert (record.urn, record.la_code, record.name, record.status) == (
        "100000",
        "201",
        "The Aldgate School",
        "Open",
    )
    assert record.la_name == record.type_name == record.type_group == record.phase == ""
    assert record.postcode == ""
    assert record.estab is None and record.laestab is None
    assert record.low_age is None and record.high_age is None
    assert record.open_date is None and record.close_date is None


def test_columns_may_come_in_any_order_with_any_case_and_surrounding_spaces() -> None:
    shuffled = list(reversed(COLUMNS))
    header = [f"  {name.upper()} " if i % 2 else name.lower() for i, name in enumerate(shuffled)]
    assert read(make_csv([ROW], shuffled, header=header)).records == read(make_csv([ROW])).records


def test_a_utf8_bom_is_ignored_and_non_ascii_names_read_correctly() -> None:
    welsh = row(name="Ysgol Gymraeg Bro Dinefwr – St Mary’s", la_name="Sir Gâr")
    data = make_csv([welsh])
    extract = read(b"\xef\xbb\xbf" + data)
    assert extract.records == read(data).records
    assert extract.records[0].name == "Ysgol Gymraeg Bro Dinefwr – St Mary’s"
    assert extract.records[0].la_name == "Sir Gâr"
    assert extract.unknown_columns == []


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_crlf_and_lf_line_endings_read_the_same(newline: str) -> None:
    rows = [ROW, row(urn="100001"), row(urn="100002")]
    extract = read(make_csv(rows, newline=newline))
    assert extract.records == read(make_csv(rows, newline="\r\n")).records
    assert [record.line for record in extract.records] == [2, 3, 4]


def test_a_missing_newline_at_the_end_of_the_file_is_fine() -> None:
    data = make_csv([ROW, row(urn="100001")]).rstrip(b"\r\n")
    assert [record.urn for record in read(data).records] == ["100000", "100001"]


def test_unknown_columns_are_reported_in_file_order_and_ignored() -> None:
    columns = ["Trusts (name)", *COLUMNS[:5], "Gender (name)", *COLUMNS[5:], "SchoolWebsite"]
    values = row() | {"Trusts (name)": "Aldgate Trust", "Gender (name)": "Mixed"}
    extract = read(make_csv([values], columns))
    assert extract.unknown_columns == ["Trusts (name)", "Gender (name)", "SchoolWebsite"]
    assert extract.records == read(make_csv([ROW])).records


def test_quoted_fields_may_hold_commas_quotes_and_newlines_and_lines_count_from_the_start() -> None:
    tricky = row(urn="100001", name='St Mary\'s, "The Hill"\nAnnexe')
    extract = read(make_csv([ROW, tricky, row(urn="100002")]))
    assert extract.records[1].name == 'St Mary\'s, "The Hill"\nAnnexe'
    assert [record.line for record in extract.records] == [2, 3, 5]


def test_blank_lines_and_all_empty_rows_are_skipped() -> None:
    empty = ",".join([""] * len(COLUMNS)).encode()
    data = make_csv([ROW]) + b"\r\n" + empty + b"\r\n"
    data += make_csv([row(urn="100001")]).split(b"\r\n", 1)[1] + b"\r\n\r\n"
    extract = read(data)
    assert [(record.urn, record.line) for record in extract.records] == [
        ("100000", 2),
        ("100001", 5),
    ]


def test_surrounding_spaces_in_values_are_dropped() -> None:
    spaced = {column: f"  {value} " if value else value for column, value in ROW.items()}
    assert read(make_csv([spaced])).records == read(make_csv([ROW])).records


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01-09-1988", date(1988, 9, 1)),
        ("01/09/1988", date(1988, 9, 1)),
        ("1988-09-01", date(1988, 9, 1)),
        ("29-02-2024", date(2024, 2, 29)),
        ("", None),
    ],
)
def test_dates_may_be_gias_slashed_or_iso_and_empty_means_none(
    text: str, expected: date | None
) -> None:
    (record,) = read(make_csv([row(open_date=text, close_date=text)])).records
    assert record.open_date == record.close_date == expected


def test_a_header_with_no_rows_gives_no_records() -> None:
    extract = read(make_csv([]))
    assert extract.records == [] and extract.la_codes == [] and extract.unknown_columns == []


def test_the_source_may_be_a_path_a_path_string_or_a_binary_file(tmp_path: Path) -> None:
    data = make_csv([ROW])
    path = tmp_path / "extract.csv"
    path.write_bytes(data)
    expected = read(data).records
    assert read_gias_extract(path, filename=FILENAME).records == expected
    assert read_gias_extract(str(path), filename=FILENAME).records == expected
    with path.open("rb") as handle:
        assert read_gias_extract(handle, filename=FILENAME).records == expected
    assert read_gias_extract(io.BytesIO(data), filename=FILENAME).records == expected
    assert read_gias_extract(bytearray(data), filename=FILENAME).records == expected


def test_a_path_that_cannot_be_opened_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="could not be opened"):
        read_gias_extract(tmp_path / "missing.csv", filename=FILENAME)


# The LA filter


def three_las() -> bytes:
    return make_csv(
        [
            row(urn="100000", la_code="201"),
            row(urn="200000", la_code="202", la_name="Camden"),
            row(urn="100001", la_code="201"),
            row(urn="300000", la_code="203", la_name="Greenwich"),
        ]
    )


def test_without_an_la_filter_every_la_is_read_and_la_codes_are_sorted_and_distinct() -> None:
    extract = read(three_las())
    assert len(extract.records) == 4
    assert extract.la_codes == ["201", "202", "203"]


def test_the_la_filter_keeps_only_that_las_rows() -> None:
    extract = read(three_las(), la_code="201")
    assert [(record.urn, record.line) for record in extract.records] == [
        ("100000", 2),
        ("100001", 4),
    ]
    assert extract.la_codes == ["201"]


def test_the_la_filter_skips_other_las_rows_without_checking_their_values() -> None:
    rows = [
        ROW,
        row(urn="ABC", la_code="202", open_date="yesterday", name=""),
        row(urn="100000", la_code="203"),  # a duplicate URN in another LA is not looked at
        row(urn="100001", la_code="99"),
    ]
    assert [record.urn for record in read(make_csv(rows), la_code="201").records] == ["100000"]


def test_the_la_filter_still_checks_the_shape_of_every_row() -> None:
    data = three_las() + b"300001,203,Greenwich,too few fields\r\n"
    error = error_of(data, la_code="201")
    assert error.line == 6
    assert "has 4 fields but the header has 14" in error.message


def test_the_la_filter_still_checks_the_encoding_of_every_row() -> None:
    data = three_las() + "300001,203,Gréenwich,Greenwich School,Open\r\n".encode("cp1252")
    error = error_of(data, la_code="201")
    assert error.line == 6
    assert "not UTF-8" in error.message


def test_the_la_filter_with_no_rows_for_that_la_gives_no_records() -> None:
    extract = read(three_las(), la_code="330")
    assert extract.records == [] and extract.la_codes == []


@pytest.mark.parametrize("code", ["123", "20", "2010", "abc", ""])
def test_an_la_code_to_filter_on_that_is_not_known_is_refused(code: str) -> None:
    error = error_of(three_las(), la_code=code)
    assert error.line is None
    assert f"'{code}' is not a known LA code. Check the LA code" in error.message


# Whole-file and header problems


def test_an_empty_file_is_refused() -> None:
    error = error_of(b"")
    assert error.line is None
    assert "the file is empty" in error.message
    assert REDOWNLOAD in error.message


def test_a_file_with_only_a_bom_is_empty() -> None:
    assert "the file is empty" in error_of(b"\xef\xbb\xbf").message


def test_a_file_of_blank_lines_has_no_header_row() -> None:
    assert "no header row" in error_of(b"\r\n\r\n\n").message


def test_a_file_that_starts_with_data_has_no_header_row() -> None:
    data = make_csv([ROW, row(urn="100001")]).split(b"\r\n", 1)[1]
    error = error_of(data)
    assert error.line == 1
    assert "looks like data, not a header row" in error.message


def test_missing_required_columns_are_all_named_in_one_message() -> None:
    columns = [column for column in COLUMNS if column not in ("URN", "EstablishmentName")]
    error = error_of(make_csv([ROW], columns))
    assert error.line == 1
    assert error.message.startswith("the header row has no columns URN, EstablishmentName.")
    assert 'GIAS "all establishments" extract' in error.message


def test_one_missing_required_column_is_named() -> None:
    columns = [column for column in COLUMNS if column != "EstablishmentStatus (name)"]
    error = error_of(make_csv([ROW], columns))
    assert error.message.startswith("the header row has no column EstablishmentStatus (name).")


def test_a_used_column_that_appears_twice_is_refused() -> None:
    header = [*COLUMNS, "urn"]
    data = make_csv([ROW | {"urn": "100000"}], [*COLUMNS, "urn"], header=header)
    error = error_of(data)
    assert error.line == 1
    assert "column URN twice (columns 1 and 15)" in error.message


def test_header_problems_come_before_row_problems() -> None:
    columns = [column for column in COLUMNS if column != "URN"]
    data = make_csv([ROW, row(la_code="ABC"), row(open_date="soon")], columns)
    data += "100002,201,Caf\xe9\r\n".encode("cp1252")
    assert "has no column URN" in error_of(data).message


# Encoding and CSV structure


def cp1252_file(line: int) -> bytes:
    """A valid file of five rows whose `line` holds an establishment name saved as Windows-1252."""
    rows = [row(urn=f"10000{n}") for n in range(5)]
    text = make_csv(rows).decode().split("\r\n")
    text[line - 1] = text[line - 1].replace("The Aldgate School", "St Mary’s School")
    return "\r\n".join(text).encode("cp1252")


@pytest.mark.parametrize("line", [1, 2, 4, 6])
def test_a_windows_1252_file_is_refused_with_the_line_of_the_first_bad_byte(line: int) -> None:
    data = cp1252_file(line) if line > 1 else b"URN,LA (code),Caf\xe9\r\n"
    error = error_of(data)
    assert error.line == line
    assert error.message.startswith("the file is not UTF-8")
    assert '"CSV UTF-8 (Comma delimited)"' in error.message
    if line > 1:
        assert "0x92 ('’' in Windows-1252)" in error.message


def test_a_bad_byte_is_found_on_the_right_line_across_read_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gias, "_CHUNK_BYTES", 5)
    error = error_of(cp1252_file(5))
    assert error.line == 5


def test_a_utf16_file_is_refused_as_not_utf8() -> None:
    data = make_csv([ROW]).decode().encode("utf-16")
    error = error_of(data)
    assert error.line == 1
    assert "UTF-16" in error.message and "CSV UTF-8" in error.message


def test_a_nul_byte_is_refused_with_its_line() -> None:
    data = make_csv([ROW, row(urn="100001", name="Nul\x00School")])
    error = error_of(data)
    assert error.line == 3
    assert "NUL byte" in error.message


def test_a_row_with_too_few_fields_is_refused() -> None:
    data = make_csv([ROW]) + b"100001,201,City of London\r\n"
    error = error_of(data)
    assert error.line == 3
    assert error.column is None
    assert error.message == (
        "this row has 3 fields but the header has 14. Check for a stray comma or quote in the "
        f"row, or {REDOWNLOAD}."
    )


def test_a_row_with_one_field_is_refused_in_the_singular() -> None:
    error = error_of(make_csv([ROW]) + b"100001\r\n")
    assert error.line == 3
    assert error.message.startswith("this row has 1 field but the header has 14.")


def test_a_row_with_too_many_fields_is_refused() -> None:
    data = make_csv([row(name="Aldgate, School")]).replace(b'"', b"")
    error = error_of(data)
    assert error.line == 2
    assert "has 15 fields but the header has 14" in error.message


def test_an_unterminated_quote_is_refused_with_the_line_where_the_row_starts() -> None:
    data = make_csv([ROW, row(urn="100001")]) + b'100002,201,"Unclosed\r\nname,Open\r\n'
    error = error_of(data)
    assert error.line == 4
    assert "quote opened in this row is never closed" in error.message


def test_an_unterminated_quote_in_a_big_file_is_refused_with_the_line_where_it_starts() -> None:
    rows = [ROW, row(urn="100001", name='"Unclosed')]
    rows += [row(urn=f"{100002 + n}") for n in range(2000)]
    data = make_csv(rows).replace(b'"""Unclosed"', b'"Unclosed')
    error = error_of(data)
    assert error.line == 3
    assert "too long" in error.message and "never closed" in error.message


def test_text_after_a_closing_quote_is_refused() -> None:
    data = make_csv([ROW]).replace(b"The Aldgate School", b'"The Aldgate" School')
    error = error_of(data)
    assert error.line == 2
    assert "not valid CSV" in error.message


def test_old_mac_line_endings_are_refused() -> None:
    error = error_of(make_csv([ROW], newline="\r"))
    assert error.line == 1
    assert "carriage return" in error.message


# Field problems


def test_the_message_for_a_bad_urn_names_file_line_column_and_what_to_do() -> None:
    data = make_csv([row(urn="100001"), ROW, row(urn="100002"), row(urn="ABC")])
    error = error_of(data)
    assert (error.line, error.column) == (5, "URN")
    assert str(error) == (
        "edubasealldata.csv, line 5, column URN: 'ABC' is not a URN (6 digits). Correct the row "
        "or download the extract again from Get Information about Schools."
    )


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        ({"urn": "12345"}, "URN", "'12345' is not a URN (6 digits)."),
        ({"urn": "1234567"}, "URN", "'1234567' is not a URN (6 digits)."),
        ({"urn": "１２３４５６"}, "URN", "'１２３４５６' is not a URN (6 digits)."),
        ({"urn": ""}, "URN", "the URN is empty."),
        ({"la_code": "20"}, "LA (code)", "'20' is not an LA code (3 digits)."),
        ({"la_code": "X01"}, "LA (code)", "'X01' is not an LA code (3 digits)."),
        ({"la_code": "123"}, "LA (code)", "'123' is not a known LA code."),
        ({"la_code": ""}, "LA (code)", "the LA code is empty."),
        (
            {"estab": "361"},
            "EstablishmentNumber",
            "'361' is not an establishment number (4 digits).",
        ),
        (
            {"estab": "36A4"},
            "EstablishmentNumber",
            "'36A4' is not an establishment number (4 digits).",
        ),
        ({"name": " "}, "EstablishmentName", "the establishment name is empty."),
        (
            {"status": ""},
            "EstablishmentStatus (name)",
            "the establishment status is empty.",
        ),
        (
            {"low_age": "four"},
            "StatutoryLowAge",
            "'four' is not an age in years (a whole number).",
        ),
        ({"high_age": "-1"}, "StatutoryHighAge", "'-1' is not an age in years"),
        ({"high_age": "4.5"}, "StatutoryHighAge", "'4.5' is not an age in years"),
        (
            {"open_date": "31-02-2020"},
            "OpenDate",
            "'31-02-2020' is not a date (DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD).",
        ),
        ({"open_date": "1-9-1990"}, "OpenDate", "'1-9-1990' is not a date"),
        ({"open_date": "01-09-90"}, "OpenDate", "'01-09-90' is not a date"),
        ({"close_date": "2020/01/31"}, "CloseDate", "'2020/01/31' is not a date"),
        ({"close_date": "31.01.2020"}, "CloseDate", "'31.01.2020' is not a date"),
        ({"close_date": "x" * 60}, "CloseDate", f"'{'x' * 37}...' is not a date"),
    ],
)
def test_a_bad_value_is_refused_with_its_line_and_column(
    changes: dict[str, str], column: str, message: str
) -> None:
    data = make_csv([ROW, row(urn="100001"), row(**{"urn": "100002", **changes})])
    error = error_of(data)
    assert (error.line, error.column) == (4, column)
    assert error.message.startswith(message)
    assert error.message.endswith(f"Correct the row or {REDOWNLOAD}.")


def test_a_duplicated_urn_names_both_lines() -> None:
    data = make_csv([ROW, row(urn="100001"), row(urn="100000", name="Other")])
    error = error_of(data)
    assert (error.line, error.column) == (4, "URN")
    assert "URN 100000 is also on line 2" in error.message


def test_the_first_problem_in_file_order_is_the_one_reported() -> None:
    data = make_csv([ROW, row(urn="100001", open_date="soon"), row(urn="ABC")])
    assert error_of(data).column == "OpenDate"


def test_a_text_mode_file_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        read_gias_extract(io.StringIO("URN\n"), filename=FILENAME)  # type: ignore[arg-type]


# Round trips and fuzzing

STATUSES = ["Open", "Closed", "Open, but proposed to close", "Proposed to open"]
DATE_FORMATS = ["%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d"]
# Characters that make a field need quoting, and some that are not ASCII.
TRICKY = [",", '"', "\n", "\r\n", "'", "é", "’", "–", "ŵ", "\u2028", "\x85", "😀"]


def random_text(rng: random.Random) -> str:
    words = [rng.choice(["St", "Mary's", "Ysgol", "Academy", "Primary", "C of E"])]
    words += [rng.choice(TRICKY) + rng.choice("abcXYZ") for _ in range(rng.randrange(4))]
    return " ".join(words)


def random_record(
    rng: random.Random, urn: str, line: int
) -> tuple[dict[str, str], dict[str, object]]:
    """A row of random valid values, and the record fields they should read back as."""
    la = rng.choice(current_english_la_codes())
    estab = rng.choice(["", f"{rng.randrange(10000):04d}"])
    ages = [rng.choice([None, rng.randrange(0, 26)]) for _ in range(2)]
    dates = [
        rng.choice([None, date(1900, 1, 1) + timedelta(days=rng.randrange(73000))])
        for _ in range(2)
    ]
    values = {
        "URN": urn,
        "LA (code)": la,
        "LA (name)": rng.choice(["", "Camden", "Sir Gâr", "Bath, and NE Somerset"]),
        "EstablishmentNumber": estab,
        "EstablishmentName": random_text(rng),
        "TypeOfEstablishment (name)": random_text(rng),
        "EstablishmentTypeGroup (name)": random_text(rng),
        "EstablishmentStatus (name)": rng.choice(STATUSES),
        "PhaseOfEducation (name)": rng.choice(["", "Primary", "Not applicable", "16 plus"]),
        "StatutoryLowAge": "" if ages[0] is None else str(ages[0]),
        "StatutoryHighAge": "" if ages[1] is None else str(ages[1]),
        "OpenDate": "" if dates[0] is None else dates[0].strftime(rng.choice(DATE_FORMATS)),
        "CloseDate": "" if dates[1] is None else dates[1].strftime(rng.choice(DATE_FORMATS)),
        "Postcode": rng.choice(["", "EC3A 5DE", "SA19 6AA"]),
    }
    expected = {
        "urn": urn,
        "la_code": la,
        "la_name": values["LA (name)"],
        "estab": estab or None,
        "name": values["EstablishmentName"],
        "type_name": values["TypeOfEstablishment (name)"],
        "type_group": values["EstablishmentTypeGroup (name)"],
        "status": values["EstablishmentStatus (name)"],
        "phase": values["PhaseOfEducation (name)"],
        "low_age": ages[0],
        "high_age": ages[1],
        "open_date": dates[0],
        "close_date": dates[1],
        "postcode": values["Postcode"],
        "line": line,
    }
    return values, expected


def random_file(seed: int, rows: int) -> tuple[bytes, list[EstablishmentRecord]]:
    """A file of random valid rows in a random column order, and the records it holds."""
    rng = random.Random(seed)
    urns = rng.sample(range(100000, 1000000), rows)
    columns = rng.sample(COLUMNS, len(COLUMNS))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=rng.choice(["\r\n", "\n"]))
    writer.writerow(columns)
    expected = []
    line = 2
    for urn in urns:
        values, fields = random_record(rng, str(urn), line)
        cells = [values[column] for column in columns]
        writer.writerow(cells)
        # A quoted field's newlines are lines of the file too.
        line += 1 + sum(cell.count("\n") for cell in cells)
        expected.append(EstablishmentRecord(**fields))  # type: ignore[arg-type]
    prefix = rng.choice([b"", b"\xef\xbb\xbf"])
    return prefix + out.getvalue().encode("utf-8"), expected


@pytest.mark.parametrize("seed", range(5))
def test_a_200_row_file_of_random_valid_values_reads_back_every_field(seed: int) -> None:
    data, expected = random_file(seed, 200)
    extract = read(data)
    assert extract.records == expected
    assert extract.la_codes == sorted({record.la_code for record in expected})


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 7, 64])
def test_reading_in_small_chunks_gives_the_same_records(
    monkeypatch: pytest.MonkeyPatch, chunk_bytes: int
) -> None:
    data, expected = random_file(99, 40)
    monkeypatch.setattr(gias, "_CHUNK_BYTES", chunk_bytes)
    assert read(data).records == expected
    assert read_gias_extract(io.BytesIO(data), filename=FILENAME).records == expected


# Any text the csv module can write back, stripped the way the reader strips values.
name_texts = (
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(name_texts, min_size=0, max_size=20),
    seed=st.integers(0, 2**32),
)
def test_any_valid_names_read_back(names: list[str], seed: int) -> None:
    rng = random.Random(seed)
    urns = rng.sample(range(100000, 1000000), len(names))
    rows = [row(urn=str(urn), name=name) for urn, name in zip(urns, names, strict=True)]
    extract = read(make_csv(rows))
    assert [record.name for record in extract.records] == names
    assert [record.urn for record in extract.records] == [str(urn) for urn in urns]


MUTATION_INSERTS = [b'"', b",", b"\n", b"\r", b"\r\n", b'""', b"\x00", b"\xff", b"\xe2\x80", b" "]


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    data = bytearray(random_file(draw(st.integers(0, 20)), draw(st.integers(0, 6)))[0])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(MUTATION_INSERTS))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_files(), la_code=st.sampled_from([None, "201", "202"]))
def test_a_mutated_file_either_reads_or_raises_a_format_error(
    data: bytes, la_code: str | None
) -> None:
    try:
        extract = read_gias_extract(data, filename=FILENAME, la_code=la_code)
    except FormatError as error:
        assert error.filename == FILENAME
        lines = data.count(b"\n") + 1
        assert error.line is None or 1 <= error.line <= lines
        assert error.message
    else:
        assert all(len(record.urn) == 6 for record in extract.records)
        if la_code is not None:
            assert all(record.la_code == la_code for record in extract.records)
