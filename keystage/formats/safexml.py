"""Safe whole-file XML for the returns read whole (school census, CIN census, SSDA903 XML).

One set of checks for every XML reader (the CTF reader streams with the same prolog checks,
keystage.formats.ctf): the prolog is scanned before the parser sees a byte (a DOCTYPE, the only
place entities are declared, is refused with its line), and the parser resolves no entities,
loads no DTD, touches no network and refuses huge trees. Errors name the file, line and column,
and say what to do (`resend`). Pure (no Django).
"""

from __future__ import annotations

import os

from lxml import etree

from keystage.formats.ctf import _decode_prolog, _Prolog, _scan_codec, _scan_prolog
from keystage.formats.errors import FormatError

PROLOG_BYTES = 64 * 1024


def prolog_of(head: bytes) -> _Prolog | None:
    """The scanned prolog of a file's first bytes (None when its encoding is unreadable)."""
    codec = _scan_codec(head)
    if codec is None:
        return None
    return _scan_prolog(_decode_prolog(head, codec), final=True)


def root_is(head: bytes, name: str) -> bool:
    """True when the first element of these bytes is <name> (any namespace prefix)."""
    prolog = prolog_of(head[:PROLOG_BYTES])
    return prolog is not None and prolog.kind == "root" \
        and prolog.name.rpartition(":")[2] == name


def file_bytes(source, filename: str, *, max_bytes: int, what: str, resend: str) -> bytes:
    """The whole file (bytes or a path), refusing one larger than max_bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            if os.path.getsize(source) > max_bytes:
                data = b"x" * (max_bytes + 1)
            else:
                with open(source, "rb") as handle:
                    data = handle.read()
        except OSError as error:
            raise FormatError(f"the file could not be opened ({error.strerror or error}). "
                              "Upload it again.", filename=filename) from error
    if len(data) > max_bytes:
        raise FormatError(f"the file is larger than {max_bytes // (1024 * 1024)} MB, more than "
                          f"any {what}. Check it is the right file. {resend}",
                          filename=filename)
    return data


def check_prolog(data: bytes, filename: str, *, root: str, what: str, resend: str) -> None:
    """Refuse, before parsing, an empty file, a DOCTYPE, a truncated prolog or another root."""
    if not data or data.isspace():  # (not a stripped copy of the whole file)
        raise FormatError(f"the file is empty. {resend}", filename=filename)
    prolog = prolog_of(data[:PROLOG_BYTES])
    if prolog is None:
        raise FormatError(f"the file is in UTF-32, which {what} files never are. {resend}",
                          filename=filename, line=1)
    if prolog.kind == "doctype":
        raise FormatError("the file contains a document type declaration (<!DOCTYPE>): entity "
                          f"declarations are not allowed in {what}. {resend}",
                          filename=filename, line=prolog.line, column=prolog.column)
    if prolog.kind in ("empty", "noroot"):
        raise FormatError("the file ends before its first XML element: it is incomplete "
                          f"(truncated) or not {what}. {resend}", filename=filename)
    if prolog.kind == "bad":
        raise FormatError(f"not well-formed XML at line {prolog.line}, column {prolog.column}: "
                          f"{prolog.detail} where the first element should start. {resend}",
                          filename=filename, line=prolog.line, column=prolog.column)
    if prolog.kind == "root" and prolog.name.rpartition(":")[2] != root:
        raise FormatError(f"the root element is <{prolog.name[:60]}>, not <{root}>: this is not "
                          f"{what}. Check that the right file was chosen.",
                          filename=filename, line=prolog.line, column=prolog.column)


def parse(data: bytes, filename: str, *, resend: str) -> etree._Element:
    """The parsed root, with entities, DTDs and the network off; FormatError names the place."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True, remove_blank_text=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line, column = error.position
        message = (error.msg or "not well-formed").strip().rstrip(".")
        raise FormatError(f"not well-formed XML at line {line}, column {column}: {message}. "
                          f"The file may be damaged or cut short. {resend}",
                          filename=filename, line=line, column=column) from None
    if root.getroottree().docinfo.internalDTD is not None:  # defence in depth
        raise FormatError(f"the file contains a document type declaration. {resend}",
                          filename=filename)
    return root


def read_root(source, filename: str, *, root: str, what: str, resend: str,
              max_bytes: int) -> etree._Element:
    """Read, check and parse a whole XML file whose root must be <root>."""
    data = file_bytes(source, filename, max_bytes=max_bytes, what=what, resend=resend)
    check_prolog(data, filename, root=root, what=what, resend=resend)
    return parse(data, filename, resend=resend)
