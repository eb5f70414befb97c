"""Secure messages: an LA with its schools and with other LAs, read receipts, emails that
carry no content, tenancy and audit."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from keystage.audit.models import AuditEvent, EventType
from keystage.transfer.messages import MessageRefused, do_send_message, do_start_thread
from keystage.transfer.models import Message, MessageRead, MessageThread


def test_an_la_officer_writes_to_a_school_which_reads_and_replies(world, login, client,
                                                                 django_capture_on_commit_callbacks):
    officer = login(world.a.users["transfer_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        page = officer.post(reverse("transfer:message-new"), {
            "to": world.a.schools[0].laestab, "subject": "Where is the Year 4 leaver?",
            "upn": "A330200121002", "body": "Has Ben Brown joined you? His file went to XXX."})
    assert page.status_code == 302
    thread = MessageThread.objects.get()
    assert (thread.la, thread.school, thread.upn) == (world.a.la, world.a.schools[0],
                                                      "A330200121002")
    [email] = mail.outbox
    assert email.to == ["school_user.330@example.org"]
    assert "Ben" not in email.body and "Year 4" not in email.subject + email.body

    client.logout()
    school = login(world.a.users["school_user"])
    listing = school.get(reverse("transfer:messages"))
    assert b"Where is the Year 4 leaver?" in listing.content
    opened = school.get(reverse("transfer:thread", args=[thread.pk]))
    assert b"Has Ben Brown joined you?" in opened.content
    assert MessageRead.objects.filter(reader=world.a.users["school_user"]).count() == 1
    school.post(reverse("transfer:thread", args=[thread.pk]), {"body": "Yes, since Monday."})
    assert Message.objects.filter(thread=thread).count() == 2
    assert AuditEvent.objects.filter(event_type=EventType.MESSAGE_SENT).count() == 2
    assert AuditEvent.objects.filter(event_type=EventType.MESSAGES_READ).count() == 1


def test_two_las_write_to_each_other_and_no_school_sees_it(world, login):
    thread = do_start_thread(acting_user=world.a.users["lost_pupils_officer"],
                             other_la=world.b.la, subject="A lost pupil",
                             body="Is this child in one of your schools?")
    do_send_message(thread, body="Checking.", acting_user=world.b.users["lost_pupils_officer"])

    assert login(world.b.users["transfer_officer"]).get(
        reverse("transfer:thread", args=[thread.pk])).status_code == 200
    assert login(world.a.users["school_user"]).get(
        reverse("transfer:thread", args=[thread.pk])).status_code == 404


def test_a_school_writes_only_to_its_own_la(world):
    thread = do_start_thread(acting_user=world.a.users["school_user"], subject="Question",
                             body="Who do we send the file to?", other_la=world.b.la)

    assert (thread.la, thread.school, thread.other_la) == (world.a.la, world.a.schools[0], None)


@pytest.mark.parametrize("kwargs", [
    {"subject": "", "body": "x"},
    {"subject": "x", "body": "  "},
])
def test_an_empty_message_is_refused(world, kwargs):
    with pytest.raises(MessageRefused):
        do_start_thread(acting_user=world.a.users["transfer_officer"],
                        school=world.a.schools[0], **kwargs)


def test_an_la_cannot_write_to_another_las_school(world):
    with pytest.raises(MessageRefused):
        do_start_thread(acting_user=world.a.users["transfer_officer"],
                        school=world.b.schools[0], subject="x", body="y")


def test_the_analyst_has_no_messages(world, login):
    assert login(world.a.users["la_analyst"]).get(
        reverse("transfer:messages")).status_code == 403


def test_a_thread_about_a_transfer_file_links_to_it_and_another_las_file_is_ignored(world,
                                                                                   login):
    from keystage.transfer.actions import send_transfer_files
    from keystage.transfer.tests.builder import full_pupil, transfer_ctf

    [ours] = send_transfer_files([("a.xml", transfer_ctf("330", "2001", "331", "2001", [
        full_pupil("A330200121001", "Jones", "Amy", "2016-05-01")]))],
        from_school=world.a.schools[0], acting_user=None)
    [theirs] = send_transfer_files([("b.xml", transfer_ctf("331", "2002", "331", "2001", [
        full_pupil("A331200221001", "Wu", "Li", "2016-05-01")]))],
        from_school=world.b.schools[1], acting_user=None)
    school = login(world.a.users["school_user"])

    school.post("/transfer/messages/new/", {"transfer": ours.transfer.pk, "subject": "File",
                                            "body": "Sent the wrong file?"})
    school.post("/transfer/messages/new/", {"transfer": theirs.transfer.pk, "subject": "Other",
                                            "body": "x"})

    threads = {t.subject: t.transfer_id for t in MessageThread.objects.all()}
    assert threads == {"File": ours.transfer.pk, "Other": None}
