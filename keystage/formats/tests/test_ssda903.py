"""The SSDA903 reader: tables known by their columns, the peers' files read exactly, hostile
files refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keystage.formats.errors import FormatError
from keystage.formats.kinds import KINDS, DatasetFile, kind_of
from keystage.formats.ssda903 import (
    code_list,
    codes,
    columns,
    looks_like_ssda903_table,
    looks_like_ssda903_xml,
    parse_903_date,
    read_ssda903_return,
    read_ssda903_table,
    read_ssda903_xml,
    ssda903_table_of,
    table_columns,
    tables,
)


def _peers() -> Path | None:
    # The shared folder sits beside the checkout (main) or further up (a worktree of it).
    for folder in Path(__file__).resolve().parents[3:]:
        if (folder / "shared" / "data" / "peers").is_dir():
            return folder / "shared" / "data" / "peers"
    return None


PEERS = _peers()
TABLES = ("header", "episodes", "reviews", "uasc", "oc2", "oc3", "ad1", "placed_for_adoption",
          "previous_permanence", "missing", "sw_episodes", "dolo")
HEADER = (b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n1001,1,01/02/2015,WBRI,A123456789012,,\n"
          b"1002,2,03/04/2016,BAFR,UN2,,\n")
EPISODES = (b"CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,"
            b"PL_POST,URN\n1001,01/05/2024,S,C2,N1,U1,PR1,,,,,,\n"
            b"1002,01/05/2023,S,C2,N1,U1,PR1,01/06/2024,E11,,,,\n")
XML = b"""<?xml version='1.0' encoding='us-ascii'?>
<EXPSSDA903>
<CHILD><HEADER><CHILDID>7</CHILDID><UPN>A123456789012</UPN><SEX>2</SEX><DOB>28/07/2010</DOB>
<ETHNIC>BAFR</ETHNIC><UASC>1</UASC><DUC>28/07/2028</DUC><IN_TOUCH>YES</IN_TOUCH><ACTIV>F1</ACTIV>
<ACCOM>S1</ACCOM><AREVIEW><REVIEW>27/09/2015</REVIEW><REVIEW_CODE>PN0</REVIEW_CODE></AREVIEW>
<AMISSING><MISSING>M</MISSING><MIS_START>01/01/2016</MIS_START><MIS_END /></AMISSING>
<MOTHER /><MC_DOB /><DATE_INT>01/02/2016</DATE_INT><DATE_MATCH>02/02/2016</DATE_MATCH>
<FOSTER_CARE>1</FOSTER_CARE><NB_ADOPTR>2</NB_ADOPTR><SEX_ADOPTR>MF</SEX_ADOPTR>
<LS_ADOPTR>L0</LS_ADOPTR><AD_PLACED><DATE_PLACED>03/03/2016</DATE_PLACED>
<DATE_PLACED_CEASED /><REASON_PLACED_CEASED /></AD_PLACED>
<PERMANENCE><PREV_PERM>Z1</PREV_PERM></PERMANENCE><OC2><SDQ_SCORE>21</SDQ_SCORE>
<CONVICTED>1</CONVICTED></OC2></HEADER>
<EPISODE><DECOM>06/01/2017</DECOM><RNE>T</RNE><LS>J3</LS><CIN>N4</CIN><PL>R5</PL>
<PL_POST>E7 5YR</PL_POST><HOME_POST>B15 8PZ</HOME_POST><URN>1465167</URN>
<PLACE_PROVIDER>PR2</PLACE_PROVIDER><DEC>06/10/2017</DEC><REC>X1</REC>
<REASON_PLACE_CHANGE /></EPISODE></CHILD>
<CHILD><HEADER><CHILDID>8</CHILDID><UPN>UN1</UPN><SEX>1</SEX><DOB>01/01/2012</DOB>
<ETHNIC>WBRI</ETHNIC><UASC /></HEADER></CHILD>
</EXPSSDA903>
"""


def _peer(*parts: str) -> Path:
    if PEERS is None or not PEERS.joinpath(*parts).exists():
        pytest.skip("the peers' social care files are not beside this checkout")
    return PEERS.joinpath(*parts)


def _columns_of(table: str, year: int | None = None) -> list[str]:
    return [c.name for c in table_columns(table, year)]


def _csv(table: str, *rows: list[str], year: int | None = None) -> bytes:
    names = _columns_of(table, year)
    lines = [",".join(names)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _independent(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The file's columns and (row, cells) of each non-blank row, by Python's csv module."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = [h.strip().lower() for h in next(reader)]
    rows = []
    for cells in reader:
        # The record number, as a spreadsheet numbers it: the header is row 1.
        number = reader.line_num if "\n" not in "".join(cells) else None
        if any(c.strip() for c in cells):
            rows.append((number, dict(zip(header, (c.strip() for c in cells), strict=True))))
    return header, rows


# -- the data files ----------------------------------------------------------------------------


def test_the_data_files_name_the_twelve_tables_in_order():
    assert tables() == TABLES


@pytest.mark.parametrize(("table", "first"), [
    ("header", 2018), ("episodes", 2018), ("reviews", 2018), ("uasc", 2018), ("oc2", 2018),
    ("oc3", 2018), ("ad1", 2018), ("placed_for_adoption", 2018),
    ("previous_permanence", 2018), ("missing", 2018), ("sw_episodes", 2024), ("dolo", 2027)])
def test_each_table_is_collected_from_its_first_year_to_2026_27(table, first):
    for year in range(2018, 2028):
        names = _columns_of(table, year)
        assert bool(names) == (year >= first), (table, year)
        if names:
            assert names[0] == "CHILD"


@pytest.mark.parametrize("year", range(2018, 2028))
def test_every_code_list_a_column_names_has_codes_in_every_year_it_is_used(year):
    for column in columns():
        if column.code_list and column.covers(year):
            assert code_list(column.code_list, year), (column.table, column.name, year)
    assert set(code_list("rne", year)) == set("SLPTBU")
    assert "SWDIED" in code_list("sw_reason", year)


def test_the_column_types_are_the_four_the_checks_know():
    assert {c.type for c in columns()} <= {"text", "code", "date", "int"}
    assert set(codes()) >= {c.code_list for c in columns() if c.code_list}


# -- recognising a table -----------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_each_table_is_recognised_by_its_columns_in_any_order_and_case(table):
    names = _columns_of(table)
    shuffled = [n.lower() if i % 2 else n for i, n in enumerate(reversed(names))]

    assert ssda903_table_of(names) == table
    assert ssda903_table_of(shuffled) == table
    assert ssda903_table_of(["\ufeff" + names[0], *names[1:]]) == table
    head = ("\ufeff" + ",".join(shuffled) + "\r\n").encode()
    assert looks_like_ssda903_table(head)
    assert kind_of(head).code == "ssda903_csv"


def test_a_file_of_other_columns_is_no_903_table_whatever_it_is_called():
    assert ssda903_table_of(["UPN", "SURNAME", "DOB"]) is None
    assert ssda903_table_of(["DECOM", "RNE"]) is None  # no CHILD
    assert not looks_like_ssda903_table(b"UPN,LAESTAB,SURNAME\n")
    assert not looks_like_ssda903_table(b"<?xml version='1.0'?><EXPSSDA903/>")
    assert not looks_like_ssda903_table(b"")


def test_the_three_social_care_kinds_are_registered_with_their_priorities():
    assert {code: (KINDS[code].dataset, KINDS[code].priority)
            for code in ("ssda903_csv", "ssda903_xml", "cin_xml")} == {
        "ssda903_csv": ("ssda903", 35), "ssda903_xml": ("ssda903", 25), "cin_xml": ("cin", 25)}


# -- reading a table ---------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_each_table_reads_to_row_and_its_columns_as_text(table):
    names = _columns_of(table)
    cells = [f" v{i} " for i in range(len(names))]
    file = read_ssda903_table(_csv(table, cells, ["" for _ in names[:-1]] + ["x"]),
                              filename=f"{table}.csv")

    assert (file.kind, file.dataset, file.filename) == ("ssda903_csv", "ssda903", f"{table}.csv")
    [(name, frame)] = file.frames.items()
    assert name == table
    assert frame.schema == {"row": pl.Int64, **{n.lower(): pl.String for n in names}}
    assert frame.row(0) == (2, *[f"v{i}" for i in range(len(names))])
    assert frame.row(1) == (3, *["" for _ in names[:-1]], "x")


def test_a_table_with_a_bom_crlf_and_lower_case_columns_in_another_order_reads_the_same():
    text = ("\ufeffdob,upn,child,sex,ethnic,mc_dob,mother\r\n"
            "01/02/2015,A123456789012,1001,1,WBRI,,\r\n")
    file = read_ssda903_table(text.encode(), filename="h.csv")

    assert file.frames["header"].row(0, named=True) == {
        "row": 2, "child": "1001", "sex": "1", "dob": "01/02/2015", "ethnic": "WBRI",
        "upn": "A123456789012", "mother": "", "mc_dob": ""}


def test_an_unknown_extra_column_is_left_out_with_a_warning():
    data = HEADER.replace(b"MC_DOB\n", b"MC_DOB,NOTES\n").replace(b",,\n", b",,,hello\n")
    file = read_ssda903_table(data, filename="h.csv")

    assert "notes" not in file.frames["header"].columns
    assert any("NOTES" in w for w in file.warnings)


def test_a_table_collected_from_a_later_year_is_read_and_said_to_be_unchecked():
    data = _csv("sw_episodes", ["1001", "01/02/2015", "SW1", "01/01/2023", "", ""])
    file = read_ssda903_table(data, filename="sw.csv", year=2023)

    assert file.frames["sw_episodes"]["sw_id"].to_list() == ["SW1"]
    assert any("not checked yet" in w for w in file.warnings)


@pytest.mark.parametrize(("value", "expected"), [
    ("01/02/2015", dt.date(2015, 2, 1)), ("29/02/2024", dt.date(2024, 2, 29)),
    (" 03/04/2016 ", dt.date(2016, 4, 3)), ("31/02/2015", None), ("1/2/2015", None),
    ("2015-02-01", None), ("01/02/15", None), ("01/02/2015 10:00", None), ("", None),
    (None, None)])
def test_parse_903_date_takes_only_dd_mm_yyyy(value, expected):
    parsed = parse_903_date(pl.Series("dob", [value], dtype=pl.String))

    assert parsed.dtype == pl.Date and parsed.name == "dob"
    assert parsed.to_list() == [expected]


# -- a return ----------------------------------------------------------------------------------


def test_a_return_holds_every_table_even_those_not_sent():
    file = read_ssda903_return([("a.csv", HEADER), ("b.csv", EPISODES)], year=2026)

    assert list(file.frames) == list(TABLES)
    assert file.frames["episodes"]["dec"].to_list() == ["", "01/06/2024"]
    assert file.frames["reviews"].schema == {"row": pl.Int64, "child": pl.String,
                                             "dob": pl.String, "review": pl.String,
                                             "review_code": pl.String}
    assert file.filename == "a.csv, b.csv" and file.kind == "ssda903_csv"


def test_a_bad_date_code_or_episode_order_is_read_as_given_not_refused():
    episodes = EPISODES.replace(b"01/06/2024,E11", b"01/06/2020,ZZZ").replace(b"01/05/2024",
                                                                             b"2024-05-01")
    file = read_ssda903_return([("h.csv", HEADER.replace(b",1,01", b",,01")),
                                ("e.csv", episodes)], year=2026)

    assert file.frames["episodes"].select("decom", "dec", "rec").rows() == [
        ("2024-05-01", "", ""), ("01/05/2023", "01/06/2020", "ZZZ")]
    assert file.frames["header"]["sex"].to_list() == ["", "2"]


def test_two_files_of_one_table_are_both_read_and_the_return_says_so():
    file = read_ssda903_return([("e1.csv", EPISODES), ("h.csv", HEADER), ("e2.csv", EPISODES)])

    assert file.frames["episodes"].height == 2 * read_ssda903_return(
        [("e1.csv", EPISODES), ("h.csv", HEADER)]).frames["episodes"].height
    assert any("e2.csv: a second episodes table (the first was e1.csv)" in w
               for w in file.warnings)


def test_a_return_without_a_header_table_is_refused():
    with pytest.raises(FormatError, match="no header table") as error:
        read_ssda903_return([("e.csv", EPISODES)])
    assert error.value.filename == "e.csv"


def test_a_child_in_episodes_but_not_in_the_header_refuses_the_return_naming_file_row_child():
    stray = EPISODES + b"9999,01/05/2024,S,C2,N1,U1,PR1,,,,,,\n" + \
        b"9998,01/05/2024,S,C2,N1,U1,PR1,,,,,,\n"
    with pytest.raises(FormatError) as error:
        read_ssda903_return([("h.csv", HEADER), ("e.csv", stray)])
    assert (error.value.filename, error.value.line, error.value.column) == ("e.csv", 4, "CHILD")
    assert "child '9999' has episodes but is not in the header table (h.csv) (and 1 more)" \
        in error.value.message
    assert "Add the child to the header" in error.value.message


@pytest.mark.parametrize(("data", "message", "line"), [
    (b"", "the file is empty", None),
    (b"  \r\n", "the file is empty", None),
    (b"CHILD,DECOM,LS\n1,01/01/2025,C2\n", r"missing column\(s\) RNE, CIN, PLACE", 1),
    (b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB,dob\n", "names dob more than once", 1),
    (b"UPN,SURNAME\nA,B\n", "not that of an SSDA903 table", 1),
    (HEADER + b"1003,1,01/01/2015,WBRI,UN1,,,,\n", "row 4 has 9 cells where the header has 7",
     4),
    (HEADER + b"1003,\x81\x8d,01/01/2015,WBRI,UN1,,\n", "not UTF-8", 4),
    (HEADER.replace(b"1002", b"10\x0002"), "NUL bytes", 3),
    (b"%PDF-1.4\n%\xe2\xe3\n", "not that of an SSDA903 table", 1),
    (b"PK\x03\x04\x14\x00\x00\x00", "not that of an SSDA903 table", 1),
    (XML, "not that of an SSDA903 table", 1),
])
def test_an_unreadable_table_is_refused_saying_where_and_why(data, message, line):
    with pytest.raises(FormatError, match=message) as error:
        read_ssda903_table(data, filename="t.csv")
    assert (error.value.filename, error.value.line) == ("t.csv", line)


def test_windows_1252_text_is_read_with_a_warning():
    file = read_ssda903_table(HEADER.replace(b"A123456789012", b"caf\xe9"), filename="h.csv")

    assert file.frames["header"]["upn"][0] == "café"
    assert any("Windows-1252" in w for w in file.warnings)


# -- the EXPSSDA903 XML ------------------------------------------------------------------------


def test_the_xml_maps_every_block_and_header_element_to_the_csv_tables():
    file = read_ssda903_xml(XML, filename="x.xml")
    frames = file.frames

    assert looks_like_ssda903_xml(XML) and kind_of(XML).code == "ssda903_xml"
    assert (file.kind, file.dataset, file.warnings) == ("ssda903_xml", "ssda903", [])
    assert list(frames) == list(TABLES)
    assert frames["header"].drop("row").rows() == [
        ("7", "2", "28/07/2010", "BAFR", "A123456789012", "", ""),
        ("8", "1", "01/01/2012", "WBRI", "UN1", "", "")]
    assert frames["uasc"].drop("row").rows() == [("7", "2", "28/07/2010", "28/07/2028")]
    assert frames["oc3"].drop("row").rows() == [("7", "28/07/2010", "YES", "F1", "S1")]
    assert frames["ad1"].drop("row").rows() == [
        ("7", "28/07/2010", "01/02/2016", "02/02/2016", "1", "2", "MF", "L0")]
    assert frames["reviews"].drop("row").rows() == [("7", "28/07/2010", "27/09/2015", "PN0")]
    assert frames["missing"].drop("row").rows() == [("7", "28/07/2010", "M", "01/01/2016", "")]
    assert frames["placed_for_adoption"].drop("row").rows() == [
        ("7", "28/07/2010", "03/03/2016", "", "")]
    assert frames["previous_permanence"].drop("row").rows() == [("7", "28/07/2010", "Z1", "", "")]
    assert frames["oc2"].select("child", "sdq_score", "convicted", "sdq_reason").rows() == [
        ("7", "21", "1", "")]
    assert frames["episodes"].drop("row").rows() == [
        ("7", "06/01/2017", "T", "J3", "N4", "R5", "PR2", "06/10/2017", "X1", "", "B15 8PZ",
         "E7 5YR", "1465167")]
    assert (frames["header"]["row"].to_list(), frames["episodes"]["row"].to_list()) == (
        [3, 17], [13])
    for table in TABLES:
        assert frames[table].columns == ["row", *[c.lower() for c in _columns_of(table)]]


def test_an_unknown_xml_element_is_named_in_a_warning_not_dropped_silently():
    data = XML.replace(b"<UASC />", b"<UASC /><SW_EPISODE><SW_ID>1</SW_ID></SW_EPISODE>")
    file = read_ssda903_xml(data, filename="x.xml")

    assert file.warnings == ["elements this reader does not know were not read: "
                             "<SW_EPISODE> (1)"]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "the file is empty"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "boom">]>\n<EXPSSDA903>&e;</EXPSSDA903>',
     "document type declaration"),
    (XML[:400], "not well-formed XML at line"),
    (XML.replace(b"EXPSSDA903", b"Message"), "not <EXPSSDA903>"),
    (b"<EXPSSDA903></EXPSSDA903>", "no <CHILD> with a <HEADER>"),
    (b"<EXPSSDA903><CHILD><EPISODE/></CHILD></EXPSSDA903>", "a <CHILD> has no <HEADER>"),
    (b"<EXPSSDA903><CHILD><HEADER><CHILDID>1</CHILDID></HEADER></CHILD>&ext;</EXPSSDA903>",
     "not well-formed XML"),
    (b"<EXPSSDA903><CHILD><HEADER/><CHILD><HEADER/></CHILD></CHILD></EXPSSDA903>",
     "a <CHILD> is inside another element"),
    (b"<EXPSSDA903>" + b"<CHILD>" * 300 + b"</CHILD>" * 300 + b"</EXPSSDA903>",
     "Excessive depth"),
    (b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n", "where the first element should start"),
    ("<EXPSSDA903/>".encode("utf-32"), "UTF-32"),
])
def test_a_hostile_or_broken_xml_is_refused_naming_the_file(data, message):
    with pytest.raises(FormatError, match=message) as error:
        read_ssda903_xml(data, filename="x.xml")
    assert error.value.filename == "x.xml"


def test_a_doctype_is_refused_at_its_line_and_a_cut_file_at_its_line_and_column():
    hostile = b'<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd">\n<a/>'
    with pytest.raises(FormatError) as error:
        read_ssda903_xml(hostile, filename="x.xml")
    assert error.value.line == 2
    with pytest.raises(FormatError) as error:
        read_ssda903_xml(XML[:400], filename="x.xml")
    assert error.value.line and error.value.column


# -- the peers' files --------------------------------------------------------------------------

CSV_NAMES = ("header.csv", "episodes.csv", "reviews.csv", "uasc.csv", "oc2.csv", "oc3.csv",
             "ad1.csv", "placed_for_adoption.csv", "placed_for_adoption_errors.csv",
             "previous_permanence.csv", "missing.csv", "sw_episodes.csv", "DoLo.csv")


def test_the_list_of_peer_files_is_the_folder():
    folder = _peer("ssda903")
    assert {p.name for p in folder.glob("*.csv")} == set(CSV_NAMES)


@pytest.mark.parametrize("name", CSV_NAMES)
def test_every_peer_csv_reads_every_row_and_cell_as_the_csv_module_does(name):
    data = _peer("ssda903", name).read_bytes()
    columns_, rows = _independent(data)
    file = read_ssda903_table(data, filename=name)

    [(table, frame)] = file.frames.items()
    assert kind_of(data).code == "ssda903_csv"
    assert ssda903_table_of(columns_) == table
    assert frame.height == len(rows)
    assert frame.drop("row").to_dicts() == [
        {c: cells.get(c, "") for c in frame.columns if c != "row"} for _, cells in rows]
    assert [n for n, _ in rows if n is not None] == frame["row"].to_list()
    assert file.warnings == []


def test_the_peers_csv_tables_are_one_return_of_2675_children_and_5050_episodes():
    folder = _peer("ssda903")
    files = [(n, (folder / n).read_bytes()) for n in CSV_NAMES
             if n != "placed_for_adoption_errors.csv"]
    file = read_ssda903_return(files, year=2027)

    heights = {t: f.height for t, f in file.frames.items()}
    assert heights["header"] == file.frames["header"]["child"].n_unique() == 2675
    assert heights["episodes"] == 5050
    for _name, data in files:
        assert heights[ssda903_table_of(_independent(data)[0])] == len(_independent(data)[1])


def test_the_peers_placed_for_adoption_errors_file_loads_beside_the_header():
    folder = _peer("ssda903")
    file = read_ssda903_return([("header.csv", (folder / "header.csv").read_bytes()),
                                ("pfa.csv", (folder / "placed_for_adoption_errors.csv")
                                 .read_bytes())], year=2026)

    frame = file.frames["placed_for_adoption"]
    assert frame.height == 30
    assert frame.filter(pl.col("child") == "988635")["date_placed"].to_list() == [
        "22/11/2016", "22/11/2015"]


def _xml_children():
    tree = ElementTree.parse(_peer("ssda903", "fake_903.xml"))
    return tree.getroot().findall("CHILD")


def test_the_peers_xml_export_reads_all_253_children_and_every_block():
    path = _peer("ssda903", "fake_903.xml")
    file = read_ssda903_xml(path, filename=path.name)
    children = _xml_children()

    assert file.warnings == []
    assert file.frames["header"].height == len(children) == 253
    counts = Counter()
    for child in children:
        header = child.find("HEADER")
        counts["episodes"] += len(child.findall("EPISODE"))
        counts["reviews"] += len(header.findall("AREVIEW"))
        counts["missing"] += len(header.findall("AMISSING"))
        counts["placed_for_adoption"] += len(header.findall("AD_PLACED"))
        counts["previous_permanence"] += len(header.findall("PERMANENCE"))
        counts["oc2"] += len(header.findall("OC2"))
        counts["uasc"] += (header.findtext("UASC") or "").strip() == "1"
        counts["oc3"] += header.find("IN_TOUCH") is not None
        counts["ad1"] += header.find("DATE_INT") is not None
    assert {t: file.frames[t].height for t in counts} == dict(counts)
    assert counts["episodes"] == 459 and counts["reviews"] == 1206
    assert (counts["uasc"], counts["oc3"], counts["ad1"]) == (12, 6, 3)


def test_the_peers_xml_export_gives_each_value_the_file_gives_field_by_field():
    path = _peer("ssda903", "fake_903.xml")
    frames = read_ssda903_xml(path.read_bytes(), filename=path.name).frames
    children = _xml_children()

    def text(element, name):
        found = element.find(name)
        return (found.text or "").strip() if found is not None else ""

    expected = {t: [] for t in TABLES}
    for child in children:
        header = child.find("HEADER")
        who = {"child": text(header, "CHILDID"), "dob": text(header, "DOB")}
        expected["header"].append({"child": who["child"], **{
            c.lower(): text(header, c) for c in _columns_of("header")[1:]}})
        for element in child.findall("EPISODE"):
            expected["episodes"].append({"child": who["child"], **{
                c.lower(): text(element, "PL" if c == "PLACE" else c)
                for c in _columns_of("episodes")[1:]}})
        for table, tag in (("reviews", "AREVIEW"), ("missing", "AMISSING"),
                           ("placed_for_adoption", "AD_PLACED"), ("oc2", "OC2"),
                           ("previous_permanence", "PERMANENCE")):
            for element in header.findall(tag):
                expected[table].append({**who, **{c.lower(): text(element, c)
                                                  for c in _columns_of(table)[2:]}})
        if header.find("IN_TOUCH") is not None:
            expected["oc3"].append({**who, **{c.lower(): text(header, c)
                                              for c in _columns_of("oc3")[2:]}})
        if header.find("DATE_INT") is not None:
            expected["ad1"].append({**who, **{c.lower(): text(header, c)
                                              for c in _columns_of("ad1")[2:]}})
        if text(header, "UASC") == "1":
            expected["uasc"].append({"child": who["child"], "sex": text(header, "SEX"),
                                     "dob": who["dob"], "duc": text(header, "DUC")})
    for table in TABLES:
        assert frames[table].drop("row").to_dicts() == expected[table], table
    assert frames["episodes"].filter(pl.col("child") == "907440")["place"].to_list() == [
        "R5", "P2"]


# -- fuzzing -----------------------------------------------------------------------------------


def _spliced(base: bytes):
    return st.builds(lambda at, junk: base[:at] + junk + base[at:],
                     st.integers(0, len(base)), st.binary(max_size=30))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | _spliced(HEADER) | _spliced(EPISODES))
def test_a_table_of_any_bytes_reads_or_is_refused_cleanly(data):
    try:
        file = read_ssda903_return([("h.csv", HEADER), ("x.csv", data)])
    except FormatError as error:
        assert error.filename in ("h.csv", "x.csv", "h.csv, x.csv")
    else:
        assert isinstance(file, DatasetFile)
        assert all(f.schema["row"] == pl.Int64 for f in file.frames.values())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | _spliced(XML))
def test_an_xml_of_any_bytes_reads_or_is_refused_cleanly(data):
    try:
        file = read_ssda903_xml(data, filename="x.xml")
    except FormatError as error:
        assert error.filename == "x.xml"
    else:
        assert isinstance(file, DatasetFile) and file.frames["header"].height >= 1
