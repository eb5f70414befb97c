"""Writes the LA's statutory return files to the DfE: streaming, vectorised and atomic; no Django.

Layout: shared/domain/encodings.md section 2, per collection and year in data/return_layouts.csv,
with the components of keystage/formats/data/assessment_components.csv.

Pupils arrive as polars frames already sorted by establishment. Each pupil's XML is built with
polars string expressions over a slice of rows at a time (no Python work per pupil), and the
establishment tags are written where the establishment changes, including across frames. The
file is written under a temporary name in the same folder and renamed into place only when it is
complete and on disk, so no partial file ever exists under the final name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import polars as pl

from keystage.formats.assessment_spec import Component, collection_components
from keystage.returns.layout import ReturnLayout, layout_for

__all__ = [
    "PUPIL_COLUMNS",
    "SOFTWARE_CODE",
    "ReturnHeader",
    "ReturnSummary",
    "write_return",
]

SOFTWARE_CODE = "Keystage"
PUPIL_COLUMNS = (
    "lea",
    "estab",
    "urn",
    "is_pvi",
    "upn",
    "surname",
    "forename",
    "dob",
    "sex",
    "ncyear",
)
DATE_SUFFIX = "_date"

# Rows turned into text at a time, whatever the size of the caller's chunks, which bounds memory.
# Small slices measured fastest, their strings staying in the processor's cache (EYFSP is about
# 7 KB a pupil): 600,000 EYFSP pupils took 15 s with 512 or 1,024 rows a slice, 21 s with 2,048.
_SLICE_ROWS = 512

_INDENT = "  "
_XML_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&apos;"))
_NEEDS_ESCAPE = r"[&<>\"']"
# Characters XML 1.0 cannot carry at all; polars strings are valid UTF-8, so no lone surrogates.
_NOT_XML = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_LA_CODE = re.compile(r"^[0-9]{3}$")
# A key that no establishment has, for "no establishment open yet".
_NO_KEY = "\x00"


@dataclass(frozen=True)
class ReturnHeader:
    """What the return's header says: who sends it, for which collection and year, and when."""

    la_code: str
    collection: str
    year: int
    serial: int
    created: datetime
    release: str = "1.0"


@dataclass(frozen=True)
class ReturnSummary:
    """What was written: the file, its checksum and size, and counts of its contents."""

    path: Path
    sha256: str
    size: int
    schools: int
    pupils: int
    results: dict[str, dict[str, int]]


def _escape(text: str) -> str:
    for char, entity in _XML_ESCAPES:
        text = text.replace(char, entity)
    return text


def _escaped(expr: pl.Expr) -> pl.Expr:
    for char, entity in _XML_ESCAPES:
        expr = expr.str.replace_all(char, entity, literal=True)
    return expr


def _element(depth: int, name: str, value: object) -> str:
    return f"{_INDENT * depth}<{name}>{_escape(str(value))}</{name}>\n"


def _open(depth: int, name: str) -> str:
    return f"{_INDENT * depth}<{name}>"


def _close(name: str) -> str:
    return f"</{name}>\n"


def _header_xml(header: ReturnHeader, layout: ReturnLayout) -> str:
    return "".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            "<Message>\n",
            f"{_INDENT}<Header>\n",
            f"{_INDENT * 2}<CollectionDetails>\n",
            _element(3, "Collection", layout.collection_code),
            _element(3, "Term", layout.term),
            _element(3, "Year", header.year),
            _element(3, "ReferenceDate", layout.reference_date_in(header.year).isoformat()),
            f"{_INDENT * 2}</CollectionDetails>\n",
            f"{_INDENT * 2}<Source>\n",
            _element(3, "SourceLevel", "L"),
            _element(3, "LEA", header.la_code),
            _element(3, "SoftwareCode", SOFTWARE_CODE),
            _element(3, "Release", header.release),
            _element(3, "SerialNo", f"{header.serial:03d}"),
            _element(3, "DateTime", header.created.isoformat(timespec="seconds")),
            f"{_INDENT * 2}</Source>\n",
            f"{_INDENT}</Header>\n",
        ]
    )


_ESTABLISHMENTS_OPEN = f"{_INDENT}<Establishments>\n"
_ESTABLISHMENTS_CLOSE = f"{_INDENT}</Establishments>\n"
_ESTABLISHMENTS_EMPTY = f"{_INDENT}<Establishments/>\n"
_ESTABLISHMENT_CLOSE = f"{_INDENT * 3}</Pupils>\n{_INDENT * 2}</Establishment>\n"
_MESSAGE_CLOSE = "</Message>\n"


def _check_header(header: ReturnHeader) -> None:
    if not _LA_CODE.match(header.la_code):
        raise ValueError(f"the LA code {header.la_code!r} is not three digits")
    if not 1 <= header.serial <= 999:
        raise ValueError(f"the serial {header.serial} is not between 1 and 999")
    if not header.release.strip():
        raise ValueError("the release is empty")


Part = str | pl.Expr


def _concat(parts: list[Part]) -> pl.Expr:
    """One concat_str over the parts, adjacent literals merged; null parts are left out."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return pl.concat_str(
        [pl.lit(p) if isinstance(p, str) else p for p in merged], ignore_nulls=True
    )


class _Plan:
    """How one collection's pupils become text: the fixed parts, worked out once per file."""

    def __init__(self, header: ReturnHeader, layout: ReturnLayout, components: list[Component]):
        self.layout = layout
        self.components = [c.component for c in components]
        self.omit = sorted(layout.omit_results)
        self.block_open: dict[str, str] = {}
        for comp in components:
            # Everything in a StageAssessment but the result (and its date) is the same for every
            # pupil, so it is one literal per component.
            self.block_open[comp.component] = "".join(
                [
                    f"{_INDENT * 6}<StageAssessment>\n",
                    _element(7, "Stage", comp.stage),
                    _element(7, "Locale", "ENG"),
                    _element(7, "Year", header.year),
                    _element(7, "Subject", comp.subject),
                    _element(7, "Method", comp.method),
                    _element(7, "Component", comp.component),
                    _element(7, "ResultStatus", "R"),
                    _element(7, "ResultQualifier", comp.qualifier),
                    _open(7, "Result"),
                ]
            )
        self.required = set(PUPIL_COLUMNS) | set(self.components)
        self.optional = {c + DATE_SUFFIX for c in self.components}

    def conform(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """The chunk with checked columns, every one text but is_pvi, in a fixed order."""
        names = set(chunk.columns)
        missing = [c for c in [*PUPIL_COLUMNS, *self.components] if c not in names]
        unknown = sorted(names - self.required - self.optional)
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"missing columns {', '.join(missing)}")
            if unknown:
                problems.append(f"unknown columns {', '.join(unknown)}")
            raise ValueError(f"the {self.layout.collection} pupils frame has {'; '.join(problems)}")
        dates = [c + DATE_SUFFIX for c in self.components if c + DATE_SUFFIX in names]
        text = [c for c in [*PUPIL_COLUMNS, *self.components, *dates] if c != "is_pvi"]
        frame = chunk.select(
            pl.col("is_pvi").cast(pl.Boolean).fill_null(False),
            *(pl.col(c).cast(pl.String) for c in text),
        )
        if not self.layout.includes_pvi and frame["is_pvi"].any():
            upn = frame.filter(pl.col("is_pvi"))["upn"][0]
            raise ValueError(
                f"pupil {upn} is at a PVI setting, but the {self.layout.collection} return "
                "carries schools only"
            )
        return frame

    def result(self, name: str, omitting: bool = True) -> pl.Expr:
        """A component's result as written: null where there is none or it is not sent."""
        result = pl.col(name)
        if omitting and self.omit:
            # Results accepted in CTFs but not sent (phonics Wa/Wt): the DfE wants marks only.
            result = pl.when(result.is_in(self.omit)).then(None).otherwise(result)
        return result

    def texts(self, frame: pl.DataFrame) -> tuple[pl.Expr, pl.Expr]:
        """Expressions for each establishment's opening and each pupil's XML in this frame.

        The expressions are made for the frame's data: a column is escaped only where it holds a
        character to escape, and a component's tags are made conditional only where some pupil
        has no result for it, since each of those costs a pass over the frame.
        """
        text_columns = [c for c in frame.columns if c != "is_pvi"]
        flags = frame.select(
            *(pl.col(c).str.contains(_NOT_XML).any().alias("bad " + c) for c in text_columns),
            *(pl.col(c).str.contains(_NEEDS_ESCAPE).any().alias("esc " + c) for c in text_columns),
            *(pl.col(c).is_in(self.omit).any().alias("omit " + c) for c in self.components),
            *(self.result(c).is_null().any().alias("gap " + c) for c in self.components),
        ).row(0, named=True)
        bad = [c for c in text_columns if flags["bad " + c]]
        if bad:
            row = frame.filter(pl.col(bad[0]).str.contains(_NOT_XML)).row(0, named=True)
            raise ValueError(
                f"the {bad[0]} of pupil {row['upn']} has a control character, which XML cannot "
                "carry: the cleaning rules should have removed it"
            )

        def value(name: str, expr: pl.Expr | None = None) -> pl.Expr:
            expr = pl.col(name) if expr is None else expr
            return _escaped(expr) if flags["esc " + name] else expr

        # A missing value becomes an empty element (concat_str skips it): the XSD then names it.
        pvi = pl.col("is_pvi")
        establishment = _concat(
            [
                pl.when(pl.col("_closes")).then(pl.lit(_ESTABLISHMENT_CLOSE)),
                _open(2, "Establishment") + "\n" + _open(3, "LEA"),
                value("lea"),
                _close("LEA"),
                pl.when(pvi).then(pl.lit(_open(3, "URN"))).otherwise(pl.lit(_open(3, "Estab"))),
                pl.when(pvi).then(value("urn")).otherwise(value("estab")),
                pl.when(pvi).then(pl.lit(_close("URN"))).otherwise(pl.lit(_close("Estab"))),
                _open(3, "Pupils") + "\n",
            ]
        )

        parts: list[Part] = [pl.col("_establishment"), f"{_INDENT * 4}<Pupil>\n"]
        for element, column in _PUPIL_ELEMENTS:
            parts += [_open(5, element), value(column), _close(element)]
        results = {c: self.result(c, omitting=flags["omit " + c]) for c in self.components}
        gaps = [c for c in self.components if flags["gap " + c]]
        if gaps:
            any_result = pl.any_horizontal(results[c].is_not_null() for c in self.components)
            parts.append(
                pl.when(any_result)
                .then(pl.lit(f"{_INDENT * 5}<StageAssessments>\n"))
                .otherwise(pl.lit(f"{_INDENT * 5}<StageAssessments/>\n"))
            )
        else:
            parts.append(f"{_INDENT * 5}<StageAssessments>\n")
        for comp in self.components:
            has = results[comp].is_not_null()

            def tag(text: str, comp: str = comp, has: pl.Expr = has) -> Part:
                # A pupil with no result for a component has no StageAssessment for it at all.
                return pl.when(has).then(pl.lit(text)) if comp in gaps else text

            parts += [tag(self.block_open[comp]), value(comp, results[comp]), tag(_close("Result"))]
            if comp + DATE_SUFFIX in frame.columns:
                date = value(comp + DATE_SUFFIX)
                date = pl.when(has).then(date) if comp in gaps else date
                dated = date.is_not_null()
                parts += [
                    pl.when(dated).then(pl.lit(_open(7, "ResultDate"))),
                    date,
                    pl.when(dated).then(pl.lit(_close("ResultDate"))),
                ]
            parts.append(tag(f"{_INDENT * 6}</StageAssessment>\n"))
        closing = f"{_INDENT * 5}</StageAssessments>\n"
        parts.append(pl.when(any_result).then(pl.lit(closing)) if gaps else closing)
        parts.append(f"{_INDENT * 4}</Pupil>\n")
        return establishment, _concat(parts)

    def counts(self, frame: pl.DataFrame) -> pl.DataFrame:
        """How many of each result each component has in the frame, as written."""
        return (
            frame.select(self.result(c).alias(c) for c in self.components)
            .unpivot(variable_name="component", value_name="result")
            .drop_nulls("result")
            .group_by("component", "result")
            .len()
        )


_PUPIL_ELEMENTS = (
    ("UPN", "upn"),
    ("Surname", "surname"),
    ("Forename", "forename"),
    ("DOB", "dob"),
    ("Sex", "sex"),
    ("NCyearActual", "ncyear"),
)
_ESTABLISHMENT_KEY = pl.concat_str(
    pl.col("lea").fill_null(""),
    pl.when(pl.col("is_pvi"))
    .then(pl.concat_str(pl.lit("/URN "), pl.col("urn").fill_null("")))
    .otherwise(pl.concat_str(pl.lit("/"), pl.col("estab").fill_null(""))),
)


class _Stream:
    """The writing of one file: the bytes so far, the open establishment and the counts."""

    def __init__(self, handle: BinaryIO, plan: _Plan, executor: ThreadPoolExecutor) -> None:
        self.handle = handle
        self.plan = plan
        self.executor = executor
        self.pending: Future[None] | None = None
        self.hash = hashlib.sha256()
        self.size = 0
        self.open_key: str | None = None
        self.seen: set[str] = set()
        self.pupils = 0
        self.counts: dict[tuple[str, str], int] = {}

    def _put(self, data: bytes) -> None:
        self.hash.update(data)
        self.handle.write(data)

    def write(self, data: bytes) -> None:
        # The checksum and the file take each slice's bytes in a thread while polars builds the
        # next slice: both release the GIL, so the two halves of the work overlap.
        self.drain()
        self.size += len(data)
        self.pending = self.executor.submit(self._put, data)

    def drain(self) -> None:
        """Wait for the last write, raising its error if it failed."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def chunk(self, chunk: pl.DataFrame) -> None:
        if chunk.height == 0:
            return
        frame = self.plan.conform(chunk)
        establishment, pupil = self.plan.texts(frame)
        previous = self.open_key if self.open_key is not None else _NO_KEY
        frame = (
            frame.with_columns(_key=_ESTABLISHMENT_KEY)
            .with_columns(_opens=pl.col("_key") != pl.col("_key").shift(1, fill_value=previous))
            .with_columns(
                # The first establishment of the file has none before it to close.
                _closes=pl.col("_opens")
                & (pl.lit(previous != _NO_KEY) | (pl.int_range(pl.len()) > 0))
            )
        )
        starts = frame.filter(pl.col("_opens"))
        for key in starts["_key"]:
            if key in self.seen:
                raise ValueError(
                    f"establishment {key} appears again after other establishments: pupils must "
                    "come sorted by establishment"
                )
            self.seen.add(key)
        # Establishments change every few dozen pupils, so their opening tags are made for the
        # rows where they start and scattered into an otherwise empty column.
        openings = (
            pl.repeat(None, frame.height, dtype=pl.String, eager=True)
            .alias("_establishment")
            .scatter(frame["_opens"].arg_true(), starts.select(establishment).to_series())
        )
        frame = frame.with_columns(openings)
        if self.open_key is None:
            self.write(_ESTABLISHMENTS_OPEN.encode())
        self.open_key = frame["_key"][-1]
        text = pupil.str.join("").cast(pl.Binary)
        for start in range(0, frame.height, _SLICE_ROWS):
            self.write(frame.slice(start, _SLICE_ROWS).select(text).item())
        for component, result, count in self.plan.counts(frame).iter_rows():
            self.counts[component, result] = self.counts.get((component, result), 0) + count
        self.pupils += frame.height

    def finish(self) -> None:
        if self.open_key is None:
            self.write(_ESTABLISHMENTS_EMPTY.encode())
        else:
            self.write((_ESTABLISHMENT_CLOSE + _ESTABLISHMENTS_CLOSE).encode())
        self.write(_MESSAGE_CLOSE.encode())
        self.drain()

    def results(self) -> dict[str, dict[str, int]]:
        def order(code: str) -> tuple[int, int, str]:
            return (0, int(code), "") if code.isdigit() else (1, 0, code)

        results: dict[str, dict[str, int]] = {}
        for component in self.plan.components:
            found = {r: n for (c, r), n in self.counts.items() if c == component}
            results[component] = {r: found[r] for r in sorted(found, key=order)}
        return results


def _open_partial(path: Path) -> tuple[Path, BinaryIO]:
    """A new temporary file beside path ('.name.XXXX.partial'), open for writing."""
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    return Path(name), os.fdopen(descriptor, "wb")


def write_whole(target: Path, write: Callable[[Path], None]) -> None:
    """Have write fill a temporary file beside target, then rename it: never half a file."""
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                        dir=target.parent)
    os.close(descriptor)
    partial = Path(name)
    try:
        write(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    # The rename itself is durable only once the folder's entry is on disk.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_return(
    path: Path | str,
    header: ReturnHeader,
    chunks: Iterable[pl.DataFrame],
    *,
    check: Callable[[Path], None] | None = None,
) -> ReturnSummary:
    """Write a return file from frames of pupils sorted by establishment, atomically.

    The file is written under a temporary name; check (which raises to refuse it) sees it
    there, so only a checked file ever takes its final name, and a failure leaves nothing.
    """
    path = Path(path)
    _check_header(header)
    layout = layout_for(header.collection, header.year)
    components = collection_components(header.collection, header.year)
    if not components:
        raise LookupError(f"no {header.collection} components for {header.year}")
    plan = _Plan(header, layout, components)
    partial, handle = _open_partial(path)
    try:
        # The executor is shut down (its last write done) before the file is closed.
        with handle, ThreadPoolExecutor(max_workers=1) as executor:
            stream = _Stream(handle, plan, executor)
            stream.write(_header_xml(header, layout).encode())
            for chunk in chunks:
                stream.chunk(chunk)
            stream.finish()
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return ReturnSummary(
        path=path,
        sha256=stream.hash.hexdigest(),
        size=stream.size,
        schools=len(stream.seen),
        pupils=stream.pupils,
        results=stream.results(),
    )
