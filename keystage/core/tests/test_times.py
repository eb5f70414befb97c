"""Date-times read the GOV.UK way: "2 December 2026 at 3:04pm", in UK time."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from keystage.accounts.models import Role, User
from keystage.core.times import govuk_datetime

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


@pytest.mark.parametrize(("value", "shown"), [
    (dt.datetime(2026, 12, 2, 0, 0), "2 December 2026 at 12am"),
    (dt.datetime(2026, 12, 2, 0, 30), "2 December 2026 at 12:30am"),
    (dt.datetime(2026, 12, 2, 12, 0), "2 December 2026 at 12pm"),
    (dt.datetime(2026, 12, 2, 12, 1), "2 December 2026 at 12:01pm"),
    (dt.datetime(2026, 12, 2, 15, 4), "2 December 2026 at 3:04pm"),
    (dt.datetime(2026, 12, 2, 9, 5), "2 December 2026 at 9:05am"),
    (dt.datetime(2026, 12, 2, 15, 0), "2 December 2026 at 3pm"),
    (dt.datetime(2026, 12, 2, 9, 0), "2 December 2026 at 9am"),
    (dt.datetime(2026, 12, 2, 23, 59), "2 December 2026 at 11:59pm"),
    (dt.datetime(2026, 1, 9, 10, 10), "9 January 2026 at 10:10am"),
])
def test_a_date_time_reads_with_a_12_hour_clock_and_lowercase_am_or_pm(value, shown):
    assert govuk_datetime(value) == shown


@pytest.mark.parametrize(("utc", "shown"), [
    (dt.datetime(2026, 12, 2, 15, 4, tzinfo=UTC), "2 December 2026 at 3:04pm"),  # GMT
    (dt.datetime(2026, 7, 2, 14, 4, tzinfo=UTC), "2 July 2026 at 3:04pm"),  # BST
    (dt.datetime(2026, 7, 2, 23, 30, tzinfo=UTC), "3 July 2026 at 12:30am"),  # next day in BST
    (dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "29 March 2026 at 12:59am"),  # before the change
    (dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "29 March 2026 at 2am"),  # clocks go forward
    (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "25 October 2026 at 1:30am"),  # BST, first 1:30
    (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "25 October 2026 at 1:30am"),  # GMT, second
])
def test_an_aware_date_time_reads_in_uk_time_in_summer_and_winter(utc, shown):
    assert govuk_datetime(utc, LONDON) == shown


def test_template_filters_show_date_times_in_uk_time_and_dates_alone():
    from django.template import Context, Template

    template = Template("{% load govuk_dates %}{{ t|govuk_datetime }}|{{ iso|govuk_datetime }}|"
                        "{{ day|govuk_date }}|{{ blank|govuk_datetime }}")
    text = template.render(Context({
        "t": dt.datetime(2026, 7, 2, 14, 4, tzinfo=UTC), "iso": "2026-12-02T12:00+00:00",
        "day": "2026-12-02", "blank": None,
    }))

    assert text == "2 July 2026 at 3:04pm|2 December 2026 at 12pm|2 December 2026|"


def test_the_user_list_shows_last_sign_in_times_the_govuk_way(world, login):
    officer = world.a.users[Role.LA_DATA_OFFICER]
    User.objects.filter(pk=officer.pk).update(
        last_login=dt.datetime(2026, 7, 2, 14, 4, tzinfo=UTC))

    page = login(world.a.users[Role.LA_ADMIN]).get("/accounts/users/")

    assert page.status_code == 200
    assert "2 July 2026 at 3:04pm" in page.content.decode()
    assert "15:04" not in page.content.decode() and "14:04" not in page.content.decode()


def test_no_template_shows_a_date_time_field_without_the_govuk_filter():
    from pathlib import Path

    import keystage

    fields = "|".join(("_at", "event_time", "last_login", "last_submission"))
    bare = re.compile(r"\{\{\s*[\w.]*(" + fields + r")\s*(\|\s*(date|time)\b[^}]*)?\}\}")
    found = [f"{path.name}: {m.group(0)}"
             for path in Path(keystage.__file__).parent.rglob("templates/**/*.*")
             for m in bare.finditer(path.read_text())]
    assert found == []
