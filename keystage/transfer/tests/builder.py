"""Full (transfer) CTFs for the transfer tests."""

from __future__ import annotations

from xml.sax.saxutils import escape


def full_pupil(upn: str, surname: str, forename: str, dob: str, sex: str = "F", *,
               former_upn: str = "", ncyear: str = "4") -> str:
    """One <Pupil> of a full CTF, with the containers a transfer carries."""
    former = f"<FormerUPN>{former_upn}</FormerUPN>" if former_upn else ""
    return (
        f"<Pupil><UPN>{upn}</UPN><Surname>{escape(surname)}</Surname>"
        f"<Forename>{escape(forename)}</Forename><DOB>{dob}</DOB><Sex>{sex}</Sex>"
        f"<BasicDetails>{former}<NCyearActual>{ncyear}</NCyearActual>"
        "<Ethnicity>WBRI</Ethnicity><EnrolStatus>C</EnrolStatus></BasicDetails>"
        "<LookedAfter><InCare>false</InCare></LookedAfter>"
        "<SENhistory><SEN><StartDate>2024-09-01</StartDate><SENprovision>N</SENprovision>"
        "</SEN></SENhistory>"
        "<FSMhistory><FSMreviewDate>2025-09-01</FSMreviewDate></FSMhistory>"
        "<Address><BS7666Address><PAON>1</PAON><Street>High Street</Street>"
        "<Town>Anytown</Town><PostCode>AB1 2CD</PostCode></BS7666Address></Address>"
        "<Contacts><Contact><Surname>Parent</Surname><Forename>Pat</Forename>"
        "<Order>1</Order></Contact></Contacts>"
        "<Attendance><YearData><Year>2025</Year><SessionsPossible>300</SessionsPossible>"
        "<SessionsAuthorised>10</SessionsAuthorised></YearData></Attendance>"
        "<SchoolHistory><School><LEA>330</LEA><Estab>2001</Estab><SchoolName>Old</SchoolName>"
        "<EntryDate>2022-09-01</EntryDate></School></SchoolHistory>"
        "</Pupil>"
    )


def transfer_ctf(la: str, estab: str, dest_la: str | None, dest_estab: str | None,
                 pupils: list[str], *, when: str = "2026-03-10T09:00:00") -> bytes:
    """A full CTF from a school to a destination (None leaves the element out)."""
    dest = "".join([f"<LEA>{dest_la}</LEA>" if dest_la is not None else "",
                    f"<Estab>{dest_estab}</Estab>" if dest_estab is not None else ""])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile><Header>'
        "<DocumentName>Common Transfer File</DocumentName><CTFversion>25.0</CTFversion>"
        f"<DateTime>{when}</DateTime><DocumentQualifier>full</DocumentQualifier>"
        "<SupplierID>TestMIS</SupplierID>"
        f"<SourceSchool><LEA>{la}</LEA><Estab>{estab}</Estab><SchoolName>Sender</SchoolName>"
        "<AcademicYear>2025</AcademicYear></SourceSchool>"
        f"<DestSchool>{dest}</DestSchool></Header>"
        f"<CTFpupilData>{''.join(pupils)}</CTFpupilData></CTfile>\n"
    ).encode()
