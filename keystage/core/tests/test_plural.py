"""Counts agree with their nouns, and dates read the GOV.UK way."""

from __future__ import annotations

import datetime as dt

from django.template import Context, Template

from keystage.core.plural import counted


def test_counted_says_1_query_and_2_queries():
    assert counted(1, "query", "queries") == "1 query"
    assert counted(2, "query", "queries") == "2 queries"
    assert counted(0, "pupil") == "0 pupils"
    assert counted(1, "pupil") == "1 pupil"


def test_dates_and_times_read_the_govuk_way_in_templates_and_from_iso_text():
    template = Template(
        "{% load govuk_dates %}{{ d }}|{{ t|govuk_datetime }}|{{ iso|govuk_date }}|"
        "{{ day|govuk_date }}"
    )
    text = template.render(Context({
        "d": dt.date(2026, 12, 2), "t": dt.datetime(2026, 12, 2, 15, 4),
        "iso": "2026-12-02T15:04", "day": "2026-12-02",
    }))

    assert text == ("2 December 2026|2 December 2026 at 3:04pm|2 December 2026 at 3:04pm|"
                    "2 December 2026")
