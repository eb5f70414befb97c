"""Writing the synthetic world as CTF files: layout, truth, untidiness and planted errors.

Files are read back with lxml here, independently of the product's CTF reader, so a bug in one
cannot hide a bug in the other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from lxml import etree

from keystage.datasets import COLLECTION_CODES, threshold
from keystage.formats.assessment_spec import collection_components
from keystage.formats.upn import is_temporary, is_valid
from keystage.synth.ctf_writer import (
    ERROR_MENU,
    MTC_SUPPLIER,
    PLANTED_SCHEMA,
    CtfFile,
    CtfWriteReport,
    UntidyRates,
    write_ctf_batch_zip,
    write_ctfs,
)
from keystage.synth.world import World, WorldSpec, build_world

YEAR = 2026
PASS_MARK = threshold("phonics", "pass_mark")
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
TAGS = {"eyfsp": "FSP", "phonics": "PHO", "ks1": "KS1", "ks2ta": "KS2", "mtc": "CTF"}


@cache
def small_world() -> World:
    """One LA with six primaries (and its infant/junior pair, special school and PVIs)."""
    return build_world(WorldSpec(seed=7, la_codes=("999",), primary_schools=6))


@cache
def la_world() -> World:
    """The demo LA at its default size: enough files to measure rates."""
    return build_world(WorldSpec(seed=2, la_codes=("999",)))


@pytest.fixture(scope="module")
def with_errors(tmp_path_factory: pytest.TempPathFactory) -> CtfWriteReport:
    """The small world's five collections, untidy, with 5% of pupils carrying an error."""
    return write_ctfs(small_world(), tmp_path_factory.mktemp("errors"), errors=0.05, seed=3)


# --- reading files back -----------------------------------------------------------------------


@dataclass
class Record:
    """A Pupil element as read back."""

    upn: str | None
    surname: str
    forename: str
    middle: str | None
    dob: str
    sex: str | None
    ncyear: str
    stages: list[str]
    rows: list[dict[str, str | None]]
    keystages: int

    @property
    def collection(self) -> str:
        components = {r["Component"] for r in self.rows}
        stage = self.stages[0]
        if stage == "FSP":
            return "eyfsp"
        if stage == "KS1":
            return "phonics" if "PSC" in components else "ks1"
        return "mtc" if "MTC" in components else "ks2ta"

    def latest(self) -> dict[str, str]:
        """Latest R result per component: later ResultDate, then later row; Wa/Wt ignored."""
        best: dict[str, tuple[tuple[str, int], str]] = {}
        for position, row in enumerate(self.rows):
            result = row["Result"] or ""
            if row["ResultStatus"] != "R" or result in ("Wa", "Wt"):
                continue
            key = (row["ResultDate"] or "", position)
            component = row["Component"] or ""
            if component not in best or key > best[component][0]:
                best[component] = (key, result)
        return {component: value for component, (_, value) in best.items()}


def text(element: etree._Element | None, path: str) -> str | None:
    """Text of a child path, with empty elements read as absent."""
    if element is None:
        return None
    found = element.find(path)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text


def parse(path: Path) -> etree._Element:
    """The root of a CTF file, parsed without resolving entities or reaching the network."""
    return etree.fromstring(path.read_bytes(), PARSER)


def records(root: etree._Element) -> list[Record]:
    """Every Pupil of a parsed CTF."""
    out = []
    for pupil in root.iterfind("CTFpupilData/Pupil"):
        rows = []
        keystages = pupil.findall("StageAssessments/KeyStage")
        for keystage in keystages:
            for row in keystage.iterfind("StageAssessment"):
                rows.append({child.tag: child.text for child in row})
                rows[-1].setdefault("ResultDate", None)
        out.append(
            Record(
                upn=text(pupil, "UPN"),
                surname=text(pupil, "Surname") or "",
                forename=text(pupil, "Forename") or "",
                middle=text(pupil, "BasicDetails/MiddleNames"),
                dob=text(pupil, "DOB") or "",
                sex=text(pupil, "Sex") or text(pupil, "Gender"),
                ncyear=text(pupil, "BasicDetails/NCyearActual") or "",
                stages=[text(k, "Stage") or "" for k in keystages],
                rows=rows,
                keystages=len(keystages),
            )
        )
    return out


# --- the world's truth, computed here from the world's columns --------------------------------


@dataclass(frozen=True)
class Truth:
    """A pupil's identity and results per collection, as the world holds them."""

    upn: str
    surname: str
    forename: str
    middle: str | None
    dob: str
    sex: str
    ncyear: str
    results: dict[str, dict[str, str]]
    phonics_y1_mark: int | None


def truth(world: World) -> dict[str, Truth]:
    """Every pupil of the primary years by UPN."""
    out = {}
    for p in world.pupils.filter(pl.col("ncyear") != "11").iter_rows(named=True):
        results: dict[str, dict[str, str]] = {}
        if p["ncyear"] == "R":
            results["eyfsp"] = {f"E{i:02d}": p[f"elg_E{i:02d}"] for i in range(1, 18)}
        if p["ncyear"] in ("1", "2"):
            mark, code = p["phonics_mark"], p["phonics_code"]
            if mark is not None or code is not None:
                results["phonics"] = {"PSC": str(mark) if mark is not None else code}
        if p["ncyear"] == "2":
            results["ks1"] = {c: p[f"ks1_{c}"] for c in ("RE", "WR", "MAT", "SCI")}
        if p["ncyear"] == "6":
            results["ks2ta"] = {"WR": p["ks2ta_WR"], "SCI": p["ks2ta_SCI"]}
        if p["ncyear"] == "4":
            score = p["mtc_score"]
            results["mtc"] = {"MTC": str(score) if score is not None else p["mtc_code"]}
        out[p["upn"]] = Truth(
            upn=p["upn"],
            surname=p["surname"],
            forename=p["forename"],
            middle=p["middle_names"] or None,
            dob=p["dob"].isoformat(),
            sex=p["sex"],
            ncyear=p["ncyear"],
            results=results,
            phonics_y1_mark=p["phonics_y1_mark"],
        )
    return out


def identify(record: Record, pupils: dict[str, Truth]) -> Truth:
    """The world's pupil a record stands for: by UPN when names agree, else by name and DOB."""
    found = pupils.get(record.upn or "")
    if found and same_name(record, found):
        return found
    matches = [t for t in pupils.values() if same_name(record, t) and t.dob == record.dob]
    assert len(matches) == 1, f"cannot identify {record}"
    return matches[0]


def same_name(record: Record, pupil: Truth) -> bool:
    """Names agree, ignoring case (some files and all MTC files are in capitals)."""
    return (
        record.surname.casefold() == pupil.surname.casefold()
        and record.forename.casefold() == pupil.forename.casefold()
    )


def differences(record: Record, pupil: Truth) -> set[str]:
    """The fields in which a record differs from the world's truth."""
    out = set()
    if record.upn != pupil.upn:
        out.add("UPN")
    if (record.middle or "").casefold() != (pupil.middle or "").casefold():
        out.add("MiddleNames")
    if record.dob != pupil.dob:
        out.add("DOB")
    if record.sex != pupil.sex:
        out.add("Sex")
    if record.ncyear != pupil.ncyear:
        out.add("NCyearActual")
    expected = pupil.results.get(record.collection, {})
    got = record.latest()
    for component in set(expected) | set(got):
        if expected.get(component) != got.get(component):
            out.add(component)
    return out


@dataclass
class Written:
    """Every record of a report, each with its file and the world's pupil it stands for."""

    items: list[tuple[CtfFile, Record, Truth]]


def read_all(report: CtfWriteReport, world: World) -> Written:
    """Parse every file of a report and identify each record."""
    pupils = truth(world)
    items = []
    for ctf in report.files:
        for record in records(parse(ctf.path)):
            items.append((ctf, record, identify(record, pupils)))
    return Written(items)


def planted_keys(report: CtfWriteReport) -> dict[tuple[str, str], dict[str, str]]:
    """Planted errors by (file name, true UPN)."""
    return {(row["file"], row["upn"]): row for row in report.planted.iter_rows(named=True)}


# --- determinism and well-formedness ---------------------------------------------------------


def test_the_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    first = write_ctfs(small_world(), tmp_path / "a", errors=0.05, seed=3)
    second = write_ctfs(small_world(), tmp_path / "b", errors=0.05, seed=3)
    assert [f.path.name for f in first.files] == [f.path.name for f in second.files]
    for a, b in zip(first.files, second.files, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes(), a.path.name
    assert first.planted.equals(second.planted)


def test_another_seed_writes_other_bytes(tmp_path: Path) -> None:
    first = write_ctfs(small_world(), tmp_path / "a", seed=3)
    second = write_ctfs(small_world(), tmp_path / "b", seed=4)
    assert [f.path.read_bytes() for f in first.files] != [f.path.read_bytes() for f in second.files]


def test_every_file_is_well_formed_xml_with_root_ctfile(with_errors: CtfWriteReport) -> None:
    on_disk = sorted(p.name for p in (with_errors.outdir / "ctf").iterdir())
    assert on_disk == sorted(f.path.name for f in with_errors.files)
    for ctf in with_errors.files:
        root = parse(ctf.path)
        assert root.tag == "CTfile"
        assert [child.tag for child in root] == ["Header", "CTFpupilData"]
        assert len(root.findall("CTFpupilData/Pupil")) == ctf.pupils
        assert ctf.size == ctf.path.stat().st_size


def test_headers_name_the_school_the_collection_and_the_ctf_version(
    with_errors: CtfWriteReport,
) -> None:
    schools = {s["urn"]: s for s in small_world().schools.iter_rows(named=True)}
    qualifiers = {"eyfsp": "FSP", "phonics": "PHO", "ks1": "KS1", "ks2ta": "KS2", "mtc": "KS2"}
    for ctf in with_errors.files:
        header = parse(ctf.path).find("Header")
        school = schools[ctf.urn]
        assert text(header, "DocumentName") == "Common Transfer File"
        assert text(header, "CTFversion") == ctf.version
        assert ctf.version in ("25.0", "24.0", "21.0")
        assert text(header, "DocumentQualifier") == "partial"
        assert text(header, "DataQualifier") == qualifiers[ctf.collections[0]]
        assert text(header, "SupplierID")
        stamp = dt.datetime.fromisoformat(text(header, "DateTime") or "")
        assert stamp == ctf.created and stamp.year == YEAR and stamp.month in (6, 7)
        assert text(header, "SourceSchool/LEA") == school["la_code"] == ctf.la_code
        assert text(header, "SourceSchool/URN") == school["urn"]
        assert text(header, "SourceSchool/SchoolName") == school["name"]
        assert text(header, "SourceSchool/AcademicYear") == "2025"
        assert text(header, "DestSchool/LEA") == school["la_code"]
        assert text(header, "DestSchool/Estab") == "LLLL"
        if school["kind"] == "pvi":
            assert header.find("SourceSchool/Estab") is None
            assert ctf.laestab == school["urn"] and ctf.collections == ("eyfsp",)
        else:
            assert text(header, "SourceSchool/Estab") == school["estab"]
            assert ctf.laestab == school["laestab"]


def test_old_version_files_say_gender_and_current_ones_say_sex(tmp_path: Path) -> None:
    rates = UntidyRates(old_version=0.3, previous_version=0.3)
    report = write_ctfs(small_world(), tmp_path, seed=5, rates=rates)
    versions = Counter(f.version for f in report.files)
    assert set(versions) == {"25.0", "24.0", "21.0"}
    for ctf in report.files:
        root = parse(ctf.path)
        old = ctf.version == "21.0"
        assert len(root.findall("CTFpupilData/Pupil/Gender")) == (ctf.pupils if old else 0)
        assert len(root.findall("CTFpupilData/Pupil/Sex")) == (0 if old else ctf.pupils)


def test_file_names_follow_the_la_convention_unless_renamed_by_hand(
    with_errors: CtfWriteReport,
) -> None:
    for ctf in with_errors.files:
        if "misnamed" in ctf.features:
            continue
        group = "eyfsp" if "combined" in ctf.features else ctf.collections[0]
        tags = {TAGS[group]} | ({"KS2"} if group == "mtc" else set())
        match = re.fullmatch(
            r"(\d{6,7})_([A-Z0-9]{3})_(\d{3}LLLL|\d{7})_(\d{3})\.xml", ctf.path.name
        )
        assert match, ctf.path.name
        assert match[1] == ctf.laestab and match[2] in tags
        assert match[3] in (f"{ctf.la_code}LLLL", ctf.laestab)


def test_some_files_are_renamed_by_hand_and_names_never_clash(tmp_path: Path) -> None:
    report = write_ctfs(small_world(), tmp_path, seed=2, rates=UntidyRates(misnamed=0.6))
    names = [f.path.name.lower() for f in report.files]
    assert len(names) == len(set(names))
    renamed = [f for f in report.files if "misnamed" in f.features]
    assert 0.4 < len(renamed) / len(report.files) < 0.8
    assert any(f.path.name.startswith("results (") for f in renamed)
    assert any(f.path.name.endswith(" (1).xml") for f in renamed)


# --- truth ------------------------------------------------------------------------------------


def test_eyfsp_results_of_clean_pupils_equal_the_worlds_truth(tmp_path: Path) -> None:
    world = small_world()
    report = write_ctfs(world, tmp_path, collections=("eyfsp",), seed=9)
    written = read_all(report, world)
    reception = world.pupils.filter(pl.col("ncyear") == "R")
    assert sorted(t.upn for _, _, t in written.items) == sorted(reception["upn"].to_list())
    for ctf, record, pupil in written.items:
        assert record.collection == "eyfsp" and ctf.collections == ("eyfsp",)
        assert record.latest() == pupil.results["eyfsp"]
        assert differences(record, pupil) == set(), (ctf.path.name, record.upn)


def test_every_pupil_is_written_once_per_collection_and_clean_ones_are_the_truth(
    with_errors: CtfWriteReport,
) -> None:
    world = small_world()
    written = read_all(with_errors, world)
    planted = planted_keys(with_errors)
    seen = Counter((record.collection, pupil.upn) for _, record, pupil in written.items)
    expected = Counter(
        (collection, t.upn) for t in truth(world).values() for collection in t.results
    )
    retakes = {k for k, row in planted.items() if row["error_code"] == "PHONICS_RETAKE_MET_Y1"}
    extra = Counter(("phonics", upn) for _, upn in retakes)
    assert seen == expected + extra
    clean = 0
    for ctf, record, pupil in written.items:
        if (ctf.path.name, pupil.upn) not in planted:
            assert differences(record, pupil) == set(), (ctf.path.name, pupil.upn)
            assert record.surname.casefold() == pupil.surname.casefold()
            clean += 1
    assert clean > 0.9 * len(written.items)


def test_year_2_pupils_are_in_the_phonics_file_only_when_due_a_retake(tmp_path: Path) -> None:
    world = small_world()
    report = write_ctfs(world, tmp_path, collections=("phonics",), seed=1)
    written = read_all(report, world)
    year2 = [pupil for _, _, pupil in written.items if pupil.ncyear == "2"]
    assert year2, "the world has Year 2 retakes"
    for pupil in year2:
        assert pupil.phonics_y1_mark is None or pupil.phonics_y1_mark < PASS_MARK
    due = world.pupils.filter(
        (pl.col("ncyear") == "2")
        & (pl.col("phonics_mark").is_not_null() | pl.col("phonics_code").is_not_null())
    )
    assert len(year2) == due.height


def test_clean_results_are_valid_for_the_collection_spec(with_errors: CtfWriteReport) -> None:
    valid = {
        (c.stage, c.subject, c.method, c.component, c.qualifier): c.results
        for collection in COLLECTION_CODES
        for c in collection_components(collection, YEAR)
    }
    planted = planted_keys(with_errors)
    for ctf, record, pupil in read_all(with_errors, small_world()).items:
        for row in record.rows:
            assert row["Locale"] == "ENG" and row["Year"] == str(YEAR)
            key = (record.stages[0], row["Subject"], row["Method"], row["Component"])
            assert (*key, row["ResultQualifier"]) in valid
            if (ctf.path.name, pupil.upn) not in planted:
                assert row["Result"] in valid[(*key, row["ResultQualifier"])]


# --- untidiness -------------------------------------------------------------------------------


def within(count: int, n: int, rate: float) -> bool:
    """Whether count out of n is within four standard deviations of the rate."""
    sd = math.sqrt(n * rate * (1 - rate))
    return abs(count - n * rate) <= 4 * sd + 1


def test_untidy_features_appear_at_the_configured_rates(tmp_path: Path) -> None:
    world = la_world()
    rates = UntidyRates()
    report = write_ctfs(world, tmp_path, seed=6, rates=rates)
    files = report.files
    # Files straight from DfE's MTC service are tidy; every other file may be untidy.
    eligible = [f for f in files if f.supplier != MTC_SUPPLIER]
    assert len(eligible) < len(files)
    for feature in (
        "bom",
        "crlf",
        "capitals",
        "empty_elements",
        "unknown_elements",
        "split_keystage",
        "apos_entity",
        "odd_indent",
        "old_version",
    ):
        count = sum(feature in f.features for f in files)
        assert count > 0, feature
        assert within(count, len(eligible), getattr(rates, feature)), (feature, count)
    for feature in ("misnamed", "previous_version"):
        count = sum(feature in f.features for f in files)
        assert within(count, len(files), getattr(rates, feature)), (feature, count)
    combined = {f.urn for f in files if "combined" in f.features}
    both = {f.urn for f in files if "eyfsp" in f.collections} & {
        f.urn for f in files if "phonics" in f.collections
    }
    assert within(len(combined), len({u for u in both if not u.startswith("7")}), rates.combined)

    # What the report claims is in the bytes.
    rows = non_r = superseded = pupils = 0
    for ctf in files:
        data = ctf.path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") == ("bom" in ctf.features)
        assert (b"\r\n" in data) == ("crlf" in ctf.features)
        assert (b"<SuppInfo>" in data) == ("unknown_elements" in ctf.features)
        root = parse(ctf.path)
        for pupil in root.iterfind("CTFpupilData/Pupil"):
            middle = pupil.find("BasicDetails/MiddleNames")
            if "empty_elements" not in ctf.features:
                assert middle is None or middle.text
            elif middle is None or not middle.text:
                assert middle is not None
        for record in records(root):
            pupils += 1
            rows += len(record.rows)
            non_r += any(r["ResultStatus"] != "R" for r in record.rows)
            counts = Counter(
                r["Component"]
                for r in record.rows
                if r["ResultStatus"] == "R" and r["Result"] not in ("Wa", "Wt")
            )
            superseded += any(n > 1 for n in counts.values())
            assert record.keystages == 1 or "split_keystage" in ctf.features
    assert within(non_r, pupils, rates.non_r_rows)
    assert within(superseded, pupils, rates.superseded_rows)
    capitals = [f for f in files if "capitals" in f.features]
    assert capitals and all(
        r.surname == r.surname.upper() for f in capitals for r in records(parse(f.path))
    )


def test_superseded_rows_lose_to_the_later_dated_row_and_the_truth_survives(
    tmp_path: Path,
) -> None:
    world = small_world()
    rates = UntidyRates(superseded_rows=0.3, non_r_rows=0.3, split_keystage=0.5)
    report = write_ctfs(world, tmp_path, seed=8, rates=rates)
    superseded = 0
    for _, record, pupil in read_all(report, world).items:
        counts = Counter(r["Component"] for r in record.rows if r["ResultStatus"] == "R")
        if any(n > 1 and c != "PSC" for c, n in counts.items()):
            superseded += 1
        assert differences(record, pupil) == set()
    assert superseded > 50


def test_tidy_files_have_no_untidy_features(tmp_path: Path) -> None:
    world = small_world()
    report = write_ctfs(world, tmp_path, seed=3, untidy=False)
    untidy = {"bom", "crlf", "capitals", "empty_elements", "unknown_elements", "split_keystage"}
    for ctf in report.files:
        assert not (ctf.features & untidy), ctf.features
        assert ctf.version in ("25.0", "24.0")
        data = ctf.path.read_bytes()
        assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n  <Header>')
        assert b"\r" not in data and b"/>" not in data
        assert b"SuppInfo" not in data and b"<Ethnicity>" not in data
        for record in records(parse(ctf.path)):
            assert record.keystages == 1
            assert all(r["ResultStatus"] == "R" for r in record.rows)
    assert all(d == set() for d in (differences(r, p) for _, r, p in read_all(report, world).items))


def test_some_schools_send_eyfsp_and_phonics_in_one_file(tmp_path: Path) -> None:
    report = write_ctfs(small_world(), tmp_path, seed=1, rates=UntidyRates(combined=1.0))
    primaries = {
        s["urn"]
        for s in small_world().schools.iter_rows(named=True)
        if s["kind"] in ("primary", "infant", "special") and s["status"] == "Open"
    }
    combined = [f for f in report.files if "combined" in f.features]
    assert {f.urn for f in combined} == primaries
    for ctf in combined:
        assert ctf.collections == ("eyfsp", "phonics")
        stages = Counter(r.collection for r in records(parse(ctf.path)))
        assert stages["eyfsp"] > 0 and stages["phonics"] > 0
        assert not [f for f in report.files if f.urn == ctf.urn and f.collections == ("phonics",)]


def test_names_with_apostrophes_and_ampersands_are_escaped(tmp_path: Path) -> None:
    world = small_world()
    odd = ["O'Brien & Sons", "D'Arcy <Smith>", "Lee-O'Neil", "Brown&Co"]
    surnames = world.pupils["surname"].to_list()
    for i in range(0, len(surnames), 5):
        surnames[i] = odd[(i // 5) % len(odd)]
    pupils = world.pupils.with_columns(pl.Series("surname", surnames))
    schools = world.schools.with_columns(
        pl.col("name").str.replace("Primary", "St Mary & St John's Primary")
    )
    odd_world = dataclasses.replace(world, pupils=pupils, schools=schools)
    rates = UntidyRates(apos_entity=0.5, capitals=0.0)
    report = write_ctfs(odd_world, tmp_path, seed=4, rates=rates)
    assert any("apos_entity" in f.features for f in report.files)
    school_names = {s["urn"]: s["name"] for s in schools.iter_rows(named=True)}
    assert any("&" in name for name in school_names.values())
    names: Counter[str] = Counter()
    for ctf in report.files:
        data = ctf.path.read_bytes()
        assert b"& " not in data and b"&C" not in data and b"<Smith>" not in data
        root = parse(ctf.path)
        assert text(root, "Header/SourceSchool/SchoolName") == school_names[ctf.urn]
        for record in records(root):
            if "'" in record.surname or "&" in record.surname or "<" in record.surname:
                names[record.surname.casefold()] += 1
    assert set(names) >= {name.casefold() for name in odd}
    for _, record, pupil in read_all(report, odd_world).items:
        assert differences(record, pupil) == set()


def test_mtc_files_carry_upper_case_names(with_errors: CtfWriteReport) -> None:
    mtc = [f for f in with_errors.files if f.collections == ("mtc",)]
    assert mtc
    for ctf in mtc:
        for record in records(parse(ctf.path)):
            assert record.surname == record.surname.upper()
            assert record.forename == record.forename.upper()
            assert (record.middle or "") == (record.middle or "").upper()


# --- planted errors ---------------------------------------------------------------------------


def test_about_the_share_of_pupils_asked_for_get_one_planted_error(
    with_errors: CtfWriteReport,
) -> None:
    planted = with_errors.planted
    assert dict(planted.schema) == PLANTED_SCHEMA
    records_written = with_errors.pupils
    assert within(planted.height, records_written, 0.05)
    assert planted.select("file", "upn").is_duplicated().sum() == 0
    assert set(planted["error_code"].unique()) <= set(ERROR_MENU)
    files = {f.path.name: f for f in with_errors.files}
    for row in planted.iter_rows(named=True):
        assert row["file"] in files and files[row["file"]].laestab == row["laestab"]
        assert row["collection"] in files[row["file"]].collections


def test_each_planted_error_is_in_its_file_and_is_the_only_difference(
    with_errors: CtfWriteReport,
) -> None:
    check_planted(with_errors, small_world())


def check_planted(report: CtfWriteReport, world: World) -> None:
    """Each planted error is in its file as listed, and is the record's only difference."""
    planted = planted_keys(report)
    found = set()
    by_file: dict[str, list[Record]] = {}
    for ctf, record, pupil in read_all(report, world).items:
        by_file.setdefault(ctf.path.name, []).append(record)
        row = planted.get((ctf.path.name, pupil.upn))
        if row is None:
            continue
        found.add((ctf.path.name, pupil.upn))
        code, fld, value = row["error_code"], row["field"], row["value"]
        diff = differences(record, pupil)
        if code == "PHONICS_WT_CONFLICT":
            assert diff == set()
            assert any(r["Result"] == "Wt" for r in record.rows)
            assert int(record.latest()["PSC"]) >= PASS_MARK
        elif code == "ELG_PARTIAL_A":
            parts = set(fld.split(","))
            assert diff == parts and all(record.latest()[c] == "A" for c in parts)
            assert any(v != "A" for v in record.latest().values())
        else:
            assert diff == {"Sex" if fld == "Sex" else fld}, (code, diff)
        written = {
            "UPN": record.upn,
            "DOB": record.dob,
            "Sex": record.sex,
            "NCyearActual": record.ncyear,
        }
        if fld in written:
            assert (written[fld] or "") == value, (code, written[fld], value)
        elif code not in ("ELG_PARTIAL_A", "PHONICS_WT_CONFLICT"):
            assert record.latest().get(fld, "") == value, (code, record.latest(), value)
        if code == "UPN_CHECK_LETTER":
            assert record.upn and not is_valid(record.upn) and not is_temporary(record.upn)
        if code == "UPN_TEMPORARY":
            assert record.upn and is_temporary(record.upn) and is_valid(record.upn)
        if code == "DOB_OUT_OF_YEAR":
            gap = dt.date.fromisoformat(record.dob) - dt.date.fromisoformat(pupil.dob)
            assert 360 <= abs(gap.days) <= 370
        if code == "PHONICS_RETAKE_MET_Y1":
            assert pupil.ncyear == "2" and (pupil.phonics_y1_mark or 0) >= PASS_MARK
    assert found == set(planted)
    for (name, _), row in planted.items():
        if row["error_code"] == "UPN_DUPLICATE":
            assert sum(r.upn == row["value"] for r in by_file[name]) == 2


def test_a_larger_world_gets_every_kind_of_planted_error(tmp_path: Path) -> None:
    report = write_ctfs(la_world(), tmp_path, errors=0.05, seed=12)
    codes = set(report.planted["error_code"].unique())
    assert codes == set(ERROR_MENU)
    assert within(report.planted.height, report.pupils, 0.05)
    check_planted(report, la_world())


def test_with_no_errors_asked_for_nothing_is_planted(tmp_path: Path) -> None:
    report = write_ctfs(small_world(), tmp_path, seed=3)
    assert report.planted.is_empty() and dict(report.planted.schema) == PLANTED_SCHEMA
    for _, record, pupil in read_all(report, small_world()).items:
        assert differences(record, pupil) == set()


def test_planting_errors_leaves_other_pupils_untidiness_alone(
    tmp_path: Path, with_errors: CtfWriteReport
) -> None:
    clean = write_ctfs(small_world(), tmp_path, errors=0.0, seed=3)
    assert [f.path.name for f in clean.files] == [f.path.name for f in with_errors.files]
    per_pupil = {"non_r_rows", "superseded_rows"}  # an errored pupil gets neither
    for a, b in zip(clean.files, with_errors.files, strict=True):
        assert a.features - per_pupil == b.features - per_pupil
        assert (a.version, a.created, a.supplier) == (b.version, b.created, b.supplier)


# --- batches ----------------------------------------------------------------------------------


def test_batch_zip_holds_every_file_byte_for_byte(
    tmp_path: Path, with_errors: CtfWriteReport
) -> None:
    path = write_ctf_batch_zip(with_errors, tmp_path / "batch.zip")
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [f.path.name for f in with_errors.files]
        for ctf in with_errors.files:
            assert archive.read(ctf.path.name) == ctf.path.read_bytes()
    again = write_ctf_batch_zip(with_errors, tmp_path / "again.zip")
    assert again.read_bytes() == path.read_bytes()


def test_unknown_collections_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown collection"):
        write_ctfs(small_world(), tmp_path, collections=("ks4",))


# --- round trip through the product's reader -------------------------------------------------


def test_files_round_trip_through_the_products_ctf_reader(with_errors: CtfWriteReport) -> None:
    ctf_module = pytest.importorskip("keystage.formats.ctf")
    pupils = truth(small_world())
    planted = planted_keys(with_errors)
    compared = 0
    for ctf in with_errors.files:
        with ctf_module.CtfReader(ctf.path, filename=ctf.path.name) as reader:
            header = reader.header
            assert header.version == ctf.version
            assert header.source_urn == ctf.urn
            assert (header.source_laestab or header.source_urn) == ctf.laestab
            assert header.dest_estab == "LLLL"
            for pupil in reader.pupils():
                found = pupils.get(pupil.upn)
                # Planted pupils (a copied UPN among them) are checked by the tests above.
                if found is None or found.surname.casefold() != pupil.surname.casefold():
                    continue
                if (ctf.path.name, found.upn) in planted:
                    continue
                # encodings.md s.1: phonics Wa/Wt are tolerated, ignored in favour of the mark.
                rows = [a for a in pupil.assessments if a.result not in ("Wa", "Wt")]
                latest = ctf_module.latest_results(rows)
                got = {key[3]: row.result for key, row in latest.items()}
                collection = next(iter(ctf_module.collections_of(rows)))
                assert got == found.results[collection], (ctf.path.name, pupil.upn)
                assert {key[4] for key in latest} == {YEAR}
                assert pupil.dob == dt.date.fromisoformat(found.dob)
                assert (pupil.sex, pupil.ncyear) == (found.sex, found.ncyear)
                compared += 1
    assert compared > 0.9 * with_errors.pupils
