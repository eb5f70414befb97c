"""Readers for Common Transfer Files (CTF XML) sent by schools: streaming, and whole-file.

Layout: shared/domain/formats.md section 1 and encodings.md section 1. The reader is tolerant of
untidy files (any case in element names, BOM, CRLF, empty and unknown elements, several KeyStage
blocks, Gender or Sex) and strict about safety: a document type declaration is refused before any
byte reaches the XML parser, nothing outside the file is ever read, and size and nesting depth are
limited.

How it streams: bytes are pushed into lxml's pull parser in chunks and the parser builds the tree
as usual, but with no per-element events (they cost a Python object per element). After each chunk
every Pupil that already has a following sibling is complete: it is read in one walk over its
children and removed from the tree, so memory stays flat whatever the file size.

The whole-file reader (read_ctf_frames, for files up to WHOLE_FILE_MAX_BYTES) parses the file in
one call with the same options and checks and gives the same pupils and rows as polars frames; a
file it cannot read is read again by the streaming reader, whose refusal is the one reported.
"""

from __future__ import annotations

import io
import itertools
import operator
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, make_dataclass
from datetime import date
from types import TracebackType
from typing import BinaryIO

import polars as pl
from lxml import etree

from keystage.formats.assessment_spec import component_for
from keystage.formats.errors import FormatError

__all__ = [
    "SUPPORTED_VERSIONS",
    "PUPIL_COLUMNS",
    "ROW_COLUMNS",
    "WHOLE_FILE_MAX_BYTES",
    "CtfAssessment",
    "CtfFrames",
    "CtfHeader",
    "CtfPupil",
    "CtfReader",
    "collections_of",
    "latest_expr",
    "latest_flags",
    "latest_results",
    "looks_like_ctf",
    "read_ctf_frames",
    "read_ctf_header",
]

# CTF versions read without a warning: the current one (25 for 2025/26), the one before and the
# next (26 from September 2026), so that a school's MIS upgrading early is not flagged.
SUPPORTED_VERSIONS = (24, 25, 26)

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64

# Bytes pushed into the parser at a time. The header is read in small pieces so that
# read_ctf_header stays cheap; pupils in bigger ones, big enough that per-chunk work vanishes and
# small enough that the pupils parsed from one chunk (held as a tree until read) stay few.
# 256 KB measured fastest, against 64 KB and 1 MB.
_HEADER_CHUNK = 16 * 1024
_CHUNK = 256 * 1024
# The XML declaration, comments and whitespace before the root element must fit in this.
_MAX_PROLOG = 1024 * 1024

_REEXPORT = "Ask the school to export it again from its MIS."
_DAMAGED = "The file may be damaged or not a CTF: ask the school to export it again from its MIS."

_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))
_VERSION = re.compile(r"(\d{1,3})(?:\.\d+)?")
_XML_DECL_ENCODING = re.compile(r"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_NAME_END = re.compile(r"[\s/>]")
_base_urls = itertools.count(1)

# The parser's options, the same for both readers: nothing outside the file is ever read (no
# DTD, no entities, no network), libxml2's own size limits stay on (huge_tree off), comments and
# processing instructions are dropped, and indentation between elements is not kept (a smaller
# tree, built faster).
_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    remove_blank_text=True,
    collect_ids=False,
)


@dataclass(frozen=True, slots=True)
class CtfHeader:
    """The CTF header: version, kind of file, and the sending and receiving schools."""

    version: str | None
    version_major: int | None
    document_qualifier: str
    data_qualifier: str
    supplier: str
    source_la: str | None
    source_estab: str | None
    source_urn: str | None
    source_name: str
    academic_year: int | None
    dest_la: str | None
    dest_estab: str | None
    date_time: str | None

    @property
    def source_laestab(self) -> str | None:
        """The sending school's LAESTAB (LA code + Estab), or None when either is missing."""
        if self.source_la and self.source_estab:
            return self.source_la + self.source_estab
        return None


@dataclass(frozen=True, slots=True)
class CtfAssessment:
    """One StageAssessment row; codes upper-cased, result as given (phonics 'Wa'/'Wt')."""

    stage: str
    locale: str
    year: int | None
    subject: str
    method: str
    component: str
    status: str
    qualifier: str
    result: str
    result_date: date | None
    line: int


@dataclass(slots=True)
class CtfPupil:
    """One Pupil as the file gives it; checking the values is for the cleaning rules."""

    line: int
    upn: str
    surname: str
    forename: str
    middle_names: str
    dob: date | None
    dob_text: str
    sex: str
    ncyear: str | None
    assessments: list[CtfAssessment]
    # A full (transfer) CTF's BasicDetails/FormerUPN; empty in assessment files.
    former_upn: str = ""
    # With CtfReader(full=True): every container of the pupil but the assessments, as the file
    # gives it (basic details, looked after, SEN and FSM history, addresses, contacts,
    # attendance, school history ...), for the school that receives a transfer.
    sections: tuple[CtfSection, ...] = ()


@dataclass(frozen=True, slots=True)
class CtfSection:
    """One container of a full CTF's Pupil: its records, each (element name, {path: text})."""

    name: str
    records: tuple[tuple[str, dict[str, str]], ...]


def _tag_name(tag: object) -> str:
    """An element's local name as the file spells it."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _leaves(record: etree._Element) -> dict[str, str]:
    """The non-blank leaf texts under an element, by their path below it ('Phones/Phone/...')."""
    found: dict[str, str] = {}
    for leaf in record.iter():
        if leaf is record or len(leaf) or not isinstance(leaf.tag, str):
            continue
        text = _text(leaf)
        if not text:
            continue
        parts = []
        node = leaf
        while node is not None and node is not record:
            parts.append(_tag_name(node.tag))
            node = node.getparent()
        key = "/".join(reversed(parts))
        found[key] = f"{found[key]}; {text}" if key in found else text
    return found


def pupil_sections(element: etree._Element) -> tuple[CtfSection, ...]:
    """The containers of a Pupil element (not its assessments), each record's leaf values."""
    sections = []
    for child in element:
        if not isinstance(child.tag, str) or not len(child):
            continue
        name = _tag_name(child.tag)
        if name.lower() == "stageassessments":
            continue
        loose = {}
        records = []
        for item in child:
            if not isinstance(item.tag, str):
                continue
            if len(item):
                records.append((_tag_name(item.tag), _leaves(item)))
            elif _text(item):
                loose[_tag_name(item.tag)] = _text(item)
        if loose:
            records.insert(0, (name, loose))
        sections.append(CtfSection(name, tuple(records)))
    return tuple(sections)


# ---------------------------------------------------------------------------------------------
# Element names. Files come with any capitalisation (CTFVERSION, Ctfile) and, rarely, a
# namespace, so every tag is reduced to its lower-case local name. The reduction is cached per
# distinct tag string: a file has few distinct tags, and a hostile one cannot grow the cache
# past _NAME_CACHE_LIMIT.

_NAME_CACHE_LIMIT = 4096
_names: dict[object, str] = {}


def _local_name(tag: object) -> str:
    """The lower-case local name of an element tag ('' for anything that is not an element)."""
    name = _names.get(tag)
    if name is None:
        name = tag.rpartition("}")[2].lower() if isinstance(tag, str) else ""
        if isinstance(tag, str) and len(_names) < _NAME_CACHE_LIMIT:
            _names[tag] = name
    return name


# StageAssessment children, by position in the list the hot loop fills.
_SA_FIELDS = (
    "stage",
    "locale",
    "year",
    "subject",
    "method",
    "component",
    "resultstatus",
    "resultqualifier",
    "result",
    "resultdate",
)
_SA_INDEX = {name: index for index, name in enumerate(_SA_FIELDS)}
# Raw tag -> slot (-1 for an element the reader ignores); filled as tags are met.
_sa_slots: dict[object, int] = {}


def _sa_slot(tag: object) -> int:
    slot = _sa_slots.get(tag)
    if slot is None:
        slot = _SA_INDEX.get(_local_name(tag), -1)
        if isinstance(tag, str) and len(_sa_slots) < _NAME_CACHE_LIMIT:
            _sa_slots[tag] = slot
    return slot


def _text(element: etree._Element) -> str:
    text = element.text
    return text.strip() if text else ""


def _parse_date(text: str) -> date | None:
    """A CCYY-MM-DD date (a time or time zone after it is tolerated), or None."""
    if len(text) < 10 or text[4] != "-" or text[7] != "-":
        return None
    if len(text) > 10 and text[10] not in "T +-Z":
        return None
    digits = text[0:4] + text[5:7] + text[8:10]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return None


# Dates repeat (a school enters results on a few days; many pupils share a birthday).
_dates: dict[str, date | None] = {}
_UNSEEN = object()


def _date_of(text: str) -> date | None:
    """_parse_date, remembered for the texts met recently."""
    value = _dates.get(text, _UNSEEN)
    if value is _UNSEEN:
        if len(_dates) >= _NAME_CACHE_LIMIT:
            _dates.clear()
        value = _dates[text] = _parse_date(text)
    return value  # type: ignore[return-value]


def _parse_int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _ncyear(text: str) -> str | None:
    """NCyearActual normalised: 'R', 'N1', 'N2', '1'..'14'; other values upper-cased as given."""
    if not text:
        return None
    value = text.upper()
    if value.isascii() and value.isdigit():
        return str(int(value))
    if value[0] == "N" and value[1:].isascii() and value[1:].isdigit():
        return "N" + str(int(value[1:]))
    return value


# ---------------------------------------------------------------------------------------------
# The prolog: everything before the root element. It is scanned in Python before the parser
# sees a byte, to refuse a DOCTYPE (the only place entities can be declared) and to learn the
# root element's name.


@dataclass(frozen=True, slots=True)
class _Prolog:
    kind: str  # "root", "doctype", "bad", "more", "empty", "noroot", "toolong"
    name: str = ""
    line: int = 1
    column: int = 1
    detail: str = ""


def _scan_codec(head: bytes) -> str | None:
    """How to decode the prolog for scanning, or None for an encoding the reader refuses."""
    if head.startswith(
        (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\x00\x00\x00<", b"<\x00\x00\x00")
    ):
        return None  # UTF-32: libxml2 may read it, but no MIS writes it
    if head.startswith((b"\xff\xfe", b"<\x00")):
        return "utf-16-le"
    if head.startswith((b"\xfe\xff", b"\x00<")):
        return "utf-16-be"
    return "latin-1"  # UTF-8 and single-byte encodings: markup characters are ASCII


def _decode_prolog(head: bytes, codec: str) -> str:
    if codec.startswith("utf-16"):
        head = head[: len(head) - len(head) % 2]
    text = head.decode(codec, errors="replace")
    if codec == "latin-1" and text.startswith("\xef\xbb\xbf"):
        text = "\ufeff" + text[3:]
    return text


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    start = text.rfind("\n", 0, index) + 1
    offset = 1 if text.startswith("\ufeff") and start == 0 else 0
    return line, index - start + 1 - offset


def _scan_prolog(text: str, *, final: bool, skip_doctype: bool = False) -> _Prolog:
    """Find the root element's name after the BOM, XML declaration, comments and whitespace."""
    i = 1 if text.startswith("\ufeff") else 0
    n = len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            if not final:
                return _Prolog("more")
            stripped = text.strip().lstrip("\ufeff")
            return _Prolog("empty" if not stripped else "noroot")
        if text.startswith("<?", i):
            end = text.find("?>", i + 2)
            if end < 0:
                return _Prolog("noroot" if final else "more")
            i = end + 2
            continue
        if text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return _Prolog("noroot" if final else "more")
            i = end + 3
            continue
        if text.startswith("<!", i):
            word = text[i + 2 : i + 9]
            if len(word) < 7 and not final:
                return _Prolog("more")
            if word.upper() == "DOCTYPE" or word.upper().startswith("ENTITY"):
                if skip_doctype:
                    end = _doctype_end(text, i)
                    if end < 0:
                        return _Prolog("noroot" if final else "more")
                    i = end
                    continue
                line, column = _position(text, i)
                return _Prolog("doctype", line=line, column=column)
            line, column = _position(text, i)
            return _Prolog("bad", line=line, column=column, detail="'<!'")
        if text[i] == "<":
            match = _NAME_END.search(text, i + 1)
            if match is None:
                return _Prolog("noroot" if final else "more")
            name = text[i + 1 : match.start()]
            line, column = _position(text, i)
            if not name:
                return _Prolog("bad", line=line, column=column, detail="'<'")
            return _Prolog("root", name=name, line=line, column=column)
        line, column = _position(text, i)
        return _Prolog("bad", line=line, column=column, detail=repr(text[i]))


def _doctype_end(text: str, start: int) -> int:
    """The index just after a DOCTYPE declaration (with its internal subset), or -1."""
    bracket = text.find("[", start)
    close = text.find(">", start)
    if close < 0:
        return -1
    if 0 <= bracket < close:
        end = text.find("]", bracket)
        if end < 0:
            return -1
        close = text.find(">", end)
        if close < 0:
            return -1
    return close + 1


def looks_like_ctf(head: bytes) -> bool:
    """True when the first bytes of a file show a CTfile root element (any case)."""
    codec = _scan_codec(head)
    if codec is None:
        return False
    prolog = _scan_prolog(_decode_prolog(head, codec), final=False, skip_doctype=True)
    return prolog.kind == "root" and _local_name(prolog.name.rpartition(":")[2]) == "ctfile"


def _pupil_fields(element: etree._Element) -> tuple[dict[str, str], list[etree._Element]]:
    """A Pupil's own values by lower-case element name (the first non-blank of each) and its
    StageAssessments containers, in file order."""
    found: dict[str, str] = {}
    containers = []
    for child in element:
        name = _local_name(child.tag)
        if name == "stageassessments":
            containers.append(child)
        elif name == "basicdetails":
            for item in child:
                key = _local_name(item.tag)
                if key in ("ncyearactual", "middlenames", "formerupn") and key not in found:
                    text = _text(item)
                    if text:
                        found[key] = text
        elif name and name not in found:
            text = _text(child)
            if text:
                found[name] = text
    return found, containers


# ---------------------------------------------------------------------------------------------
# The reader.


def _open(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO,
    filename: str,
    max_bytes: int,
) -> tuple[BinaryIO, bool]:
    """A binary stream over the source, and whether the reader owns (must close) it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_size(len(data), max_bytes, filename)
        return io.BytesIO(data), True
    if isinstance(source, (str, os.PathLike)):
        try:
            handle = open(source, "rb")  # closed by CtfReader.close
        except OSError as error:
            raise FormatError(
                f"the file could not be opened ({error.strerror or error}). Upload it again.",
                filename=filename,
            ) from error
        try:
            _check_size(os.fstat(handle.fileno()).st_size, max_bytes, filename)
        except FormatError:
            handle.close()
            raise
        return handle, True
    if hasattr(source, "read"):
        return source, False
    raise TypeError(f"source must be bytes, a path or a binary file, not {type(source).__name__}")


def _size_text(size: int) -> str:
    if size >= 1024**2:
        return f"{size / 1024**2:.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def _check_size(size: int, max_bytes: int, filename: str) -> None:
    if size > max_bytes:
        raise FormatError(
            f"the file is larger than the {_size_text(max_bytes)} limit for a CTF. Ask the "
            "school to send its pupils in several files, or raise the limit if the file is "
            "genuine.",
            filename=filename,
        )


class CtfReader:
    """Read a CTF: the header on construction, then the pupils one at a time with pupils()."""

    header: CtfHeader
    warnings: list[str]

    def __init__(
        self,
        source: bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO,
        *,
        filename: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_depth: int = DEFAULT_MAX_DEPTH,
        full: bool = False,
    ) -> None:
        self.filename = filename
        self._full = full
        self.warnings = []
        self._max_bytes = max_bytes
        self._max_depth = max_depth
        self._stream, self._owned = _open(source, filename, max_bytes)
        self._fed = 0
        self._newlines = 0
        self._last_line_chars = 0
        self._char_unit = "utf-8"
        self._ended = False
        self._root: etree._Element | None = None
        self._rows: dict[tuple[str, bytes], _Row] | None = {}
        self._rows_seen = 0
        self._rows_seen_at_clear = 0
        self._parser: etree.XMLPullParser | None = None
        self._prolog_name = ""
        # Errors are found in lxml's log by this unique name: the log is shared by every parser
        # in the thread, and the exception lxml raises does not always carry the first error.
        self._base_url = f"ctf-reader-{next(_base_urls)}"
        # An XPath that finds an element nested deeper than max_depth, below the root (depth 1).
        self._too_deep = etree.XPath("/".join(["*"] * max(max_depth, 1)))
        try:
            self._start()
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise

    # -- public -------------------------------------------------------------------------------

    def pupils(self) -> Iterator[CtfPupil]:
        """Every Pupil in file order, read as the file streams in; raises FormatError if bad."""
        while True:
            yield from self._drain()
            if self._ended:
                return
            self._feed_chunk(_CHUNK)

    def close(self) -> None:
        """Release the file (when the reader opened it) and the parser."""
        self._parser = None
        self._root = None
        if self._owned:
            self._stream.close()

    def __enter__(self) -> CtfReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- feeding ------------------------------------------------------------------------------

    def _read(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
        except OSError as error:
            raise FormatError(
                f"the file could not be read ({error.strerror or error}). Upload it again.",
                filename=self.filename,
            ) from error
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("source must be opened in binary mode ('rb')")
        self._fed += len(data)
        if self._fed > self._max_bytes:
            _check_size(self._fed, self._max_bytes, self.filename)
        return bytes(data)

    def _start(self) -> None:
        """Scan the prolog, refuse what must be refused, and start the parser on it."""
        head, final = self._scan_start()
        local = self._prolog_name.rpartition(":")[2]
        # Only the root's start is reported: it hands over the root element, and no other
        # element costs a Python object until the reader walks it.
        tags = ["{*}" + local] + ([self._prolog_name] if ":" in self._prolog_name else [])
        self._parser = etree.XMLPullParser(
            events=("start",), tag=tags, base_url=self._base_url, **_PARSER_OPTIONS
        )
        self._push(head, final=final)

    def _scan_start(self) -> tuple[bytes, bool]:
        """Read and scan the prolog (refusing a DOCTYPE before the parser sees a byte); returns
        the bytes read and whether they are the whole file."""
        head = b""
        while True:
            data = self._read(_HEADER_CHUNK)
            head += data
            final = not data
            if not head:
                raise FormatError(f"the file is empty. {_REEXPORT}", filename=self.filename)
            codec = _scan_codec(head)
            if codec is None:
                raise FormatError(
                    "the file is in a character encoding the reader does not accept (UTF-32). "
                    f"{_REEXPORT}",
                    filename=self.filename,
                    line=1,
                )
            text = _decode_prolog(head, codec)
            prolog = _scan_prolog(text, final=final)
            if prolog.kind == "more" and len(head) > _MAX_PROLOG:
                prolog = _Prolog("toolong")
            if prolog.kind != "more":
                break
        self._check_prolog(prolog)
        self._char_unit = self._unit_for(codec, text)
        self._prolog_name = prolog.name
        return head, final

    def _check_prolog(self, prolog: _Prolog) -> None:
        if prolog.kind == "empty":
            raise FormatError(f"the file is empty. {_REEXPORT}", filename=self.filename)
        if prolog.kind == "doctype":
            raise FormatError(
                "the file contains a document type declaration (<!DOCTYPE>): entity declarations "
                f"are not allowed in a CTF. {_REEXPORT}",
                filename=self.filename,
                line=prolog.line,
                column=prolog.column,
            )
        if prolog.kind == "noroot":
            raise FormatError(
                "the file ends before its first XML element: it is incomplete (truncated) or not "
                f"a CTF. {_REEXPORT}",
                filename=self.filename,
            )
        if prolog.kind == "toolong":
            raise FormatError(
                f"the first {_size_text(_MAX_PROLOG)} of the file hold no XML element: this is "
                f"not a CTF. {_REEXPORT}",
                filename=self.filename,
            )
        if prolog.kind == "bad":
            raise FormatError(
                f"not well-formed XML at line {prolog.line}, column {prolog.column}: "
                f"{prolog.detail} where the first element should start. {_DAMAGED}",
                filename=self.filename,
                line=prolog.line,
                column=prolog.column,
            )
        local = prolog.name.rpartition(":")[2]
        if local.lower() != "ctfile":
            raise FormatError(
                f"the root element is <{prolog.name[:60]}>, not <CTfile>: this is not a Common "
                "Transfer File. Check that the right file was chosen.",
                filename=self.filename,
                line=prolog.line,
                column=prolog.column,
            )

    @staticmethod
    def _unit_for(codec: str, text: str) -> str:
        """How to count characters for line/column positions (libxml2 counts characters)."""
        if codec.startswith("utf-16"):
            return codec
        match = None
        if text.lstrip("\ufeff").startswith("<?xml"):
            match = _XML_DECL_ENCODING.search(text, 0, text.find("?>"))
        if match and match.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
            return "byte"
        return "utf-8"

    def _feed_chunk(self, size: int) -> None:
        if self._parser is None:
            raise ValueError("the CtfReader is closed")
        data = self._read(size)
        self._push(data, final=not data)

    def _push(self, data: bytes, *, final: bool) -> None:
        """Feed bytes to the parser (closing it at the end), turning its errors into ours."""
        parser = self._parser
        assert parser is not None
        if data:
            self._count_position(data)
        try:
            if data:
                parser.feed(data)
            if final:
                parser.close()
                self._ended = True
        except etree.XMLSyntaxError as error:
            raise self._syntax_error(error, at_end=final) from None
        if self._root is None:
            for _event, element in parser.read_events():
                if self._root is None:
                    self._root = element
                    # Defence in depth: the prolog scan already refused any DOCTYPE.
                    if element.getroottree().docinfo.internalDTD is not None:
                        raise FormatError(
                            "the file contains a document type declaration: entity "
                            f"declarations are not allowed in a CTF. {_REEXPORT}",
                            filename=self.filename,
                        )
        else:
            for _ in parser.read_events():
                pass
        if self._root is not None:
            self._check_depth(self._root)
        elif final:
            raise FormatError(
                f"the file has no <CTfile> root element. {_DAMAGED}", filename=self.filename
            )

    def _count_position(self, data: bytes) -> None:
        # Where the end of the input is, as libxml2 reports positions (line, character column):
        # an error reported there means the file stopped early rather than being malformed.
        unit = self._char_unit
        newline = b"\n\x00" if unit == "utf-16-le" else b"\x00\n" if unit == "utf-16-be" else b"\n"
        last = data.rfind(newline)
        tail = data if last < 0 else data[last + len(newline) :]
        if unit == "utf-8":
            chars = len(tail.translate(None, _UTF8_CONTINUATION))
        elif unit == "byte":
            chars = len(tail)
        else:
            chars = len(tail) // 2
        if last < 0:
            self._last_line_chars += chars
        else:
            self._newlines += data.count(newline)
            self._last_line_chars = chars

    def _syntax_error(self, error: etree.XMLSyntaxError, *, at_end: bool) -> FormatError:
        """A FormatError for an lxml syntax error: truncated, too deep, or not well-formed."""
        entry = None
        for candidate in error.error_log:
            if candidate.filename == self._base_url and candidate.level >= 2:
                entry = candidate
                break
        if entry is not None:
            message, line, column = entry.message, entry.line, entry.column
            code = entry.type
        else:
            message = error.msg
            line, column = error.position
            code = error.code
        message = message.strip().rstrip(".")
        if line <= 0:
            line, column = self._newlines + 1, self._last_line_chars + 1
        if "Excessive depth" in message:
            return self._depth_error(line, column)
        end_line, end_column = self._newlines + 1, self._last_line_chars + 1
        premature = code == etree.ErrorTypes.ERR_TAG_NOT_FINISHED
        if at_end and (premature or (line >= end_line and column >= end_column - 1)):
            return FormatError(
                f"the file ends before the XML is complete (line {line}, column {column}): it is "
                f"incomplete (truncated), perhaps cut short when it was copied or sent. "
                f"{_REEXPORT}",
                filename=self.filename,
                line=line,
                column=column,
            )
        return FormatError(
            f"not well-formed XML at line {line}, column {column}: {message}. {_DAMAGED}",
            filename=self.filename,
            line=line,
            column=column,
        )

    def _depth_error(self, line: int | None, column: int | None) -> FormatError:
        return FormatError(
            f"elements are nested more than {self._max_depth} levels deep, which no CTF needs: "
            f"the file is damaged or not a CTF. {_REEXPORT}",
            filename=self.filename,
            line=line,
            column=column,
        )

    def _check_depth(self, root: etree._Element) -> None:
        # Once per chunk, in C: the tree then holds about one chunk's worth of elements.
        deep = self._too_deep(root)
        if deep:
            raise self._depth_error(deep[0].sourceline, None)

    # -- header -------------------------------------------------------------------------------

    def _read_header(self) -> CtfHeader:
        """Feed until the Header is complete (another element follows it), then read it."""
        while True:
            header, found = self._find_header()
            if found:
                break
            if self._ended:
                header = None
                break
            self._feed_chunk(_HEADER_CHUNK)
        if header is None:
            raise FormatError(
                "the file has no <Header> before its pupil data, so the sending school and the "
                f"CTF version are unknown. {_REEXPORT}",
                filename=self.filename,
            )
        result = self._parse_header(header)
        root = header.getparent()
        if root is not None:
            root.remove(header)
        return result

    def _find_header(self) -> tuple[etree._Element | None, bool]:
        """(the Header, True) once complete; (None, True) if pupil data comes first."""
        root = self._root
        if root is None:
            return None, False
        children = list(root)
        for index, child in enumerate(children):
            name = _local_name(child.tag)
            if name == "header":
                complete = self._ended or index < len(children) - 1
                return (child, True) if complete else (None, False)
            if name == "ctfpupildata":
                return None, True
        return None, False

    def _parse_header(self, header: etree._Element) -> CtfHeader:
        values: dict[str, str] = {}
        for child in header:
            name = _local_name(child.tag)
            if name in ("sourceschool", "destschool"):
                prefix = "source" if name == "sourceschool" else "dest"
                for item in child:
                    key = f"{prefix}.{_local_name(item.tag)}"
                    text = _text(item)
                    if text and key not in values:
                        values[key] = text
            elif name:
                text = _text(child)
                if text and name not in values:
                    values[name] = text
        version = values.get("ctfversion")
        major = None
        if version is None:
            self.warnings.append(
                "the header has no CTF version (Header/CTFversion): the file was read as a "
                "current CTF; check the results after import"
            )
        else:
            match = _VERSION.fullmatch(version)
            if match is None:
                self.warnings.append(
                    f"the CTF version '{version[:20]}' in the header is not a version number: the "
                    "file was read as a current CTF; check the results after import"
                )
            else:
                major = int(match.group(1))
                self._warn_version(version, major)
        year_text = values.get("source.academicyear")
        academic_year = _parse_int(year_text) if year_text else None
        if year_text and (academic_year is None or not 1990 <= academic_year <= 2100):
            self.warnings.append(
                f"the header's AcademicYear '{year_text[:20]}' is not a year; it was ignored"
            )
            academic_year = None
        return CtfHeader(
            version=version,
            version_major=major,
            document_qualifier=values.get("documentqualifier", "").lower(),
            data_qualifier=values.get("dataqualifier", "").upper(),
            supplier=values.get("supplierid", ""),
            source_la=values.get("source.lea"),
            source_estab=values.get("source.estab"),
            source_urn=values.get("source.urn"),
            source_name=values.get("source.schoolname", ""),
            academic_year=academic_year,
            dest_la=values.get("dest.lea"),
            dest_estab=values.get("dest.estab"),
            date_time=values.get("datetime"),
        )

    def _warn_version(self, version: str, major: int) -> None:
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        if major < SUPPORTED_VERSIONS[0]:
            self.warnings.append(
                f"CTF version {version} is older than the versions read without checks "
                f"({supported}); check the results after import"
            )
        elif major > SUPPORTED_VERSIONS[-1]:
            self.warnings.append(
                f"CTF version {version} is newer than the versions read without checks "
                f"({supported}); check the results after import"
            )

    # -- pupils -------------------------------------------------------------------------------

    def _drain(self) -> Iterator[CtfPupil]:
        """Read and remove every complete Pupil in the tree built so far."""
        root = self._root
        if root is None:
            return
        final = self._ended
        children = list(root)
        last = len(children) - 1
        for index, child in enumerate(children):
            complete = final or index < last
            if _local_name(child.tag) == "ctfpupildata":
                # Only the container's last child may still be growing.
                count = len(child) if complete else len(child) - 1
                if count > 0:
                    ready = child[:count]
                    del child[:count]
                    for element in ready:
                        if _local_name(element.tag) == "pupil":
                            yield self._pupil(element)
                        element.clear()  # free its subtree now, not with the whole chunk
            if complete:
                root.remove(child)

    def _pupil(self, element: etree._Element) -> CtfPupil:
        found, containers = _pupil_fields(element)
        assessments: list[CtfAssessment] = []
        for container in containers:
            self._stage_assessments(container, assessments)
        dob_text = found.get("dob", "")
        return CtfPupil(
            line=element.sourceline or 0,
            upn=found.get("upn", "").upper(),
            surname=found.get("surname", ""),
            forename=found.get("forename", ""),
            middle_names=found.get("middlenames", ""),
            dob=_date_of(dob_text) if dob_text else None,
            dob_text=dob_text,
            sex=(found.get("sex") or found.get("gender") or "").upper(),
            ncyear=_ncyear(found.get("ncyearactual", "")),
            assessments=assessments,
            former_upn=found.get("formerupn", "").upper(),
            sections=pupil_sections(element) if self._full else (),
        )

    def _stage_assessments(self, container: etree._Element, out: list[CtfAssessment]) -> None:
        # Inlined rather than calling _assessment per row: this runs once per row of the file.
        names_get = _names.get
        tostring = etree.tostring
        cache = self._rows
        for block in container:
            name = _local_name(block.tag)
            if name == "keystage":
                stage = ""
                rows = []
                for child in block:
                    tag = child.tag
                    child_name = names_get(tag) or _local_name(tag)
                    if child_name == "stageassessment":
                        rows.append(child)
                    elif child_name == "stage" and not stage:
                        stage = _text(child)
                stage = stage.upper()
            elif name == "stageassessment":
                stage, rows = "", [block]
            else:
                continue
            self._rows_seen += len(rows)
            for row in rows:
                if cache is None:
                    values = _normalise_row(tuple([(c.tag, c.text) for c in row]), stage)
                else:
                    # The row's own XML is the cache key: one call into C, where walking its
                    # children from Python costs more; equal XML means equal tags and texts.
                    key = (stage, tostring(row, with_tail=False))
                    values = cache.get(key)
                    if values is None:
                        values = self._cache_miss(row, stage, key)
                if _FAST_ROWS:
                    # _fast_assessment inlined: a call per row is a measurable share of the time.
                    made = _AssessmentBuilder(*values, row.sourceline or 0)
                    made.__class__ = CtfAssessment  # type: ignore[assignment]
                    out.append(made)  # type: ignore[arg-type]
                else:
                    out.append(CtfAssessment(*values, row.sourceline or 0))

    def _cache_miss(self, row: etree._Element, stage: str, key: tuple[str, bytes]) -> _Row:
        """Normalise a row the cache does not know; stop caching when rows rarely repeat."""
        values = _normalise_row(tuple([(c.tag, c.text) for c in row]), stage)
        cache = self._rows
        if cache is None:
            return values
        if len(cache) >= _ROW_CACHE_LIMIT:
            # Full. If most rows since it was last emptied were new, this file's rows do not
            # repeat (a date or mark per pupil) and the cache costs more than it saves.
            if self._rows_seen - self._rows_seen_at_clear < 2 * _ROW_CACHE_LIMIT:
                self._rows = None
                return values
            cache.clear()
            self._rows_seen_at_clear = self._rows_seen
        cache[key] = values
        return values


_Row = tuple[str, str, int | None, str, str, str, str, str, str, date | None]
# Distinct raw rows remembered per reader. Real files repeat a handful of rows (17 components x
# a few results x one date), so this is plenty; a file of all-different rows only pays a miss.
_ROW_CACHE_LIMIT = 4096


def _normalise_row(raw: tuple[tuple[object, str | None], ...], stage: str) -> _Row:
    """A StageAssessment's (tag, text) pairs as the CtfAssessment fields before `line`."""
    values = ["", "", "", "", "", "", "", "", "", ""]
    slots_get = _sa_slots.get
    for tag, text in raw:
        slot = slots_get(tag)
        if slot is None:
            slot = _sa_slot(tag)
        if slot >= 0 and text and not values[slot]:
            values[slot] = text.strip()
    own_stage, locale, year, subject, method, component, status, qualifier, result, when = values
    return (
        own_stage.upper() if own_stage else stage,
        locale.upper(),
        _parse_int(year),
        subject.upper(),
        method.upper(),
        component.upper(),
        status.upper(),
        qualifier.upper(),
        result,
        _date_of(when) if when else None,
    )


# CtfAssessment's twin without frozen: built cheaply, then given CtfAssessment's class. Made
# from CtfAssessment's own fields, so the two can never drift apart.
_AssessmentBuilder = make_dataclass(
    "_AssessmentBuilder", [(f.name, f.type) for f in fields(CtfAssessment)], slots=True
)


def _fast_assessment(*values: object) -> CtfAssessment:
    # A frozen dataclass sets each field through object.__setattr__, which costs more than the
    # parsing of a row. The twin has the same slots, so CPython allows moving the instance to
    # CtfAssessment's class; the result is an ordinary frozen CtfAssessment.
    row = _AssessmentBuilder(*values)  # type: ignore[arg-type]
    row.__class__ = CtfAssessment  # type: ignore[assignment]
    return row  # type: ignore[return-value]


def _fast_rows_work() -> bool:
    """Whether this Python lets a builder become a CtfAssessment (CPython does)."""
    sample = ("FSP", "ENG", 2026, "COM", "TA", "E01", "R", "FD", "2", None, 1)
    try:
        made = _fast_assessment(*sample)
    except TypeError:  # another Python whose layout check refuses the move
        return False
    return made == CtfAssessment(*sample)


_FAST_ROWS = _fast_rows_work()


def read_ctf_header(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO,
    *,
    filename: str,
) -> CtfHeader:
    """The header of a CTF, reading only as far as the pupil data; raises FormatError if bad."""
    with CtfReader(source, filename=filename) as reader:
        return reader.header


# ---------------------------------------------------------------------------------------------
# The whole-file reader: for files small enough to hold as one tree (every school's assessment
# file), the same checks and the same pupils and rows as CtfReader, as polars frames.
#
# Why it is faster: the file is parsed by one call, each StageAssessments container is
# serialised once and split into its rows by regular expressions (in C), and each distinct row
# (a school's file repeats a handful: 17 components x a few results x one date) is normalised
# once. Per row, Python only looks up the row's text. A container the expressions do not
# describe exactly (attributes, prefixes, nested or non-ASCII elements) is read element by
# element as CtfReader reads it, and any refusal is CtfReader's own: the file is read again by
# it, so the message, line and column are always the streaming reader's.

# The tree of a whole file takes about ten times the file's size (392 MB at peak for a 40 MB
# CTF, bench_ctf_read.py), and an upload's import is bounded at 250 MB (docs/adr/0004): files up
# to 8 MB (a school's assessment file is well under 1 MB) are read whole, larger ones stream.
WHOLE_FILE_MAX_BYTES = 8 * 1024 * 1024

PUPIL_COLUMNS = {
    "pupil": pl.Int64, "line": pl.Int64, "upn": pl.String, "surname": pl.String,
    "forename": pl.String, "middle_names": pl.String, "dob": pl.Date, "dob_text": pl.String,
    "sex": pl.String, "ncyear": pl.String, "former_upn": pl.String,
}
ROW_COLUMNS = {
    "pupil": pl.Int64, "line": pl.Int64, "stage": pl.String, "locale": pl.String,
    "year": pl.Int64, "subject": pl.String, "method": pl.String, "component": pl.String,
    "status": pl.String, "qualifier": pl.String, "result": pl.String, "result_date": pl.Date,
}
_ROW_VALUES = list(ROW_COLUMNS)[2:]

# The serialised container's grammar. Names are ASCII without a prefix (anything else is read
# element by element); lxml has already checked that the XML is well formed, so an end tag always
# closes the element it follows.
_NC = rb"[A-Za-z0-9_.\-]"
_NAME = rb"[A-Za-z_]" + _NC + rb"*"
_SA = rb"(?i:stageassessment)(?!" + _NC + rb")"
_KS = rb"(?i:keystage)(?!" + _NC + rb")"
_END = rb"</" + _NAME + rb">"
_TEXT = rb"[^<]*"
_LEAF = rb"<(?!" + _SA + rb"|" + _KS + rb")" + _NAME + rb"(?:/>|>" + _TEXT + _END + rb")"


def _body(items: bytes) -> bytes:
    """An element's content after its name: empty, text alone, or child items and whitespace."""
    return (rb"(?:/>|>" + _TEXT + _END + rb"|>(?:\s*(?:" + items + rb"))+\s*" + _END + rb")")


_ROW_XML = rb"<" + _SA + _body(_LEAF)
_BLOCK_XML = rb"<" + _KS + _body(_ROW_XML + rb"|" + _LEAF)
_CONTAINER = re.compile(
    rb"<" + _NAME + rb"(?:\s+xmlns=\"[^\"<>]*\")?"
    + _body(_BLOCK_XML + rb"|" + _ROW_XML + rb"|" + _LEAF)
)
# A row and its content (group 1; None for <StageAssessment/>); the content is checked apart.
_ROW_SPLIT = re.compile(rb"<" + _SA + rb"(?:/>|>(.*?)</" + _SA + rb">)", re.S)
_ROW_CONTENT = re.compile(rb"(?:\s*" + _LEAF + rb")*\s*|" + _TEXT)
# Top-level items of a container: a KeyStage block (group 1), a row (group 2) or anything else.
_ITEM = re.compile(rb"\s*(?:(" + _BLOCK_XML + rb")|(" + _ROW_XML + rb")|" + _LEAF + rb")")
# A row's content (after its name) anywhere in a block: rows never nest in the grammar above.
_STAGE_FIND = re.compile(rb"<(?i:stage)(?!" + _NC + rb")>([^<]*)</")
_LEAF_FIND = re.compile(rb"<(" + _NAME + rb")(?:/>|>([^<]*)</)")
_UNESCAPE = ((b"&lt;", b"<"), (b"&gt;", b">"), (b"&quot;", b'"'), (b"&#13;", b"\r"),
             (b"&amp;", b"&"))


def _leaf_text(raw: bytes) -> str | None:
    """A leaf's text as lxml gives it (None when empty), from its serialised UTF-8."""
    if not raw:
        return None
    if b"&" in raw:
        # lxml escapes these five in text; &amp; last, so "&amp;lt;" stays "&lt;".
        for escaped, plain in _UNESCAPE:
            raw = raw.replace(escaped, plain)
    return raw.decode("utf-8")


@dataclass(frozen=True)
class CtfFrames:
    """A whole CTF read at once: its header and warnings, and its pupils and result rows as
    frames (PUPIL_COLUMNS, ROW_COLUMNS; rows in file order, `pupil` the pupil's index)."""

    header: CtfHeader
    warnings: list[str]
    pupils: pl.DataFrame
    rows: pl.DataFrame

    @classmethod
    def from_pupils(
        cls, header: CtfHeader, warnings: list[str], pupils: Iterable[CtfPupil]
    ) -> CtfFrames:
        """The frames of pupils read by CtfReader (the streaming path gives the same frames)."""
        people: list[tuple] = []
        rows: list[tuple] = []
        for index, p in enumerate(pupils):
            people.append((index, p.line, p.upn, p.surname, p.forename, p.middle_names, p.dob,
                           p.dob_text, p.sex, p.ncyear, p.former_upn))
            rows.extend((index, r.line, r.stage, r.locale, r.year, r.subject, r.method,
                         r.component, r.status, r.qualifier, r.result, r.result_date)
                        for r in p.assessments)
        return cls(header, list(warnings),
                   pl.DataFrame(people, schema=PUPIL_COLUMNS, orient="row"),
                   pl.DataFrame(rows, schema=ROW_COLUMNS, orient="row"))

    def to_pupils(self) -> list[CtfPupil]:
        """The pupils as CtfReader yields them (rows read without lines get line 0)."""
        by_pupil: dict[int, list[CtfAssessment]] = {}
        for pupil, line, *values in self.rows.iter_rows():
            by_pupil.setdefault(pupil, []).append(CtfAssessment(*values, line or 0))
        return [
            CtfPupil(line, upn, surname, forename, middle, dob, dob_text, sex, ncyear,
                     by_pupil.get(index, []), former)
            for (index, line, upn, surname, forename, middle, dob, dob_text, sex, ncyear,
                 former) in self.pupils.iter_rows()
        ]


def read_ctf_frames(
    source: bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO,
    *,
    filename: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    row_lines: bool = True,
) -> CtfFrames:
    """Read a whole CTF at once into frames, with CtfReader's checks; raises its FormatError.

    For files up to WHOLE_FILE_MAX_BYTES (the tree is held whole). Without `row_lines`
    the rows' lines are left null: they cost a Python object per row, and rows in file order
    already order a pupil's rows as their lines do.
    """
    data = _whole_bytes(source, filename, max_bytes)
    try:
        with _WholeFileReader(data, filename=filename, max_bytes=max_bytes,
                              max_depth=max_depth) as reader:
            return reader.frames(row_lines=row_lines)
    except FormatError:
        # CtfReader says what is wrong, as it always has (its message, line and column).
        with CtfReader(data, filename=filename, max_bytes=max_bytes,
                       max_depth=max_depth) as streaming:
            for _pupil in streaming.pupils():
                pass
        raise


def _whole_bytes(source, filename: str, max_bytes: int) -> bytes:
    """The source's bytes, refused (as CtfReader refuses it) when larger than max_bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_size(len(data), max_bytes, filename)
        return data
    stream, owned = _open(source, filename, max_bytes)
    try:
        try:
            data = stream.read(max_bytes + 1)
        except OSError as error:
            raise FormatError(
                f"the file could not be read ({error.strerror or error}). Upload it again.",
                filename=filename,
            ) from error
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("source must be opened in binary mode ('rb')")
        _check_size(len(data), max_bytes, filename)
        return bytes(data)
    finally:
        if owned:
            stream.close()


class _WholeFileReader(CtfReader):
    """CtfReader's prolog and header checks over one parse of the whole file."""

    def _start(self) -> None:
        head, final = self._scan_start()
        rest = b"" if final else self._read(self._max_bytes + 1)
        data = head + rest
        self._count_position(data)
        parser = etree.XMLParser(**_PARSER_OPTIONS)
        try:
            root = etree.fromstring(data, parser, base_url=self._base_url)
        except etree.XMLSyntaxError as error:
            raise self._syntax_error(error, at_end=True) from None
        if root.getroottree().docinfo.internalDTD is not None:
            raise FormatError(
                "the file contains a document type declaration: entity declarations are not "
                f"allowed in a CTF. {_REEXPORT}",
                filename=self.filename,
            )
        self._root = root
        self._ended = True

    def frames(self, *, row_lines: bool = True) -> CtfFrames:
        """Every pupil and row of the file, as frames."""
        root = self._root
        assert root is not None
        # Containers read by the expressions hold nothing deeper than a row's values, so they
        # are dropped from the tree and the depth check walks only what is left.
        self._prune = self._max_depth >= 7
        self._row_lines = row_lines
        self._pupil_values: list[tuple] = []
        self._row_pupils: list[int] = []
        self._row_ids: list[int] = []
        self._lines: list[int | None] = []
        self._distinct: dict[str, dict[bytes | None, int]] = {}
        self._shapes: dict[bytes, list[str] | bool] = {}
        self._values: list[_Row] = []
        for child in root:
            if _local_name(child.tag) != "ctfpupildata":
                continue
            for element in child:
                if _local_name(element.tag) == "pupil":
                    self._add_pupil(element)
        self._check_depth(root)
        # Built column by column, by direct calls (no query plan to collect): a school's file
        # is small, and a plan's fixed cost would be much of its reading.
        pupils = _frame(self._pupil_values, PUPIL_COLUMNS)
        distinct = _frame(self._values, {name: ROW_COLUMNS[name] for name in _ROW_VALUES})
        rows = pl.DataFrame([
            pl.Series("pupil", self._row_pupils, dtype=pl.Int64),
            pl.Series("line", self._lines if row_lines else None, dtype=pl.Int64)
            if row_lines else pl.Series("line", [None] * len(self._row_ids), dtype=pl.Int64),
        ]).hstack(distinct[pl.Series(self._row_ids, dtype=pl.UInt32)])
        return CtfFrames(self.header, self.warnings, pupils, rows)

    def _add_pupil(self, element: etree._Element) -> None:
        index = len(self._pupil_values)
        found, containers = _pupil_fields(element)
        for container in containers:
            self._container(container, index)
        dob_text = found.get("dob", "")
        self._pupil_values.append((
            index, element.sourceline or 0, found.get("upn", "").upper(),
            found.get("surname", ""), found.get("forename", ""), found.get("middlenames", ""),
            _date_of(dob_text) if dob_text else None, dob_text,
            (found.get("sex") or found.get("gender") or "").upper(),
            _ncyear(found.get("ncyearactual", "")), found.get("formerupn", "").upper(),
        ))

    def _container(self, container: etree._Element, pupil: int) -> None:
        data = etree.tostring(container, encoding="utf-8", with_tail=False)
        split = _split_rows(data)
        if split is not None:
            # Rows one after another, split apart in C. The text between runs of rows (the
            # container's and blocks' starts and ends, Stage and other leaves) is checked and
            # read once per distinct shape.
            gaps, contents = split
            marks = list(itertools.compress(range(len(gaps)), gaps))
            skeleton = _RUN.join([gaps[i] for i in marks])
            stages = self._shapes.get(skeleton)
            if stages is None:
                stages = self._shapes[skeleton] = _run_stages(skeleton)
            if stages is not False and len(marks) == len(stages) + 1:
                taken = len(self._row_ids)
                for stage, start, end in zip(stages, marks, marks[1:], strict=False):
                    if not self._add_rows(stage, contents[start:end], pupil):
                        del self._row_ids[taken:], self._row_pupils[taken:]
                        break
                else:
                    self._done(container)
                    return
        if _CONTAINER.fullmatch(data) and self._add_items(data, pupil):
            self._done(container)
            return
        self._container_by_elements(container, pupil)

    def _add_items(self, data: bytes, pupil: int) -> bool:
        """The rows of a container of any shape the grammar allows (several blocks, rows
        outside a block); False, adding nothing, if a row is not plain."""
        taken = len(self._row_ids)
        for item in _ITEM.finditer(data, data.index(b">") + 1):
            block, row = item.group(1), item.group(2)
            if block is not None:
                stage, rows = _block_stage(block), _ROW_SPLIT.split(block)[1::2]
            elif row is not None:
                stage, rows = "", _ROW_SPLIT.split(row)[1::2]
            else:
                continue
            if rows and not self._add_rows(stage, rows, pupil):
                del self._row_ids[taken:], self._row_pupils[taken:]
                return False
        return True

    def _done(self, container: etree._Element) -> None:
        """A container read by the expressions: its rows' lines, then out of the tree."""
        if self._row_lines:
            self._lines.extend(_row_lines(container))
        if self._prune:
            parent = container.getparent()
            if parent is not None:
                parent.remove(container)

    def _add_rows(self, stage: str, rows: list[bytes | None], pupil: int) -> bool:
        """Add rows (each its content, None for an empty one) of one block; False, adding
        nothing, if one of them is not a plain row of leaf values."""
        table = self._distinct.get(stage)
        if table is None:
            table = self._distinct[stage] = {}
        ids = list(map(table.get, rows))
        if None in ids:
            for i, row in enumerate(rows):
                if ids[i] is not None:
                    continue
                found = table.get(row)
                if found is None:
                    content = row or b""
                    if not _ROW_CONTENT.fullmatch(content):
                        return False
                    pairs = tuple((name.decode("ascii"), _leaf_text(text))
                                  for name, text in _LEAF_FIND.findall(content))
                    found = table[row] = len(self._values)
                    self._values.append(_normalise_row(pairs, stage))
                ids[i] = found
        self._row_ids.extend(ids)
        self._row_pupils.extend([pupil] * len(rows))
        return True

    def _container_by_elements(self, container: etree._Element, pupil: int) -> None:
        """A container as CtfReader reads it, element by element."""
        rows: list[CtfAssessment] = []
        self._stage_assessments(container, rows)
        for row in rows:
            values = (row.stage, row.locale, row.year, row.subject, row.method, row.component,
                      row.status, row.qualifier, row.result, row.result_date)
            self._row_ids.append(len(self._values))
            self._values.append(values)
            self._row_pupils.append(pupil)
            self._lines.append(row.line)


def _split_rows(data: bytes) -> tuple[list[bytes], list[bytes]] | None:
    """A container's rows spelt alike and not nested: the text before, between and after
    them (one more than the rows) and each row's content; None when its rows are otherwise.
    Only bytes methods, mapped in C: nothing runs in Python per row."""
    if b"<StageAssessment>" in data:
        tag = b"<StageAssessment>"
    else:
        at = data.lower().find(b"<stageassessment>")
        if at < 0:
            return None
        tag = data[at : at + len(b"<stageassessment>")]
    pieces = data.split(b"</" + tag[1:])  # [text, start tag, content] per row; then the rest
    heads = pieces[:-1]
    # Rows alternate start and end tag (none nested in another) when each piece has one start.
    if not heads or set(map(bytes.count, heads, itertools.repeat(tag))) != {1}:
        return None
    parts = list(map(bytes.partition, heads, itertools.repeat(tag)))
    gaps = list(map(_FIRST, parts))
    gaps.append(pieces[-1])
    return gaps, list(map(_THIRD, parts))


_FIRST = operator.itemgetter(0)
_THIRD = operator.itemgetter(2)
# Stands for a run of rows in a container's skeleton: a byte no XML text can hold.
_RUN = b"\x00"
_SKELETON_BLOCK = (rb"<" + _KS + rb"(?:/>|>" + _TEXT + _END + rb"|>(?:\s|\x00|" + _LEAF
                   + rb")*" + _END + rb")")
_SKELETON = re.compile(rb"<" + _NAME + rb"(?:\s+xmlns=\"[^\"<>]*\")?>(?:\s|\x00|" + _LEAF
                       + rb"|" + _SKELETON_BLOCK + rb")*" + _END)
_SKELETON_ITEM = re.compile(rb"(\x00)|(" + _SKELETON_BLOCK + rb")")


def _run_stages(skeleton: bytes) -> list[str] | bool:
    """The Stage of each run of rows in a container's skeleton ("" for rows outside a block),
    or False when the skeleton is not a container of blocks, rows and leaf values."""
    if not _SKELETON.fullmatch(skeleton):
        return False
    stages: list[str] = []
    for item in _SKELETON_ITEM.finditer(skeleton, skeleton.index(b">") + 1):
        if item.group(1) is not None:
            stages.append("")
        else:
            block = item.group(2)
            stages.extend([_block_stage(block)] * block.count(_RUN))
    return stages


def _block_stage(block: bytes) -> str:
    """A block's first non-blank Stage, from its own children (its rows taken out)."""
    for raw in _STAGE_FIND.findall(_ROW_SPLIT.sub(b"", block)):
        text = _leaf_text(raw)
        if text and text.strip():
            return text.strip().upper()
    return ""


def _frame(rows: list[tuple], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A frame of row tuples, made a column at a time."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    return pl.DataFrame([pl.Series(name, values, dtype=dtype)
                         for (name, dtype), values in zip(schema.items(), columns, strict=True)])


def _row_lines(container: etree._Element) -> list[int | None]:
    """The lines of a container's rows, in file order (a row at its top level or in a block)."""
    lines = []
    for item in container:
        name = _local_name(item.tag)
        if name == "keystage":
            lines.extend([row.sourceline for row in item
                          if _local_name(row.tag) == "stageassessment"])
        elif name == "stageassessment":
            lines.append(item.sourceline)
    return lines


def latest_expr(
    *, statuses: Iterable[str] = ("R",), by: Iterable[str | pl.Expr] = ("pupil",),
    position: str = "position",
) -> pl.Expr:
    """True for the rows that win their component (latest_results' rules: a dated row beats an
    undated one, then the later date, then the later line, then the later `position`), per
    `by`; one expression, so a whole file or chunk is decided in one pass."""
    wanted = pl.col("status").is_in([status.upper() for status in statuses])
    order = [pl.col("result_date").is_not_null(), pl.col("result_date"), pl.col("line"),
             pl.col(position)]
    keys = [*by, "stage", "subject", "method", "component", "year"]
    best = (pl.col(position).filter(wanted).sort_by([o.filter(wanted) for o in order])
            .last().over(keys))
    return (wanted & (pl.col(position) == best)).fill_null(False)


def latest_flags(
    rows: pl.DataFrame, *, statuses: Iterable[str] = ("R",), by: Iterable[str] = ("pupil",)
) -> pl.Series:
    """Which rows win their component (latest_expr), rows in frame order being `position`."""
    return rows.with_row_index("position").select(
        latest_expr(statuses=statuses, by=by).alias("is_latest")).to_series()


# ---------------------------------------------------------------------------------------------
# Helpers over the rows.

ResultKey = tuple[str, str, str, str, int | None]


def latest_results(
    assessments: Iterable[CtfAssessment], *, statuses: Iterable[str] = ("R",)
) -> dict[ResultKey, CtfAssessment]:
    """The winning row per (stage, subject, method, component, year): later date, then later row."""
    wanted = {status.upper() for status in statuses}
    best: dict[ResultKey, CtfAssessment] = {}
    for row in assessments:
        if row.status not in wanted:
            continue
        key = (row.stage, row.subject, row.method, row.component, row.year)
        current = best.get(key)
        # ">=": on a full tie (same date, same line, as in a one-line file) the row met later wins.
        if current is None or _recency(row) >= _recency(current):
            best[key] = row
    return best


def _recency(row: CtfAssessment) -> tuple[bool, date, int]:
    """Orders rows of one component: a dated row beats an undated one, then date, then line."""
    return (row.result_date is not None, row.result_date or date.min, row.line)


def collections_of(
    pupil_or_assessments: CtfPupil | Iterable[CtfAssessment | CtfPupil], year: int | None = None
) -> set[str]:
    """The statutory collections (eyfsp, phonics, ...) of the rows; only year `year`'s if given."""
    if isinstance(pupil_or_assessments, CtfPupil):
        items: Iterable[CtfAssessment | CtfPupil] = pupil_or_assessments.assessments
    else:
        items = pupil_or_assessments
    found: set[str] = set()
    for item in items:
        rows = item.assessments if isinstance(item, CtfPupil) else (item,)
        for row in rows:
            if year is not None and row.year != year:
                continue
            component = component_for(row.stage, row.subject, row.method, row.component, row.year)
            if component is not None:
                found.add(component.collection)
    return found
