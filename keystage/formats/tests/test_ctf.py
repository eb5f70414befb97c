"""Tests for the CTF reader; every CTF is built here, with one element per line."""

from __future__ import annotations

import dataclasses
import io
import time
import tracemalloc
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keystage.formats import ctf as ctf_module
from keystage.formats.ctf import (
    SUPPORTED_VERSIONS,
    CtfAssessment,
    CtfFrames,
    CtfHeader,
    CtfPupil,
    CtfReader,
    collections_of,
    latest_flags,
    latest_results,
    looks_like_ctf,
    read_ctf_frames,
    read_ctf_header,
)
from keystage.formats.errors import FormatError

FILENAME = "9992000_FSP_999LLLL_001.xml"
REEXPORT = "export it again from its MIS"

EYFSP_AREAS = "COM COM PSE PSE PSE PHY PHY LIT LIT LIT MAT MAT UTW UTW UTW EXP EXP".split()

# A row is the CTF tuple as written in a file:
# (locale, year, subject, method, component, status, qualifier, result, result date or None).
Row = tuple[str, str, str, str, str, str, str, str, str | None]


def eyfsp_rows(results: str = "2" * 17, year: str = "2026") -> list[Row]:
    """The 17 EYFSP rows with the given results (one character per ELG)."""
    return [
        ("ENG", year, EYFSP_AREAS[i], "TA", f"E{i + 1:02d}", "R", "FD", result, None)
        for i, result in enumerate(results)
    ]


def phonics_row(mark: str = "36", year: str = "2026") -> Row:
    return ("ENG", year, "ENG", "TT", "PSC", "R", "NM", mark, None)


def row_xml(row: Row) -> str:
    locale, year, subject, method, component, status, qualifier, result, when = row
    lines = [
        "<StageAssessment>",
        f"<Locale>{locale}</Locale>",
        f"<Year>{year}</Year>",
        f"<Subject>{subject}</Subject>",
        f"<Method>{method}</Method>",
        f"<Component>{component}</Component>",
        f"<ResultStatus>{status}</ResultStatus>",
        f"<ResultQualifier>{qualifier}</ResultQualifier>",
        f"<Result>{result}</Result>",
    ]
    if when is not None:
        lines.append(f"<ResultDate>{when}</ResultDate>")
    lines.append("</StageAssessment>")
    return "\n".join(lines)


def keystage_xml(stage: str, rows: list[Row]) -> str:
    return "\n".join(["<KeyStage>", f"<Stage>{stage}</Stage>", *map(row_xml, rows), "</KeyStage>"])


def pupil_xml(
    *,
    upn: str = "A999200021001",
    surname: str = "Smith",
    forename: str = "Amy",
    middle_names: str = "Jane",
    dob: str = "2020-11-02",
    sex: str = "<Sex>F</Sex>",
    ncyear: str = "R",
    blocks: list[tuple[str, list[Row]]] | None = None,
    extra: str = "",
) -> str:
    """One Pupil; blocks are (stage, rows) KeyStage blocks in one StageAssessments container."""
    blocks = [("FSP", eyfsp_rows())] if blocks is None else blocks
    parts = [
        "<Pupil>",
        f"<UPN>{upn}</UPN>",
        f"<Surname>{surname}</Surname>",
        f"<Forename>{forename}</Forename>",
        f"<DOB>{dob}</DOB>",
        sex,
        "<BasicDetails>",
        f"<MiddleNames>{middle_names}</MiddleNames>",
        f"<NCyearActual>{ncyear}</NCyearActual>",
        "</BasicDetails>",
    ]
    if extra:
        parts.append(extra)
    if blocks:
        parts.append("<StageAssessments>")
        parts.extend(keystage_xml(stage, rows) for stage, rows in blocks)
        parts.append("</StageAssessments>")
    parts.append("</Pupil>")
    return "\n".join(parts)


SOURCE = (
    "<SourceSchool>\n<LEA>999</LEA>\n<Estab>2000</Estab>\n<URN>100000</URN>\n"
    "<SchoolName>Example Primary School</SchoolName>\n<AcademicYear>2025</AcademicYear>\n"
    "</SourceSchool>"
)


def ctf_text(
    pupils: list[str] | None = None,
    *,
    version: str | None = "25.0",
    source: str = SOURCE,
    header_extra: str = "",
    declaration: str = '<?xml version="1.0" encoding="UTF-8"?>',
    pupil_data: bool = True,
) -> str:
    """A whole CTF as text, one element per line; pupils default to one EYFSP pupil."""
    pupils = [pupil_xml()] if pupils is None else pupils
    header = [
        "<Header>",
        "<DocumentName>Common Transfer File</DocumentName>",
        f"<CTFversion>{version}</CTFversion>" if version is not None else "",
        "<DateTime>2026-06-19T14:03:11</DateTime>",
        "<DocumentQualifier>partial</DocumentQualifier>",
        "<DataQualifier>FSP</DataQualifier>",
        "<DataDescriptor>EYFSP 2026 results</DataDescriptor>",
        "<SupplierID>ExampleMIS</SupplierID>",
        source,
        "<DestSchool>\n<LEA>999</LEA>\n<Estab>LLLL</Estab>\n</DestSchool>",
        header_extra,
        "</Header>",
    ]
    lines = [declaration, "<CTfile>", *[line for line in header if line]]
    if pupil_data:
        lines += ["<CTFpupilData>", *pupils, "</CTFpupilData>"]
    lines.append("</CTfile>")
    return "\n".join(line for line in lines if line) + "\n"


def ctf_bytes(*args: object, **kwargs: object) -> bytes:
    return ctf_text(*args, **kwargs).encode("utf-8")  # type: ignore[arg-type]


# Which reader read_all uses: every test through it runs against both (the fixture below).
READER = {"whole": False}


@pytest.fixture(autouse=True, params=["streaming", "whole-file"])
def reader_path(request: pytest.FixtureRequest) -> object:
    READER["whole"] = request.param == "whole-file"
    yield request.param
    READER["whole"] = False


def read_all(data: bytes, **kwargs: int) -> tuple[CtfReader, list[CtfPupil]]:
    if READER["whole"]:
        frames = read_ctf_frames(data, filename=FILENAME, **kwargs)
        return frames, frames.to_pupils()  # type: ignore[return-value]
    reader = CtfReader(data, filename=FILENAME, **kwargs)
    return reader, list(reader.pupils())


def pupils_of(data: bytes) -> list[CtfPupil]:
    return read_all(data)[1]


def error_of(data: bytes, **kwargs: int) -> FormatError:
    with pytest.raises(FormatError) as caught:
        read_all(data, **kwargs)
    error = caught.value
    assert error.filename == FILENAME
    assert str(error).startswith(FILENAME)
    return error


def line_of(text: str, marker: str, occurrence: int = 0) -> int:
    """The 1-based line on which the n-th occurrence of marker starts."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(marker, index + 1)
    return text.count("\n", 0, index) + 1


def assessment(**fields: object) -> CtfAssessment:
    values: dict[str, object] = {
        "stage": "FSP",
        "locale": "ENG",
        "year": 2026,
        "subject": "COM",
        "method": "TA",
        "component": "E01",
        "status": "R",
        "qualifier": "FD",
        "result": "2",
        "result_date": None,
        "line": 1,
    }
    values.update(fields)
    return CtfAssessment(**values)  # type: ignore[arg-type]


# Header


def test_every_header_field_is_read() -> None:
    reader = CtfReader(ctf_bytes(), filename=FILENAME)
    assert reader.header == CtfHeader(
        version="25.0",
        version_major=25,
        document_qualifier="partial",
        data_qualifier="FSP",
        supplier="ExampleMIS",
        source_la="999",
        source_estab="2000",
        source_urn="100000",
        source_name="Example Primary School",
        academic_year=2025,
        dest_la="999",
        dest_estab="LLLL",
        date_time="2026-06-19T14:03:11",
    )
    assert reader.header.source_laestab == "9992000"
    assert reader.warnings == []


def test_a_pvi_setting_sends_a_urn_and_no_estab_so_it_has_no_laestab() -> None:
    source = "<SourceSchool>\n<LEA>999</LEA>\n<URN>512345</URN>\n</SourceSchool>"
    header = CtfReader(ctf_bytes(source=source), filename=FILENAME).header
    assert (header.source_la, header.source_estab, header.source_urn) == ("999", None, "512345")
    assert header.source_laestab is None
    assert header.source_name == ""
    assert header.academic_year is None


def test_qualifiers_are_normalised_and_values_stripped() -> None:
    text = (
        ctf_text()
        .replace("<DocumentQualifier>partial", "<DocumentQualifier>  PARTIAL ")
        .replace("<DataQualifier>FSP", "<DataQualifier> pho")
        .replace("<LEA>999</LEA>\n<Estab>2000", "<LEA> 999 </LEA>\n<Estab>\t2000\r\n")
    )
    header = CtfReader(text.encode(), filename=FILENAME).header
    assert header.document_qualifier == "partial"
    assert header.data_qualifier == "PHO"
    assert header.source_laestab == "9992000"


def test_empty_header_elements_are_treated_as_absent() -> None:
    source = (
        "<SourceSchool>\n<LEA/>\n<Estab></Estab>\n<URN>  </URN>\n<SchoolName/>\n"
        "<AcademicYear/>\n</SourceSchool>"
    )
    text = ctf_text(source=source).replace("<SupplierID>ExampleMIS</SupplierID>", "<SupplierID/>")
    header = CtfReader(text.encode(), filename=FILENAME).header
    assert (header.source_la, header.source_estab, header.source_urn) == (None, None, None)
    assert (header.supplier, header.source_name, header.academic_year) == ("", "", None)


def test_unknown_header_elements_are_ignored() -> None:
    extra = "<SuppInfo>\n<Vendor><Code>X</Code></Vendor>\n</SuppInfo>\n<Whatever>1</Whatever>"
    reader = CtfReader(ctf_bytes(header_extra=extra), filename=FILENAME)
    assert reader.header.supplier == "ExampleMIS"


@pytest.mark.parametrize("major", SUPPORTED_VERSIONS)
def test_the_current_and_neighbouring_versions_are_read_without_warnings(major: int) -> None:
    reader, pupils = read_all(ctf_bytes(version=f"{major}.0"))
    assert reader.header.version_major == major
    assert reader.warnings == []
    assert len(pupils) == 1


def test_supported_versions_are_24_25_and_26() -> None:
    assert SUPPORTED_VERSIONS == (24, 25, 26)


def test_an_older_version_is_read_with_a_warning() -> None:
    reader, pupils = read_all(ctf_bytes(version="21.0"))
    assert reader.header.version == "21.0"
    assert reader.header.version_major == 21
    assert len(reader.warnings) == 1
    assert reader.warnings[0].startswith("CTF version 21.0 is older than")
    assert reader.warnings[0].endswith("check the results after import")
    assert len(pupils) == 1


def test_a_newer_version_is_read_with_a_warning() -> None:
    reader, _ = read_all(ctf_bytes(version="27.0"))
    assert reader.warnings == [
        "CTF version 27.0 is newer than the versions read without checks (24, 25, 26); check "
        "the results after import"
    ]


@pytest.mark.parametrize("version", [None, "", "twenty-five", "25.0.0.0.x"])
def test_a_missing_or_unreadable_version_is_a_warning_not_an_error(version: str | None) -> None:
    reader, pupils = read_all(ctf_bytes(version=version))
    assert reader.header.version_major is None
    assert len(reader.warnings) == 1
    assert "check the results after import" in reader.warnings[0]
    assert len(pupils) == 1


def test_a_version_without_a_minor_part_is_understood() -> None:
    reader, _ = read_all(ctf_bytes(version=" 25 "))
    assert (reader.header.version, reader.header.version_major) == ("25", 25)


def test_an_academic_year_that_is_not_a_year_is_dropped_with_a_warning() -> None:
    source = SOURCE.replace("<AcademicYear>2025", "<AcademicYear>2025/26")
    reader = CtfReader(ctf_bytes(source=source), filename=FILENAME)
    assert reader.header.academic_year is None
    assert reader.warnings == ["the header's AcademicYear '2025/26' is not a year; it was ignored"]


class CountingStream(io.RawIOBase):
    """A binary stream that records how many bytes were asked of it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.given = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        self.given += len(chunk)
        return chunk


def test_read_ctf_header_reads_only_as_far_as_the_pupil_data() -> None:
    data = ctf_bytes([pupil_xml(upn=f"A9992000{n:05d}") for n in range(2000)])
    stream = CountingStream(data)
    header = read_ctf_header(stream, filename=FILENAME)
    assert header.source_laestab == "9992000"
    assert stream.given < 64 * 1024 < len(data)


# Pupils


def test_every_pupil_field_is_read() -> None:
    text = ctf_text()
    (pupil,) = pupils_of(text.encode())
    assert pupil.line == line_of(text, "<Pupil>")
    assert (pupil.upn, pupil.surname, pupil.forename, pupil.middle_names) == (
        "A999200021001",
        "Smith",
        "Amy",
        "Jane",
    )
    assert (pupil.dob, pupil.dob_text, pupil.sex, pupil.ncyear) == (
        date(2020, 11, 2),
        "2020-11-02",
        "F",
        "R",
    )
    assert [row.component for row in pupil.assessments] == [f"E{n:02d}" for n in range(1, 18)]
    assert pupil.assessments[0] == CtfAssessment(
        stage="FSP",
        locale="ENG",
        year=2026,
        subject="COM",
        method="TA",
        component="E01",
        status="R",
        qualifier="FD",
        result="2",
        result_date=None,
        line=line_of(text, "<StageAssessment>"),
    )
    assert pupil.assessments[16].line == line_of(text, "<StageAssessment>", 16)


def test_values_are_stripped_and_codes_upper_cased_but_results_keep_their_case() -> None:
    rows = [(" eng ", " 2026 ", "eng", "tt", "psc", "r", "nm", " Wa ", " 2026-06-12 ")]
    text = ctf_text(
        [pupil_xml(upn=" a999200021001 ", sex="<Sex> f </Sex>", blocks=[("ks1", rows)])]
    )
    (pupil,) = pupils_of(text.encode())
    assert (pupil.upn, pupil.sex) == ("A999200021001", "F")
    assert pupil.assessments == [
        CtfAssessment(
            stage="KS1",
            locale="ENG",
            year=2026,
            subject="ENG",
            method="TT",
            component="PSC",
            status="R",
            qualifier="NM",
            result="Wa",
            result_date=date(2026, 6, 12),
            line=line_of(text, "<StageAssessment>"),
        )
    ]


def test_the_older_gender_element_gives_the_sex() -> None:
    (pupil,) = pupils_of(ctf_bytes([pupil_xml(sex="<Gender>m</Gender>")]))
    assert pupil.sex == "M"


def test_sex_wins_over_gender_when_a_file_has_both() -> None:
    (pupil,) = pupils_of(ctf_bytes([pupil_xml(sex="<Gender>M</Gender>\n<Sex>F</Sex>")]))
    assert pupil.sex == "F"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("R", "R"),
        ("r", "R"),
        (" 1 ", "1"),
        ("01", "1"),
        ("14", "14"),
        ("N1", "N1"),
        ("n02", "N2"),
        ("X", "X"),
        ("", None),
    ],
)
def test_the_national_curriculum_year_is_normalised(given: str, expected: str | None) -> None:
    (pupil,) = pupils_of(ctf_bytes([pupil_xml(ncyear=given)]))
    assert pupil.ncyear == expected


@pytest.mark.parametrize(
    "dob",
    [
        "2020-02-30",
        "02/11/2020",
        "2020-11",
        "20201102",
        "2020-W01-1",
        "soon",
        "２０２０-11-02",
        "2020-+1-02",
    ],
)
def test_a_date_of_birth_that_is_not_a_date_is_none_but_its_text_is_kept(dob: str) -> None:
    (pupil,) = pupils_of(ctf_bytes([pupil_xml(dob=dob)]))
    assert pupil.dob is None
    assert pupil.dob_text == dob


def test_a_date_of_birth_with_a_time_or_time_zone_is_still_a_date() -> None:
    pupils = pupils_of(
        ctf_bytes([pupil_xml(dob="2020-11-02T00:00:00"), pupil_xml(dob="2020-11-02Z")])
    )
    assert [pupil.dob for pupil in pupils] == [date(2020, 11, 2)] * 2


def test_pupils_are_yielded_even_when_their_data_is_wrong() -> None:
    bad = pupil_xml(upn="NOT-A-UPN", surname="", forename="", dob="", sex="", ncyear="Q")
    pupils = pupils_of(ctf_bytes([bad, "<Pupil/>"]))
    assert [(p.upn, p.surname, p.forename, p.dob, p.dob_text, p.sex) for p in pupils] == [
        ("NOT-A-UPN", "", "", None, "", ""),
        ("", "", "", None, "", ""),
    ]
    assert pupils[0].ncyear == "Q"
    assert pupils[1].assessments == []
    assert pupils[1].ncyear is None


def test_a_year_that_is_not_a_whole_number_and_a_bad_result_date_become_none() -> None:
    rows = [
        ("ENG", "2026.0", "ENG", "TT", "PSC", "R", "NM", "36", "2026-13-01"),
        ("ENG", "", "ENG", "TT", "PSC", "R", "NM", "36", "12/06/2026"),
        ("ENG", "²⁰²⁶", "ENG", "TT", "PSC", "R", "NM", "36", "yesterday"),
    ]
    (pupil,) = pupils_of(ctf_bytes([pupil_xml(blocks=[("KS1", rows)])]))
    assert [(row.year, row.result_date) for row in pupil.assessments] == [(None, None)] * 3


def test_several_keystage_blocks_and_containers_are_all_read_in_file_order() -> None:
    second_container = "\n".join(
        ["<StageAssessments>", keystage_xml("KS2", [phonics_row("40")]), "</StageAssessments>"]
    )
    pupil = pupil_xml(
        blocks=[
            ("FSP", eyfsp_rows()[:2]),
            ("KS1", [phonics_row("30")]),
            ("FSP", eyfsp_rows()[2:4]),
        ],
        extra=second_container,
    )
    (read,) = pupils_of(ctf_bytes([pupil]))
    assert [(row.stage, row.component) for row in read.assessments] == [
        ("KS2", "PSC"),  # the extra container comes before the default one in the pupil
        ("FSP", "E01"),
        ("FSP", "E02"),
        ("KS1", "PSC"),
        ("FSP", "E03"),
        ("FSP", "E04"),
    ]
    assert [row.line for row in read.assessments] == sorted(row.line for row in read.assessments)


def test_a_stage_written_after_the_rows_still_applies_to_them() -> None:
    block = "<KeyStage>\n" + row_xml(phonics_row()) + "\n<Stage>KS1</Stage>\n</KeyStage>"
    pupil = pupil_xml(blocks=[], extra=f"<StageAssessments>\n{block}\n</StageAssessments>")
    (read,) = pupils_of(ctf_bytes([pupil]))
    assert read.assessments[0].stage == "KS1"


def test_empty_and_unknown_elements_are_ignored_anywhere() -> None:
    unknown = "<Address>\n<Line1>1 High St</Line1>\n<Postcode/>\n</Address>\n<Unknown/>"
    row = row_xml(eyfsp_rows()[0]).replace("<Locale>", "<Mystery>x</Mystery>\n<Locale>")
    row = row.replace("<Result>2</Result>", "<Result/>\n<Result>2</Result>\n<Comment>ok</Comment>")
    pupil = pupil_xml(middle_names="", blocks=[], extra=unknown).replace(
        "</Pupil>",
        f"<StageAssessments>\n<KeyStage>\n<Stage/>\n<Stage>FSP</Stage>\n<Other/>\n{row}\n"
        "</KeyStage>\n<Junk>1</Junk>\n</StageAssessments>\n</Pupil>",
    )
    text = ctf_text([pupil, "<NotAPupil><UPN>X</UPN></NotAPupil>"]).replace(
        "<CTFpupilData>", "<Extra>stuff</Extra>\n<CTFpupilData>"
    )
    (read,) = pupils_of(text.encode())
    assert read.middle_names == ""
    assert [(row.stage, row.component, row.result) for row in read.assessments] == [
        ("FSP", "E01", "2")
    ]


def test_element_names_are_matched_in_any_case() -> None:
    text = (
        ctf_text()
        .upper()
        .replace("<?XML VERSION", "<?xml version")
        .replace("ENCODING=", "encoding=")
    )
    text = text.replace("<CTFILE>", "<Ctfile>").replace("</CTFILE>", "</Ctfile>")
    text = text.replace("CTFVERSION>", "ctfVersion>").replace(
        "STAGEASSESSMENT>", "stageassessment>"
    )
    reader, (pupil,) = read_all(text.encode())
    assert reader.header.version_major == 25
    assert reader.header.source_laestab == "9992000"
    assert (pupil.surname, pupil.forename, pupil.ncyear) == ("SMITH", "AMY", "R")
    assert len(pupil.assessments) == 17
    assert pupil.assessments[0].result == "2"


def test_a_default_namespace_or_prefix_does_not_hide_the_elements() -> None:
    text = ctf_text().replace("<CTfile>", '<CTfile xmlns="urn:example">')
    prefixed = (
        ctf_text()
        .replace("<CTfile>", '<c:CTfile xmlns:c="urn:example">')
        .replace("</CTfile>", "</c:CTfile>")
    )
    for data in (text.encode(), prefixed.encode()):
        reader, (pupil,) = read_all(data)
        assert reader.header.source_laestab == "9992000"
        assert len(pupil.assessments) == 17


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted() -> None:
    text = ctf_text()
    data = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()
    reader, (pupil,) = read_all(data)
    assert reader.header.source_laestab == "9992000"
    assert pupil.line == line_of(text, "<Pupil>")
    assert pupil.assessments[-1].line == line_of(text, "<StageAssessment>", 16)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf_16_files_are_read(codec: str) -> None:
    text = ctf_text([pupil_xml(surname="Zoë Ångström")]).replace("UTF-8", "UTF-16")
    reader, (pupil,) = read_all(text.encode(codec))
    assert reader.header.source_name == "Example Primary School"
    assert pupil.surname == "Zoë Ångström"


def test_a_declared_iso_8859_1_file_is_read() -> None:
    text = ctf_text([pupil_xml(surname="Zoë")]).replace("UTF-8", "ISO-8859-1")
    (pupil,) = pupils_of(text.encode("latin-1"))
    assert pupil.surname == "Zoë"


def test_a_file_without_a_declaration_comments_or_whitespace_is_read() -> None:
    text = ctf_text(declaration="").replace("\n", "")
    (pupil,) = pupils_of(text.encode())
    assert pupil.line == 1
    commented = "\n  <!-- exported by ExampleMIS -->\n<?mis hint?>\n" + ctf_text(
        declaration=""
    ).replace("<Pupil>", "<!-- a comment -->\n<Pupil>")
    assert len(pupils_of(commented.encode())[0].assessments) == 17


def test_a_ctf_without_pupil_data_has_no_pupils() -> None:
    reader, pupils = read_all(ctf_bytes(pupil_data=False))
    assert reader.header.source_laestab == "9992000"
    assert pupils == []
    assert pupils_of(ctf_bytes([])) == []


def test_the_file_name_is_never_used_to_read_the_file() -> None:
    data = ctf_bytes()
    for name in ("pupils.csv", "999_KS2_2026.xml", "no extension"):
        reader = CtfReader(data, filename=name)
        assert reader.header.data_qualifier == "FSP"
        assert [len(p.assessments) for p in reader.pupils()] == [17]


def test_the_source_may_be_bytes_a_path_or_a_binary_file(tmp_path: Path) -> None:
    data = ctf_bytes()
    path = tmp_path / "file.xml"
    path.write_bytes(data)
    expected = pupils_of(data)
    for source in (data, bytearray(data), path, str(path), io.BytesIO(data)):
        with CtfReader(source, filename=FILENAME) as reader:
            assert list(reader.pupils()) == expected


def test_a_text_mode_file_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        CtfReader(io.StringIO(ctf_text()), filename=FILENAME)  # type: ignore[arg-type]


def test_rows_are_frozen_and_compare_by_value() -> None:
    (pupil,) = pupils_of(ctf_bytes())
    row = pupil.assessments[0]
    assert type(row) is CtfAssessment
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.result = "1"  # type: ignore[misc]
    assert row == dataclasses.replace(row)
    assert hash(row) == hash(dataclasses.replace(row))
    assert dataclasses.asdict(row)["component"] == "E01"


def test_the_header_is_frozen() -> None:
    header = read_ctf_header(ctf_bytes(), filename=FILENAME)
    with pytest.raises(dataclasses.FrozenInstanceError):
        header.source_la = "123"  # type: ignore[misc]


# latest_results


def test_the_later_result_date_wins_whatever_the_order_of_rows() -> None:
    early = assessment(result="1", result_date=date(2026, 5, 1), line=10)
    late = assessment(result="2", result_date=date(2026, 6, 1), line=5)
    key = ("FSP", "COM", "TA", "E01", 2026)
    assert latest_results([late, early]) == {key: late}
    assert latest_results([early, late]) == {key: late}


def test_a_dated_row_beats_an_undated_one() -> None:
    undated = assessment(result="1", result_date=None, line=20)
    dated = assessment(result="2", result_date=date(2026, 6, 1), line=10)
    assert list(latest_results([dated, undated]).values()) == [dated]
    assert list(latest_results([undated, dated]).values()) == [dated]


def test_on_the_same_date_or_without_dates_the_later_row_in_the_file_wins() -> None:
    first = assessment(result="1", result_date=date(2026, 6, 1), line=1)
    second = assessment(result="2", result_date=date(2026, 6, 1), line=2)
    assert list(latest_results([first, second]).values()) == [second]
    assert list(latest_results([assessment(result="1"), assessment(result="A")]).values()) == [
        assessment(result="A")
    ]


def test_on_the_same_date_the_row_further_down_the_file_wins_even_if_given_first() -> None:
    lower = assessment(result="2", result_date=date(2026, 6, 1), line=40)
    upper = assessment(result="1", result_date=date(2026, 6, 1), line=30)
    assert list(latest_results([lower, upper]).values()) == [lower]
    assert list(latest_results([assessment(line=9, result="1"), assessment(line=3)]).values()) == [
        assessment(line=9, result="1")
    ]


def test_rows_other_than_results_are_ignored_unless_asked_for() -> None:
    estimate = assessment(status="E", result="1", result_date=date(2026, 7, 1))
    provisional = assessment(status="P", result="A", result_date=date(2026, 7, 2))
    result = assessment(status="R", result="2", result_date=date(2026, 6, 1))
    assert list(latest_results([estimate, provisional, result]).values()) == [result]
    assert latest_results([estimate, provisional]) == {}
    chosen = latest_results([estimate, provisional, result], statuses=("r", "p"))
    assert list(chosen.values()) == [provisional]


def test_each_component_and_year_keeps_its_own_latest_row() -> None:
    rows = [
        assessment(component="E01", year=2025, result="1"),
        assessment(component="E01", year=2026, result="2"),
        assessment(component="E02", subject="COM", year=2026, result="A"),
        assessment(stage="KS1", subject="ENG", method="TT", component="PSC", result="36"),
    ]
    assert latest_results(rows) == {
        ("FSP", "COM", "TA", "E01", 2025): rows[0],
        ("FSP", "COM", "TA", "E01", 2026): rows[1],
        ("FSP", "COM", "TA", "E02", 2026): rows[2],
        ("KS1", "ENG", "TT", "PSC", 2026): rows[3],
    }


def test_latest_results_works_on_a_whole_file() -> None:
    rows = eyfsp_rows("1" * 17) + [
        ("ENG", "2026", "COM", "TA", "E01", "R", "FD", "2", "2026-06-30")
    ]
    (pupil,) = pupils_of(ctf_bytes([pupil_xml(blocks=[("FSP", rows)])]))
    latest = latest_results(pupil.assessments)
    assert len(latest) == 17
    assert latest[("FSP", "COM", "TA", "E01", 2026)].result == "2"


# collections_of


def test_an_eyfsp_and_phonics_file_gives_both_collections() -> None:
    pupils = pupils_of(
        ctf_bytes(
            [
                pupil_xml(blocks=[("FSP", eyfsp_rows())]),
                pupil_xml(upn="A999200021002", blocks=[("KS1", [phonics_row()])]),
            ]
        )
    )
    assert collections_of(pupils) == {"eyfsp", "phonics"}
    assert collections_of(pupils[0]) == {"eyfsp"}
    assert collections_of(pupils[1].assessments) == {"phonics"}


def test_collections_of_keeps_to_the_year_given() -> None:
    pupil = pupils_of(
        ctf_bytes([pupil_xml(blocks=[("FSP", eyfsp_rows(year="2025")), ("KS1", [phonics_row()])])])
    )[0]
    assert collections_of(pupil) == {"eyfsp", "phonics"}
    assert collections_of(pupil, 2026) == {"phonics"}
    assert collections_of(pupil, 2025) == {"eyfsp"}
    assert collections_of(pupil, 2024) == set()


def test_rows_of_no_statutory_collection_give_no_collection() -> None:
    rows = [
        assessment(stage="KS3", subject="ENG", method="TA", component="ENG"),
        assessment(component="G01", year=2019),
    ]
    assert collections_of(rows) == set()
    assert collections_of([]) == set()


def test_ks1_ks2_and_mtc_rows_give_their_collections() -> None:
    rows = [
        assessment(stage="KS1", subject="MAT", method="TA", component="MAT", qualifier="TA"),
        assessment(stage="KS2", subject="ENG", method="TA", component="WR", qualifier="TA"),
        assessment(stage="KS2", subject="MAT", method="TT", component="MTC", qualifier="MT"),
    ]
    assert collections_of(rows) == {"ks1", "ks2ta", "mtc"}


# looks_like_ctf


@pytest.mark.parametrize(
    "head",
    [
        b"<CTfile><Header>",
        b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\r\n<CTfile>',
        b"\n\n  <!-- exported -->\n<?pi x?>\n<CTFILE >",
        b"<ctfile\n>",
        b'<c:CTfile xmlns:c="urn:x">',
        b'<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY x "y">]>\n<CTfile>',
        '<?xml version="1.0" encoding="UTF-16"?>\n<CTfile>'.encode("utf-16"),
        "<CTfile>".encode("utf-16-be"),
    ],
)
def test_looks_like_ctf_recognises_the_root_element(head: bytes) -> None:
    assert looks_like_ctf(head)


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"   ",
        b'<?xml version="1.0"?>\n<Message><Header>',
        b"<CTfileX>",
        b"<CTfil",
        b"UPN,Surname,Forename\r\n",
        b"PK\x03\x04\x14\x00",
        b"<!-- " + b"x" * 2000,
        b"\x00\x00\xfe\xff\x00\x00\x00<",
        b"<html><body>CTfile</body></html>",
    ],
)
def test_looks_like_ctf_rejects_other_files(head: bytes) -> None:
    assert not looks_like_ctf(head)


def test_looks_like_ctf_needs_only_the_first_kilobyte() -> None:
    data = ctf_bytes([pupil_xml() for _ in range(20)])
    assert looks_like_ctf(data[:1024])


# Bad input


def test_malformed_xml_says_where_and_what_to_do() -> None:
    text = ctf_text([pupil_xml(), pupil_xml(surname="Smith</Forename>")])
    error = error_of(text.encode())
    line = line_of(text, "<Surname>Smith</Forename>")
    # libxml2 points just after the end tag that does not match.
    assert (error.line, error.column) == (line, len("<Surname>Smith</Forename>") + 1)
    assert error.message.startswith(f"not well-formed XML at line {line}, column 26: ")
    assert "Opening and ending tag mismatch" in error.message
    assert error.message.endswith(
        "The file may be damaged or not a CTF: ask the school to export it again from its MIS."
    )


@pytest.mark.parametrize(
    ("bad", "lxml_says"),
    [
        ("Smith & Jones", "xmlParseEntityRef: no name"),
        ("Smith &amp Jones", "EntityRef: expecting ';'"),
        ("Smith &unknown; Jones", "Entity 'unknown' not defined"),
        ("Smith < Jones", "StartTag: invalid element name"),
        ("Smith ]]> Jones", "Sequence ']]>' not allowed in content"),
        ("Smith &#0; Jones", "CharRef"),
    ],
)
def test_bad_characters_in_content_are_not_well_formed_xml(bad: str, lxml_says: str) -> None:
    text = ctf_text([pupil_xml(surname=bad)])
    error = error_of(text.encode())
    assert error.line == line_of(text, "<Surname>")
    assert isinstance(error.column, int) and error.column > len("<Surname>Smith")
    assert "not well-formed XML" in error.message
    assert lxml_says in error.message


def test_a_mistake_on_the_only_line_of_a_one_line_file_is_not_called_truncation() -> None:
    text = ctf_text([pupil_xml(surname="Smith & Jones")]).replace("\n", "")
    error = error_of(text.encode())
    assert error.line == 1
    assert "not well-formed XML" in error.message
    assert "truncated" not in error.message


def test_invalid_utf8_is_not_well_formed_xml() -> None:
    text = ctf_text([pupil_xml(surname="SMITHX")])
    data = text.encode().replace(b"SMITHX", b"SMITH\xff")
    error = error_of(data)
    assert error.line == line_of(text, "<Surname>")
    assert "not well-formed XML" in error.message


@pytest.mark.parametrize(
    ("root", "name", "line"),
    [
        ('<?xml version="1.0"?>\n<Message>\n<Header/>\n</Message>', "Message", 2),
        ("\n<!-- a census -->\n<CTfileX/>", "CTfileX", 3),
        ("<html><body>CTfile</body></html>", "html", 1),
    ],
)
def test_a_file_whose_root_element_is_not_ctfile_is_refused(
    root: str, name: str, line: int
) -> None:
    error = error_of(root.encode())
    assert error.message.startswith(
        f"the root element is <{name}>, not <CTfile>: this is not a Common Transfer File"
    )
    assert (error.line, error.column) == (line, 1)


@pytest.mark.parametrize("data", [b"", b"   \r\n\t", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n"])
def test_an_empty_file_is_refused(data: bytes) -> None:
    error = error_of(data)
    assert error.message.startswith("the file is empty.")
    assert REEXPORT in error.message


@pytest.mark.parametrize("data", [b'<?xml version="1.0"?>\n', b"<!-- just a comment -->", b"<?xm"])
def test_a_file_that_stops_before_any_element_is_refused_as_incomplete(data: bytes) -> None:
    error = error_of(data)
    assert "incomplete (truncated)" in error.message


@pytest.mark.parametrize(
    "data", [b"hello, world", b"UPN,Surname\r\nA1,B\r\n", b"{}", b" x<CTfile/>"]
)
def test_text_that_is_not_xml_is_refused(data: bytes) -> None:
    error = error_of(data)
    assert error.message.startswith("not well-formed XML at line 1")
    assert "where the first element should start" in error.message


def truncation_points(text: str) -> list[int]:
    data = text.encode()
    return [
        data.index(b"<Header>") + 4,
        data.index(b"</Header>") - 3,
        data.index(b"<CTFpupilData>") + 5,
        data.index(b"<Pupil>") + 1,
        data.index(b"<Surname>") + 11,
        data.index(b"<Result>") + 8,
        data.index(b"</StageAssessment>") + 3,
        data.index(b"</Pupil>") + 8,
        data.index(b"</CTFpupilData>") + 2,
        len(data) - 3,
    ]


@pytest.mark.parametrize("index", range(10))
def test_a_truncated_file_is_refused_as_incomplete_with_its_end_position(index: int) -> None:
    text = ctf_text([pupil_xml(surname="Zoë"), pupil_xml()])
    data = text.encode()[: truncation_points(text)[index]]
    error = error_of(data)
    assert error.message.startswith("the file ends before the XML is complete")
    assert "incomplete (truncated)" in error.message
    assert REEXPORT in error.message
    assert error.line == data.count(b"\n") + 1


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_a_truncated_one_line_file_is_refused_as_incomplete(codec: str) -> None:
    text = ctf_text([pupil_xml(surname="Zoë")]).replace("\n", "")
    if codec == "utf-16":
        text = text.replace("UTF-8", "UTF-16")
    data = text.encode(codec)
    error = error_of(data[: len(data) - 40])
    assert "incomplete (truncated)" in error.message
    assert error.line == 1


def test_a_truncated_file_still_yields_the_pupils_before_the_cut() -> None:
    data = ctf_bytes([pupil_xml(upn=f"A9992000210{n:02d}") for n in range(50)])
    reader = CtfReader(data[: len(data) // 2], filename=FILENAME)
    seen = []
    with pytest.raises(FormatError, match="incomplete"):
        for pupil in reader.pupils():
            seen.append(pupil.upn)
    assert 10 < len(seen) < 50


def test_content_after_the_root_element_is_refused() -> None:
    text = ctf_text() + "<CTfile/>\n"
    error = error_of(text.encode())
    assert "Extra content at the end of the document" in error.message
    assert error.line == text.count("\n")


def test_a_file_without_a_header_is_refused() -> None:
    text = ctf_text()
    start, end = text.index("<Header>"), text.index("</Header>") + len("</Header>")
    error = error_of((text[:start] + text[end:]).encode())
    assert error.message.startswith("the file has no <Header>")
    assert REEXPORT in error.message
    error = error_of(b"<CTfile/>")
    assert error.message.startswith("the file has no <Header>")


def test_utf_32_is_refused_with_a_clear_message() -> None:
    error = error_of(ctf_text().encode("utf-32"))
    assert "UTF-32" in error.message


# Safety


SECRET = "KEYSTAGE-SECRET-7f3a9c"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def everything_read(data: bytes) -> str:
    """All the reader gives back for a file, error included, as one string."""
    parts = []
    try:
        reader = CtfReader(data, filename=FILENAME)
        parts.append(repr(reader.header))
        parts.extend(reader.warnings)
        parts.extend(repr(pupil) for pupil in reader.pupils())
    except FormatError as error:
        parts.append(str(error))
        parts.append(repr(error.__cause__))
        parts.append(repr(error.__context__))
    return "\n".join(parts)


def xxe_files(secret: Path) -> list[tuple[str, bytes]]:
    uri = secret.as_uri()
    entity = f'<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM "{uri}">]>'
    uses = ctf_text([pupil_xml(surname="&xxe;")], declaration="").replace("ExampleMIS", "&xxe;")
    return [
        ("external entity", (entity + "\n" + uses).encode()),
        (
            "after a declaration and a long comment",
            (
                '<?xml version="1.0"?>\n<!--' + "x" * 40_000 + "-->\n" + entity + "\n" + uses
            ).encode(),
        ),
        (
            "in UTF-16",
            ('<?xml version="1.0" encoding="UTF-16"?>\n' + entity + "\n" + uses).encode("utf-16"),
        ),
        (
            "external DTD",
            (f'<!DOCTYPE CTfile SYSTEM "{uri}">\n' + ctf_text(declaration="")).encode(),
        ),
        (
            "parameter entity",
            (
                f'<!DOCTYPE CTfile [<!ENTITY % p SYSTEM "{uri}"> %p;]>\n' + ctf_text(declaration="")
            ).encode(),
        ),
    ]


def test_entity_declarations_are_refused_and_an_external_file_is_never_read(
    secret_file: Path,
) -> None:
    for label, data in xxe_files(secret_file):
        with pytest.raises(FormatError) as caught:
            read_all(data)
        error = caught.value
        assert "entity declarations are not allowed in a CTF" in error.message, label
        assert error.line is not None, label
        assert SECRET not in everything_read(data), label


def test_an_entity_reference_without_a_declaration_is_not_well_formed(secret_file: Path) -> None:
    data = ctf_bytes([pupil_xml(surname="&xxe;")])
    error = error_of(data)
    assert "Entity 'xxe' not defined" in error.message
    assert SECRET not in everything_read(data)


def test_xinclude_is_not_processed(secret_file: Path) -> None:
    include = (
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
        f'href="{secret_file.as_uri()}" parse="text"/>'
    )
    data = ctf_bytes([pupil_xml(surname=include)])
    assert SECRET not in everything_read(data)
    (pupil,) = pupils_of(data)
    assert pupil.surname == ""


def test_a_billion_laughs_file_is_refused_without_expanding_anything() -> None:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    ]
    doctype = "<!DOCTYPE CTfile [\n" + "\n".join(entities) + "\n]>\n"
    data = (doctype + ctf_text([pupil_xml(surname="&lol9;")], declaration="")).encode()
    started = time.perf_counter()
    error = error_of(data)
    assert time.perf_counter() - started < 1
    assert "entity declarations are not allowed in a CTF" in error.message
    assert (error.line, error.column) == (1, 1)


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    deep = "<X>" * 70 + "</X>" * 70
    text = ctf_text([pupil_xml(), pupil_xml(extra=deep)])
    error = error_of(text.encode())
    assert error.message.startswith("elements are nested more than 64 levels deep")
    assert error.line == line_of(text, "<X>")
    shallow = ctf_text([pupil_xml(extra="<X>" * 10 + "</X>" * 10)])
    assert len(pupils_of(shallow.encode())) == 1
    error = error_of(shallow.encode(), max_depth=12)
    assert "more than 12 levels deep" in error.message


def test_a_normal_ctf_is_seven_levels_deep_and_the_limit_counts_exactly() -> None:
    # CTfile / CTFpupilData / Pupil / StageAssessments / KeyStage / StageAssessment / Result
    assert len(read_all(ctf_bytes(), max_depth=7)[1]) == 1
    error = error_of(ctf_bytes(), max_depth=6)
    assert "more than 6 levels deep" in error.message


def test_nesting_beyond_what_libxml2_allows_is_refused_as_too_deep() -> None:
    text = ctf_text([pupil_xml(extra="<X>" * 300 + "</X>" * 300)])
    error = error_of(text.encode(), max_depth=1000)
    assert "levels deep" in error.message


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    data = ctf_bytes([pupil_xml() for _ in range(20)])
    limit = len(data) - 1
    path = tmp_path / "big.xml"
    path.write_bytes(data)
    for source in (data, path, CountingStream(data)):
        with pytest.raises(FormatError) as caught:
            reader = CtfReader(source, filename=FILENAME, max_bytes=limit)
            list(reader.pupils())
        assert caught.value.message.startswith(f"the file is larger than the {limit / 1024:.0f} KB")
    stream = CountingStream(data)
    with pytest.raises(FormatError, match="larger than"):
        list(CtfReader(stream, filename=FILENAME, max_bytes=40_000).pupils())
    assert stream.given <= 40_000 + 256 * 1024
    assert len(pupils_of(data)) == 20


# Streaming


def many_pupils_file(path: Path, count: int) -> None:
    pupil = pupil_xml(blocks=[("KS1", [phonics_row()])])
    with path.open("w", encoding="utf-8") as out:
        head, tail = ctf_text(["@@"]).split("@@")
        out.write(head)
        for _ in range(count):
            out.write(pupil)
            out.write("\n")
        out.write(tail)


def test_twenty_thousand_pupils_stream_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "many.xml"
    many_pupils_file(path, 20_000)
    assert path.stat().st_size > 8 * 1024 * 1024
    reader = CtfReader(path, filename=FILENAME)
    tree_sizes = []
    count = 0
    tracemalloc.start()
    try:
        for pupil in reader.pupils():
            count += 1
            assert len(pupil.assessments) == 1
            if count % 2000 == 0:
                # White-box: the parser's tree holds only the pupils of the current chunk.
                tree_sizes.append(sum(1 for _ in reader._root.iter()))  # noqa: SLF001
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < 3 * 1024 * 1024
    assert max(tree_sizes) < 40_000


def test_pupils_come_before_the_whole_file_is_read() -> None:
    data = ctf_bytes([pupil_xml() for _ in range(500)])
    stream = CountingStream(data)
    reader = CtfReader(stream, filename=FILENAME)
    first = next(iter(reader.pupils()))
    assert first.upn == "A999200021001"
    assert stream.given < len(data) / 2


def test_close_releases_a_file_the_reader_opened(tmp_path: Path) -> None:
    path = tmp_path / "file.xml"
    path.write_bytes(ctf_bytes())
    with CtfReader(path, filename=FILENAME) as reader:
        stream = reader._stream  # noqa: SLF001
        assert not stream.closed
    assert stream.closed
    caller_owned = io.BytesIO(ctf_bytes())
    CtfReader(caller_owned, filename=FILENAME).close()
    assert not caller_owned.closed


def test_reading_pupils_after_close_is_a_programming_error() -> None:
    reader = CtfReader(ctf_bytes([pupil_xml() for _ in range(400)]), filename=FILENAME)
    pupils = reader.pupils()
    next(pupils)
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        list(pupils)


def test_a_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="could not be opened"):
        CtfReader(tmp_path / "missing.xml", filename="missing.xml")


def test_rows_are_right_whether_the_row_cache_hits_fills_up_or_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # White-box: rows that repeat are served from the cache; when rows rarely repeat the reader
    # stops caching. Either way each row must be read exactly.
    # The streaming reader's cache (the whole-file reader keeps every distinct row of the file).
    results = "12A" * 5 + "21"
    data = ctf_bytes([pupil_xml(blocks=[("FSP", eyfsp_rows(results))]) for _ in range(3)])
    reader = CtfReader(data, filename=FILENAME)
    pupils = list(reader.pupils())
    assert reader._rows  # noqa: SLF001 - 17 distinct rows cached, reused for pupils 2 and 3
    monkeypatch.setattr(ctf_module, "_ROW_CACHE_LIMIT", 3)
    small = CtfReader(data, filename=FILENAME)
    small_pupils = list(small.pupils())
    assert small._rows is None  # noqa: SLF001
    assert small_pupils == pupils
    for pupil in pupils:
        assert "".join(row.result for row in pupil.assessments) == results
        assert [row.component for row in pupil.assessments] == [f"E{n:02d}" for n in range(1, 18)]


# Any damage gives a FormatError, never another exception

VALID = ctf_text(
    [
        pupil_xml(blocks=[("FSP", eyfsp_rows()[:3])]),
        pupil_xml(upn="A999200021002", sex="<Gender>M</Gender>", blocks=[("KS1", [phonics_row()])]),
    ]
).encode()
TAGS = sorted({part.split(">")[0] for part in VALID.decode().split("<")[1:] if part[:1].isalpha()})
INSERTS = [
    b"<",
    b"&",
    b"]]>",
    b">",
    b"</",
    b"<!--",
    b"<![CDATA[",
    b"&#0;",
    b"\x00",
    b"\xff",
    b"<!DOCTYPE x>",
]


@st.composite
def damaged_ctf(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "truncate", "delete", "insert", "rename"]))
        at = draw(st.integers(0, len(data)))
        if action == "flip" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif action == "truncate":
            del data[at:]
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(INSERTS))
        else:
            tag = draw(st.sampled_from(TAGS)).encode()
            new = draw(st.text(alphabet="abcXYZ:-_.1 é<&", min_size=0, max_size=6)).encode()
            data = bytearray(bytes(data).replace(b"<" + tag + b">", b"<" + new + b">", 1))
    return bytes(data)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(damaged_ctf())
def test_a_damaged_ctf_either_reads_or_raises_format_error(data: bytes) -> None:
    try:
        reader = CtfReader(data, filename=FILENAME)
        for pupil in reader.pupils():
            assert isinstance(pupil, CtfPupil)
            for row in pupil.assessments:
                assert isinstance(row, CtfAssessment)
        reader.close()
    except FormatError as error:
        assert error.filename == FILENAME
        assert error.message


# The whole-file reader gives what the streaming reader gives


def both_readers(data: bytes, **kwargs: int) -> tuple[object, object]:
    """(streaming, whole-file) results for the same bytes: frames, or the FormatError."""
    results = []
    for read in (_streaming_frames, _whole_frames):
        try:
            results.append(read(data, **kwargs))
        except FormatError as error:
            results.append(error)
    return results[0], results[1]


def _streaming_frames(data: bytes, **kwargs: int) -> CtfFrames:
    with CtfReader(data, filename=FILENAME, **kwargs) as reader:
        return CtfFrames.from_pupils(reader.header, reader.warnings, list(reader.pupils()))


def _whole_frames(data: bytes, **kwargs: int) -> CtfFrames:
    return read_ctf_frames(data, filename=FILENAME, **kwargs)


def assert_same(data: bytes, **kwargs: int) -> None:
    streaming, whole = both_readers(data, **kwargs)
    if isinstance(streaming, FormatError) or isinstance(whole, FormatError):
        assert isinstance(streaming, FormatError), whole
        assert isinstance(whole, FormatError), streaming
        assert (str(whole), whole.line, whole.column) == (
            str(streaming), streaming.line, streaming.column)
        return
    assert whole.header == streaming.header
    assert whole.warnings == streaming.warnings
    assert whole.pupils.equals(streaming.pupils)
    assert whole.rows.equals(streaming.rows)
    # Without row lines, the same rows with lines left null.
    unlined = read_ctf_frames(data, filename=FILENAME, row_lines=False, **kwargs)
    assert unlined.rows.drop("line").equals(streaming.rows.drop("line"))
    # The latest row of each component, chosen in polars, is latest_results' choice.
    pupils = whole.to_pupils()
    chosen = {id(row) for p in pupils for row in latest_results(p.assessments).values()}
    flags = [id(row) in chosen for p in pupils for row in p.assessments]
    assert latest_flags(whole.rows).to_list() == flags
    assert latest_flags(unlined.rows).to_list() == flags


CELL = st.text(alphabet="aAzZ09 -&<>'\"\u00e9\u4e2d\t\n", max_size=5)
NAMES = ["Locale", "Year", "Subject", "Method", "Component", "ResultStatus", "ResultQualifier",
         "Result", "ResultDate", "Stage", "Extra"]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def untidy_row(draw: st.DrawFn) -> str:
    """A StageAssessment as untidy files write it: any case, values from a small alphabet,
    repeated or unknown children, empty elements, whitespace and line breaks anywhere."""
    tag = draw(st.sampled_from(["StageAssessment", "STAGEASSESSMENT", "stageassessment"]))
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(NAMES + [n.upper() for n in NAMES[:4]]))
        value = draw(st.one_of(CELL, st.sampled_from(
            ["2026", "2025", "FSP", "ENG", "TA", "E01", "PSC", "R", "1", "WA", "2026-06-20",
             "2026-05-01", "", "  36 "])))
        parts.append(f"<{name}/>" if value == "" and draw(st.booleans())
                     else f"<{name}>{_escape(value)}</{name}>")
    space = draw(st.sampled_from(["", "\n", "\r\n  ", " "]))
    if not parts and draw(st.booleans()):
        return f"<{tag}/>"
    return f"<{tag}>{space}{space.join(parts)}{space}</{tag}>"


@st.composite
def untidy_container(draw: st.DrawFn) -> str:
    items = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["block", "block", "row", "leaf"]))
        if kind == "row":
            items.append(draw(untidy_row()))
        elif kind == "leaf":
            items.append("<Note>x</Note>")
        else:
            rows = draw(st.lists(untidy_row(), max_size=4))
            stage = draw(st.sampled_from(["FSP", "fsp", " ", "KS1", ""]))
            where = draw(st.integers(0, len(rows)))
            inner = [*rows[:where], f"<Stage>{stage}</Stage>", *rows[where:]]
            tag = draw(st.sampled_from(["KeyStage", "KEYSTAGE"]))
            items.append(f"<{tag}>" + "\n".join(inner) + f"</{tag}>")
    return "<StageAssessments>" + "\n".join(items) + "</StageAssessments>"


DISTURBANCES = ["", "<!-- a comment\n over two lines -->", "<Extra a='1'>text</Extra>",
                "<Deep><Deeper><Deepest>x</Deepest></Deeper></Deep>", "<?pi x?>",
                "<![CDATA[ <Result>9</Result> ]]>", "&amp;&#13;&#10;", "text"]


@st.composite
def untidy_ctf(draw: st.DrawFn) -> bytes:
    """A CTF of pupils with untidy StageAssessments containers, sometimes disturbed in one place
    the whole-file reader's expressions must notice (comments, attributes, nesting, text)."""
    pupils = []
    for n in range(draw(st.integers(1, 3))):
        containers = draw(st.lists(untidy_container(), min_size=0, max_size=2))
        body = "\n".join(containers)
        disturbance = draw(st.sampled_from(DISTURBANCES))
        if disturbance and containers and draw(st.booleans()):
            at = draw(st.integers(0, len(body)))
            at = body.rfind(">", 0, at) + 1 or len("<StageAssessments>")
            body = body[:at] + disturbance + body[at:]
        pupils.append(pupil_xml(upn=f"A99920002100{n}", blocks=[], extra=body))
    text = ctf_text(pupils)
    if draw(st.booleans()):
        text = text.replace("<CTfile>", '<CTfile xmlns="urn:example">')
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16"])))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(untidy_ctf())
def test_the_whole_file_reader_reads_untidy_files_as_the_streaming_reader_does(
    data: bytes,
) -> None:
    assert_same(data)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(damaged_ctf())
def test_the_whole_file_reader_reads_or_refuses_damaged_files_as_the_streaming_reader_does(
    data: bytes,
) -> None:
    assert_same(data)


def test_the_whole_file_reader_gives_the_same_on_every_file_of_the_examples(
    secret_file: Path,
) -> None:
    examples = [ctf_bytes(), VALID, *(data for _, data in xxe_files(secret_file)),
                ctf_bytes().replace(b"</CTfile>", b"</CTfile><x/>"),
                ctf_bytes()[:-40], b"\xef\xbb\xbf" + ctf_bytes().replace(b"\n", b"\r\n")]
    for data in examples:
        assert_same(data)
    assert_same(ctf_bytes(), max_depth=6)
    assert_same(ctf_bytes(), max_bytes=100)
