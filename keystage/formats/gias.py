"""Reader for the GIAS "all establishments" extract (CSV, one row per establishment).

Layout: shared/domain/encodings.md section 3; URN, LA code and Estab shapes: formats.md section 3.
The file is streamed: bytes are decoded in chunks that end on a newline, so a bad byte or a NUL is
reported with its line without a second pass, and only the used fields of each row are kept.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, Protocol

from keystage.formats.errors import FormatError
from keystage.formats.la_codes import is_known_la_code

__all__ = ["GIAS_COLUMNS", "EstablishmentRecord", "GiasExtract", "read_gias_extract"]

# Read size for the streaming decoder; big enough that per-chunk overhead is negligible, small
# enough that a 60 MB national extract is never held in memory as a whole.
_CHUNK_BYTES = 1 << 20

_REDOWNLOAD = "download the extract again from Get Information about Schools"
_FIX_ROW = f"Correct the row or {_REDOWNLOAD}."

# (field, GIAS column name, required). Field order is the order of the values handed to
# _RecordBuilder.build, so keep the two in step.
_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("urn", "URN", True),
    ("la_code", "LA (code)", True),
    ("la_name", "LA (name)", False),
    ("estab", "EstablishmentNumber", False),
    ("name", "EstablishmentName", True),
    ("type_name", "TypeOfEstablishment (name)", False),
    ("type_group", "EstablishmentTypeGroup (name)", False),
    ("status", "EstablishmentStatus (name)", True),
    ("phase", "PhaseOfEducation (name)", False),
    ("low_age", "StatutoryLowAge", False),
    ("high_age", "StatutoryHighAge", False),
    ("open_date", "OpenDate", False),
    ("close_date", "CloseDate", False),
    ("postcode", "Postcode", False),
)
# The columns Keystage reads, in GIAS order: what writers of extracts must produce.
GIAS_COLUMNS: tuple[str, ...] = tuple(column for _, column, _ in _COLUMNS)


@dataclass(frozen=True, slots=True)
class EstablishmentRecord:
    """One establishment (school, academy, PVI setting, ...) from the extract."""

    urn: str
    la_code: str
    la_name: str
    estab: str | None
    name: str
    type_name: str
    type_group: str
    status: str
    phase: str
    low_age: int | None
    high_age: int | None
    open_date: date | None
    close_date: date | None
    postcode: str
    line: int

    @property
    def laestab(self) -> str | None:
        """The 7-digit LAESTAB (DfE number), or None when the establishment has no Estab."""
        return None if self.estab is None else self.la_code + self.estab

    @property
    def is_open(self) -> bool:
        """True for "Open" and "Open, but proposed to close"."""
        return self.status.startswith("Open")


@dataclass(frozen=True)
class GiasExtract:
    """The establishments read from one extract, and what was ignored in it."""

    filename: str
    records: list[EstablishmentRecord]
    unknown_columns: list[str]
    la_codes: list[str]


def read_gias_extract(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO,
    *,
    filename: str,
    la_code: str | None = None,
) -> GiasExtract:
    """Read a GIAS extract, keeping only `la_code`'s rows when given; raise FormatError if bad."""
    if la_code is not None and not is_known_la_code(la_code):
        raise FormatError(
            f"'{la_code}' is not a known LA code. Check the LA code (3 digits, e.g. 201).",
            filename=filename,
        )
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _read_chunks(_chunks_of_bytes(bytes(source)), filename, la_code)
    if isinstance(source, (str, os.PathLike)):
        try:
            with Path(source).open("rb") as handle:
                return _read_chunks(_chunks_of_file(handle, filename), filename, la_code)
        except OSError as error:
            raise FormatError(
                f"the file could not be opened ({error.strerror or error}). Upload it again.",
                filename=filename,
            ) from error
    if hasattr(source, "read"):
        return _read_chunks(_chunks_of_file(source, filename), filename, la_code)
    raise TypeError(f"source must be bytes, a path or a binary file, not {type(source).__name__}")


def _chunks_of_bytes(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), _CHUNK_BYTES):
        yield bytes(view[start : start + _CHUNK_BYTES])


def _chunks_of_file(handle: BinaryIO, filename: str) -> Iterator[bytes]:
    while True:
        try:
            chunk = handle.read(_CHUNK_BYTES)
        except OSError as error:
            raise FormatError(
                f"the file could not be read ({error.strerror or error}). Upload it again.",
                filename=filename,
            ) from error
        if not isinstance(chunk, (bytes, bytearray)):
            raise TypeError("source must be opened in binary mode ('rb')")
        if not chunk:
            return
        yield bytes(chunk)


def _without_bom(chunks: Iterator[bytes], filename: str) -> Iterator[bytes]:
    """The chunks with a UTF-8 BOM dropped; a UTF-16 file is refused here with a clear message."""
    first = True
    for chunk in chunks:
        if first:
            first = False
            if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise FormatError(
                    'the file is UTF-16 (Excel\'s "Unicode Text"), not UTF-8. Save it as '
                    f'"CSV UTF-8 (Comma delimited)", or {_REDOWNLOAD}.',
                    filename=filename,
                    line=1,
                )
            if chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]
        if chunk:
            yield chunk


def _with_final_newline(chunks: Iterator[bytes]) -> Iterator[bytes]:
    # A last line without a newline is normal; adding one lets _lines cut every chunk the same way.
    last = b""
    for chunk in chunks:
        last = chunk
        yield chunk
    if last and not last.endswith(b"\n"):
        yield b"\n"


def _lines(chunks: Iterator[bytes], filename: str) -> Iterator[str]:
    """Decoded lines, newline kept, for the csv module; checks UTF-8 and NULs on the way."""
    lines_before = 0  # newlines already yielded: a problem's line is this plus the ones before it
    pending: list[bytes] = []
    for chunk in _with_final_newline(_without_bom(chunks, filename)):
        # Cut only after a newline: a newline byte is never inside a multi-byte UTF-8 sequence,
        # so every piece decodes on its own and line counting stays exact.
        if b"\n" not in chunk:
            pending.append(chunk)
            continue
        if pending:
            pending.append(chunk)
            chunk = b"".join(pending)
            pending = []
        cut = chunk.rindex(b"\n") + 1
        if cut < len(chunk):
            pending.append(chunk[cut:])
            chunk = chunk[:cut]
        problem = chunk.find(b"\x00")
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as error:
            if problem == -1 or error.start < problem:
                problem = error.start
        else:
            if problem == -1:
                parts = text.split("\n")
                lines_before += len(parts) - 1
                for part in parts[:-1]:
                    yield part + "\n"
                continue
        # Hand over the good lines first, so that problems are reported in file order.
        good = chunk.rfind(b"\n", 0, problem) + 1
        for part in chunk[:good].decode("utf-8").split("\n")[:-1]:
            yield part + "\n"
        line = lines_before + chunk.count(b"\n", 0, good) + 1
        raise _byte_problem(chunk[problem], line, filename)


def _byte_problem(byte: int, line: int, filename: str) -> FormatError:
    if byte == 0:
        return FormatError(
            "the line contains a NUL byte, so this is not a CSV text file. "
            f'Save the extract as "CSV UTF-8 (Comma delimited)", or {_REDOWNLOAD}.',
            filename=filename,
            line=line,
        )
    try:
        as_1252 = f" ('{bytes([byte]).decode('cp1252')}' in Windows-1252)"
    except UnicodeDecodeError:
        as_1252 = ""
    return FormatError(
        f"the file is not UTF-8: this line has byte 0x{byte:02X}{as_1252}, which is not valid "
        "UTF-8, and it is the first such line. The file was probably saved as Windows-1252: open "
        'it in Excel and save it as "CSV UTF-8 (Comma delimited)", or '
        f"{_REDOWNLOAD}.",
        filename=filename,
        line=line,
    )


def _header_key(name: str) -> str:
    # GIAS names are matched ignoring a stray BOM, case and runs of whitespace.
    return " ".join(name.replace("\ufeff", "").split()).casefold()


_REQUIRED = [column for _, column, required in _COLUMNS if required]
_KEY_TO_FIELD = {_header_key(column): index for index, (_, column, _) in enumerate(_COLUMNS)}


def _read_chunks(chunks: Iterator[bytes], filename: str, la_code: str | None) -> GiasExtract:
    lines = _lines(chunks, filename)
    reader = csv.reader(lines, delimiter=",", quotechar='"', doublequote=True, strict=True)
    rows = _rows(reader, filename)
    try:
        header_line, header = next(rows)
    except StopIteration:
        if reader.line_num == 0:
            message = f"the file is empty. Check you chose the right file, or {_REDOWNLOAD}."
        else:
            message = (
                "the file has no header row (it has only blank lines). Check you chose the right "
                f"file, or {_REDOWNLOAD}."
            )
        raise FormatError(message, filename=filename) from None
    positions, unknown = _read_header(header, header_line, filename)
    width = len(header)
    # Absent columns read the "" appended to every row at index `width`.
    getter = itemgetter(*(width if pos is None else pos for pos in positions))
    la_index = positions[1]
    assert la_index is not None  # required column

    records: list[EstablishmentRecord] = []
    seen_urns: dict[str, int] = {}
    build = _RecordBuilder(filename).build
    for line, row in rows:
        if len(row) != width:
            fields = f"{len(row)} field" + ("" if len(row) == 1 else "s")
            raise FormatError(
                f"this row has {fields} but the header has {width}. Check for a stray "
                f"comma or quote in the row, or {_REDOWNLOAD}.",
                filename=filename,
                line=line,
            )
        if la_code is not None and row[la_index].strip() != la_code:
            continue  # other LAs' rows: only their shape is checked
        row.append("")
        record = build(getter(row), line)
        earlier = seen_urns.setdefault(record.urn, line)
        if earlier != line:
            raise FormatError(
                f"URN {record.urn} is also on line {earlier}; each establishment must appear "
                f"once. Remove one of the two rows or {_REDOWNLOAD}.",
                filename=filename,
                line=line,
                column="URN",
            )
        records.append(record)
    return GiasExtract(
        filename=filename,
        records=records,
        unknown_columns=unknown,
        la_codes=sorted({record.la_code for record in records}),
    )


class _CsvReader(Protocol):
    line_num: int

    def __next__(self) -> list[str]: ...


def _rows(reader: _CsvReader, filename: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on; csv errors become FormatErrors."""
    line_num = 0
    while True:
        start = line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _csv_problem(str(error), start, reader.line_num, filename) from error
        line_num = reader.line_num
        # Blank lines, and the all-empty rows spreadsheets leave at the end, carry no data.
        if not row or (not row[0].strip() and not any(field.strip() for field in row)):
            continue
        yield start, row


def _csv_problem(detail: str, start: int, current: int, filename: str) -> FormatError:
    if "unexpected end of data" in detail:
        message = (
            "a quote opened in this row is never closed. Check the row for a stray double quote "
            f'("), or {_REDOWNLOAD}.'
        )
        return FormatError(message, filename=filename, line=start)
    if "field larger than field limit" in detail:
        message = (
            f"a field is too long (over {csv.field_size_limit():,} characters); this usually "
            'means a double quote (") opened in this row is never closed. Correct the row or '
            f"{_REDOWNLOAD}."
        )
        return FormatError(message, filename=filename, line=start)
    if "new-line character seen in unquoted field" in detail:
        message = (
            "the line contains a carriage return (CR) inside a field, or the file uses old Mac "
            f'line endings. Save the file as "CSV UTF-8 (Comma delimited)", or {_REDOWNLOAD}.'
        )
        return FormatError(message, filename=filename, line=current)
    message = (
        f'the row is not valid CSV ({detail}). Check for a stray double quote ("), '
        f"or {_REDOWNLOAD}."
    )
    return FormatError(message, filename=filename, line=current)


def _read_header(header: list[str], line: int, filename: str) -> tuple[list[int | None], list[str]]:
    """The position of each used column (None when absent) and the names of the other columns."""
    positions: list[int | None] = [None] * len(_COLUMNS)
    unknown: list[str] = []
    for position, name in enumerate(header):
        field = _KEY_TO_FIELD.get(_header_key(name))
        if field is None:
            unknown.append(name.replace("\ufeff", "").strip())
            continue
        earlier = positions[field]
        if earlier is not None:
            raise FormatError(
                f"the header has column {_COLUMNS[field][1]} twice (columns {earlier + 1} and "
                f"{position + 1}). Remove one of them or {_REDOWNLOAD}.",
                filename=filename,
                line=line,
            )
        positions[field] = position
    missing = [
        column
        for (_, column, required), pos in zip(_COLUMNS, positions, strict=True)
        if required and pos is None
    ]
    if missing:
        if len(missing) == len(_REQUIRED) and _looks_like_data(header):
            message = (
                "the first line looks like data, not a header row. The file must start with the "
                f"header row of the GIAS extract: {_REDOWNLOAD}."
            )
        else:
            names = ", ".join(missing)
            plural = "s" if len(missing) > 1 else ""
            message = (
                f'the header row has no column{plural} {names}. Check that this is the GIAS "all '
                f'establishments" extract, or {_REDOWNLOAD}.'
            )
        raise FormatError(message, filename=filename, line=line)
    return positions, unknown


def _looks_like_data(header: list[str]) -> bool:
    return any(_is_digits(name.replace("\ufeff", "").strip(), 6) for name in header[:3])


def _is_digits(value: str, length: int) -> bool:
    # isascii() too: str.isdigit() also accepts digits from other scripts and superscripts.
    return len(value) == length and value.isdigit() and value.isascii()


class _RecordBuilder:
    """Checks the used fields of a row and makes its record, caching values that repeat."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.known_las: set[str] = set()
        # Labels, dates and ages repeat across 50,000 rows: parse each once and share one copy.
        self.labels: dict[str, str] = {}
        self.dates: dict[str, date | None] = {"": None}
        self.ages: dict[str, int | None] = {"": None}

    def build(self, values: tuple[str, ...], line: int) -> EstablishmentRecord:
        """The record for one row's used fields (in _COLUMNS order); FormatError if one is bad."""
        (
            urn,
            la,
            la_name,
            estab,
            name,
            type_name,
            type_group,
            status,
            phase,
            low_age,
            high_age,
            open_date,
            close_date,
            postcode,
        ) = map(str.strip, values)
        if not _is_digits(urn, 6):
            raise self._bad("URN", urn, line)
        if la not in self.known_las:
            if not _is_digits(la, 3) or not is_known_la_code(la):
                raise self._bad("LA (code)", la, line)
            self.known_las.add(la)
        if estab and not _is_digits(estab, 4):
            raise self._bad("EstablishmentNumber", estab, line)
        if not name:
            raise self._bad("EstablishmentName", name, line)
        if not status:
            raise self._bad("EstablishmentStatus (name)", status, line)
        labels = self.labels
        return EstablishmentRecord(
            urn=urn,
            la_code=la,
            la_name=labels.setdefault(la_name, la_name),
            estab=estab or None,
            name=name,
            type_name=labels.setdefault(type_name, type_name),
            type_group=labels.setdefault(type_group, type_group),
            status=labels.setdefault(status, status),
            phase=labels.setdefault(phase, phase),
            low_age=self._age("StatutoryLowAge", low_age, line),
            high_age=self._age("StatutoryHighAge", high_age, line),
            open_date=self._date("OpenDate", open_date, line),
            close_date=self._date("CloseDate", close_date, line),
            postcode=postcode,
            line=line,
        )

    def _age(self, column: str, value: str, line: int) -> int | None:
        try:
            return self.ages[value]
        except KeyError:
            pass
        # Three digits at most: an age is a small whole number, and this keeps int() cheap.
        if not (value.isdigit() and value.isascii() and len(value) <= 3):
            raise self._bad(column, value, line)
        age = self.ages[value] = int(value)
        return age

    def _date(self, column: str, value: str, line: int) -> date | None:
        try:
            return self.dates[value]
        except KeyError:
            pass
        parsed = _parse_date(value)
        if parsed is None:
            raise self._bad(column, value, line)
        self.dates[value] = parsed
        return parsed

    def _bad(self, column: str, value: str, line: int) -> FormatError:
        if not value:
            message = f"the {_WHAT[column]} is empty. {_FIX_ROW}"
        elif column == "LA (code)" and _is_digits(value, 3):
            message = f"'{value}' is not a known LA code. {_FIX_ROW}"
        else:
            shown = value if len(value) <= 40 else value[:37] + "..."
            message = f"'{shown}' is not {_WHAT_SHAPE[column]}. {_FIX_ROW}"
        return FormatError(message, filename=self.filename, line=line, column=column)


# What each checked column holds, for messages: "the URN is empty", "'x' is not a URN (6 digits)".
_WHAT = {
    "URN": "URN",
    "LA (code)": "LA code",
    "EstablishmentNumber": "establishment number",
    "EstablishmentName": "establishment name",
    "EstablishmentStatus (name)": "establishment status",
    "StatutoryLowAge": "statutory low age",
    "StatutoryHighAge": "statutory high age",
    "OpenDate": "open date",
    "CloseDate": "close date",
}
_WHAT_SHAPE = {
    "URN": "a URN (6 digits)",
    "LA (code)": "an LA code (3 digits)",
    "EstablishmentNumber": "an establishment number (4 digits)",
    "StatutoryLowAge": "an age in years (a whole number)",
    "StatutoryHighAge": "an age in years (a whole number)",
    "OpenDate": "a date (DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD)",
    "CloseDate": "a date (DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD)",
}


def _parse_date(value: str) -> date | None:
    """A date from DD-MM-YYYY (as GIAS writes it), DD/MM/YYYY or YYYY-MM-DD; None if not one."""
    if len(value) != 10 or not value.isascii():
        return None
    if value[2] == value[5] and value[2] in "-/":
        day_, month, year = value[:2], value[3:5], value[6:]
    elif value[4] == "-" and value[7] == "-":
        year, month, day_ = value[:4], value[5:7], value[8:]
    else:
        return None
    if not (day_.isdigit() and month.isdigit() and year.isdigit()):
        return None
    try:
        return date(int(year), int(month), int(day_))
    except ValueError:
        return None
