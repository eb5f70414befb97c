"""The SSDA903 and CIN census readers: the peers' files read exactly, hostile files refused."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from xml.etree import ElementTree

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keystage.formats.care import children_of, rows_of
from keystage.formats.cin import looks_like_cin, read_cin
from keystage.formats.errors import FormatError
from keystage.formats.kinds import DatasetFile, kind_of
from keystage.formats.ssda903 import (
    columns,
    looks_like_ssda903_table,
    read_ssda903_return,
    read_ssda903_table,
    read_ssda903_xml,
    ssda903_table_of,
    tables,
)

PEERS = Path(__file__).resolve().parents[4] / "shared" / "data" / "peers"
HEADER = b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n1001,1,01/02/2015,WBRI,A123456789012,,\n" \
    b"1002,2,03/04/2016,BAFR,UN2,,\n"
EPISODES = (b"CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,"
            b"PL_POST,URN\n1001,01/05/2024,S,C2,N1,U1,PR1,,,,,,\n"
            b"1002,01/05/2023,S,C2,N1,U1,PR1,01/06/2024,E11,,,,\n")
CIN = b"""<?xml version="1.0" encoding="utf-8"?>
<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2026</Year>
<ReferenceDate>2026-03-31</ReferenceDate></CollectionDetails><Source><SourceLevel>L</SourceLevel>
<LEA>330</LEA><SoftwareCode>X</SoftwareCode><Release>1</Release><SerialNo>001</SerialNo>
<DateTime>2026-04-02T10:00:00</DateTime></Source></Header><Children>
<Child><ChildIdentifiers><LAchildID>C1</LAchildID><UPN>A123456789012</UPN>
<PersonBirthDate>2015-02-01</PersonBirthDate><GenderCurrent>1</GenderCurrent></ChildIdentifiers>
<ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>
<CINdetails><CINreferralDate>2025-06-01</CINreferralDate><ReferralSource>1A</ReferralSource>
<PrimaryNeedCode>N1</PrimaryNeedCode><ReferralNFA>false</ReferralNFA>
<Assessments><AssessmentActualStartDate>2025-06-02</AssessmentActualStartDate>
<FactorsIdentifiedAtAssessment><AssessmentFactors>1A</AssessmentFactors>
<AssessmentFactors>2B</AssessmentFactors></FactorsIdentifiedAtAssessment></Assessments>
<ChildProtectionPlans><CPPstartDate>2025-07-01</CPPstartDate><Reviews>
<CPPreviewDate>2025-09-01</CPPreviewDate></Reviews></ChildProtectionPlans></CINdetails>
<CINdetails><CINreferralDate>2024-01-01</CINreferralDate><CINclosureDate>2024-03-01</CINclosureDate>
</CINdetails></Child>
<Child><ChildIdentifiers><LAchildID>C2</LAchildID><UPNunknown>UN1</UPNunknown>
<PersonBirthDate>2024-01-01</PersonBirthDate><Sex>F</Sex></ChildIdentifiers></Child>
</Children></Message>"""


def _peer(*parts: str) -> Path:
    path = PEERS.joinpath(*parts)
    if not path.exists():
        pytest.skip("the peers' social care files are not beside this checkout")
    return path


# -- SSDA903 -----------------------------------------------------------------------------------


def test_every_903_table_is_recognised_by_its_columns_whatever_the_file_is_called():
    for table in tables():
        names = [c.name for c in columns() if c.table == table]
        assert ssda903_table_of(names) == table
        assert looks_like_ssda903_table((",".join(names) + "\n").encode())
    assert ssda903_table_of(["UPN", "SURNAME"]) is None
    assert not looks_like_ssda903_table(b"UPN,LAESTAB,SURNAME\n")


def test_a_903_return_reads_every_table_as_text_with_its_row_numbers():
    file = read_ssda903_return([("a.csv", HEADER), ("b.csv", EPISODES)], year=2026)

    assert file.dataset == "ssda903"
    header = file.frames["header"]
    assert header.columns == ["row", "child", "sex", "dob", "ethnic", "upn", "mother", "mc_dob"]
    assert header.row(1) == (3, "1002", "2", "03/04/2016", "BAFR", "UN2", "", "")
    assert file.frames["episodes"]["dec"].to_list() == ["", "01/06/2024"]
    assert file.frames["reviews"].height == 0


def test_the_children_of_a_903_carry_sex_dates_and_their_row_counts():
    children = children_of(read_ssda903_return([("h.csv", HEADER), ("e.csv", EPISODES)]))

    first, second = children.iter_rows(named=True)
    assert (first["child_id"], first["sex"], first["dob"].isoformat(), first["episodes"],
            first["reviews"], first["cin_details"]) == ("1001", "M", "2015-02-01", 1, 0, None)
    assert (second["sex"], second["upn"], second["upn_unknown"]) == ("F", "UN2", "UN2")


def test_a_903_table_missing_a_column_is_refused_naming_it():
    with pytest.raises(FormatError, match="missing column.*RNE") as error:
        read_ssda903_table(b"CHILD,DECOM,LS\n1,01/01/2025,C2\n", filename="ep.csv")
    assert error.value.filename == "ep.csv" and error.value.line == 1


def test_a_903_return_without_a_header_table_is_refused():
    with pytest.raises(FormatError, match="no header table"):
        read_ssda903_return([("e.csv", EPISODES)])


def test_a_child_with_episodes_but_not_in_the_header_refuses_the_return_naming_the_row():
    stray = EPISODES + b"9999,01/05/2024,S,C2,N1,U1,PR1,,,,,,\n"
    with pytest.raises(FormatError, match="child '9999' has episodes") as error:
        read_ssda903_return([("h.csv", HEADER), ("e.csv", stray)])
    assert error.value.filename == "e.csv" and error.value.line == 4


def test_a_bad_date_in_a_903_is_read_as_given_for_the_checks_to_report():
    file = read_ssda903_return([("h.csv", HEADER.replace(b"01/02/2015", b"2015-02-01"))])

    assert file.frames["header"]["dob"][0] == "2015-02-01"
    assert children_of(file)["dob"][0] is None


def test_the_peers_903_tables_read_exactly_cell_by_cell():
    folder = _peer("ssda903")
    # placed_for_adoption_errors.csv is a second placed_for_adoption table: a return has one.
    files = [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))
             if p.name != "placed_for_adoption_errors.csv"]
    file = read_ssda903_return(files, year=2026)
    expected: dict[str, list[dict]] = {}
    for _name, data in files:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        table = ssda903_table_of(reader.fieldnames)
        expected.setdefault(table, []).extend(
            {k.strip().lstrip("\ufeff").lower(): (v or "").strip() for k, v in row.items()}
            for row in reader)
    for table, rows in expected.items():
        frame = file.frames[table].drop("row")
        assert frame.to_dicts() == [{c: r.get(c, "") for c in frame.columns} for r in rows], table
    assert file.frames["header"].height == 2675
    assert file.frames["episodes"].height == 5050
    assert rows_of(file).height == sum(len(r) for r in expected.values())


def test_the_peers_903_xml_export_reads_every_child_episode_and_review():
    path = _peer("ssda903", "fake_903.xml")
    file = read_ssda903_xml(path.read_bytes(), filename=path.name)
    tree = ElementTree.parse(path)

    assert kind_of(path.read_bytes()).code == "ssda903_xml"
    assert file.frames["header"].height == len(tree.findall("CHILD")) == 253
    assert file.frames["episodes"].height == len(tree.findall(".//EPISODE"))
    assert file.frames["reviews"].height == len(tree.findall(".//AREVIEW"))
    assert file.frames["missing"].height == len(tree.findall(".//AMISSING"))
    first = tree.find("CHILD")
    assert file.frames["header"]["child"][0] == first.findtext("HEADER/CHILDID")
    assert file.frames["episodes"]["place"][0] == first.findtext("EPISODE/PL")


# -- CIN census --------------------------------------------------------------------------------


def test_a_cin_census_reads_children_details_assessments_and_plans():
    file = read_cin(CIN, filename="cin.xml")

    assert looks_like_cin(CIN) and kind_of(CIN).code == "cin_xml"
    assert (file.year, file.la_code, file.reference_date.isoformat()) == (2026, "330",
                                                                         "2026-03-31")
    assert file.frames["children"]["child"].to_list() == ["C1", "C2"]
    assert file.frames["cin_details"].select("child", "cin_seq").rows() == [("C1", 1),
                                                                             ("C1", 2)]
    assert file.frames["assessment_factors"]["factor"].to_list() == ["1A", "2B"]
    assert file.frames["cpp_reviews"]["review_date"].to_list() == ["2025-09-01"]
    children = children_of(file)
    assert children.select("child_id", "sex", "cin_details", "assessments", "cpp_plans",
                           "episodes").rows() == [("C1", "M", 2, 1, 1, None),
                                                  ("C2", "F", 0, 0, 0, None)]
    assert children["upn_unknown"].to_list() == ["", "UN1"]


@pytest.mark.parametrize("name", ["CIN2rows.xml", "CIN_Census_2021.xml",
                                  "CIN_Census_2021_no_assessment_factors.xml",
                                  "CIN_Census_2024.xml", "CIN_Census_2026.xml",
                                  "CIN_header_issues_100.xml", "CIN_la_issues_2887Q.xml",
                                  "fake_CIN_data.xml"])
def test_every_peer_cin_file_reads_every_block_as_the_file_says(name):
    path = _peer("cin", name)
    file = read_cin(path.read_bytes(), filename=name)
    tree = ElementTree.parse(path)

    counts = {"children": ".//Child", "cin_details": ".//CINdetails",
              "assessments": ".//Assessments", "assessment_factors": ".//AssessmentFactors",
              "cin_plans": ".//CINPlanDates", "section47": ".//Section47",
              "cpp": ".//ChildProtectionPlans", "cpp_reviews": ".//CPPreviewDate",
              "disabilities": ".//Disability", "pre_proceedings": ".//PreProceedingsandFGDM"}
    for frame, path_ in counts.items():
        assert file.frames[frame].height == len(tree.findall(path_)), frame
    ids = [(e.findtext("LAchildID") or "").strip() for e in tree.findall(".//ChildIdentifiers")]
    assert file.frames["children"]["child"].to_list() == ids
    referrals = [(e.text or "").strip() for e in tree.findall(".//CINreferralDate")]
    assert file.frames["cin_details"]["referral_date"].to_list() == referrals


def test_a_cin_census_with_a_doctype_is_refused_before_parsing():
    hostile = b'<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY x "y">]>\n' + CIN.split(b"?>", 1)[1]
    with pytest.raises(FormatError, match="document type declaration") as error:
        read_cin(hostile, filename="cin.xml")
    assert error.value.line == 2


def test_a_malformed_cin_census_names_the_line_and_column():
    with pytest.raises(FormatError, match="not well-formed XML at line") as error:
        read_cin(CIN[:600], filename="cut.xml")
    assert error.value.line and error.value.column


def test_a_cin_file_of_another_collection_is_refused():
    with pytest.raises(FormatError, match="not CIN"):
        read_cin(CIN.replace(b"<Collection>CIN</Collection>", b"<Collection>XX</Collection>"),
                 filename="x.xml")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.builds(lambda a, b: CIN[:a] + b + CIN[a:],
                                           st.integers(0, len(CIN)), st.binary(max_size=40)))
def test_the_cin_reader_returns_a_file_or_a_clear_error_for_any_bytes(data):
    try:
        assert isinstance(read_cin(data, filename="f.xml"), DatasetFile)
    except FormatError as error:
        assert error.filename == "f.xml"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | st.builds(lambda a, b: HEADER[:a] + b + HEADER[a:],
                                           st.integers(0, len(HEADER)), st.binary(max_size=20)))
def test_the_903_reader_returns_a_return_or_a_clear_error_for_any_bytes(data):
    try:
        file = read_ssda903_return([("h.csv", data)])
        assert isinstance(children_of(file), pl.DataFrame)
    except FormatError as error:
        assert "h.csv" in error.filename
