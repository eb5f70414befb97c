"""Small CTF files for the collection tests (the synth writer makes the realistic ones)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from keystage.formats.upn import make_upn


def pupil_xml(upn: str, surname: str, forename: str, dob: str, sex: str, ncyear: str,
              rows: list[tuple]) -> str:
    """One <Pupil>; rows are (stage, subject, method, component, qualifier, result, year)."""
    assessments = "".join(
        f"<StageAssessment><Locale>ENG</Locale><Year>{year}</Year><Subject>{subject}</Subject>"
        f"<Method>{method}</Method><Component>{component}</Component>"
        f"<ResultStatus>R</ResultStatus><ResultQualifier>{qualifier}</ResultQualifier>"
        f"<Result>{result}</Result></StageAssessment>"
        for (_stage, subject, method, component, qualifier, result, year) in rows
    )
    stage = rows[0][0] if rows else "FSP"
    return (
        f"<Pupil><UPN>{upn}</UPN><Surname>{escape(surname)}</Surname>"
        f"<Forename>{escape(forename)}</Forename><DOB>{dob}</DOB><Sex>{sex}</Sex>"
        f"<BasicDetails><NCyearActual>{ncyear}</NCyearActual></BasicDetails>"
        f"<StageAssessments><KeyStage><Stage>{stage}</Stage>{assessments}</KeyStage>"
        f"</StageAssessments></Pupil>"
    )


EYFSP_AREAS = ["COM", "COM", "PSE", "PSE", "PSE", "PHY", "PHY", "LIT", "LIT", "LIT", "MAT",
               "MAT", "UTW", "UTW", "UTW", "EXP", "EXP"]


def eyfsp_rows(results: list[str], year: int = 2026) -> list[tuple]:
    return [("FSP", EYFSP_AREAS[i], "TA", f"E{i + 1:02d}", "FD", r, year)
            for i, r in enumerate(results)]


def ctf(la: str, estab: str | None, pupils: list[str], *, urn: str = "",
        version: str = "25.0", name: str = "Test School") -> bytes:
    """A whole CTF file from a school (estab None for a PVI setting, which sends its URN)."""
    estab_xml = f"<Estab>{estab}</Estab>" if estab else ""
    urn_xml = f"<URN>{urn}</URN>" if urn else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile><Header>'
        "<DocumentName>Common Transfer File</DocumentName>"
        f"<CTFversion>{version}</CTFversion><DateTime>2026-06-19T14:03:11</DateTime>"
        "<DocumentQualifier>partial</DocumentQualifier><DataQualifier>FSP</DataQualifier>"
        "<SupplierID>TestMIS</SupplierID>"
        f"<SourceSchool><LEA>{la}</LEA>{estab_xml}{urn_xml}<SchoolName>{escape(name)}"
        "</SchoolName><AcademicYear>2025</AcademicYear></SourceSchool>"
        f"<DestSchool><LEA>{la}</LEA><Estab>LLLL</Estab></DestSchool></Header>"
        f"<CTFpupilData>{''.join(pupils)}</CTFpupilData></CTfile>\n"
    ).encode()


def eyfsp_file(la: str, estab: str, count: int, *, first_serial: int = 1,
               expected: int = 17, surname: str = "Smith") -> tuple[bytes, list[str]]:
    """An EYFSP file of `count` pupils, each expected in the first `expected` ELGs."""
    upns = [make_upn(la, estab, 2021, first_serial + i) for i in range(count)]
    results = ["2"] * expected + ["1"] * (17 - expected)
    pupils = [
        # Forenames of letters only: digits in a name are a cleaning query.
        pupil_xml(upn, surname, "Child" + "abcdefghijklmnopqrstuvwxyz"[i % 26], "2020-11-02",
                  "F" if i % 2 else "M", "R", eyfsp_rows(results))
        for i, upn in enumerate(upns)
    ]
    return ctf(la, estab, pupils), upns
