"""Write the synthetic world as the CTF files schools send their LA in June and July.

One partial CTF per school (or PVI setting) per collection: EYFSP, phonics (Year 1 and Year 2
retakes), KS1 TA, KS2 TA and MTC, in the layout of shared/domain/formats.md section 1 and the
assessment tuples of keystage/formats/assessment_spec.py. Files are untidy the way real MIS
exports are (byte order marks, CRLF, capitals, empty and unknown elements, split KeyStage blocks,
superseded and non-R rows, odd names), and a chosen share of pupils carry one planted error each,
listed in the report so the cleaning rules can be checked against them.

XML is built from string templates, not a DOM: a national EYFSP set is several gigabytes of text.
Each file's layout (indent, line end) goes into the templates directly, and the StageAssessment
rows, which repeat endlessly, are rendered once per layout, component, result and date.
"""

from __future__ import annotations

import datetime as dt
import random
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

from keystage.datasets import COLLECTION_CODES, COLLECTIONS, threshold
from keystage.formats.assessment_spec import Component, collection_components
from keystage.formats.upn import CHECK_ALPHABET, check_letter
from keystage.synth.world import World

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

COMBINED = "eyfsp+phonics"  # the file group of a school that sends EYFSP and phonics together

# File name tag and header DataQualifier (CBDS D00205) per collection; MTC files go as "CTF".
FILE_TAGS = {"eyfsp": "FSP", "phonics": "PHO", "ks1": "KS1", "ks2ta": "KS2", "mtc": "CTF"}
DATA_QUALIFIERS = {"eyfsp": "FSP", "phonics": "PHO", "ks1": "KS1", "ks2ta": "KS2", "mtc": "KS2"}
# Header descriptors: the collection's label and year (EYFSP files say "results" as MIS do).
_DESCRIPTORS = {d.code: f"{d.label} {{year}}" for d in COLLECTIONS} | {
    "eyfsp": "EYFSP {year} results",
    COMBINED: "EYFSP and phonics {year}",
}
# Year groups whose pupils each collection reports (phonics Year 2: retakes only).
NC_YEARS = {d.code: d.ncyears for d in COLLECTIONS}
_PASS_MARK = threshold("phonics", "pass_mark")
# Collections whose one component is a mark when there is one and a code otherwise.
_MARK_OR_CODE = {"phonics": ("phonics_mark", "phonics_code"), "mtc": ("mtc_score", "mtc_code")}
# World column prefix of each TA collection's components (a component the world lacks is skipped,
# e.g. KS2 reading and maths TA, which the world does not model).
_COLUMN_PREFIX = {"eyfsp": "elg_", "ks1": "ks1_", "ks2ta": "ks2ta_"}

# Made-up MIS names: the synthetic files must not pass for any real supplier's export.
SCHOOL_SUPPLIERS = ("Oakfield MIS", "ClassLedger", "Pupilwise", "SchoolNest", "Registerly")
PVI_SUPPLIERS = ("EarlyTrack", "Nurseryhub Online")
MTC_SUPPLIER = "Multiplication Tables Check"  # what DfE's MTC service writes

# ---------------------------------------------------------------------------------------------
# Planted errors
# ---------------------------------------------------------------------------------------------

UPN_CHECK_LETTER = "UPN_CHECK_LETTER"
UPN_TEMPORARY = "UPN_TEMPORARY"
UPN_MISSING = "UPN_MISSING"
UPN_DUPLICATE = "UPN_DUPLICATE"
DOB_OUT_OF_YEAR = "DOB_OUT_OF_YEAR"
SEX_MISSING = "SEX_MISSING"
SEX_INVALID = "SEX_INVALID"
NCYEAR_MISMATCH = "NCYEAR_MISMATCH"
ELG_MISSING = "ELG_MISSING"
ELG_PARTIAL_A = "ELG_PARTIAL_A"
ELG_INVALID_RESULT = "ELG_INVALID_RESULT"
PHONICS_MARK_OUT_OF_RANGE = "PHONICS_MARK_OUT_OF_RANGE"
PHONICS_WT_CONFLICT = "PHONICS_WT_CONFLICT"
PHONICS_RETAKE_MET_Y1 = "PHONICS_RETAKE_MET_Y1"
KS2_HNM_WRITING = "KS2_HNM_WRITING"
TA_SUBJECT_MISSING = "TA_SUBJECT_MISSING"
MTC_SCORE_OUT_OF_RANGE = "MTC_SCORE_OUT_OF_RANGE"
MTC_CODE_UNKNOWN = "MTC_CODE_UNKNOWN"

_ALL = frozenset(COLLECTION_CODES)
# The fixed menu: error code -> (collections it applies to, relative weight). Result errors weigh
# more than identity errors so that each collection's own errors turn up in small worlds too.
ERROR_MENU: dict[str, tuple[frozenset[str], float]] = {
    UPN_CHECK_LETTER: (_ALL, 1.0),
    UPN_TEMPORARY: (_ALL, 1.0),
    UPN_MISSING: (_ALL, 1.0),
    UPN_DUPLICATE: (_ALL, 1.0),
    DOB_OUT_OF_YEAR: (_ALL, 1.0),
    SEX_MISSING: (_ALL, 0.5),
    SEX_INVALID: (_ALL, 0.5),
    NCYEAR_MISMATCH: (_ALL, 1.0),
    ELG_MISSING: (frozenset({"eyfsp"}), 2.0),
    ELG_PARTIAL_A: (frozenset({"eyfsp"}), 2.0),
    ELG_INVALID_RESULT: (frozenset({"eyfsp"}), 2.0),
    PHONICS_MARK_OUT_OF_RANGE: (frozenset({"phonics"}), 2.0),
    PHONICS_WT_CONFLICT: (frozenset({"phonics"}), 2.0),
    PHONICS_RETAKE_MET_Y1: (frozenset({"phonics"}), 2.0),
    KS2_HNM_WRITING: (frozenset({"ks2ta"}), 3.0),
    TA_SUBJECT_MISSING: (frozenset({"ks1", "ks2ta"}), 3.0),
    MTC_SCORE_OUT_OF_RANGE: (frozenset({"mtc"}), 3.0),
    MTC_CODE_UNKNOWN: (frozenset({"mtc"}), 3.0),
}
# NCyearActual written for NCYEAR_MISMATCH: a year group the collection never reports.
_WRONG_NCYEAR = {"eyfsp": "1", "phonics": "3", "ks1": "3", "ks2ta": "5", "mtc": "3"}
_BAD_SEX = ("X", "U", "0")
_BAD_MTC_CODES = ("K", "ABS", "N", "W")

PLANTED_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "laestab": pl.String(),
    "upn": pl.String(),
    "error_code": pl.String(),
    "field": pl.String(),
    "value": pl.String(),
    "pupil_id": pl.Int64(),
    "collection": pl.String(),
}

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UntidyRates:
    """How often each realistic irregularity occurs (per file unless the name says per pupil)."""

    # Not untidiness but the shape of a real June: these apply whether or not untidy is set.
    combined: float = 0.2  # schools sending EYFSP and phonics in one file (per school)
    misnamed: float = 0.05  # files renamed by hand (wrong tag, "results (1).xml", " (1)")
    previous_version: float = 0.05  # last year's CTF version (MIS not yet updated)
    result_date: float = 0.4  # files that give each row a ResultDate
    mtc_from_mis: float = 0.3  # MTC files re-exported from the MIS rather than the DfE service
    # Untidiness proper, only with untidy=True.
    old_version: float = 0.02  # CTF 21.0 with <Gender> instead of <Sex>
    bom: float = 0.08
    crlf: float = 0.15
    capitals: float = 0.08  # names in capitals
    empty_elements: float = 0.25  # <MiddleNames/> and the like
    unknown_elements: float = 0.15  # <SuppInfo> in header and pupils, <Ethnicity>, <EnrolStatus>
    split_keystage: float = 0.1  # a pupil's rows spread over several KeyStage blocks
    apos_entity: float = 0.1  # apostrophes written as &apos;
    no_declaration: float = 0.03  # no <?xml ...?> line
    odd_indent: float = 0.3  # tabs, four spaces, none, or everything on one line
    phonics_outcome: float = 0.15  # phonics files adding Wa/Wt rows that agree with the mark
    non_r_rows: float = 0.02  # per pupil: an earlier T (target) or E (estimate) row
    superseded_rows: float = 0.02  # per pupil: an older R row a later-dated R row replaces


@dataclass(frozen=True)
class CtfFile:
    """One written CTF: where it is, whose it is, what it holds and how it was written."""

    path: Path
    laestab: str  # the LAESTAB, or the EY URN for a PVI setting (as in the expected cohorts)
    urn: str
    la_code: str
    collections: tuple[str, ...]
    pupils: int  # pupil records in the file
    version: str
    supplier: str  # Header/SupplierID
    created: dt.datetime  # Header/DateTime
    size: int  # bytes
    features: frozenset[str]  # untidy features and naming quirks present in the file


@dataclass(frozen=True)
class CtfWriteReport:
    """What write_ctfs wrote: the files and one row per planted error (PLANTED_SCHEMA)."""

    outdir: Path
    files: tuple[CtfFile, ...]
    planted: pl.DataFrame

    @property
    def pupils(self) -> int:
        """Pupil records over all files."""
        return sum(f.pupils for f in self.files)

    @property
    def size(self) -> int:
        """Bytes written over all files."""
        return sum(f.size for f in self.files)

    def files_frame(self) -> pl.DataFrame:
        """The files as a frame: name, laestab, urn, collections, pupils, version, features..."""
        return pl.DataFrame(
            {
                "file": [f.path.name for f in self.files],
                "laestab": [f.laestab for f in self.files],
                "urn": [f.urn for f in self.files],
                "la_code": [f.la_code for f in self.files],
                "collections": [list(f.collections) for f in self.files],
                "pupils": [f.pupils for f in self.files],
                "version": [f.version for f in self.files],
                "supplier": [f.supplier for f in self.files],
                "size": [f.size for f in self.files],
                "features": [sorted(f.features) for f in self.files],
            },
            schema={
                "file": pl.String(),
                "laestab": pl.String(),
                "urn": pl.String(),
                "la_code": pl.String(),
                "collections": pl.List(pl.String()),
                "pupils": pl.Int64(),
                "version": pl.String(),
                "supplier": pl.String(),
                "size": pl.Int64(),
                "features": pl.List(pl.String()),
            },
        )


def write_ctfs(
    world: World,
    outdir: Path | str,
    *,
    collections: Sequence[str] = COLLECTION_CODES,
    errors: float = 0.0,
    seed: int = 1,
    untidy: bool = True,
    rates: UntidyRates | None = None,
) -> CtfWriteReport:
    """Write one CTF per school and collection under OUTDIR/ctf/ and report what was planted."""
    unknown = [c for c in collections if c not in COLLECTION_CODES]
    if unknown:
        raise ValueError(f"unknown collection(s) {unknown}; choose from {COLLECTION_CODES}")
    if not 0.0 <= errors <= 1.0:
        raise ValueError("errors is a share of pupils, between 0 and 1")
    wanted = tuple(c for c in COLLECTION_CODES if c in collections)
    folder = Path(outdir) / "ctf"
    folder.mkdir(parents=True, exist_ok=True)
    writer = _Writer(world, folder, wanted, errors, seed, untidy, rates or UntidyRates())
    return writer.run()


def earlier_phonics_world(world: World) -> World:
    """Today's Year 2 pupils as they were a year before, in Year 1, with their Year 1 check."""
    pupils = world.pupils.filter(pl.col("ncyear") == "2").with_columns(
        pl.lit("1").cast(world.pupils.schema["ncyear"]).alias("ncyear"),
        pl.col("phonics_y1_mark").alias("phonics_mark"),
        pl.col("phonics_y1_code").alias("phonics_code"),
    )
    spec = replace(world.spec, year=world.spec.year - 1)
    return replace(world, spec=spec, pupils=pupils)


def write_earlier_phonics_ctfs(
    world: World, outdir: Path | str, *, seed: int = 1
) -> CtfWriteReport:
    """Write last year's phonics files (the Year 1 check of today's Year 2) under OUTDIR/ctf/.

    An LA that used Keystage last year has these results already; the retake rules read them.
    """
    return write_ctfs(earlier_phonics_world(world), outdir, collections=("phonics",), seed=seed)


def write_ctf_batch_zip(report: CtfWriteReport, path: Path | str) -> Path:
    """Zip the report's files, as an LA receives a batch; entries dated by their headers."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for ctf in report.files:
            # Fixed entry dates (not the file system's) keep the archive's bytes reproducible.
            info = zipfile.ZipInfo(ctf.path.name, date_time=ctf.created.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, ctf.path.read_bytes())
    return target


def ctf_version(year: int, back: int = 0) -> str:
    """CTFversion for files made in the academic year ending in summer `year` (back: years ago)."""
    return f"{(year - 1 - back) % 100:02d}.0"


# ---------------------------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------------------------

_RECORD_COLUMNS = (
    "pupil_id",
    "upn",
    "surname",
    "forename",
    "middle_names",
    "dob",
    "sex",
    "ncyear",
    "ethnicity",
    "collection",
    "results",
)
# Positions in a record tuple (a row of _RECORD_COLUMNS).
_ID, _UPN, _SURNAME, _FORENAME, _MIDDLE, _DOB, _SEX, _NCYEAR, _ETHNIC, _COLL, _RESULTS = range(11)


@dataclass(frozen=True)
class _Layout:
    """How a file is laid out: the indent by depth and the line end (empty: one line)."""

    p: tuple[str, ...]
    nl: str


@cache
def _layout(indent: str, nl: str) -> _Layout:
    """The layout with this indent unit and line end."""
    return _Layout(tuple(indent * depth for depth in range(8)), nl)


# Odd layouts some MIS write: tabs, four spaces, no indent, or everything on one line.
_ODD_INDENTS = (("\t", "\n"), ("    ", "\n"), ("", "\n"), ("", ""))


@dataclass
class _FilePlan:
    """A file to write: whose, which collections, its name and how it is laid out."""

    file_id: int
    code: str  # LAESTAB or EY URN
    urn: str
    la_code: str
    estab: str | None
    school_name: str
    group: str  # a collection or COMBINED
    collections: tuple[str, ...]
    name: str = ""
    version: str = ""
    gender: bool = False
    created: dt.datetime = dt.datetime(2000, 1, 1)
    supplier: str = ""
    result_date: str | None = None
    layout: _Layout = field(default_factory=lambda: _layout("  ", "\n"))
    xml_standalone: bool = False
    features: set[str] = field(default_factory=set)


@dataclass(eq=False)  # rows are found by identity: two rows may hold the same values
class _Row:
    """One StageAssessment row before rendering."""

    comp: int  # index into the collection's components
    status: str
    result: str
    date: str | None


class _RowTable(dict[str, str]):
    """The text of one component's R row by result, for one date; filled as results appear."""

    def __init__(
        self, writer: _Writer, layout: _Layout, collection: str, comp: int, date: str | None
    ) -> None:
        super().__init__()
        self.writer, self.layout, self.collection = writer, layout, collection
        self.comp, self.date = comp, date

    def __missing__(self, result: str) -> str:
        row = _Row(self.comp, "R", result, self.date)
        text = self[result] = self.writer._row_text(self.layout, self.collection, row)
        return text


@dataclass
class _Planted:
    """A planted error as it will appear in the report."""

    code: str
    field: str
    value: str


class _Writer:
    """Plans the files, then renders and writes them one after another."""

    def __init__(
        self,
        world: World,
        folder: Path,
        collections: tuple[str, ...],
        errors: float,
        seed: int,
        untidy: bool,
        rates: UntidyRates,
    ) -> None:
        self.world = world
        self.folder = folder
        self.collections = collections
        self.errors = errors
        self.seed = seed
        self.untidy = untidy
        self.rates = rates
        self.year = world.spec.year
        self.components = {c: self._components(c) for c in collections}
        self.row_cache: dict[tuple[_Layout, str, int, str, str, str | None], str] = {}
        self.tables: dict[tuple[_Layout, str, str | None], list[_RowTable]] = {}
        self.stages = {c: comps[0][0].stage for c, comps in self.components.items()}
        self.used_names: set[str] = set()
        self.loose_names = 0
        self.planted: list[tuple[str, str, str, str, str, str, int, str]] = []
        self.retake_candidates: dict[str, list[tuple]] = {}

    # -- planning ------------------------------------------------------------------------------

    def _components(self, collection: str) -> list[tuple[Component, pl.Expr]]:
        """The collection's components this world has values for, each with its value column."""
        columns = set(self.world.pupils.columns)
        out: list[tuple[Component, pl.Expr]] = []
        for comp in collection_components(collection, self.year):
            if collection in _MARK_OR_CODE:
                mark, code = _MARK_OR_CODE[collection]
                expr = pl.coalesce(pl.col(mark).cast(pl.String), pl.col(code).cast(pl.String))
            else:
                column = _COLUMN_PREFIX[collection] + comp.component
                if column not in columns:
                    continue
                expr = pl.col(column).cast(pl.String)
            out.append((comp, expr))
        if not out:
            raise ValueError(f"the world has no values for any {collection} component")
        return out

    def _records(self) -> pl.DataFrame:
        """One row per pupil record to write, with its results joined by '|' in spec order."""
        pupils = self.world.pupils
        frames = []
        for collection in self.collections:
            exprs = [expr for _, expr in self.components[collection]]
            frames.append(
                pupils.lazy()
                .filter(pl.col("ncyear").is_in(NC_YEARS[collection]))
                .select(
                    "pupil_id",
                    "upn",
                    "surname",
                    "forename",
                    "middle_names",
                    pl.col("dob").dt.strftime("%Y-%m-%d"),
                    pl.col("sex").cast(pl.String),
                    pl.col("ncyear").cast(pl.String),
                    pl.col("ethnicity").cast(pl.String),
                    pl.lit(collection).alias("collection"),
                    # A pupil with no result (Year 2 not due a retake) is not in the file.
                    pl.concat_str(exprs, separator="|").alias("results"),
                    "urn",
                )
                .filter(pl.col("results").is_not_null())
            )
        return pl.concat(pl.collect_all(frames))

    def _plan(self, records: pl.DataFrame) -> tuple[list[_FilePlan], pl.DataFrame]:
        """The files to write, and the records with their file ids, sorted in file order."""
        schools = self.world.schools.select("urn", "la_code", "estab", "laestab", "name", "kind")
        groups = records.select("urn", "collection").unique()
        info = {row["urn"]: row for row in schools.iter_rows(named=True)}
        has: dict[str, set[str]] = {}
        for urn, collection in groups.iter_rows():
            has.setdefault(urn, set()).add(collection)
        combine = {
            urn
            for urn, found in has.items()
            if {"eyfsp", "phonics"} <= found
            and info[urn]["kind"] != "pvi"
            and _rng(self.seed, "combine", urn).random() < self.rates.combined
        }
        order = {c: i for i, c in enumerate((*COLLECTION_CODES, COMBINED))}
        keys: set[tuple[str, str]] = set()
        for urn, found in has.items():
            for collection in found:
                in_combined = urn in combine and collection in ("eyfsp", "phonics")
                group = COMBINED if in_combined else collection
                keys.add((urn, group))
        ordered = sorted(
            keys, key=lambda k: (info[k[0]]["la_code"], _code(info[k[0]]), order[k[1]])
        )
        plans: list[_FilePlan] = []
        for file_id, (urn, group) in enumerate(ordered):
            school = info[urn]
            plan = _FilePlan(
                file_id=file_id,
                code=_code(school),
                urn=urn,
                la_code=school["la_code"],
                estab=school["estab"],
                school_name=school["name"],
                group=group,
                collections=("eyfsp", "phonics") if group == COMBINED else (group,),
            )
            self._style(plan, school["kind"])
            plans.append(plan)
        mapping = pl.DataFrame(
            {
                "urn": [p.urn for p in plans for _ in p.collections],
                "collection": [c for p in plans for c in p.collections],
                "file_id": [p.file_id for p in plans for _ in p.collections],
            },
            schema={"urn": pl.String(), "collection": pl.String(), "file_id": pl.Int64()},
        )
        # MIS exports list pupils alphabetically; the UPN settles ties so the order is fixed.
        ordered_records = (
            records.join(mapping, on=["urn", "collection"], how="left")
            .with_columns(
                pl.col("surname").str.to_lowercase().alias("_s"),
                pl.col("forename").str.to_lowercase().alias("_f"),
            )
            .sort("file_id", "_s", "_f", "upn")
            .drop("_s", "_f")
        )
        return plans, ordered_records

    def _style(self, plan: _FilePlan, kind: str) -> None:
        """Draw the file's version, supplier, dates, layout and untidy features."""
        rates = self.rates
        rnd = _rng(self.seed, "style", plan.code, plan.group)
        u = [rnd.random() for _ in range(24)]  # a fixed number, so one choice never shifts another
        features = plan.features
        from_service = plan.group == "mtc" and u[0] >= rates.mtc_from_mis
        if from_service:
            plan.supplier = MTC_SUPPLIER
        elif kind == "pvi":
            plan.supplier = PVI_SUPPLIERS[int(u[1] * len(PVI_SUPPLIERS))]
        else:
            # A school keeps one MIS for all its files.
            school_rnd = _rng(self.seed, "supplier", plan.urn)
            plan.supplier = SCHOOL_SUPPLIERS[int(school_rnd.random() * len(SCHOOL_SUPPLIERS))]

        version_back = 0
        if not from_service and u[2] < rates.previous_version:
            version_back = 1
            features.add("previous_version")
        plan.version = ctf_version(self.year, version_back)
        if self.untidy and not from_service and u[3] < rates.old_version:
            plan.version = f"{min(21, int(ctf_version(self.year)[:2]) - 2):02d}.0"
            features.discard("previous_version")
            features.add("old_version")
        # CTF 24 replaced <Gender> with <Sex>.
        plan.gender = int(plan.version[:2]) < 24

        # Exported between the assessments and the LA's deadline in July.
        first = dt.date(self.year, 6, 24 if plan.group == "mtc" else 5)
        day = first + dt.timedelta(days=int(u[4] * 30))
        seconds = 8 * 3600 + int(u[5] * 9 * 3600)
        plan.created = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
        if not from_service and u[6] < rates.result_date:
            plan.result_date = (day - dt.timedelta(days=3 + int(u[7] * 18))).isoformat()
            features.add("result_date")
        if plan.group == COMBINED:
            features.add("combined")

        if self.untidy and not from_service:
            for name, share, draw in (
                ("bom", rates.bom, u[8]),
                ("crlf", rates.crlf, u[9]),
                ("capitals", rates.capitals, u[10]),
                ("empty_elements", rates.empty_elements, u[11]),
                ("unknown_elements", rates.unknown_elements, u[12]),
                ("split_keystage", rates.split_keystage, u[13]),
                ("apos_entity", rates.apos_entity, u[14]),
                ("no_declaration", rates.no_declaration, u[15]),
            ):
                if draw < share:
                    features.add(name)
            if "phonics" in plan.collections and u[16] < rates.phonics_outcome:
                features.add("phonics_outcome")
            indent, nl = "  ", "\n"
            if u[17] < rates.odd_indent:
                indent, nl = _ODD_INDENTS[int(u[18] * len(_ODD_INDENTS))]
                features.add("odd_indent")
            if nl and "crlf" in features:
                nl = "\r\n"
            if not nl:
                features.discard("crlf")  # a file on one line has no line ends to vary
            plan.layout = _layout(indent, nl)
        if plan.group == "mtc":
            features.discard("capitals")  # always capitals: the MTC service upper-cases names
        plan.xml_standalone = u[22] < 0.3
        plan.name = self._file_name(plan, u[19], u[20], u[21])

    def _file_name(self, plan: _FilePlan, u_misnamed: float, u_how: float, u_tag: float) -> str:
        """A realistic, unique file name; a few are renamed by hand and mislead."""
        tag = FILE_TAGS["eyfsp" if plan.group == COMBINED else plan.group]
        dest = f"{plan.la_code}LLLL"
        if plan.group == "mtc" and u_tag < 0.3:
            dest = plan.code  # the MTC service's other naming: LAESTAB_KS2_LAESTAB
            tag = "KS2"
        how = "plain"
        if u_misnamed < self.rates.misnamed:
            plan.features.add("misnamed")
            how = ("wrong_tag", "loose", "copy")[int(u_how * 3)]
        if how == "wrong_tag":
            others = [t for t in ("FSP", "PHO", "KS1", "KS2", "CTF") if t != tag]
            tag = others[int(u_tag * len(others))]
        for serial in range(1, 1000):
            if how == "loose":
                self.loose_names += 1
                name = f"results ({self.loose_names}).xml"
            else:
                suffix = " (1)" if how == "copy" else ""
                name = f"{plan.code}_{tag}_{dest}_{serial:03d}{suffix}.xml"
            # Case-insensitive: the LA's file share may well be.
            if name.lower() not in self.used_names:
                self.used_names.add(name.lower())
                return name
        raise RuntimeError(f"no free file name for {plan.code}")  # pragma: no cover

    # -- writing -------------------------------------------------------------------------------

    def run(self) -> CtfWriteReport:
        """Plan, render and write every file."""
        records = self._records()
        plans, records = self._plan(records)
        if self.errors > 0 and "phonics" in self.collections:
            self._find_retake_candidates()
        sizes = records.group_by("file_id").len().sort("file_id")["len"].to_list()
        written: list[CtfFile] = []
        start = 0
        plan_index = 0
        # Creating a file costs about a millisecond on some file systems; a few threads let that
        # wait overlap the rendering of the next files (the GIL is released while writing).
        pending: deque[Future[int]] = deque()
        with ThreadPoolExecutor(max_workers=4) as pool:
            # Chunks of about 50,000 records bound the memory the Python lists take.
            while plan_index < len(plans):
                end_plan, rows = plan_index, 0
                while end_plan < len(plans) and (rows == 0 or rows + sizes[end_plan] <= 50_000):
                    rows += sizes[end_plan]
                    end_plan += 1
                chunk = records.slice(start, rows).select(_RECORD_COLUMNS)
                tuples = list(zip(*(chunk[c].to_list() for c in _RECORD_COLUMNS), strict=True))
                offset = 0
                for plan in plans[plan_index:end_plan]:
                    n = sizes[plan.file_id]
                    ctf, data = self._render_file(plan, tuples[offset : offset + n])
                    written.append(ctf)
                    pending.append(pool.submit(ctf.path.write_bytes, data))
                    while len(pending) > 16:  # bounds the rendered bytes held in memory
                        pending.popleft().result()
                    offset += n
                start += rows
                plan_index = end_plan
            while pending:
                pending.popleft().result()  # raises any error a write met
        planted = pl.DataFrame(self.planted, schema=PLANTED_SCHEMA, orient="row")
        return CtfWriteReport(self.folder.parent, tuple(written), planted)

    def _find_retake_candidates(self) -> None:
        """Year 2 pupils who met the standard in Year 1, by school: for planted bad retakes."""
        frame = (
            self.world.pupils.filter(
                (pl.col("ncyear") == "2")
                & pl.col("phonics_mark").is_null()
                & pl.col("phonics_code").is_null()
                & (pl.col("phonics_y1_mark") >= _PASS_MARK)
            )
            .select(
                "pupil_id",
                "upn",
                "surname",
                "forename",
                "middle_names",
                pl.col("dob").dt.strftime("%Y-%m-%d"),
                pl.col("sex").cast(pl.String),
                pl.col("ncyear").cast(pl.String),
                pl.col("ethnicity").cast(pl.String),
                pl.lit("phonics").alias("collection"),
                pl.lit("").alias("results"),
                "urn",
            )
            .sort("urn", "upn")
        )
        for row in frame.iter_rows():
            self.retake_candidates.setdefault(row[-1], []).append(row[:-1])

    def _render_file(self, plan: _FilePlan, records: list[tuple]) -> tuple[CtfFile, bytes]:
        """Render one file's records: its entry in the report and its bytes."""
        untidy_rnd = _rng(self.seed, "untidy", plan.code, plan.group)
        error_rnd = _rng(self.seed, "errors", plan.code, plan.group)
        errors = self._plan_errors(plan, records, error_rnd)
        # Planted bad retakes add a record; keep the file alphabetical.
        if any(len(r) > len(_RECORD_COLUMNS) for r in records):
            records.sort(key=lambda r: (r[_SURNAME].lower(), r[_FORENAME].lower(), r[_UPN]))
        p, nl = plan.layout.p, plan.layout.nl
        parts = [self._header(plan)]
        non_r = superseded = 0
        for record in records:
            text, extra = self._pupil(plan, record, errors.get(id(record)), untidy_rnd)
            parts.append(text)
            non_r += extra[0]
            superseded += extra[1]
        parts.append(f"{p[1]}</CTFpupilData>{nl}</CTfile>{nl}")
        features = plan.features
        if non_r:
            features.add("non_r_rows")
        if superseded:
            features.add("superseded_rows")
        data = "".join(parts).encode("utf-8")
        if "bom" in features:
            data = b"\xef\xbb\xbf" + data
        path = self.folder / plan.name
        ctf = CtfFile(
            path=path,
            laestab=plan.code,
            urn=plan.urn,
            la_code=plan.la_code,
            collections=tuple(sorted({r[_COLL] for r in records}, key=COLLECTION_CODES.index)),
            pupils=len(records),
            version=plan.version,
            supplier=plan.supplier,
            created=plan.created,
            size=len(data),
            features=frozenset(features),
        )
        return ctf, data

    def _header(self, plan: _FilePlan) -> str:
        """The XML declaration, root and Header of a file."""
        p, nl = plan.layout.p, plan.layout.nl
        p2, p3 = p[2], p[3]
        if "no_declaration" in plan.features:
            declaration = ""
        elif self.untidy and plan.xml_standalone:
            declaration = f'<?xml version="1.0" encoding="utf-8" standalone="yes"?>{nl}'
        else:
            declaration = f'<?xml version="1.0" encoding="UTF-8"?>{nl}'
        estab = f"{p3}<Estab>{plan.estab}</Estab>{nl}" if plan.estab else ""
        descriptor = _DESCRIPTORS[plan.group].format(year=self.year)
        supp = ""
        if "unknown_elements" in plan.features:
            supp = (
                f"{p2}<SuppInfo>{nl}{p3}<ExportProfile>Statutory assessment to LA</ExportProfile>"
                f"{nl}{p3}<ExportedBy>Office</ExportedBy>{nl}{p2}</SuppInfo>{nl}"
            )
        return (
            f"{declaration}<CTfile>{nl}{p[1]}<Header>{nl}"
            f"{p2}<DocumentName>Common Transfer File</DocumentName>{nl}"
            f"{p2}<CTFversion>{plan.version}</CTFversion>{nl}"
            f"{p2}<DateTime>{plan.created.isoformat(timespec='seconds')}</DateTime>{nl}"
            f"{p2}<DocumentQualifier>partial</DocumentQualifier>{nl}"
            f"{p2}<DataQualifier>{DATA_QUALIFIERS[plan.collections[0]]}</DataQualifier>{nl}"
            f"{p2}<DataDescriptor>{descriptor}</DataDescriptor>{nl}"
            f"{p2}<SupplierID>{escape(plan.supplier)}</SupplierID>{nl}"
            f"{p2}<SourceSchool>{nl}{p3}<LEA>{plan.la_code}</LEA>{nl}{estab}"
            f"{p3}<URN>{plan.urn}</URN>{nl}"
            f"{p3}<SchoolName>{escape(plan.school_name)}</SchoolName>{nl}"
            f"{p3}<AcademicYear>{self.year - 1}</AcademicYear>{nl}{p2}</SourceSchool>{nl}"
            f"{p2}<DestSchool>{nl}{p3}<LEA>{plan.la_code}</LEA>{nl}{p3}<Estab>LLLL</Estab>{nl}"
            f"{p2}</DestSchool>{nl}{supp}{p[1]}</Header>{nl}{p[1]}<CTFpupilData>{nl}"
        )

    # -- pupils --------------------------------------------------------------------------------

    def _pupil(
        self,
        plan: _FilePlan,
        record: tuple,
        error: tuple[str, dict] | None,
        rnd: random.Random,
    ) -> tuple[str, tuple[int, int]]:
        """One Pupil element, and whether it got a non-R row and a superseded row."""
        collection = record[_COLL]
        results = record[_RESULTS].split("|")
        features = plan.features
        layout = plan.layout
        p, nl = layout.p, layout.nl
        n = len(results)
        # Draw every untidy choice whether or not it is used, so planting errors (or not)
        # never changes the untidiness of other pupils.
        random_ = rnd.random
        u_non_r, u_sup, u_split, u_k1, u_k2, u_alt1, u_alt2, u_misc = (
            random_(),
            random_(),
            random_(),
            random_(),
            random_(),
            random_(),
            random_(),
            random_(),
        )
        non_r = self.untidy and error is None and u_non_r < self.rates.non_r_rows
        sup = self.untidy and error is None and u_sup < self.rates.superseded_rows
        outcome = (
            "phonics_outcome" in features
            and collection == "phonics"
            and error is None
            and results[0].isdigit()
        )
        split = "split_keystage" in features
        stage_open = f"{p[4]}<KeyStage>{nl}{p[5]}<Stage>{self.stages[collection]}</Stage>{nl}"
        stage_close = f"{p[4]}</KeyStage>{nl}"
        if not (non_r or sup or outcome or error or (split and n > 1)):
            # The common case: one KeyStage block of true rows, each a cached string.
            tables = self._tables(layout, collection, plan.result_date)
            rows_text = "".join([t[v] for t, v in zip(tables, results, strict=True)])
            body = f"{stage_open}{rows_text}{stage_close}"
        else:
            rows = self._rows(
                plan,
                collection,
                results,
                error,
                outcome,
                non_r,
                sup,
                u_k1,
                u_k2,
                u_alt1,
                u_alt2,
                u_misc,
            )
            blocks = [rows]
            if split and len(rows) > 1:
                cut = 1 + int(u_split * (len(rows) - 1))
                blocks = [rows[:cut], rows[cut:]]
            body = "".join(
                stage_open
                + "".join([self._row_text(layout, collection, r) for r in block])
                + stage_close
                for block in blocks
            )

        upn: str | None = record[_UPN]
        dob: str = record[_DOB]
        sex: str | None = record[_SEX]
        ncyear: str = record[_NCYEAR]
        if error is not None:
            detail = error[1]
            upn = detail.get("upn", upn)
            dob = detail.get("dob", dob)
            sex = detail.get("sex", sex)
            ncyear = detail.get("ncyear", ncyear)

        entities = {"'": "&apos;"} if "apos_entity" in features else {}
        surname, forename, middle = record[_SURNAME], record[_FORENAME], record[_MIDDLE]
        if collection == "mtc" or "capitals" in features:
            surname, forename, middle = surname.upper(), forename.upper(), middle.upper()
        p3, p4 = p[3], p[4]
        empty = "empty_elements" in features
        if upn is None:
            upn_el = f"{p3}<UPN/>{nl}" if empty else ""
        else:
            upn_el = f"{p3}<UPN>{upn}</UPN>{nl}"
        sex_tag = "Gender" if plan.gender else "Sex"
        if sex is None:
            sex_el = f"{p3}<{sex_tag}/>{nl}" if empty else ""
        else:
            sex_el = f"{p3}<{sex_tag}>{sex}</{sex_tag}>{nl}"
        if middle:
            middle_el = f"{p4}<MiddleNames>{escape(middle, entities)}</MiddleNames>{nl}"
        else:
            middle_el = f"{p4}<MiddleNames/>{nl}" if empty else ""
        known_el = supp_el = ""
        if "unknown_elements" in features:
            known_el = (
                f"{p4}<Ethnicity>{record[_ETHNIC]}</Ethnicity>{nl}"
                f"{p4}<EnrolStatus>C</EnrolStatus>{nl}"
            )
            supp_el = (
                f"{p3}<SuppInfo>{nl}{p4}<MISPupilRef>{record[_ID]}</MISPupilRef>{nl}"
                f"{p4}<Notes></Notes>{nl}{p3}</SuppInfo>{nl}"
            )
        text = (
            f"{p[2]}<Pupil>{nl}{upn_el}"
            f"{p3}<Surname>{escape(surname, entities)}</Surname>{nl}"
            f"{p3}<Forename>{escape(forename, entities)}</Forename>{nl}"
            f"{p3}<DOB>{dob}</DOB>{nl}{sex_el}"
            f"{p3}<BasicDetails>{nl}{middle_el}{p4}<NCyearActual>{ncyear}</NCyearActual>{nl}"
            f"{known_el}{p3}</BasicDetails>{nl}"
            f"{p3}<StageAssessments>{nl}{body}{p3}</StageAssessments>{nl}{supp_el}{p[2]}</Pupil>{nl}"
        )
        return text, (int(non_r), int(sup))

    def _rows(
        self,
        plan: _FilePlan,
        collection: str,
        results: list[str],
        error: tuple[str, dict] | None,
        outcome: bool,
        non_r: bool,
        sup: bool,
        u_k1: float,
        u_k2: float,
        u_alt1: float,
        u_alt2: float,
        u_misc: float,
    ) -> list[_Row]:
        """A pupil's rows when they are more than the true ones, or changed by an error."""
        comps = self.components[collection]
        is_mark = collection in _MARK_OR_CODE
        rows = [_Row(i, "R", value, plan.result_date) for i, value in enumerate(results)]
        base = list(rows)  # the true rows, by component
        if outcome:
            # Some MIS add the outcome; it agrees with the mark and the mark rules.
            verdict = "Wa" if int(results[0]) >= _PASS_MARK else "Wt"
            rows.append(_Row(0, "R", verdict, plan.result_date))
        if non_r:
            true = base[int(u_k1 * len(base))]
            status = "T" if u_misc < 0.5 else "E"
            value = _other_value(comps[true.comp][0], true.result, u_alt1, is_mark)
            date = _days_before(plan.result_date, 60) if plan.result_date else None
            rows.insert(rows.index(true), _Row(true.comp, status, value, date))
        if sup:
            true = base[int(u_k2 * len(base))]
            # Both rows carry dates: the later date must decide, whatever the order.
            true.date = true.date or plan.created.date().isoformat()
            value = _other_value(comps[true.comp][0], true.result, u_alt2, is_mark)
            old = _Row(true.comp, "R", value, _days_before(true.date, 14 + int(u_misc * 40)))
            rows.insert(rows.index(true) + (1 if u_misc < 0.5 else 0), old)
        if error is not None and "rows" in error[1]:
            rows = error[1]["rows"](rows)
        return rows

    def _tables(self, layout: _Layout, collection: str, date: str | None) -> list[_RowTable]:
        """Per component, the text of its R row by result, for one layout, collection and date."""
        key = (layout, collection, date)
        tables = self.tables.get(key)
        if tables is None:
            tables = [
                _RowTable(self, layout, collection, i, date)
                for i in range(len(self.components[collection]))
            ]
            self.tables[key] = tables
        return tables

    def _row_text(self, layout: _Layout, collection: str, row: _Row) -> str:
        """One StageAssessment element (cached: a few hundred distinct ones per collection)."""
        key = (layout, collection, row.comp, row.status, row.result, row.date)
        text = self.row_cache.get(key)
        if text is None:
            comp = self.components[collection][row.comp][0]
            p, nl = layout.p, layout.nl
            p6 = p[6]
            date = f"{p6}<ResultDate>{row.date}</ResultDate>{nl}" if row.date else ""
            text = (
                f"{p[5]}<StageAssessment>{nl}{p6}<Locale>ENG</Locale>{nl}"
                f"{p6}<Year>{self.year}</Year>{nl}{p6}<Subject>{comp.subject}</Subject>{nl}"
                f"{p6}<Method>{comp.method}</Method>{nl}{p6}<Component>{comp.component}</Component>{nl}"
                f"{p6}<ResultStatus>{row.status}</ResultStatus>{nl}"
                f"{p6}<ResultQualifier>{comp.qualifier}</ResultQualifier>{nl}"
                f"{p6}<Result>{escape(row.result)}</Result>{nl}{date}{p[5]}</StageAssessment>{nl}"
            )
            self.row_cache[key] = text
        return text

    # -- planted errors ------------------------------------------------------------------------

    def _plan_errors(
        self, plan: _FilePlan, records: list[tuple], rnd: random.Random
    ) -> dict[int, tuple[str, dict]]:
        """Choose which records get an error and realise each; log them in self.planted."""
        if self.errors <= 0:
            return {}
        chosen: list[tuple[tuple, str]] = []
        candidates = (
            self.retake_candidates.get(plan.urn, []) if "phonics" in plan.collections else []
        )
        free_candidates = list(candidates)
        for record in list(records):
            if rnd.random() >= self.errors:
                continue
            menu = [
                (code, weight)
                for code, (where, weight) in ERROR_MENU.items()
                if record[_COLL] in where and self._applies(code, record, records, free_candidates)
            ]
            pick = rnd.random() * sum(weight for _, weight in menu)
            code = menu[-1][0]
            for option, weight in menu:
                pick -= weight
                if pick < 0:
                    code = option
                    break
            if code == PHONICS_RETAKE_MET_Y1:
                # Realised as an extra record: a Year 2 pupil not due a retake, with a mark.
                extra = free_candidates.pop(int(rnd.random() * len(free_candidates)))
                mark = str(rnd.randint(_PASS_MARK, threshold("phonics", "max_mark")))
                record = (*extra[:_RESULTS], mark, "retake")
                records.append(record)
            chosen.append((record, code))

        upn_codes = {UPN_CHECK_LETTER, UPN_TEMPORARY, UPN_MISSING, UPN_DUPLICATE}
        kept_upns = [r[_UPN] for r in records if not _has_upn_error(r, chosen, upn_codes)]
        out: dict[int, tuple[str, dict]] = {}
        for record, code in chosen:
            if code == UPN_DUPLICATE:
                sources = [u for u in kept_upns if u != record[_UPN]]
                if not sources:
                    code = UPN_CHECK_LETTER
            detail, planted = self._realise(code, record, rnd, kept_upns)
            out[id(record)] = (code, detail)
            self.planted.append(
                (
                    plan.name,
                    plan.code,
                    record[_UPN],
                    code,
                    planted.field,
                    planted.value,
                    record[_ID],
                    record[_COLL],
                )
            )
        return out

    def _applies(
        self, code: str, record: tuple, records: list[tuple], candidates: list[tuple]
    ) -> bool:
        """Whether an error on the menu can be planted on this record."""
        results = record[_RESULTS].split("|")
        if code == UPN_DUPLICATE:
            return len(records) > 1
        if code == ELG_PARTIAL_A:
            return any(r != "A" for r in results)
        if code == PHONICS_WT_CONFLICT:
            return results[0].isdigit() and int(results[0]) >= _PASS_MARK
        if code == PHONICS_RETAKE_MET_Y1:
            return bool(candidates)
        return True

    def _realise(
        self, code: str, record: tuple, rnd: random.Random, kept_upns: list[str]
    ) -> tuple[dict, _Planted]:
        """What to change in the record for an error code, and how to report it."""
        upn = record[_UPN]
        comps = self.components[record[_COLL]]
        names = [c.component for c, _ in comps]
        if code == UPN_CHECK_LETTER:
            wrong = CHECK_ALPHABET[(CHECK_ALPHABET.index(upn[0]) + rnd.randint(1, 22)) % 23]
            new = wrong + upn[1:]
            return {"upn": new}, _Planted(code, "UPN", new)
        if code == UPN_TEMPORARY:
            body = upn[1:12] + CHECK_ALPHABET[rnd.randrange(23)]
            new = check_letter(body) + body
            return {"upn": new}, _Planted(code, "UPN", new)
        if code == UPN_MISSING:
            return {"upn": None}, _Planted(code, "UPN", "")
        if code == UPN_DUPLICATE:
            new = rnd.choice([u for u in kept_upns if u != upn])
            return {"upn": new}, _Planted(code, "UPN", new)
        if code == DOB_OUT_OF_YEAR:
            born = dt.date.fromisoformat(record[_DOB])
            shifted = born.year + (1 if rnd.random() < 0.5 else -1)
            new_dob = born.replace(year=shifted, day=min(born.day, 28 if born.month == 2 else 31))
            return {"dob": new_dob.isoformat()}, _Planted(code, "DOB", new_dob.isoformat())
        if code == SEX_MISSING:
            return {"sex": None}, _Planted(code, "Sex", "")
        if code == SEX_INVALID:
            bad = rnd.choice(_BAD_SEX)
            return {"sex": bad}, _Planted(code, "Sex", bad)
        if code == NCYEAR_MISMATCH:
            wrong_year = _WRONG_NCYEAR[record[_COLL]]
            return {"ncyear": wrong_year}, _Planted(code, "NCyearActual", wrong_year)
        if code in (ELG_MISSING, TA_SUBJECT_MISSING):
            k = rnd.randrange(len(comps))
            return {"rows": _drop(k)}, _Planted(code, names[k], "")
        if code == ELG_PARTIAL_A:
            results = record[_RESULTS].split("|")
            assessed = [i for i, r in enumerate(results) if r != "A"]
            how_many = rnd.randint(1, min(len(assessed), len(results) - 1))
            picked = sorted(rnd.sample(assessed, how_many))
            return {"rows": _set(picked, "A")}, _Planted(
                code, ",".join(names[i] for i in picked), "A"
            )
        if code == ELG_INVALID_RESULT:
            k = rnd.randrange(len(comps))
            return {"rows": _set([k], "3")}, _Planted(code, names[k], "3")
        if code == PHONICS_MARK_OUT_OF_RANGE:
            bad = rnd.choice(("41", "-1"))
            return {"rows": _set([0], bad)}, _Planted(code, names[0], bad)
        if code == PHONICS_WT_CONFLICT:
            return {"rows": _append(0, "Wt")}, _Planted(code, names[0], "Wt")
        if code == PHONICS_RETAKE_MET_Y1:
            return {}, _Planted(code, names[0], record[_RESULTS])
        if code == KS2_HNM_WRITING:
            k = names.index("WR")
            return {"rows": _set([k], "HNM")}, _Planted(code, "WR", "HNM")
        if code == MTC_SCORE_OUT_OF_RANGE:
            return {"rows": _set([0], "26")}, _Planted(code, names[0], "26")
        if code == MTC_CODE_UNKNOWN:
            bad = rnd.choice(_BAD_MTC_CODES)
            return {"rows": _set([0], bad)}, _Planted(code, names[0], bad)
        raise ValueError(f"no way to plant {code}")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _rng(seed: int, *key: str) -> random.Random:
    """A random stream for one purpose and one school or file (str seeds hash with SHA-512)."""
    return random.Random(":".join((str(seed), *key)))


def _code(school: dict) -> str:
    """The establishment's LAESTAB, or its EY URN for a PVI setting."""
    return school["laestab"] or school["urn"]


def _has_upn_error(record: tuple, chosen: Iterable[tuple[tuple, str]], codes: set[str]) -> bool:
    """Whether the record was chosen for an error that changes or removes its UPN."""
    return any(r is record and code in codes for r, code in chosen)


def _days_before(date: str, days: int) -> str:
    """The ISO date `days` before an ISO date."""
    return (dt.date.fromisoformat(date) - dt.timedelta(days=days)).isoformat()


def _other_value(comp: Component, true: str, u: float, is_mark: bool) -> str:
    """A plausible value other than the true one, for superseded and target rows."""
    if is_mark and true.isdigit():
        # A nearby mark, as a teacher's estimate or a first entry would be.
        top = max(int(v) for v in comp.results if v.isdigit())
        step = 1 + int(u * 5)
        value = int(true) - step if int(true) - step >= 0 else int(true) + step
        return str(min(value, top))
    choices = sorted(v for v in comp.results if v != true and v not in ("Wa", "Wt"))
    return choices[int(u * len(choices))]


_RowChange = Callable[[list[_Row]], list[_Row]]


def _drop(k: int) -> _RowChange:
    """Rows without component k."""
    return lambda rows: [r for r in rows if r.comp != k]


def _set(ks: list[int], value: str) -> _RowChange:
    """Rows with components ks given `value`."""
    wanted = set(ks)
    return lambda rows: [
        _Row(r.comp, r.status, value, r.date) if r.comp in wanted else r for r in rows
    ]


def _append(k: int, value: str) -> _RowChange:
    """Rows with an extra R row for component k after its row."""

    def transform(rows: list[_Row]) -> list[_Row]:
        out: list[_Row] = []
        for r in rows:
            out.append(r)
            if r.comp == k and r.status == "R":
                out.append(_Row(k, "R", value, r.date))
        return out

    return transform
