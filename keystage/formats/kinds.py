"""The kinds of file Keystage reads, each recognised from its first bytes, never from its name.

Pure (no Django). Each kind names its dataset (keystage.datasets), a content sniff over the first
bytes (and, for CSVs, the header row) and a reader. Readers are named by dotted path
("module:function") and imported only when asked for, so this registry imports no reader and a
reader may import it.

Every reader has the signature

    reader(source, *, filename: str, year: int | None = None, **options) -> DatasetFile

where `source` is bytes or a path, and returns the whole file as named polars frames, or raises
keystage.formats.errors.FormatError naming the file, the line or row and what to do. A reader
never returns part of a file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import polars as pl

# Bytes a sniff may look at: enough for an XML prolog and root, or a CSV header row.
SNIFF_BYTES = 64 * 1024


@dataclass
class DatasetFile:
    """One file read whole: its dataset, what its header says, and its rows as named frames."""

    kind: str  # a FileKind code, e.g. "census_xml"
    dataset: str  # a keystage.datasets code, e.g. "census"
    filename: str
    frames: dict[str, pl.DataFrame]  # table name -> rows, columns as the reader declares them
    year: int | None = None  # the assessment year the file is for, when it says
    term: str = ""  # census term: "AUT", "SPR" or "SUM"; empty for other datasets
    reference_date: date | None = None
    laestab: str = ""  # the school the file is from, for per-school files
    urn: str = ""
    school_name: str = ""
    la_code: str = ""  # the LA the file says it is from, when it says
    software: str = ""  # the system that wrote it
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows across every frame."""
        return sum(frame.height for frame in self.frames.values())


@dataclass(frozen=True)
class FileKind:
    """One kind of file: how to recognise it and how to read it."""

    code: str
    dataset: str
    label: str
    sniffer: str  # "module:function" taking the first SNIFF_BYTES bytes, returning bool
    reader: str  # "module:function" as the module docstring describes
    # Lower numbers are tried first, so a narrow sniff wins over a broad one.
    priority: int = 100
    # "module:function" reading several files of the kind at once, (filename, source) pairs
    # in, for each the DatasetFile `reader` gives or the exception it raises out; "" when the
    # kind has none (a kind of small files whose reading has a fixed cost per file has one).
    many: str = ""

    def sniff(self, head: bytes) -> bool:
        """True when the file's first bytes look like this kind."""
        return bool(_load(self.sniffer)(head))

    def read(self, source, *, filename: str, year: int | None = None, **options) -> DatasetFile:
        """Read the whole file into frames, or raise FormatError."""
        return _load(self.reader)(source, filename=filename, year=year, **options)

    def read_many(self, sources, *, year: int | None = None) -> list:
        """Each file's DatasetFile, or the exception reading it raises, read together."""
        if not self.many:
            results = []
            for filename, source in sources:
                try:
                    results.append(self.read(source, filename=filename, year=year))
                except Exception as error:  # noqa: BLE001 - returned, as `many` returns it
                    results.append(error)
            return results
        return _load(self.many)(sources, year=year)


_LOADED: dict[str, Callable] = {}


def _load(dotted: str) -> Callable:
    function = _LOADED.get(dotted)
    if function is None:
        module, _, name = dotted.partition(":")
        function = getattr(importlib.import_module(module), name)
        _LOADED[dotted] = function
    return function


KINDS: dict[str, FileKind] = {}


def register(kind: FileKind) -> FileKind:
    """Add a kind to the registry (a code may be registered once)."""
    if kind.code in KINDS:
        raise ValueError(f"file kind {kind.code!r} is registered twice")
    KINDS[kind.code] = kind
    return kind


def kind_of(head: bytes) -> FileKind | None:
    """The kind whose sniff recognises these first bytes, or None when no kind does."""
    for kind in sorted(KINDS.values(), key=lambda k: (k.priority, k.code)):
        if kind.sniff(head[:SNIFF_BYTES]):
            return kind
    return None


def kinds_of_dataset(dataset: str) -> tuple[FileKind, ...]:
    """Every kind of file that carries a dataset."""
    return tuple(k for k in KINDS.values() if k.dataset == dataset)


# The registry: one register(...) line per kind, grouped by dataset. CTFs are not listed: the
# intake recognises them with keystage.formats.ctf.looks_like_ctf and streams them with CtfReader.
register(FileKind("pp_csv", "pp", "Pupil premium (CSV)", "keystage.formats.tabular:looks_like_pp",
                  "keystage.formats.tabular:read_pp", priority=40))
register(FileKind("ks2_csv", "ks2", "KS2 results (CSV)", "keystage.formats.tabular:looks_like_ks2",
                  "keystage.formats.tabular:read_ks2", priority=40))
register(FileKind("ks4_csv", "ks4", "KS4 results (CSV)", "keystage.formats.tabular:looks_like_ks4",
                  "keystage.formats.tabular:read_ks4", priority=40))
register(FileKind("ks5_csv", "ks5", "KS5 results (CSV)", "keystage.formats.tabular:looks_like_ks5",
                  "keystage.formats.tabular:read_ks5", priority=40))
register(FileKind("extra_csv", "extra", "Extra pupil fields (CSV)",
                  "keystage.formats.tabular:never", "keystage.formats.tabular:read_extra",
                  priority=1000))
register(FileKind("census_xml", "census", "School census (XML)",
                  "keystage.formats.census:looks_like_census",
                  "keystage.formats.census:read_census", priority=20,
                  many="keystage.formats.census:read_censuses"))
register(FileKind("census_csv", "census", "School census extract (CSV)",
                  "keystage.formats.census_extract:looks_like_census_extract",
                  "keystage.formats.census_extract:read_census_extract", priority=30))
register(FileKind("ssda903_csv", "ssda903", "SSDA903 table (CSV)",
                  "keystage.formats.ssda903:looks_like_ssda903_table",
                  "keystage.formats.ssda903:read_ssda903_table", priority=35))
register(FileKind("ssda903_xml", "ssda903", "SSDA903 export (XML)",
                  "keystage.formats.ssda903:looks_like_ssda903_xml",
                  "keystage.formats.ssda903:read_ssda903_xml", priority=25))
register(FileKind("cin_xml", "cin", "Children in need census (XML)",
                  "keystage.formats.cin:looks_like_cin", "keystage.formats.cin:read_cin",
                  priority=25))
