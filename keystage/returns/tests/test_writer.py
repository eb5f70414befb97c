"""Tests for the DfE return files: layout data, XSDs, the streaming writer and the reader.

Golden files are in tests/golden/. After a deliberate change to the output, regenerate them with
KEYSTAGE_REGENERATE_GOLDEN=1 and review the difference before committing it.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from keystage.formats.assessment_spec import collection_components
from keystage.formats.assessment_spec import components as all_components
from keystage.formats.errors import FormatError
from keystage.formats.upn import make_upn
from keystage.returns import writer as writer_module
from keystage.returns.layout import (
    COLUMNS,
    RETURN_COLLECTIONS,
    LayoutError,
    file_name,
    layout_for,
    load_layouts,
    xsd_path,
)
from keystage.returns.reader import read_return, validate_return
from keystage.returns.writer import PUPIL_COLUMNS, ReturnHeader, write_return

GOLDEN = Path(__file__).with_name("golden")
YEAR = 2026
CREATED = datetime(2026, 7, 1, 10, 0, 0)


def header(collection: str, serial: int = 1) -> ReturnHeader:
    return ReturnHeader(
        la_code="999", collection=collection, year=YEAR, serial=serial, created=CREATED
    )


def component_codes(collection: str) -> list[str]:
    return [c.component for c in collection_components(collection, YEAR)]


def pupil(
    serial: int,
    results: dict[str, str | None],
    *,
    estab: str | None = "2000",
    urn: str | None = None,
    surname: str = "Smith",
    forename: str = "Amy",
    dob: str = "2019-10-01",
    sex: str = "F",
    ncyear: str = "R",
    dates: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One input row; a PVI setting is given by its URN and no Estab."""
    row: dict[str, Any] = {
        "lea": "999",
        "estab": estab,
        "urn": urn,
        "is_pvi": estab is None,
        "upn": make_upn("999", estab or "5000", 2019, serial),
        "surname": surname,
        "forename": forename,
        "dob": dob,
        "sex": sex,
        "ncyear": ncyear,
        **results,
    }
    for component, value in (dates or {}).items():
        row[component + "_date"] = value
    return row


def frame(collection: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The rows as the caller gives them: every column text but is_pvi, nulls where absent."""
    codes = component_codes(collection)
    columns = [*PUPIL_COLUMNS, *codes]
    dated = sorted({key for row in rows for key in row if key.endswith("_date")})
    schema = {c: (pl.Boolean if c == "is_pvi" else pl.String) for c in [*columns, *dated]}
    return pl.DataFrame([{c: row.get(c) for c in schema} for row in rows], schema=schema)


def expected(collection: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What read_return should give back for the rows."""
    omit = layout_for(collection, YEAR).omit_results
    out = []
    for row in rows:
        results = {
            c: row[c] for c in component_codes(collection) if row.get(c) not in (None, *omit)
        }
        out.append(
            {
                "lea": row["lea"],
                "estab": None if row["is_pvi"] else row["estab"],
                "urn": row["urn"] if row["is_pvi"] else None,
                **{key: row[key] for key in ("upn", "surname", "forename", "dob", "sex")},
                "ncyear": row["ncyear"],
                "results": results,
                "result_dates": {
                    c: row[c + "_date"] for c in results if row.get(c + "_date") is not None
                },
            }
        )
    return out


def eyfsp_results(values: str) -> dict[str, str | None]:
    return dict(zip(component_codes("eyfsp"), values, strict=True))


# A small fixed input per collection: two schools (one spanning the chunk boundary in the
# round-trip test), names with XML special characters and, for EYFSP, a PVI setting.
FIXED: dict[str, list[dict[str, Any]]] = {
    "eyfsp": [
        pupil(1, eyfsp_results("22222222222222222"), surname="O'Brien", forename="Siobhán"),
        pupil(2, eyfsp_results("21212121212121212"), surname="Smith & Jones", sex="M"),
        pupil(3, eyfsp_results("AAAAAAAAAAAAAAAAA"), surname="<b>Bold</b>", forename='Zoë "Zo"'),
        pupil(4, eyfsp_results("22222222222211111"), estab="2001", sex="M"),
        pupil(5, eyfsp_results("12121212121212121"), estab=None, urn="512345", surname="Nowak"),
        pupil(6, eyfsp_results("22222222222222222"), estab=None, urn="612346", dob="2020-08-31"),
    ],
    "phonics": [
        pupil(11, {"PSC": "36"}, ncyear="1", dob="2019-05-04"),
        pupil(12, {"PSC": "0"}, ncyear="1", surname="D'Arcy", sex="M"),
        pupil(13, {"PSC": "A"}, ncyear="1", surname="Ng & Co"),
        pupil(14, {"PSC": "40"}, estab="3001", ncyear="1"),
        pupil(15, {"PSC": "31"}, estab="3001", ncyear="2", dob="2018-02-28", sex="M"),
        pupil(16, {"PSC": "Q"}, estab="3001", ncyear="2", dob="2018-03-01"),
    ],
    "ks1": [
        pupil(21, {"RE": "EXS", "WR": "WTS", "MAT": "GDS", "SCI": "EXS"}, ncyear="2"),
        pupil(22, {"RE": "PK2", "WR": "PK1", "MAT": "PK3", "SCI": "HNM"}, ncyear="2", sex="M"),
        pupil(23, {"RE": "A", "WR": "A", "MAT": "A", "SCI": "A"}, ncyear="2", surname="Ó Sé"),
        pupil(24, {"RE": "EM", "WR": "EM", "MAT": "EM", "SCI": None}, estab="2100", ncyear="2"),
    ],
    "ks2ta": [
        pupil(31, {"WR": "GDS", "SCI": "EXS"}, ncyear="6", dates={"WR": "2026-06-12"}),
        pupil(32, {"WR": "WTS", "SCI": "HNM"}, ncyear="6", sex="M", surname="Smith & Jones"),
        pupil(
            33,
            {"RE": "PK5", "WR": "PK4", "MAT": "PK6", "SCI": "HNM"},
            ncyear="6",
            dates={"RE": "2026-06-10", "WR": "2026-06-12"},
        ),
        pupil(34, {"WR": "L", "SCI": "L"}, estab="2200", ncyear="6", forename="<script>"),
        pupil(
            35, {"WR": "EXS", "SCI": "EXS"}, estab="2200", ncyear="6", dates={"SCI": "2026-06-15"}
        ),
    ],
}


def write_fixed(collection: str, folder: Path, chunk_sizes: tuple[int, ...] = ()) -> Path:
    """Write the collection's fixed input, split into chunks of the given sizes (then the rest)."""
    rows = FIXED[collection]
    data = frame(collection, rows)
    chunks, start = [], 0
    for size in chunk_sizes:
        chunks.append(data.slice(start, size))
        start += size
    chunks.append(data.slice(start))
    name = file_name("999", layout_for(collection, YEAR).collection_code, YEAR, 1)
    path = folder / name
    write_return(path, header(collection), chunks)
    return path


def read_all(path: Path) -> list[dict[str, Any]]:
    _, pupils = read_return(path)
    return list(pupils)


# -- the layout data ---------------------------------------------------------------------------


def test_layout_for_gives_the_collection_code_and_xsd() -> None:
    layout = layout_for("eyfsp", YEAR)
    assert layout.collection_code == "EYFSP"
    assert layout.includes_pvi
    assert xsd_path(layout).name == "eyfsp_v1.xsd"
    assert layout.reference_date_in(YEAR) == date(YEAR, 6, 30)


def test_layout_for_raises_lookup_error_naming_the_years_covered() -> None:
    with pytest.raises(LookupError, match=r"no eyfsp return layout for 2019: .*2022-"):
        layout_for("eyfsp", 2019)
    with pytest.raises(LookupError, match="no return layout for collection 'mtc'"):
        layout_for("mtc", YEAR)


def test_file_name_is_la_collection_year_and_three_digit_serial() -> None:
    assert file_name("999", "EYFSP", 2026, 1) == "999_EYFSP_2026_001.xml"
    assert file_name("201", "KS2TA", 2027, 12) == "201_KS2TA_2027_012.xml"
    with pytest.raises(ValueError, match="serial 1000"):
        file_name("999", "EYFSP", 2026, 1000)
    with pytest.raises(ValueError, match="LA code"):
        file_name("99", "EYFSP", 2026, 1)


def layout_file(folder: Path, *rows: str, header_row: str | None = None) -> Path:
    (folder / "xsd").mkdir(exist_ok=True)
    (folder / "xsd" / "eyfsp_v1.xsd").write_text("<schema/>")
    columns = header_row or ",".join(COLUMNS)
    path = folder / "return_layouts.csv"
    path.write_text("\n".join(["# a comment", columns, *rows]) + "\n")
    return path


@pytest.mark.parametrize(
    ("rows", "header_row", "problem"),
    [
        ([], "collection,first_year,layout", "line 2: the header must be .*missing last_year"),
        (
            ["mtc,2022,,MTC,SUM,06-30,v1,eyfsp_v1.xsd,0,4,"],
            None,
            "line 3: unknown collection 'mtc'",
        ),
        (
            [
                "eyfsp,2022,2025,EYFSP,SUM,06-30,v1,eyfsp_v1.xsd,1,R,",
                "eyfsp,2025,,EYFSP,SUM,06-30,v2,eyfsp_v1.xsd,1,R,",
            ],
            None,
            "line 4: the years of this eyfsp layout overlap line 3",
        ),
        (["eyfsp,2022,,EYFSP,SUM,06-31,v1,eyfsp_v1.xsd,1,R,"], None, "line 3: reference_date"),
        (["eyfsp,2022,,EYFSP,SUM,06-30,v1,missing.xsd,1,R,"], None, "line 3: xsd 'missing.xsd'"),
        (["eyfsp,2022,,EYFSP,SUM,06-30,v1,eyfsp_v1.xsd,1,R"], None, "line 3: 10 values"),
    ],
)
def test_load_layouts_names_the_line_of_a_bad_layout_file(
    tmp_path: Path, rows: list[str], header_row: str | None, problem: str
) -> None:
    path = layout_file(tmp_path, *rows, header_row=header_row)
    with pytest.raises(LayoutError, match="return_layouts.csv, " + problem):
        load_layouts(path)


def test_every_return_collection_has_a_layout_and_components_this_year() -> None:
    for collection in RETURN_COLLECTIONS:
        assert layout_for(collection, YEAR).collection == collection
        assert collection_components(collection, YEAR)


# -- golden files and validation ---------------------------------------------------------------


@pytest.mark.parametrize("collection", RETURN_COLLECTIONS)
def test_written_return_matches_its_golden_file_byte_for_byte(
    collection: str, tmp_path: Path
) -> None:
    path = write_fixed(collection, tmp_path)
    golden = GOLDEN / path.name
    if os.environ.get("KEYSTAGE_REGENERATE_GOLDEN") == "1":
        golden.write_bytes(path.read_bytes())
        pytest.skip(f"regenerated {golden.name}: review the difference before committing it")
    assert path.read_bytes() == golden.read_bytes()


@pytest.mark.parametrize("collection", RETURN_COLLECTIONS)
def test_written_return_is_valid_against_its_xsd(collection: str, tmp_path: Path) -> None:
    path = write_fixed(collection, tmp_path, chunk_sizes=(1,))
    assert validate_return(path, layout_for(collection, YEAR)) == []


def test_golden_files_are_valid_against_their_xsds() -> None:
    for collection in RETURN_COLLECTIONS:
        layout = layout_for(collection, YEAR)
        golden = GOLDEN / file_name("999", layout.collection_code, YEAR, 1)
        assert validate_return(golden, layout) == []


def tamper(path: Path, old: str, new: str, occurrence: int = 1) -> int:
    """Replace the nth line containing old (new None deletes it); return its line number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    found = [n for n, line in enumerate(lines) if old in line]
    index = found[occurrence - 1]
    if new:
        lines[index] = lines[index].replace(old, new)
    else:
        del lines[index]
    path.write_text("\n".join(lines), encoding="utf-8")
    return index + 1


@pytest.mark.parametrize(
    ("collection", "old", "new", "occurrence", "problem"),
    [
        ("eyfsp", "<Sex>F</Sex>", "<Sex>X</Sex>", 1, "Element 'Sex'"),
        ("eyfsp", "<Sex>M</Sex>", "<Sex>U</Sex>", 2, "Element 'Sex'"),
        ("ks1", "<Forename>Amy</Forename>", "", 4, "Element 'DOB': This element is not expected"),
        ("eyfsp", "<Component>E05</Component>", "<Component>E18</Component>", 3, "E18"),
        ("ks2ta", "<Component>SCI</Component>", "<Component>MTC</Component>", 2, "MTC"),
        ("phonics", "<Estab>3001</Estab>", "<URN>512345</URN>", 1, "Element 'URN'"),
        ("phonics", "<Result>40</Result>", "<Result>41</Result>", 1, "'41'"),
        ("ks2ta", "<NCyearActual>6</NCyearActual>", "<NCyearActual>5</NCyearActual>", 5, "'5'"),
    ],
)
def test_tampered_return_fails_validation_naming_the_file_and_line(
    collection: str, old: str, new: str, occurrence: int, problem: str, tmp_path: Path
) -> None:
    path = write_fixed(collection, tmp_path)
    line = tamper(path, old, new, occurrence)
    messages = validate_return(path, layout_for(collection, YEAR))
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"{path.name}, line {line}: ")
    assert problem in messages[0]


def test_not_well_formed_return_fails_validation_naming_the_line(tmp_path: Path) -> None:
    path = write_fixed("ks1", tmp_path)
    line = tamper(path, "<Surname>Ó Sé</Surname>", "<Surname>Ó Sé</Surnam>")
    messages = validate_return(path, layout_for("ks1", YEAR))
    assert messages[0].startswith(f"{path.name}, line {line}: The file is not well-formed XML")


def test_return_with_a_doctype_is_refused_and_its_entities_are_not_expanded(
    tmp_path: Path,
) -> None:
    path = write_fixed("phonics", tmp_path)
    text = path.read_text()
    doctype = '<!DOCTYPE Message [<!ENTITY boom "Bang">]>\n<Message>'
    path.write_text(text.replace("<Message>", doctype, 1).replace(">Smith<", ">&boom;<", 1))
    messages = validate_return(path, layout_for("phonics", YEAR))
    assert any("document type declaration" in m for m in messages)
    with pytest.raises(FormatError, match="document type declaration"):
        read_return(path)


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("collection", RETURN_COLLECTIONS)
def test_reading_a_written_return_gives_back_its_input(collection: str, tmp_path: Path) -> None:
    # The first school's pupils are split across the first two chunks.
    path = write_fixed(collection, tmp_path, chunk_sizes=(1, 2))
    assert read_all(path) == expected(collection, FIXED[collection])
    head, _ = read_return(path)
    assert head["collection"] == layout_for(collection, YEAR).collection_code
    assert head["year"] == "2026"
    assert head["serial_no"] == "001"
    assert head["date_time"] == "2026-07-01T10:00:00"


def test_establishment_spanning_two_chunks_is_written_once(tmp_path: Path) -> None:
    path = write_fixed("eyfsp", tmp_path, chunk_sizes=(2, 1))
    text = path.read_text()
    assert text.count("<Estab>2000</Estab>") == 1
    assert text.count("<Establishment>") == 4
    assert [p["estab"] for p in read_all(path)] == ["2000", "2000", "2000", "2001", None, None]


def test_pvi_settings_are_written_with_their_urn_and_no_estab(tmp_path: Path) -> None:
    path = write_fixed("eyfsp", tmp_path)
    text = path.read_text()
    assert "      <LEA>999</LEA>\n      <URN>512345</URN>\n      <Pupils>\n" in text
    pvi = [p for p in read_all(path) if p["urn"]]
    assert [(p["urn"], p["estab"]) for p in pvi] == [("512345", None), ("612346", None)]


def test_xml_special_characters_in_names_are_escaped_and_read_back(tmp_path: Path) -> None:
    path = write_fixed("eyfsp", tmp_path)
    text = path.read_text()
    assert "<Surname>O&apos;Brien</Surname>" in text
    assert "<Surname>Smith &amp; Jones</Surname>" in text
    assert "<Surname>&lt;b&gt;Bold&lt;/b&gt;</Surname>" in text
    surnames = [p["surname"] for p in read_all(path)]
    assert surnames[:3] == ["O'Brien", "Smith & Jones", "<b>Bold</b>"]


def test_summary_gives_checksum_size_and_counts_of_what_was_written(tmp_path: Path) -> None:
    rows = FIXED["phonics"] + [pupil(17, {"PSC": "36"}, estab="3002", ncyear="1")]
    path = tmp_path / "999_PHONICS_2026_001.xml"
    summary = write_return(path, header("phonics"), [frame("phonics", rows)])
    data = path.read_bytes()
    assert summary.path == path
    assert summary.sha256 == hashlib.sha256(data).hexdigest()
    assert summary.size == len(data)
    assert (summary.schools, summary.pupils) == (3, 7)
    assert summary.results == {"PSC": {"0": 1, "31": 1, "36": 2, "40": 1, "A": 1, "Q": 1}}


def test_summary_counts_add_up_across_chunks(tmp_path: Path) -> None:
    data = frame("eyfsp", FIXED["eyfsp"])
    summary = write_return(tmp_path / "a.xml", header("eyfsp"), [data.slice(0, 3), data.slice(3)])
    assert (summary.schools, summary.pupils) == (4, 6)
    assert summary.results["E01"] == {"1": 1, "2": 4, "A": 1}
    assert summary.results["E17"] == {"1": 2, "2": 3, "A": 1}


def test_phonics_outcomes_wa_and_wt_are_not_written(tmp_path: Path) -> None:
    rows = [
        pupil(41, {"PSC": "Wa"}, ncyear="1"),
        pupil(42, {"PSC": "33"}, ncyear="1"),
        pupil(43, {"PSC": "Wt"}, ncyear="2"),
    ]
    path = tmp_path / "999_PHONICS_2026_001.xml"
    summary = write_return(path, header("phonics"), [frame("phonics", rows)])
    text = path.read_text()
    assert ">Wa<" not in text and ">Wt<" not in text
    assert text.count("<StageAssessments/>") == 2
    assert summary.results == {"PSC": {"33": 1}}
    assert [p["results"] for p in read_all(path)] == [{}, {"PSC": "33"}, {}]
    # A pupil left with no mark cannot go to the DfE: the XSD says so, naming the pupil's line.
    messages = validate_return(path, layout_for("phonics", YEAR))
    assert len(messages) == 2
    assert all("StageAssessments" in m for m in messages)


def test_pupils_not_sorted_by_establishment_are_refused(tmp_path: Path) -> None:
    rows = [pupil(1, {"PSC": "1"}), pupil(2, {"PSC": "2"}, estab="2001"), pupil(3, {"PSC": "3"})]
    path = tmp_path / "r.xml"
    with pytest.raises(ValueError, match="establishment 999/2000 appears again"):
        write_return(
            path, header("phonics"), [frame("phonics", rows[:2]), frame("phonics", rows[2:])]
        )
    assert list(tmp_path.iterdir()) == []


def test_pvi_pupil_in_a_return_without_pvi_settings_is_refused(tmp_path: Path) -> None:
    rows = [pupil(1, {"PSC": "1"}, estab=None, urn="512345", ncyear="1")]
    with pytest.raises(ValueError, match="PVI setting, but the phonics return carries schools"):
        write_return(tmp_path / "r.xml", header("phonics"), [frame("phonics", rows)])


def test_frame_with_missing_or_unknown_columns_is_refused(tmp_path: Path) -> None:
    data = frame("ks1", FIXED["ks1"])
    with pytest.raises(ValueError, match="missing columns SCI; unknown columns SCIENCE"):
        write_return(tmp_path / "r.xml", header("ks1"), [data.rename({"SCI": "SCIENCE"})])


def test_control_character_in_a_name_is_refused(tmp_path: Path) -> None:
    rows = [pupil(1, {"RE": "EXS"}, surname="Smi\x07th", ncyear="2")]
    with pytest.raises(ValueError, match="surname of pupil .* control character"):
        write_return(tmp_path / "r.xml", header("ks1"), [frame("ks1", rows)])


def test_return_with_no_pupils_is_written_and_fails_validation(tmp_path: Path) -> None:
    path = tmp_path / "999_KS1_2026_001.xml"
    summary = write_return(path, header("ks1"), [])
    assert (summary.schools, summary.pupils) == (0, 0)
    assert "  <Establishments/>\n</Message>\n" in path.read_text()
    assert "Establishments" in validate_return(path, layout_for("ks1", YEAR))[0]


# -- the XSDs agree with the specification data ------------------------------------------------

PROBES = (
    {code for comp in all_components() for code in comp.results | {comp.component}}
    | {comp.subject for comp in all_components()}
    | {comp.stage for comp in all_components()}
    | {comp.method for comp in all_components()}
    | {comp.qualifier for comp in all_components()}
    | {str(n) for n in range(121)}
    | {"", "00", "05", "-1", "x", "e01", "exs", "N1", "N2", "R", "Wa", "Wt", "U", "ENG", "FD"}
)


def accepted(folder: Path, collection: str, element: str) -> set[str]:
    """The probe values the collection's XSD accepts in one element of a valid file."""
    layout = layout_for(collection, YEAR)
    first = collection_components(collection, YEAR)[0]
    # One pupil with one result, so that no probe clashes with another of the pupil's components.
    row = pupil(1, {first.component: sorted(first.results)[0]}, ncyear=layout.ncyears[0])
    path = folder / f"{collection}.xml"
    write_return(path, header(collection), [frame(collection, [row])])
    text = path.read_text()
    schema = etree.XMLSchema(etree.parse(str(xsd_path(layout))))
    start = text.index(f"<{element}>") + len(element) + 2
    end = text.index(f"</{element}>", start)
    values = set()
    for probe in PROBES:
        document = text[:start] + probe + text[end:]
        if schema.validate(etree.fromstring(document.encode())):
            values.add(probe)
    return values


@pytest.mark.parametrize("collection", RETURN_COLLECTIONS)
def test_xsd_code_lists_agree_with_assessment_components_csv(
    collection: str, tmp_path: Path
) -> None:
    layout = layout_for(collection, YEAR)
    comps = collection_components(collection, YEAR)
    results = set().union(*(c.results for c in comps)) - layout.omit_results
    assert accepted(tmp_path, collection, "Result") == results
    assert accepted(tmp_path, collection, "Component") == {c.component for c in comps}
    assert accepted(tmp_path, collection, "Subject") == {c.subject for c in comps}
    assert accepted(tmp_path, collection, "Stage") == {c.stage for c in comps}
    assert accepted(tmp_path, collection, "Method") == {c.method for c in comps}
    assert accepted(tmp_path, collection, "ResultQualifier") == {c.qualifier for c in comps}


@pytest.mark.parametrize("collection", RETURN_COLLECTIONS)
def test_xsd_header_and_year_groups_agree_with_return_layouts_csv(
    collection: str, tmp_path: Path
) -> None:
    layout = layout_for(collection, YEAR)
    schema_text = xsd_path(layout).read_text()
    assert f'<xs:element name="Collection" type="xs:string" fixed="{layout.collection_code}"/>' in (
        schema_text
    )
    assert f'<xs:element name="Term" type="xs:string" fixed="{layout.term}"/>' in schema_text
    assert accepted(tmp_path, collection, "NCyearActual") == set(layout.ncyears)
    assert ('<xs:element name="URN" type="URNType"/>' in schema_text) == layout.includes_pvi


def test_every_layout_names_an_xsd_that_compiles() -> None:
    for layout in load_layouts():
        etree.XMLSchema(etree.parse(str(xsd_path(layout))))


# -- atomic writing ----------------------------------------------------------------------------


def failing_chunks(collection: str) -> Iterator[pl.DataFrame]:
    data = frame(collection, FIXED[collection])
    yield data.slice(0, 2)
    raise RuntimeError("the database connection was lost")


def test_exception_mid_stream_leaves_no_file_and_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "999_EYFSP_2026_001.xml"
    with pytest.raises(RuntimeError, match="connection was lost"):
        write_return(path, header("eyfsp"), failing_chunks("eyfsp"))
    assert list(tmp_path.iterdir()) == []


def test_exception_mid_stream_keeps_an_earlier_file_of_the_same_name(tmp_path: Path) -> None:
    path = write_fixed("eyfsp", tmp_path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        write_return(path, header("eyfsp"), failing_chunks("eyfsp"))
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


class FullDisk:
    """A file whose writes fail with 'no space left on device' after the first."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.writes = 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        if self.writes > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.handle.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)

    def __enter__(self) -> FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def test_disk_full_leaves_no_file_and_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = writer_module._open_partial
    seen: list[Path] = []

    def open_partial(path: Path) -> tuple[Path, Any]:
        partial, handle = real_open(path)
        seen.append(partial)
        return partial, FullDisk(handle)

    monkeypatch.setattr(writer_module, "_open_partial", open_partial)
    path = tmp_path / "999_KS2TA_2026_001.xml"
    with pytest.raises(OSError) as raised:
        write_return(path, header("ks2ta"), [frame("ks2ta", FIXED["ks2ta"])])
    assert raised.value.errno == errno.ENOSPC
    assert seen[0].name.startswith(".999_KS2TA_2026_001.xml.")
    assert seen[0].name.endswith(".partial")
    assert list(tmp_path.iterdir()) == []


# -- property: anything the code lists allow round-trips ---------------------------------------

NAME = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs", "Cn")), min_size=1, max_size=100
).filter(lambda s: s[0] not in " \u2028\u2029" and s[-1] not in " \u2028\u2029")


@st.composite
def pupils_of(draw: st.DrawFn, collection: str) -> list[dict[str, Any]]:
    layout = layout_for(collection, YEAR)
    comps = collection_components(collection, YEAR)
    count = draw(st.integers(min_value=1, max_value=12))
    rows = []
    for serial in range(count):
        results = {
            c.component: draw(st.none() | st.sampled_from(sorted(c.results - layout.omit_results)))
            for c in comps
        }
        if all(v is None for v in results.values()):
            results[comps[0].component] = sorted(comps[0].results - layout.omit_results)[0]
        pvi = layout.includes_pvi and draw(st.booleans())
        rows.append(
            pupil(
                serial,
                results,
                estab=None if pvi else draw(st.sampled_from(["2000", "2001", "4999"])),
                urn=draw(st.sampled_from(["512345", "700001"])) if pvi else "100001",
                surname=draw(NAME),
                forename=draw(NAME),
                dob=draw(st.dates(date(2010, 1, 1), date(2022, 12, 31))).isoformat(),
                sex=draw(st.sampled_from(["M", "F"])),
                ncyear=draw(st.sampled_from(layout.ncyears)),
            )
        )
    # Sorted by establishment, as the caller streams them; sorted() keeps each school's order.
    return sorted(rows, key=lambda row: (row["is_pvi"], row["estab"] or "", row["urn"] or ""))


@pytest.mark.parametrize("collection", RETURN_COLLECTIONS)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_valid_pupils_write_validate_and_read_back_equal(
    collection: str, tmp_path: Path, data: st.DataObject
) -> None:
    rows = data.draw(pupils_of(collection))
    cut = data.draw(st.integers(min_value=0, max_value=len(rows)))
    whole = frame(collection, rows)
    path = tmp_path / "return.xml"
    summary = write_return(path, header(collection), [whole.slice(0, cut), whole.slice(cut)])
    assert validate_return(path, layout_for(collection, YEAR)) == []
    assert read_all(path) == expected(collection, rows)
    assert summary.pupils == len(rows)
