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


def _local(element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


class _Kids:
    """An element's child elements by local name, found in one pass over them."""

    __slots__ = ("by_name",)

    def __init__(self, element) -> None:
        self.by_name: dict[str, list] = {}
        if element is not None:
            for child in element:
                tag = child.tag
                if isinstance(tag, str):
                    name = tag.rpartition("}")[2] if "}" in tag else tag
                    self.by_name.setdefault(name, []).append(child)

    def all(self, name: str) -> list:
        return self.by_name.get(name, [])

    def first(self, name: str):
        found = self.by_name.get(name)
        return found[0] if found else None

    def text(self, name: str) -> str:
        found = self.by_name.get(name)
        return (found[0].text or "").strip() if found else ""

    def values(self, fields: dict[str, str]) -> dict[str, str]:
        return {column: self.text(name) for column, name in fields.items()}


def _children(element, name: str):
    return _Kids(element).all(name)


def _first(element, name: str):
    return _Kids(element).first(name)


def _text(element, name: str) -> str:
    return _Kids(element).text(name)


def collection_year_of(day: date) -> int:
    """The collection year (by the 31 March it ends) a date belongs to."""
    return day.year if (day.month, day.day) <= (3, 31) else day.year + 1


def read_cin(source, *, filename: str, year: int | None = None, **options) -> DatasetFile:
    """A CIN census, whole, or FormatError naming the file, line and what to do."""
    root = read_root(source, filename, root="Message", what="a CIN census", resend=_RESEND,
                     max_bytes=MAX_BYTES)
    header = _first(root, "Header")
    if header is None:
        raise FormatError(f"the file has no <Header>. {_RESEND}", filename=filename,
                          line=root.sourceline)
    head = {"line": header.sourceline}
    for column, (block, name) in HEADER.items():
        head[column] = _text(_first(header, block), name)
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
    rows: dict[str, list[dict]] = {name: [] for name in FRAMES}
    rows["header"].append(head)
    container = _first(root, "Children")
    for child in _children(container, "Child"):
        kids = _Kids(child)
        ids = _Kids(kids.first("ChildIdentifiers"))
        chars = _Kids(kids.first("ChildCharacteristics"))
        values = ids.values(IDENTIFIERS)
        key = values["child"]
        rows["children"].append({"line": child.sourceline, **values,
                                 "ethnicity": chars.text("Ethnicity")})
        for disability in _children(chars.first("Disabilities"), "Disability"):
            rows["disabilities"].append({"line": disability.sourceline, "child": key,
                                         "disability": (disability.text or "").strip()})
        for seq, details in enumerate(kids.all("CINdetails"), start=1):
            base = {"child": key, "cin_seq": seq}
            parts = _Kids(details)
            rows["cin_details"].append({"line": details.sourceline, **base,
                                        **parts.values(DETAILS)})
            for a_seq, assessment in enumerate(parts.all("Assessments"), start=1):
                inner = _Kids(assessment)
                rows["assessments"].append({"line": assessment.sourceline, **base,
                                            "assessment_seq": a_seq,
                                            **inner.values(ASSESSMENT)})
                factors = inner.first("FactorsIdentifiedAtAssessment")
                for factor in _children(factors, "AssessmentFactors"):
                    rows["assessment_factors"].append({
                        "line": factor.sourceline, **base, "assessment_seq": a_seq,
                        "factor": (factor.text or "").strip()})
            for plan in parts.all("CINPlanDates"):
                rows["cin_plans"].append({"line": plan.sourceline, **base,
                                          **_Kids(plan).values(PLAN)})
            for s47 in parts.all("Section47"):
                rows["section47"].append({"line": s47.sourceline, **base,
                                          **_Kids(s47).values(SECTION47)})
            for c_seq, cpp in enumerate(parts.all("ChildProtectionPlans"), start=1):
                inner = _Kids(cpp)
                rows["cpp"].append({"line": cpp.sourceline, **base, "cpp_seq": c_seq,
                                    **inner.values(CPP)})
                for review in _children(inner.first("Reviews"), "CPPreviewDate"):
                    rows["cpp_reviews"].append({"line": review.sourceline, **base,
                                                "cpp_seq": c_seq,
                                                "review_date": (review.text or "").strip()})
            for pre in parts.all("PreProceedingsandFGDM"):
                rows["pre_proceedings"].append({"line": pre.sourceline, **base,
                                                **_Kids(pre).values(PRE_PROCEEDINGS)})
    frames = {}
    for name, columns in FRAMES.items():
        schema = {c: (pl.Int64 if c in _INT else pl.String) for c in columns}
        frames[name] = (pl.DataFrame(rows[name], schema=schema, orient="row") if rows[name]
                        else pl.DataFrame(schema=schema))
    return DatasetFile(
        "cin_xml", "cin", filename, frames, year=file_year, reference_date=reference,
        la_code=head["lea"], software=" ".join(filter(None, (head["software_code"],
                                                              head["release"]))),
        warnings=_stray_text(root) + _unknown_elements(root),
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


def _unknown_elements(root) -> list[str]:
    """Elements the reader does not read (a newer layout, a typo): named, never silently lost."""
    # Counted by tag (few distinct ones), each then named once.
    tags = Counter(element.tag for element in root.iter(etree.Element))
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


def _stray_text(root) -> list[str]:
    """Text typed between elements (outside any value): named by line, never read as a value."""
    lines = []
    # Only elements holding both elements and non-blank text: the parser's XPath does the walk.
    for parent in root.xpath("//*[*][text()[normalize-space()]]"):
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
