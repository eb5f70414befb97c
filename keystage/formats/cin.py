"""The children in need census XML, 2021 to 2026 layouts (formats.md 5.2); no Django.

Read whole after the safe XML checks (keystage.formats.safexml). Every value is TEXT as the file
gives it (surrounding spaces removed, "" where an element is missing or empty); a bad date or
code is a finding of the schema checks (keystage.formats.socialcare_checks), not a refusal.

Frames (kind `cin_xml`, dataset `cin`). `line` is the line of the element the row comes from;
`child` is the child's LAchildID on every row; `cin_seq` numbers a child's CINdetails from 1,
`assessment_seq` and `cpp_seq` number the blocks within one CINdetails:
- header: line, collection, year, reference_date, source_level, lea, software_code, release,
  serial_no, date_time (one row)
- children: line, child, upn, former_upn, upn_unknown, dob (PersonBirthDate), expected_dob,
  gender_current, sex (the newer Sex element), death_date, ethnicity
- disabilities: line, child, disability
- cin_details: line, child, cin_seq, referral_date, referral_source, primary_need,
  closure_date, closure_reason, initial_cpc_date, referral_nfa
- assessments: line, child, cin_seq, assessment_seq, start_date, review_date,
  authorisation_date
- assessment_factors: line, child, cin_seq, assessment_seq, factor
- cin_plans: line, child, cin_seq, start_date, end_date
- section47: line, child, cin_seq, start_date, icpc_target, icpc_date, icpc_not_required
- cpp: line, child, cin_seq, cpp_seq, start_date, end_date, initial_category,
  latest_category, previous_cpp
- cpp_reviews: line, child, cin_seq, cpp_seq, review_date
- pre_proceedings: line, child, cin_seq, pp_start_date, lbp_sent_date, fgdm_meeting_offer,
  fgdm_meeting_fac, initial_pp_meeting_date, review_meetings_count, step_decision_date,
  pp_outcome, court_app_date, letter_init_cp_date

The file's year (DatasetFile.year) is the year of the header's ReferenceDate, the 31 March
the collection ends (2024-03-31 gives 2024), or, when that is not a date, the header's <Year>;
the two may disagree, and a ReferenceDate may not be 31 March (findings of the checks, CINH01
and CINH02). `reference_date` is the ReferenceDate when it is a date. Text typed between
elements (the peers' 2026 file has `UN3</UPNunknown>PersonBirthDate`) is never a value, and
an element the reader does not know is never read: both are named in a warning.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import polars as pl
from lxml import etree

from keystage.formats.errors import FormatError
from keystage.formats.kinds import DatasetFile
from keystage.formats.safexml import read_root, root_is

MAX_BYTES = 500 * 1024 * 1024
_RESEND = "Export the CIN census again from the case management system."
_COLLECTION = re.compile(rb"<Collection>\s*CIN\s*</Collection>")

# Frame column <- element, per block.
HEADER = {"collection": ("CollectionDetails", "Collection"),
          "year": ("CollectionDetails", "Year"),
          "reference_date": ("CollectionDetails", "ReferenceDate"),
          "source_level": ("Source", "SourceLevel"), "lea": ("Source", "LEA"),
          "software_code": ("Source", "SoftwareCode"), "release": ("Source", "Release"),
          "serial_no": ("Source", "SerialNo"), "date_time": ("Source", "DateTime")}
IDENTIFIERS = {"child": "LAchildID", "upn": "UPN", "former_upn": "FormerUPN",
               "upn_unknown": "UPNunknown", "dob": "PersonBirthDate",
               "expected_dob": "ExpectedPersonBirthDate", "gender_current": "GenderCurrent",
               "sex": "Sex", "death_date": "PersonDeathDate"}
DETAILS = {"referral_date": "CINreferralDate", "referral_source": "ReferralSource",
           "primary_need": "PrimaryNeedCode", "closure_date": "CINclosureDate",
           "closure_reason": "ReasonForClosure", "initial_cpc_date": "DateOfInitialCPC",
           "referral_nfa": "ReferralNFA"}
ASSESSMENT = {"start_date": "AssessmentActualStartDate",
              "review_date": "AssessmentInternalReviewDate",
              "authorisation_date": "AssessmentAuthorisationDate"}
PLAN = {"start_date": "CINPlanStartDate", "end_date": "CINPlanEndDate"}
SECTION47 = {"start_date": "S47ActualStartDate", "icpc_target": "InitialCPCtarget",
             "icpc_date": "DateOfInitialCPC", "icpc_not_required": "ICPCnotRequired"}
CPP = {"start_date": "CPPstartDate", "end_date": "CPPendDate",
       "initial_category": "InitialCategoryOfAbuse",
       "latest_category": "LatestCategoryOfAbuse", "previous_cpp": "NumberOfPreviousCPP"}
PRE_PROCEEDINGS = {"pp_start_date": "PPStartDate", "lbp_sent_date": "LBPSentDate",
                   "fgdm_meeting_offer": "FGDMMeetingOffer", "fgdm_meeting_fac": "FGDMMeetingFac",
                   "initial_pp_meeting_date": "InitialPPMeetingDate",
                   "review_meetings_count": "ReviewMeetingsCount",
                   "step_decision_date": "StepDecisionDate", "pp_outcome": "PPOutcome",
                   "court_app_date": "CourtAppDate", "letter_init_cp_date": "LetterInitCPDate"}
_INT = {"cin_seq", "assessment_seq", "cpp_seq", "line"}
FRAMES = {
    "header": ("line", *HEADER),
    "children": ("line", *IDENTIFIERS, "ethnicity"),
    "disabilities": ("line", "child", "disability"),
    "cin_details": ("line", "child", "cin_seq", *DETAILS),
    "assessments": ("line", "child", "cin_seq", "assessment_seq", *ASSESSMENT),
    "assessment_factors": ("line", "child", "cin_seq", "assessment_seq", "factor"),
    "cin_plans": ("line", "child", "cin_seq", *PLAN),
    "section47": ("line", "child", "cin_seq", *SECTION47),
    "cpp": ("line", "child", "cin_seq", "cpp_seq", *CPP),
    "cpp_reviews": ("line", "child", "cin_seq", "cpp_seq", "review_date"),
    "pre_proceedings": ("line", "child", "cin_seq", *PRE_PROCEEDINGS),
}


def looks_like_cin(head: bytes) -> bool:
    """True when the first bytes are a CIN census: a <Message> of collection CIN."""
    return root_is(head, "Message") and bool(_COLLECTION.search(head))


def _by_local(index: dict, tag):
    """The index entry of a namespaced tag's local name (None for a tag it does not hold)."""
    if isinstance(tag, str) and "}" in tag:
        return index.get(tag.rpartition("}")[2])
    return None


def _all_of(element, name: str) -> list:
    """Every child element of this local name, in file order."""
    if element is None:
        return []
    return [kid for kid in element if kid.tag == name
            or (isinstance(kid.tag, str) and kid.tag.rpartition("}")[2] == name)]


def _first_of(element, name: str):
    found = _all_of(element, name)
    return found[0] if found else None


def _text_of(element, name: str) -> str:
    found = _first_of(element, name)
    return (found.text or "").strip() if found is not None else ""


def _at(fields, *blocks: str, start: int = 0) -> dict[str, int]:
    """Where each child element goes: its field's place in a block's row of texts, then (past
    the row's end) the blocks nested in it."""
    names = [*fields, *blocks]
    return {name: at for at, name in enumerate(names, start=start)}


# A block's row of texts holds the child's key first, then its fields; a child's own row holds
# its identifiers (LAchildID first) and then its ethnicity.
_CHILD_AT = _at((), "ChildIdentifiers", "ChildCharacteristics", "CINdetails")
_ID_AT = _at(IDENTIFIERS.values())
_CHARS_AT = _at(("Ethnicity",), "Disabilities", start=len(IDENTIFIERS))
_DETAILS_AT = _at(DETAILS.values(), "Assessments", "CINPlanDates", "Section47",
                  "ChildProtectionPlans", "PreProceedingsandFGDM", start=1)
_ASSESSMENTS, _PLANS, _SECTION47, _CPP, _PRE = range(len(DETAILS) + 1, len(DETAILS) + 6)
_ASSESSMENT_AT = _at(ASSESSMENT.values(), "FactorsIdentifiedAtAssessment", start=1)
_PLAN_AT = _at(PLAN.values(), start=1)
_SECTION47_AT = _at(SECTION47.values(), start=1)
_CPP_AT = _at(CPP.values(), "Reviews", start=1)
_PRE_AT = _at(PRE_PROCEEDINGS.values(), start=1)


class _Table:
    """One frame's rows as they are read: the text columns of every row in one flat list (in
    the frame's column order; None where the element is missing), the line and sequence
    numbers each in its own."""

    __slots__ = ("name", "texts", "lines", "seqs", "subseqs")

    def __init__(self, name: str) -> None:
        self.name = name
        self.texts: list[str | None] = []
        self.lines: list[int] = []
        self.seqs: list[int] = []
        self.subseqs: list[int] = []

    def frame(self) -> pl.DataFrame:
        """The rows as a frame of the declared columns and types ("" for a missing element)."""
        columns = FRAMES[self.name]
        rows = len(self.lines)
        if not rows:
            return _EMPTY[self.name].clear()
        text_columns = [c for c in columns if c not in _INT]
        # One series of every text, cut into its columns by polars (a few calls a frame).
        frame = (pl.Series(self.texts, dtype=pl.String).fill_null("")
                 .reshape((rows, len(text_columns))).arr.to_struct(fields=text_columns)
                 .struct.unnest())
        numbers = [c for c in columns if c in _INT]
        for column, values in zip(numbers, (self.lines, self.seqs, self.subseqs), strict=False):
            frame.insert_column(columns.index(column), pl.Series(column, values, pl.Int64))
        return frame


_SCHEMAS = {name: {c: (pl.Int64 if c in _INT else pl.String) for c in columns}
            for name, columns in FRAMES.items()}
_EMPTY = {name: pl.DataFrame(schema=schema) for name, schema in _SCHEMAS.items()}
_BLANK = (None,) * 10


class _Walk:
    """Every <Child> of <Children> into the tables, each element visited once, keeping count of
    the elements whose names it looked at (`seen`), the length of the values it read (`chars`)
    and the elements it did not read (`skipped`): when these account for the whole of
    <Children>, no text lies outside a value and no element is unknown there (see `_warnings`)."""

    def __init__(self, tables: dict[str, _Table]) -> None:
        self.tables = tables
        self.seen = 0
        self.chars = 0
        self.skipped: list = []

    def fill(self, texts: list, element, index: dict[str, int]) -> list:
        """Set each field of texts (None until then) from this element's first child element of
        its name, as ElementTree's find reads it; return its nested blocks, in file order, as
        (at, kid)."""
        width = len(texts)
        blocks = []
        chars = 0
        for kid in element:
            at = index.get(kid.tag)
            if at is None:
                at = _by_local(index, kid.tag)
                if at is None:
                    self.skipped.append(kid)
                    continue
            if at < width:
                text = kid.text
                if text:
                    chars += len(text)
                    if texts[at] is None:
                        texts[at] = text.strip()
                elif texts[at] is None:
                    texts[at] = ""
            else:
                blocks.append((at, kid))
        self.seen += len(element)
        self.chars += chars
        return blocks

    def named(self, element, name: str) -> list:
        """Every child element of this local name, in file order."""
        found = []
        for kid in element:
            tag = kid.tag
            if tag == name or (isinstance(tag, str) and tag.rpartition("}")[2] == name):
                found.append(kid)
            else:
                self.skipped.append(kid)
        self.seen += len(element)
        return found

    def value(self, element) -> str:
        """A value element's text, stripped."""
        text = element.text
        if not text:
            return ""
        self.chars += len(text)
        return text.strip()

    def children(self, container) -> None:
        """Every child of <Children>."""
        tables = self.tables
        fill, value, named = self.fill, self.value, self.named
        children, disabilities = tables["children"], tables["disabilities"]
        details_t, assessments, factors = (tables["cin_details"], tables["assessments"],
                                           tables["assessment_factors"])
        plans, section47, cpps, reviews, pres = (tables["cin_plans"], tables["section47"],
                                                 tables["cpp"], tables["cpp_reviews"],
                                                 tables["pre_proceedings"])
        details_texts, details_lines, details_seqs = (details_t.texts.extend,
                                                      details_t.lines.append,
                                                      details_t.seqs.append)
        blank_child = [None] * (len(IDENTIFIERS) + 1)
        with_items = {_ASSESSMENTS: (assessments, _ASSESSMENT_AT, factors,
                                     "AssessmentFactors"),
                      _CPP: (cpps, _CPP_AT, reviews, "CPPreviewDate")}
        for child in named(container, "Child"):
            ids = chars = None
            details = []
            for at, part in fill([], child, _CHILD_AT):
                if at == 2:
                    details.append(part)
                elif at == 0:
                    ids = part if ids is None else ids
                elif chars is None:
                    chars = part
            texts = blank_child.copy()
            if ids is not None:
                fill(texts, ids, _ID_AT)
            nested = fill(texts, chars, _CHARS_AT) if chars is not None else ()
            key = texts[0] or ""
            children.texts.extend(texts)
            children.lines.append(child.sourceline)
            if nested:
                for disability in named(nested[0][1], "Disability"):
                    disabilities.texts += (key, value(disability))
                    disabilities.lines.append(disability.sourceline)
            for seq, block in enumerate(details, start=1):
                texts = [key, *_BLANK[:7]]
                nested = fill(texts, block, _DETAILS_AT)
                details_texts(texts)
                details_lines(block.sourceline)
                details_seqs(seq)
                if not nested:
                    continue
                counts = dict.fromkeys(with_items, 0)
                for at, part in nested:
                    if at in with_items:
                        # Assessments and child protection plans are numbered within their
                        # CINdetails; each may hold a repeated item (factors, review dates).
                        counts[at] += 1
                        table, index, items, item_name = with_items[at]
                        # The last place of the index is the block of items, not a field.
                        texts = [key, *_BLANK[:len(index) - 1]]
                        inner = fill(texts, part, index)
                        _add(table, texts, part.sourceline, seq, counts[at])
                        if inner:
                            for item in named(inner[0][1], item_name):
                                _add(items, (key, value(item)), item.sourceline, seq,
                                     counts[at])
                    else:
                        table, index = ((plans, _PLAN_AT) if at == _PLANS else
                                        (section47, _SECTION47_AT) if at == _SECTION47 else
                                        (pres, _PRE_AT))
                        texts = [key, *_BLANK[:len(index)]]
                        fill(texts, part, index)
                        _add(table, texts, part.sourceline, seq)


def _add(table: _Table, texts, line: int, seq: int, subseq: int | None = None) -> None:
    table.texts += texts
    table.lines.append(line)
    table.seqs.append(seq)
    if subseq is not None:
        table.subseqs.append(subseq)


def collection_year_of(day: date) -> int:
    """The collection year (by the 31 March it ends) a date belongs to."""
    return day.year if (day.month, day.day) <= (3, 31) else day.year + 1


def read_cin(source, *, filename: str, year: int | None = None, **options) -> DatasetFile:
    """A CIN census, whole, or FormatError naming the file, line and what to do."""
    root = read_root(source, filename, root="Message", what="a CIN census", resend=_RESEND,
                     max_bytes=MAX_BYTES)
    header = _first_of(root, "Header")
    if header is None:
        raise FormatError(f"the file has no <Header>. {_RESEND}", filename=filename,
                          line=root.sourceline)
    head = {"line": header.sourceline}
    for column, (block, name) in HEADER.items():
        head[column] = _text_of(_first_of(header, block), name)
    if head["collection"].upper() != "CIN":
        raise FormatError(f"the header's Collection is {head['collection'][:20]!r}, not CIN: "
                          "this is not a children in need census.", filename=filename,
                          line=header.sourceline)
    reference = None
    try:
        reference = date.fromisoformat(head["reference_date"])
    except ValueError:
        pass
    # The ReferenceDate (31 March) names the collection year; <Year> disagrees with it in real
    # files (the peers' 2026 layout has Year 2023 beside ReferenceDate 2024-03-31), and a
    # ReferenceDate off 31 March is taken at its word too: the checks report both (CINH01-02).
    file_year = reference.year if reference else (
        int(head["year"]) if re.fullmatch(r"\d{4}", head["year"]) else None)
    tables = {name: _Table(name) for name in FRAMES if name != "header"}
    container = _first_of(root, "Children")
    walk = _Walk(tables)
    if container is not None:
        walk.children(container)
    frames = {"header": pl.DataFrame([head], schema=_SCHEMAS["header"], orient="row")}
    frames.update((name, table.frame()) for name, table in tables.items())
    return DatasetFile(
        "cin_xml", "cin", filename, frames, year=file_year, reference_date=reference,
        la_code=head["lea"], software=" ".join(filter(None, (head["software_code"],
                                                              head["release"]))),
        warnings=_warnings(root, container, walk),
    )


def _known() -> frozenset[str]:
    names = {"Message", "Header", "CollectionDetails", "Source", "Children", "Child",
             "ChildIdentifiers", "ChildCharacteristics", "Ethnicity", "Disabilities",
             "Disability", "CINdetails", "Assessments", "FactorsIdentifiedAtAssessment",
             "AssessmentFactors", "CINPlanDates", "Section47", "ChildProtectionPlans", "Reviews",
             "CPPreviewDate", "PreProceedingsandFGDM"}
    names.update(name for _, name in HEADER.values())
    for fields in (IDENTIFIERS, DETAILS, ASSESSMENT, PLAN, SECTION47, CPP, PRE_PROCEEDINGS):
        names.update(fields.values())
    return frozenset(names)


_KNOWN = _known()


_STRAY = "[*][text()[normalize-space()]]"


def _warnings(root, container, walk: _Walk) -> list[str]:
    """Text outside any value and elements the reader does not know, named in warnings."""
    if container is None or not _accounted(container, walk):
        return _stray_text(root.xpath("//*" + _STRAY)) \
            + _unknown_elements(root.iter(etree.Element))
    # The walk accounted for everything under <Children> (most of the file): only the rest is
    # looked at element by element, with the elements the walk did not read.
    others = [kid for kid in root if kid is not container and isinstance(kid.tag, str)]
    parents = root.xpath("self::*" + _STRAY)
    elements = [root, container, *walk.skipped]
    for kid in others:
        parents += kid.xpath("descendant-or-self::*" + _STRAY)
        elements += kid.iter(etree.Element)
    return _stray_text(parents) + _unknown_elements(elements)


def _accounted(container, walk: _Walk) -> bool:
    """True when every element under <Children> had its name looked at by the walk, and every
    character of text there is in a value it read (so none lies between elements)."""
    return (all(isinstance(kid.tag, str) for kid in walk.skipped)
            and container.xpath("count(descendant::*)") == walk.seen
            and len(etree.tostring(container, method="text", encoding="unicode",
                                   with_tail=False)) == walk.chars)


def _unknown_elements(elements) -> list[str]:
    """Elements the reader does not read (a newer layout, a typo): named, never silently lost."""
    # Counted by tag (few distinct ones), each then named once.
    tags = Counter(element.tag for element in elements)
    unknown: dict[str, int] = {}
    for tag, count in tags.items():
        name = tag.rpartition("}")[2]
        if name and name not in _KNOWN:
            unknown[name] = unknown.get(name, 0) + count
    if not unknown:
        return []
    listed = ", ".join(f"<{name[:40]}> ({n})" for name, n in sorted(unknown.items())[:10])
    return [f"elements this reader does not know were not read: {listed}"
            + (" ..." if len(unknown) > 10 else "")]


def _stray_text(parents) -> list[str]:
    """Text typed between elements (outside any value): named by line, never read as a value.

    parents: the elements holding both elements and non-blank text, in file order."""
    lines = []
    for parent in parents:
        if (parent.text or "").strip():
            lines.append((parent.sourceline, parent.text.strip()))
        lines.extend((kid.sourceline, kid.tail.strip()) for kid in parent
                     if (kid.tail or "").strip())
    if not lines:
        return []
    shown = "; ".join(f"line {line}: {text[:30]!r}" for line, text in lines[:5])
    more = f" and {len(lines) - 5} more" if len(lines) > 5 else ""
    return [f"text outside any element was ignored ({shown}{more}). Check the export: a value "
            "may have been written outside its element."]
