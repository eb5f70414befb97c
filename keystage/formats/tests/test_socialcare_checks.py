"""Every social care schema check finds its own fault, and a clean return gives no finding."""

from __future__ import annotations

import csv
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from keystage.formats.cin import read_cin
from keystage.formats.socialcare_checks import (
    FINDING_SCHEMA,
    Finding,
    check_cin,
    check_return,
    check_ssda903,
    checks,
    code_lists,
    column_specs,
)
from keystage.formats.ssda903 import read_ssda903_return, read_ssda903_xml

YEAR = 2026
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n1001,1,01/02/2015,WBRI,A123456789012,,\n"
EPISODES = ("CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,"
            "PL_POST,URN\n1001,01/05/2025,S,C2,N1,U1,PR1,01/06/2025,E11,,,,\n")
OC2 = ("CHILD,DOB,SDQ_SCORE,SDQ_REASON,CONVICTED,HEALTH_CHECK,IMMUNISATIONS,TEETH_CHECK,"
       "HEALTH_ASSESSMENT,SUBSTANCE_MISUSE,INTERVENTION_RECEIVED,INTERVENTION_OFFERED\n"
       "1001,01/02/2015,12,,0,1,1,1,1,0,0,0\n")
CIN = """<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2026</Year>
<ReferenceDate>2026-03-31</ReferenceDate></CollectionDetails><Source><LEA>330</LEA></Source>
</Header><Children><Child><ChildIdentifiers><LAchildID>C1</LAchildID><UPN>A123456789012</UPN>
<PersonBirthDate>2015-02-01</PersonBirthDate><GenderCurrent>1</GenderCurrent></ChildIdentifiers>
<ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics><CINdetails>
<CINreferralDate>2025-06-01</CINreferralDate><ReferralSource>1A</ReferralSource>
<PrimaryNeedCode>N1</PrimaryNeedCode><ReferralNFA>false</ReferralNFA>
<ChildProtectionPlans><CPPstartDate>2025-07-01</CPPstartDate><InitialCategoryOfAbuse>NEG
</InitialCategoryOfAbuse><LatestCategoryOfAbuse>NEG</LatestCategoryOfAbuse>
<NumberOfPreviousCPP>0</NumberOfPreviousCPP></ChildProtectionPlans></CINdetails></Child>
</Children></Message>"""


def _903(header=HEADER, episodes=EPISODES, oc2=OC2):
    return read_ssda903_return([("h.csv", header.encode()), ("e.csv", episodes.encode()),
                                ("o.csv", oc2.encode())], year=YEAR)


def _cin(text=CIN):
    return read_cin(text.encode(), filename="cin.xml")


# One planted fault per check: the return, and (table, column) the finding must name.
CASES = {
    "903S01": (lambda: _903(header=HEADER.replace(",WBRI,", ",,")), ("header", "ETHNIC")),
    "903S02": (lambda: _903(header=HEADER.replace("01/02/2015", "2015-02-01")),
               ("header", "DOB")),
    "903S03": (lambda: _903(episodes=EPISODES.replace(",C2,", ",Z9,")), ("episodes", "LS")),
    "903S04": (lambda: _903(oc2=OC2.replace(",12,", ",twelve,")), ("oc2", "SDQ_SCORE")),
    "903S05": (lambda: _903(header=HEADER.replace("A123456789012", "NOTAUPN")),
               ("header", "UPN")),
    "903S06": (lambda: _903(episodes=EPISODES.replace("01/06/2025", "01/04/2025")),
               ("episodes", "DEC")),
    "903S07": (lambda: _903(header=HEADER + HEADER.splitlines()[1] + "\n"),
               ("header", "CHILD")),
    "CINS01": (lambda: _cin(CIN.replace("<ReferralSource>1A</ReferralSource>", "")),
               ("cin_details", "ReferralSource")),
    "CINS02": (lambda: _cin(CIN.replace("2025-06-01", "01/06/2025")),
               ("cin_details", "CINreferralDate")),
    "CINS03": (lambda: _cin(CIN.replace(">N1<", ">Q1<")), ("cin_details", "PrimaryNeedCode")),
    "CINS04": (lambda: _cin(CIN.replace(">0</Number", ">none</Number")),
               ("cpp", "NumberOfPreviousCPP")),
    "CINS05": (lambda: _cin(CIN.replace("A123456789012", "123")), ("children", "UPN")),
    "CINS06": (lambda: _cin(CIN.replace("<CPPstartDate>2025-07-01</CPPstartDate>",
                                        "<CPPstartDate>2025-07-01</CPPstartDate>"
                                        "<CPPendDate>2025-06-01</CPPendDate>")),
               ("cpp", "CPPendDate")),
    "CINS07": (lambda: _cin(CIN.replace("</Children>", CIN[CIN.index("<Child>"):
                                                           CIN.index("</Children>")]
                                        + "</Children>")), ("children", "LAchildID")),
    "CINH01": (lambda: _cin(CIN.replace("2026-03-31", "2026-03-28")),
               ("header", "ReferenceDate")),
    "CINH02": (lambda: _cin(CIN.replace("<Year>2026</Year>", "<Year>2025</Year>")),
               ("header", "Year")),
}


def test_clean_returns_give_no_finding():
    for file in (_903(), _cin()):
        findings = check_return(file, YEAR)
        assert findings.height == 0, findings.to_dicts()
        assert findings.schema == FINDING_SCHEMA


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_check_finds_its_planted_fault_naming_the_table_line_and_column(code):
    build, (table, column) = CASES[code]

    findings = check_return(build(), YEAR)

    hits = findings.filter(findings["code"] == code)
    assert hits.height >= 1, findings.to_dicts()
    first = hits.row(0, named=True)
    assert (first["table"], first["column"]) == (table, column)
    assert first["line"] > 0 and first["message"]
    assert first["severity"] == checks()[code].severity
    assert set(findings["code"]) == {code}, "a clean column gave another finding"


def test_every_check_has_a_case():
    assert set(checks()) == set(CASES)


def test_a_finding_quotes_the_value_that_failed():
    findings = check_return(_903(episodes=EPISODES.replace(",C2,", ",Z9,")), YEAR)

    assert findings["value"].to_list() == ["Z9"]
    assert findings["message"][0].startswith("LS 'Z9' is not a code of the ls list")


# -- findings as objects, the CIN pre-proceedings, the peers' files ------------------------------


def _peer(*parts: str) -> Path:
    # The shared folder sits beside the checkout (main) or further up (a worktree of it).
    for folder in Path(__file__).resolve().parents[3:]:
        path = folder.joinpath("shared", "data", "peers", *parts)
        if path.exists():
            return path
    pytest.skip("the peers' social care files are not beside this checkout")


def test_check_ssda903_gives_one_frozen_finding_per_fault_as_the_frame_does():
    file = _903(episodes=EPISODES.replace(",C2,", ",Z9,"))

    [finding] = check_ssda903(file, YEAR)
    assert finding == Finding("903S03", "episodes", 2, "LS", "1001", "Z9",
                              "LS 'Z9' is not a code of the ls list for this year. Correct it "
                              "and send the return again.", "error")
    with pytest.raises(FrozenInstanceError):
        finding.code = "x"  # type: ignore[misc]
    assert check_ssda903(_903(), YEAR) == []


def test_check_cin_gives_findings_with_the_line_and_a_query_severity_for_the_header():
    findings = check_cin(_cin(CIN.replace("2026-03-31", "2026-03-28")), YEAR)

    assert [(f.code, f.table, f.row_or_line, f.column, f.value, f.severity) for f in findings] \
        == [("CINH01", "header", 1, "ReferenceDate", "2026-03-28", "query")]


def test_each_check_function_takes_only_its_own_return():
    with pytest.raises(ValueError, match="not ssda903"):
        check_ssda903(_cin(), YEAR)
    with pytest.raises(ValueError, match="not cin"):
        check_cin(_903(), YEAR)


@pytest.mark.parametrize(("year", "found"), [(2025, []), (2026, [("CINS02", "PPStartDate"),
                                                                 ("CINS04",
                                                                  "ReviewMeetingsCount")])])
def test_pre_proceedings_are_checked_from_2025_26(year, found):
    pre = ("<PreProceedingsandFGDM><PPStartDate>01/10/2025</PPStartDate>"
           "<ReviewMeetingsCount>two</ReviewMeetingsCount><PPOutcome>ZZ</PPOutcome>"
           "</PreProceedingsandFGDM></CINdetails>")
    file = _cin(CIN.replace("</CINdetails>", pre))

    findings = [f for f in check_cin(file, year) if f.table == "pre_proceedings"]
    assert [(f.code, f.column) for f in findings] == found


def test_every_code_list_a_cin_column_names_has_codes():
    for spec in column_specs("cin"):
        if spec.type == "code":
            assert code_lists("cin").get(spec.code_list), spec


def test_the_peers_placed_for_adoption_errors_load_and_give_their_findings():
    header = _peer("ssda903", "header.csv").read_bytes()
    errors = _peer("ssda903", "placed_for_adoption_errors.csv")
    file = read_ssda903_return([("header.csv", header), (errors.name, errors.read_bytes())],
                               year=YEAR)

    findings = [f for f in check_ssda903(file, YEAR) if f.table == "placed_for_adoption"]
    with errors.open(newline="") as handle:
        bad = [(n, r["CHILD"]) for n, r in enumerate(csv.DictReader(handle), start=2)
               if r["REASON_PLACED_CEASED"] not in ("", "RD1", "RD2", "RD3", "RD4")]
    assert [(f.row_or_line, f.child) for f in findings] == bad
    assert {(f.code, f.column, f.value) for f in findings} == {
        ("903S03", "REASON_PLACED_CEASED", "XXX")}


def test_the_peers_xml_export_gives_findings_for_its_oc3_codes():
    path = _peer("ssda903", "fake_903.xml")
    file = read_ssda903_xml(path.read_bytes(), filename=path.name)

    findings = check_ssda903(file, YEAR)
    # P3 is no ACTIV code, and 01 no ACCOM code (0 is).
    assert {(f.column, f.value) for f in findings if f.table == "oc3"} == {("ACTIV", "P3"),
                                                                           ("ACCOM", "01")}
    assert all(f.code == "903S03" for f in findings)


def test_a_column_first_collected_in_2026_is_checked_for_2026_only_whichever_year_came_first():
    # The checks of a year are built once a process: each year keeps its own.
    late = _cin(CIN.replace("</CINdetails>", "<PreProceedingsandFGDM><PPStartDate>soon"
                                             "</PPStartDate></PreProceedingsandFGDM>"
                                             "</CINdetails>"))

    for year in (2026, 2025, 2026, 2025):
        codes = check_return(late, year).filter(column="PPStartDate")["code"].to_list()
        assert codes == (["CINS02"] if year == 2026 else []), year
