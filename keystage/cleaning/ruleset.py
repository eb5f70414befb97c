"""Validation rules as data: reading, checking and writing rule files; no Django.

Rules live in data/rules.csv, one row per rule version. The same code may appear on several rows
with disjoint year ranges when a rule's parameters change; the row in force in a year is that
year's version of the rule. A rule set is the rules in force in one assessment year.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from keystage.cleaning.checks import CHECKS, CONTEXT_FIELDS, PUPIL_FIELDS, SCHOOL_FIELDS
from keystage.datasets import COLLECTION_CODES, Family, of_family, threshold
from keystage.formats.assessment_spec import components
from keystage.formats.errors import DataFileError
from keystage.years import academic_year_label, parse_academic_year

DEFAULT_RULES_FILE = Path(__file__).with_name("data") / "rules.csv"
COLUMNS = (
    "code",
    "severity",
    "collections",
    "first_year",
    "last_year",
    "check",
    "fields",
    "params",
    "title",
    "message",
    "rationale",
)
SEVERITIES = ("error", "query")
# The datasets the rules run over: the statutory collections and the context datasets.
CLEANED_DATASETS = of_family(Family.COLLECTION, Family.CONTEXT)
CLEANED_CODES: tuple[str, ...] = tuple(d.code for d in CLEANED_DATASETS)
# `*` in a rule's collections is every statutory collection, as it was before the context
# datasets had rules: a general rule names the context datasets it also applies to after it
# ("* census pp"), so that no rule written for the collections runs on data it was not meant for.
ALL_COLLECTIONS = "*"
# Rule codes: GEN (any dataset), SCH (schools) or a dataset's prefix, then three digits.
_RULE_PREFIXES = ("GEN", "SCH", *(d.rule_prefix for d in CLEANED_DATASETS))
_CODE = re.compile(rf"^({'|'.join(_RULE_PREFIXES)})[0-9]{{3}}$")
_HEADER = re.compile(r"^# Keystage rule set (\S+)\s*$")
_JSON_TYPES = {
    int: "a whole number",
    str: "text",
    list: "a list",
    dict: "an object",
    bool: "true or false",
}


class RuleSetError(DataFileError):
    """A rule file is not valid; the message names the file, the line and what is wrong."""


@dataclass(frozen=True)
class Rule:
    """One version of a validation rule: what it checks, where, when, and what to tell the user."""

    code: str
    severity: str
    collections: frozenset[str]
    first_year: int
    last_year: int | None
    check: str
    fields: tuple[str, ...]
    params_json: str  # canonical JSON, so that rules stay hashable and comparable
    title: str
    message: str
    rationale: str

    @property
    def params(self) -> dict[str, Any]:
        """The rule's parameters (a fresh copy each time)."""
        return json.loads(self.params_json)

    def applies_to(self, collection: str, year: int) -> bool:
        """True when this version of the rule is in force for the collection in the year."""
        return collection in self.collections and self.in_force(year)

    def in_force(self, year: int) -> bool:
        """True when the year is within the rule's years."""
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)


@dataclass(frozen=True)
class RuleSet:
    """The rules in force in one assessment year."""

    version: str  # academic year label, e.g. "2025/26"
    year: int  # assessment (summer) year, e.g. 2026
    rules: tuple[Rule, ...]

    def for_collection(self, collection: str) -> tuple[Rule, ...]:
        """The rules that apply to one collection in this year."""
        return tuple(rule for rule in self.rules if rule.applies_to(collection, self.year))

    def by_code(self, code: str) -> Rule | None:
        """The rule with this code, or None (an issue stored under a code since retired)."""
        for rule in self.rules:
            if rule.code == code:
                return rule
        return None

    @property
    def codes(self) -> tuple[str, ...]:
        """The rule codes in file order."""
        return tuple(rule.code for rule in self.rules)


def canonical_params(params: dict[str, Any]) -> str:
    """The JSON text of a rule's parameters in one canonical form."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Reading


def _rows(path: Path) -> tuple[list[tuple[int, dict[str, str]]], str]:
    """The data rows of a rule file with their line numbers, and the file's first line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RuleSetError(path, 1, f"cannot read the file ({error})") from None
    lines = text.splitlines(keepends=True)
    first_line = lines[0].rstrip("\r\n") if lines else ""
    # Comment lines become blank lines, so that the reader's line numbers stay those of the file.
    kept = "".join("\n" if line.startswith("#") else line for line in lines)
    reader = csv.reader(io.StringIO(kept, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        if header is None:
            header = [cell.strip() for cell in cells]
            unknown = [name for name in header if name not in COLUMNS]
            missing = [name for name in COLUMNS if name not in header]
            if unknown:
                raise RuleSetError(path, line, f"unknown column(s) {', '.join(unknown)}")
            if missing:
                raise RuleSetError(path, line, f"missing column(s) {', '.join(missing)}")
            if len(set(header)) != len(header):
                raise RuleSetError(path, line, "a column appears twice in the header")
            continue
        if len(cells) != len(header):
            raise RuleSetError(
                path, line, f"{len(cells)} fields where the header has {len(header)}"
            )
        rows.append((line, {name: cell.strip() for name, cell in zip(header, cells, strict=True)}))
    if header is None:
        raise RuleSetError(path, 1, "the file has no header row")
    return rows, first_line


def _year(path: Path, line: int, column: str, text: str) -> int:
    if not re.fullmatch(r"[0-9]{4}", text):
        raise RuleSetError(path, line, f"{column} must be a four-digit year, not {text!r}")
    return int(text)


def _collections(path: Path, line: int, text: str) -> frozenset[str]:
    names = text.split()
    if not names:
        raise RuleSetError(path, line, "collections is empty (use * for every collection)")
    unknown = [name for name in names if name not in (*CLEANED_CODES, ALL_COLLECTIONS)]
    if unknown:
        raise RuleSetError(
            path,
            line,
            f"unknown collection(s) {', '.join(unknown)} (use {', '.join(CLEANED_CODES)} or *)",
        )
    if len(set(names)) != len(names):
        raise RuleSetError(path, line, "a collection is listed twice")
    if ALL_COLLECTIONS in names:
        if set(names) & set(COLLECTION_CODES):
            raise RuleSetError(path, line, "* already means every statutory collection; "
                               "after it name only context datasets")
        return frozenset(COLLECTION_CODES) | (frozenset(names) - {ALL_COLLECTIONS})
    return frozenset(names)


def _result_fields(collections: frozenset[str]) -> set[str]:
    return {c.component for c in components() if c.collection in collections}


def _check_fields(path: Path, line: int, check_name: str, fields: tuple[str, ...],
                  collections: frozenset[str]) -> None:
    check = CHECKS[check_name]
    if not fields:
        raise RuleSetError(path, line, "fields is empty: name the fields the rule reads")
    if len(set(fields)) != len(fields):
        raise RuleSetError(path, line, "a field is listed twice")
    if check.field_kind == "pupil":
        known = set(PUPIL_FIELDS)
    elif check.field_kind == "school":
        known = set(SCHOOL_FIELDS)
    elif check.field_kind == "context":
        # A context field is one dataset's: a rule reading it applies to that dataset alone.
        known = {name for name, (owner, _, _) in CONTEXT_FIELDS.items()
                 if collections == {owner}}
    else:
        known = _result_fields(collections)
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise RuleSetError(
            path,
            line,
            f"check {check_name} reads {check.field_kind} fields; "
            f"unknown field(s) {', '.join(unknown)}",
        )
    if check.exact_fields and set(fields) != set(check.fields):
        raise RuleSetError(
            path, line, f"check {check_name} reads exactly the fields {' '.join(check.fields)}"
        )
    if check.fields and not set(fields) <= set(check.fields):
        raise RuleSetError(
            path, line, f"check {check_name} reads only the fields {' '.join(check.fields)}"
        )


def _params(path: Path, line: int, check_name: str, text: str) -> dict[str, Any]:
    try:
        params = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise RuleSetError(path, line, f"params is not valid JSON ({error.msg})") from None
    if not isinstance(params, dict):
        raise RuleSetError(path, line, "params must be a JSON object such as {}")
    check = CHECKS[check_name]
    unknown = sorted(set(params) - set(check.params))
    missing = [name for name in check.required if name not in params]
    if unknown:
        accepted = ", ".join(check.params) or "none"
        raise RuleSetError(
            path,
            line,
            f"check {check_name} does not accept param(s) {', '.join(unknown)} "
            f"(it accepts {accepted})",
        )
    if missing:
        raise RuleSetError(path, line, f"check {check_name} needs param(s) {', '.join(missing)}")
    for name, value in params.items():
        wanted = check.params[name]
        # JSON true is a Python bool, which is also an int: keep the two apart.
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise RuleSetError(
                path, line, f"param {name} of check {check_name} must be {_JSON_TYPES[wanted]}"
            )
    return params


def _check_thresholds(path: Path, line: int, params: dict[str, Any],
                      collections: frozenset[str]) -> None:
    """Params named *_threshold name a threshold of every dataset the rule applies to."""
    for name, value in params.items():
        if not name.endswith("_threshold"):
            continue
        for collection in sorted(collections):
            try:
                threshold(collection, value)
            except KeyError:
                raise RuleSetError(
                    path, line, f"param {name}: dataset {collection} has no threshold {value!r} "
                    "in keystage/datasets.py"
                ) from None


def _rule(path: Path, line: int, row: dict[str, str]) -> Rule:
    code = row["code"]
    if not _CODE.match(code):
        raise RuleSetError(
            path, line, f"code {code!r} must be a prefix ({' '.join(_RULE_PREFIXES)}) and 3 digits"
        )
    if row["severity"] not in SEVERITIES:
        raise RuleSetError(
            path, line, f"severity must be error or query, not {row['severity']!r}"
        )
    collections = _collections(path, line, row["collections"])
    first_year = _year(path, line, "first_year", row["first_year"])
    last_year = _year(path, line, "last_year", row["last_year"]) if row["last_year"] else None
    if last_year is not None and first_year > last_year:
        raise RuleSetError(
            path, line, f"first_year {first_year} is after last_year {last_year}"
        )
    check_name = row["check"]
    if check_name not in CHECKS:
        raise RuleSetError(path, line, f"unknown check {check_name!r}")
    fields = tuple(row["fields"].split())
    _check_fields(path, line, check_name, fields, collections)
    params = _params(path, line, check_name, row["params"])
    _check_thresholds(path, line, params, collections)
    for column in ("title", "message", "rationale"):
        if not row[column]:
            raise RuleSetError(path, line, f"{column} is empty")
    return Rule(
        code=code,
        severity=row["severity"],
        collections=collections,
        first_year=first_year,
        last_year=last_year,
        check=check_name,
        fields=fields,
        params_json=canonical_params(params),
        title=row["title"],
        message=row["message"],
        rationale=row["rationale"],
    )


def _overlap(a: Rule, b: Rule) -> bool:
    a_last = a.last_year if a.last_year is not None else 10_000
    b_last = b.last_year if b.last_year is not None else 10_000
    return bool(a.collections & b.collections) and a.first_year <= b_last and b.first_year <= a_last


def _load(path: Path) -> tuple[tuple[Rule, ...], list[int], str]:
    rows, first_line = _rows(path)
    rules: list[Rule] = []
    lines: list[int] = []
    for line, row in rows:
        rule = _rule(path, line, row)
        for earlier, earlier_line in zip(rules, lines, strict=True):
            if earlier.code == rule.code and _overlap(earlier, rule):
                raise RuleSetError(
                    path,
                    line,
                    f"{rule.code} is already in force for some of these collections and years "
                    f"(line {earlier_line}); give each version of a rule its own years",
                )
        rules.append(rule)
        lines.append(line)
    return tuple(rules), lines, first_line


def load_rules(path: Path | str = DEFAULT_RULES_FILE) -> tuple[Rule, ...]:
    """Every rule version in a rule file, or a RuleSetError naming the line at fault."""
    return _load(Path(path))[0]


def _select(rules: tuple[Rule, ...], year: int) -> RuleSet:
    in_force = tuple(rule for rule in rules if rule.in_force(year))
    return RuleSet(version=academic_year_label(year), year=year, rules=in_force)


@cache
def _default_rule_set(year: int) -> RuleSet:
    return _select(load_rules(DEFAULT_RULES_FILE), year)


def rule_set_for(year: int, path: Path | str = DEFAULT_RULES_FILE) -> RuleSet:
    """The rules in force in an assessment (summer) year."""
    if Path(path) == DEFAULT_RULES_FILE:
        return _default_rule_set(year)
    return _select(load_rules(path), year)


def validate_default_rules() -> tuple[Rule, ...]:
    """Load the default rule file, raising RuleSetError if it is not valid."""
    return load_rules(DEFAULT_RULES_FILE)


# ---------------------------------------------------------------------------------------------
# Writing one year's rule set


def _collections_text(collections: frozenset[str]) -> str:
    if collections >= frozenset(COLLECTION_CODES):
        extra = [name for name in CLEANED_CODES if name in collections - set(COLLECTION_CODES)]
        return " ".join([ALL_COLLECTIONS, *extra])
    return " ".join(name for name in CLEANED_CODES if name in collections)


def dump_rule_set(rule_set: RuleSet, path: Path | str) -> None:
    """Write a rule set as a rule file headed with its academic year."""
    buffer = io.StringIO()
    buffer.write(f"# Keystage rule set {rule_set.version}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for rule in rule_set.rules:
        writer.writerow(
            [
                rule.code,
                rule.severity,
                _collections_text(rule.collections),
                rule.first_year,
                "" if rule.last_year is None else rule.last_year,
                rule.check,
                " ".join(rule.fields),
                rule.params_json,
                rule.title,
                rule.message,
                rule.rationale,
            ]
        )
    Path(path).write_text(buffer.getvalue(), encoding="utf-8")


def load_rule_set(path: Path | str) -> RuleSet:
    """Read a rule set written by dump_rule_set; its year comes from the header comment."""
    path = Path(path)
    rules, lines, first_line = _load(path)
    match = _HEADER.match(first_line)
    if match is None:
        raise RuleSetError(path, 1, "the first line must be '# Keystage rule set YYYY/YY'")
    label = match.group(1)
    # A lone year is not accepted here: the header names the academic year in full.
    year = parse_academic_year(label) if label[4:5] in ("/", "-") else None
    if year is None:
        raise RuleSetError(path, 1, f"{label} is not an academic year like 2025/26")
    for rule, line in zip(rules, lines, strict=True):
        if not rule.in_force(year):
            raise RuleSetError(
                path, line, f"{rule.code} is not in force in {academic_year_label(year)}"
            )
    return RuleSet(version=academic_year_label(year), year=year, rules=rules)
