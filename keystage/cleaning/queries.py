"""Reads for the cleaning reports: counts by rule and school, the issue grid, school reports."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from keystage.cleaning.models import Issue

# Columns of the issue grid a user may sort by (query value -> model field).
SORTABLE = {"rule": "rule_code", "severity": "severity", "school": "laestab", "upn": "upn",
            "field": "field", "surname": "pupil__surname"}
# Headings of the issue grid: (sort key or "" when the column does not sort, label).
GRID_COLUMNS = [("rule", "Rule"), ("severity", "Severity"), ("school", "LAESTAB / URN"),
                ("upn", "UPN"), ("surname", "Pupil"), ("field", "Field"), ("", "Value"),
                ("", "What to do")]
# The `keystage clean --report` layout (design.md), and the school report's, with names.
REPORT_COLUMNS = ["rule_code", "severity", "laestab", "upn", "field", "value", "message"]
SCHOOL_REPORT_COLUMNS = ["rule_code", "severity", "laestab", "upn", "surname", "forename",
                         "field", "value", "message"]


def by_rule(issues: QuerySet[Issue], rule_set) -> list[dict]:
    """Errors and queries per rule, most frequent first, with each rule's title."""
    rows = (issues.values("rule_code", "severity")
            .annotate(issues=Count("id"), schools=Count("school", distinct=True))
            .order_by("-issues", "rule_code"))
    out = []
    for row in rows:
        rule = rule_set.by_code(row["rule_code"]) if rule_set is not None else None
        out.append({**row, "title": rule.title if rule else ""})
    return out


def by_school(issues: QuerySet[Issue]) -> list[dict]:
    """Errors, queries and pupils affected per school, most errors first."""
    return list(
        issues.values("school__urn", "school__name", "laestab")
        .annotate(errors=Count("id", filter=Q(severity="error")),
                  queries=Count("id", filter=Q(severity="query")),
                  pupils=Count("pupil", distinct=True))
        .order_by("-errors", "-queries", "school__name")
    )


def filtered_issues(issues: QuerySet[Issue], params) -> tuple[QuerySet[Issue], dict]:
    """The issues a grid's filters and sort ask for, and the filters as applied."""
    applied = {name: (params.get(name) or "").strip()
               for name in ("rule", "severity", "school", "upn", "sort")}
    if applied["rule"]:
        issues = issues.filter(rule_code=applied["rule"].upper())
    if applied["severity"] in ("error", "query"):
        issues = issues.filter(severity=applied["severity"])
    if applied["school"]:
        issues = issues.filter(laestab=applied["school"])
    if applied["upn"]:
        issues = issues.filter(upn__icontains=applied["upn"].upper())
    sort = applied["sort"]
    key = SORTABLE.get(sort.lstrip("-"))
    order = [f"-{key}" if sort.startswith("-") else key] if key else []
    return issues.select_related("pupil").order_by(*order, "laestab", "upn", "rule_code",
                                                   "field", "id"), applied


def report_rows(issues: QuerySet[Issue]):
    """Rows of the `keystage clean --report` CSV, in report order."""
    return issues.order_by("laestab", "upn", "rule_code", "field", "id").values_list(
        *REPORT_COLUMNS
    ).iterator(chunk_size=5000)


def school_report_rows(issues: QuerySet[Issue]):
    """Rows of a school's report: the issues with the pupil's name, to send to the school."""
    return issues.order_by("severity", "upn", "rule_code", "field", "id").values_list(
        "rule_code", "severity", "laestab", "upn", "pupil__surname", "pupil__forename",
        "field", "value", "message",
    ).iterator(chunk_size=5000)
