"""A school's replacement that overwrites LA edits tells the LA: home page notice and email."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from keystage.audit.models import AuditEvent, EventType
from keystage.cleaning.actions import do_edit_pupil
from keystage.collection.actions import import_ctf
from keystage.collection.models import LaNotice, PupilRecord
from keystage.collection.tests.ctf_builder import eyfsp_file

pytestmark = pytest.mark.django_db


def _school_overwrites_an_la_edit(world, django_capture_on_commit_callbacks):
    school = world.a.schools[0]
    data, _ = eyfsp_file("330", school.estab, 2)
    import_ctf("first.xml", data, la=world.a.la, year=2026, acting_user=None)
    pupil = PupilRecord.objects.order_by("id").first()
    do_edit_pupil(pupil, {"Surname": "Smyth"}, reason="parent letter",
                  acting_user=world.a.users["la_data_officer"])
    again, _ = eyfsp_file("330", school.estab, 3)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = import_ctf("again.xml", again, la=world.a.la, year=2026,
                             acting_user=world.a.users["school_user"],
                             confirm_replacements=True, only_school=school)
    assert outcome.status == "committed"
    return pupil


def test_a_schools_replacement_over_la_edits_shows_on_the_la_home_page_and_is_emailed(
        world, client, django_capture_on_commit_callbacks):
    pupil = _school_overwrites_an_la_edit(world, django_capture_on_commit_callbacks)
    notice = LaNotice.objects.get()
    assert notice.la == world.a.la and "1 LA edit overwritten" in notice.title
    assert pupil.upn in notice.body and "Smith" in notice.body
    assert re.search(r"\(la_data_officer[^,]*, \d{1,2} \w+ \d{4} at \d{1,2}(:\d\d)?[ap]m\)",
                     notice.body), notice.body  # when the edit was made, the GOV.UK way
    assert AuditEvent.objects.filter(event_type=EventType.NOTICE_ADDED).count() == 1
    [email] = mail.outbox
    assert sorted(email.to) == ["la_admin.330@example.org", "la_data_officer.330@example.org"]
    assert "overwritten" in email.subject
    for role in ("la_data_officer", "la_admin"):
        client.force_login(world.a.users[role])
        assert notice.title in client.get("/").content.decode()
    for user in [world.a.users["la_analyst"], world.a.users["school_user"],
                 world.b.users["la_data_officer"]]:
        client.force_login(user)
        assert notice.title not in client.get("/").content.decode()


def test_an_la_officer_dismisses_a_notice_and_the_log_says_who(
        world, client, django_capture_on_commit_callbacks):
    _school_overwrites_an_la_edit(world, django_capture_on_commit_callbacks)
    notice = LaNotice.objects.get()
    client.force_login(world.b.users["la_data_officer"])
    assert client.post(f"/collection/notices/{notice.pk}/dismiss/").status_code == 404
    client.force_login(world.a.users["school_user"])
    assert client.post(f"/collection/notices/{notice.pk}/dismiss/").status_code == 404
    officer = world.a.users["la_data_officer"]
    client.force_login(officer)
    assert client.post(f"/collection/notices/{notice.pk}/dismiss/").status_code == 302
    notice.refresh_from_db()
    assert notice.dismissed_by == officer and notice.dismissed_at is not None
    assert notice.title not in client.get("/").content.decode()
    assert AuditEvent.objects.filter(event_type=EventType.NOTICE_DISMISSED,
                                     acting_user=officer).count() == 1


def test_an_la_officers_own_replacement_leaves_no_notice(
        world, django_capture_on_commit_callbacks):
    school = world.a.schools[0]
    import_ctf("first.xml", eyfsp_file("330", school.estab, 2)[0], la=world.a.la, year=2026,
               acting_user=None)
    do_edit_pupil(PupilRecord.objects.first(), {"Surname": "Smyth"}, reason="letter",
                  acting_user=world.a.users["la_data_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        import_ctf("again.xml", eyfsp_file("330", school.estab, 3)[0], la=world.a.la,
                   year=2026, acting_user=world.a.users["la_data_officer"],
                   confirm_replacements=True)
    assert not LaNotice.objects.exists() and not mail.outbox
