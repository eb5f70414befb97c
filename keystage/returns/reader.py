"""Checks a written return file against its layout's XSD and reads one back; no Django.

Both stream with flat memory and parse as safely as the CTF reader: entities are not expanded, no
DTD and nothing over the network is loaded, a document type declaration is refused, and lxml's
limits on depth and text size stay on.

How validation streams and still names lines: libxml2 can validate a document while it parses it,
but then reports every problem at line 0. So the file is parsed without a schema and each
Establishment, once complete, is validated on its own (its nodes know their lines) against the
layout's XSD with Establishment declared as a global element, then dropped from the tree. What is
left, the header and the document's outline with its first Establishment, is validated at the end
against the XSD itself, which checks the parts no Establishment holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from keystage.formats.errors import FormatError
from keystage.returns.layout import ReturnLayout, xsd_path

__all__ = ["read_return", "validate_return"]

# More messages than this help no one: the file is regenerated after the data is fixed.
MAX_MESSAGES = 200

_XS = "http://www.w3.org/2001/XMLSchema"
_PARSE_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    # Whitespace between elements means nothing in a return; dropping it parses 12% faster.
    "remove_blank_text": True,
    "collect_ids": False,
}
_HEADER_FIELDS = {
    "Collection": "collection",
    "Term": "term",
    "Year": "year",
    "ReferenceDate": "reference_date",
    "SourceLevel": "source_level",
    "LEA": "lea",
    "SoftwareCode": "software_code",
    "Release": "release",
    "SerialNo": "serial_no",
    "DateTime": "date_time",
}
_PUPIL_FIELDS = {
    "UPN": "upn",
    "Surname": "surname",
    "Forename": "forename",
    "DOB": "dob",
    "Sex": "sex",
    "NCyearActual": "ncyear",
}


@cache
def _schemas(path: Path) -> tuple[etree.XMLSchema, etree.XMLSchema]:
    """The layout's XSD, and the same with Establishment declared as a global element."""
    parser = etree.XMLParser(**_PARSE_OPTIONS)
    whole = etree.XMLSchema(etree.parse(str(path), parser))
    document = etree.parse(str(path), parser)
    # Every layout XSD names the type of an Establishment EstablishmentType.
    etree.SubElement(
        document.getroot(), f"{{{_XS}}}element", name="Establishment", type="EstablishmentType"
    )
    return whole, etree.XMLSchema(document)


def validate_return(path: Path | str, layout: ReturnLayout) -> list[str]:
    """Check a return file against its layout's XSD: one message per problem, [] when valid."""
    path = Path(path)
    name = path.name
    whole, establishment = _schemas(xsd_path(layout))
    problems: list[tuple[int, str]] = []

    def report(log: etree._ListErrorLog) -> None:
        # Only so many are kept, however broken the file. After an invalid Component, libxml2
        # adds that it could not check the one-result-per-component rule for it: a consequence
        # of the problem already reported, so left out.
        problems.extend(
            (error.line, error.message)
            for error in log
            if "No precomputed value available" not in error.message
        )
        del problems[MAX_MESSAGES * 2 :]

    events = etree.iterparse(str(path), events=("end",), tag="Establishment", **_PARSE_OPTIONS)
    first: etree._Element | None = None
    done: etree._Element | None = None
    try:
        for _, element in events:
            parent = element.getparent()
            if (
                parent is None
                or parent.tag != "Establishments"
                or parent.getparent() is None
                or parent.getparent().getparent() is not None
            ):
                continue  # not where an Establishment belongs: the outline check reports it
            if first is None:
                first = element  # kept for the outline check, which validates it
                continue
            if not establishment.validate(element):
                report(establishment.error_log)
            if element.tail and element.tail.strip():
                problems.append((element.sourceline, "Text after the end of an Establishment."))
            # Drop each establishment once validated, so memory stays flat. The one just ended is
            # only emptied: the parser is still adding to its parent.
            element.clear(keep_tail=False)
            if done is not None:
                parent.remove(done)
            done = element
        if done is not None:
            done.getparent().remove(done)
    except etree.XMLSyntaxError as error:
        problems.append((error.lineno, f"The file is not well-formed XML: {error.msg}"))
        return _messages(name, problems)
    except OSError as error:
        return [f"{name}: the file cannot be read ({error.strerror or error})"]
    root = events.root
    if root.getroottree().docinfo.doctype:
        problems.append((1, "The file has a document type declaration (<!DOCTYPE>)."))
    elif not whole.validate(root):
        report(whole.error_log)
    return _messages(name, problems)


def _messages(name: str, problems: list[tuple[int, str]]) -> list[str]:
    problems.sort(key=lambda problem: problem[0])
    messages = [f"{name}, line {line}: {message}" for line, message in problems[:MAX_MESSAGES]]
    if len(problems) > MAX_MESSAGES:
        messages.append(f"{name}: more problems not listed; fix these and check the file again")
    return messages


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return element.text or ""


def _children(element: etree._Element) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for child in element:
        if isinstance(child.tag, str):
            found.setdefault(child.tag, child)
    return found


def _syntax_error(path: Path, error: etree.XMLSyntaxError) -> FormatError:
    return FormatError(
        f"the file is not well-formed XML ({error.msg}): write the return again",
        filename=path.name,
        line=error.lineno,
    )


def _check_doctype(path: Path, element: etree._Element) -> None:
    if element.getroottree().docinfo.doctype:
        raise FormatError(
            "the file has a document type declaration (<!DOCTYPE>), which a return never has",
            filename=path.name,
            line=1,
        )


def _read_header(path: Path) -> dict[str, str | None]:
    events = etree.iterparse(str(path), events=("end",), tag="Header", **_PARSE_OPTIONS)
    try:
        for _, header in events:
            _check_doctype(path, header)
            values: dict[str, str | None] = dict.fromkeys(_HEADER_FIELDS.values())
            for part in ("CollectionDetails", "Source"):
                section = header.find(part)
                if section is None:
                    continue
                for tag, child in _children(section).items():
                    if tag in _HEADER_FIELDS:
                        values[_HEADER_FIELDS[tag]] = _text(child)
            return values
    except etree.XMLSyntaxError as error:
        raise _syntax_error(path, error) from None
    raise FormatError("the file has no Header: it is not a return", filename=path.name)


def _pupil(pupil: etree._Element, establishment: dict[str, str | None]) -> dict[str, Any]:
    values: dict[str, Any] = dict(establishment)
    children = _children(pupil)
    for tag, key in _PUPIL_FIELDS.items():
        values[key] = _text(children.get(tag))
    results: dict[str, str] = {}
    dates: dict[str, str] = {}
    assessments = children.get("StageAssessments")
    for row in assessments if assessments is not None else ():
        component = row.findtext("Component")
        if component is None:
            continue
        results[component] = row.findtext("Result") or ""
        date = row.findtext("ResultDate")
        if date is not None:
            dates[component] = date
    values["results"] = results
    values["result_dates"] = dates
    return values


def _pupils(path: Path) -> Iterator[dict[str, Any]]:
    events = etree.iterparse(str(path), events=("end",), tag="Pupil", **_PARSE_OPTIONS)
    current: etree._Element | None = None
    establishment: dict[str, str | None] = {}
    try:
        for _, pupil in events:
            if current is None:
                _check_doctype(path, pupil)
            pupils = pupil.getparent()
            owner = pupils.getparent() if pupils is not None else None
            if owner is None or owner.tag != "Establishment":
                raise FormatError(
                    "a Pupil is outside an Establishment's Pupils: the file is not a return",
                    filename=path.name,
                    line=pupil.sourceline,
                )
            if owner is not current:
                current = owner
                children = _children(owner)
                establishment = {
                    "lea": _text(children.get("LEA")),
                    "estab": _text(children.get("Estab")),
                    "urn": _text(children.get("URN")),
                }
                # The establishments read before this one are done with.
                while owner.getprevious() is not None:
                    del owner.getparent()[0]
            yield _pupil(pupil, establishment)
            pupil.clear(keep_tail=False)
            while pupil.getprevious() is not None:
                del pupils[0]
    except etree.XMLSyntaxError as error:
        raise _syntax_error(path, error) from None


def read_return(
    path: Path | str,
) -> tuple[dict[str, str | None], Iterator[dict[str, Any]]]:
    """A return file's header and, streamed, its pupils with their establishment and results."""
    path = Path(path)
    # The header is read by a short parse of its own, so the pupils' parse starts (and opens
    # the file) only when the caller iterates.
    return _read_header(path), _pupils(path)
