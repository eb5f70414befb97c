"""Small school census XML files for tests, written from plain values (encodings.md section 4)."""

from __future__ import annotations

from xml.sax.saxutils import escape


def _el(name: str, value) -> str:
    if value is None:
        return ""
    return f"<{name}>{escape(str(value))}</{name}>"


def census_pupil(upn="A330200121001", surname="Lee", forename="Sam", dob="2015-01-02", sex="M",
                 ncyear="5", *, enrol="C", ethnicity="WBRI", language="ENG", former_upn=None,
                 fsm=(), sen_provision="N", sen_needs=(), entry="2021-09-01", sex_tag="Sex",
                 adopted=None, part_time="false", attendance=(), exclusions=()) -> str:
    """One <PupilOnRoll>; fsm is (start, end or None) pairs, sen_needs (type, rank) pairs,
    attendance (possible, authorised, unauthorised) per term, exclusions (category, sessions)."""
    terms = "".join(
        "<TermlyAttendance>" + _el("SessionsPossible", p) + _el("SessionsAuthorised", a)
        + _el("SessionsUnauthorised", u) + "</TermlyAttendance>" for p, a, u in attendance)
    excluded = "".join(
        "<TermlyExclusion>" + _el("Category", c) + "<Reason>PD</Reason>"
        "<StartDate>2025-11-03</StartDate>" + _el("Sessions", n) + "</TermlyExclusion>"
        for c, n in exclusions)
    periods = "".join(
        "<FSMperiod>" + _el("FSMstartDate", s) + _el("FSMendDate", e) + "<UKcountry>ENG"
        "</UKcountry></FSMperiod>" for s, e in fsm)
    needs = "".join("<SENneed>" + _el("SENtypeRank", r) + _el("SENtype", t) + "</SENneed>"
                    for t, r in sen_needs)
    return (
        "<PupilOnRoll>\n<PupilIdentifiers>" + _el("UPN", upn) + _el("FormerUPN", former_upn)
        + _el("Surname", surname) + _el("Forename", forename) + _el(sex_tag, sex)
        + _el("DOB", dob) + "</PupilIdentifiers>\n<PupilCharacteristics>"
        + _el("Ethnicity", ethnicity) + (f"<FSMeligibility>{periods}</FSMeligibility>"
                                         if periods else "")
        + _el("Language", language) + _el("AdoptedFromCare", adopted)
        + "</PupilCharacteristics>\n<PupilStatus>" + _el("EnrolStatus", enrol)
        + _el("EntryDate", entry) + _el("PartTime", part_time) + _el("NCyearActual", ncyear)
        + "</PupilStatus>\n<SpecialEducationalNeeds>" + _el("SENprovision", sen_provision)
        + (f"<SENneeds>{needs}</SENneeds>" if needs else "")
        + "</SpecialEducationalNeeds>\n"
        + (f"<Exclusions>{excluded}</Exclusions>" if excluded else "")
        + (f"<Attendance>{terms}</Attendance>" if terms else "") + "</PupilOnRoll>\n"
    )


def census_leaver(upn="A330200121009", surname="Gone", forename="Jo", dob="2015-02-03", sex="F",
                  entry="2020-09-01", leaving="2025-12-19") -> str:
    """One <PupilNoLongerOnRoll>."""
    return (
        "<PupilNoLongerOnRoll>\n<PupilIdentifiers>" + _el("UPN", upn) + _el("Surname", surname)
        + _el("Forename", forename) + _el("Sex", sex) + _el("DOB", dob)
        + "</PupilIdentifiers>\n<PupilStatus>" + _el("EntryDate", entry)
        + _el("LeavingDate", leaving) + "<NCyearLeaving>5</NCyearLeaving></PupilStatus>\n"
        "</PupilNoLongerOnRoll>\n"
    )


def census_xml(la="330", estab="2001", pupils=(), leavers=(), *, term="SPR",
               reference="2026-01-15", year="2026", school="Test Primary School") -> bytes:
    """A whole census return of one school."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Message>\n<Header>\n<CollectionDetails>'
        f"<Collection>SC</Collection><Term>{term}</Term><Year>{year}</Year>"
        f"<ReferenceDate>{reference}</ReferenceDate></CollectionDetails>\n<Source>"
        f"<SourceLevel>S</SourceLevel><LEA>{la}</LEA><Estab>{estab}</Estab>"
        "<SoftwareCode>TESTMIS</SoftwareCode><Release>1.0</Release></Source>\n</Header>\n"
        f"<School><SchoolCharacteristics><SchoolName>{escape(school)}</SchoolName>"
        "</SchoolCharacteristics></School>\n<Pupils>\n" + "".join(pupils) + "".join(leavers)
        + "</Pupils>\n</Message>\n"
    ).encode()
