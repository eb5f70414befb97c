"""Sending CTFs between schools: routing by destination, inbox, download, reject, route,
refusals, retention, and the command line (`keystage transfer`)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from keystage.audit.models import AuditEvent, EventType
from keystage.transfer.actions import (
    do_delete_expired_transfers,
    do_download_transfer_file,
    open_transfer_file,
    send_transfer_files,
)
from keystage.transfer.management.commands.transfer import INBOX_COLUMNS
from keystage.transfer.models import TransferFile, TransferNotice, TransferPupil
from keystage.transfer.tests.builder import full_pupil, transfer_ctf

AMY = full_pupil("A330200121001", "Jones", "Amy", "2016-05-01", former_upn="B330200121001")


def send(school, *files):
    return send_transfer_files(list(files), from_school=school, acting_user=None)


def test_a_file_to_a_school_of_another_la_lands_in_its_inbox_with_the_pupils_names(world):
    ours, theirs = world.a.schools[0], world.b.schools[0]

    [outcome] = send(ours, ("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY])))

    assert outcome.status == "sent", outcome.message
    transfer = TransferFile.objects.get()
    assert (transfer.to_school, transfer.to_la, transfer.pupils) == (theirs, world.b.la, 1)
    pupil = TransferPupil.objects.get()
    assert (pupil.upn, pupil.former_upn, pupil.surname, pupil.forename, pupil.dob) == (
        "A330200121001", "B330200121001", "Jones", "Amy", dt.date(2016, 5, 1))
    assert TransferNotice.objects.filter(school=theirs).count() == 1
    assert AuditEvent.objects.filter(event_type=EventType.TRANSFER_SENT).count() == 1


def test_the_file_is_stored_encrypted_and_downloads_as_sent(world):
    data = transfer_ctf("330", "2001", "331", "2001", [AMY])
    send(world.a.schools[0], ("amy.xml", data))
    transfer = TransferFile.objects.get()

    assert b"Jones" not in bytes(transfer.content)
    assert do_download_transfer_file(transfer, acting_user=None,
                                     school=world.b.schools[0]) == data
    transfer.refresh_from_db()
    assert transfer.status == "downloaded"
    assert AuditEvent.objects.filter(event_type=EventType.TRANSFER_DOWNLOADED).count() == 1


def test_the_receiving_schools_users_are_emailed_without_the_pupils_details(
        world, django_capture_on_commit_callbacks):
    from keystage.accounts.actions import do_create_user
    from keystage.accounts.models import Role
    from keystage.core.testing import PASSWORD

    do_create_user("receiver", role=Role.SCHOOL_USER, school=world.b.schools[0],
                   email="receiver@example.org", password=PASSWORD, acting_user=None)
    with django_capture_on_commit_callbacks(execute=True):
        send(world.a.schools[0], ("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY])))

    [message] = mail.outbox
    assert "receiver@example.org" in message.to
    assert "Jones" not in message.body and "A330200121001" not in message.body


@pytest.mark.parametrize(("dest_la", "dest_estab", "says"), [
    (None, None, "destination in the header"),
    ("330", None, "destination in the header"),
    ("33", "2001", "destination in the header"),
    ("330", "20x1", "destination in the header"),
    ("330", "2001", "addressed to your own school"),
])
def test_a_file_with_no_usable_destination_is_refused_and_nothing_is_stored(
        world, dest_la, dest_estab, says):
    [outcome] = send(world.a.schools[0],
                     ("bad.xml", transfer_ctf("330", "2001", dest_la, dest_estab, [AMY])))

    assert outcome.status == "refused"
    assert says in outcome.message and "bad.xml" in outcome.message
    assert not TransferFile.objects.exists() and not TransferPupil.objects.exists()


def test_the_same_file_twice_says_so_and_stores_nothing_new(world):
    data = transfer_ctf("330", "2001", "331", "2001", [AMY])
    send(world.a.schools[0], ("amy.xml", data))

    [again] = send(world.a.schools[0], ("amy-again.xml", data))

    assert again.status == "duplicate" and "already sent" in again.message
    assert TransferFile.objects.count() == 1


def test_a_file_made_by_another_school_is_refused(world):
    [outcome] = send(world.a.schools[1],
                     ("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY])))

    assert outcome.status == "refused" and "from school 3302001" in outcome.message


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><CTfile/>',
    b"<CTfile><Header>",
    b"not xml at all",
    b"",
])
def test_hostile_or_broken_files_are_refused_by_name(world, data):
    [outcome] = send(world.a.schools[0], ("evil.xml", data))

    assert outcome.status == "refused" and "evil.xml" in outcome.message
    assert not TransferFile.objects.exists()


def test_a_destination_not_in_the_register_is_held_for_that_las_transfer_officer(world):
    [outcome] = send(world.a.schools[0],
                     ("amy.xml", transfer_ctf("330", "2001", "331", "9999", [AMY])))

    assert outcome.status == "held"
    transfer = TransferFile.objects.get()
    assert (transfer.to_la, transfer.to_school) == (world.b.la, None)
    assert TransferNotice.objects.filter(la=world.b.la, school=None).count() == 1


def test_a_closed_destination_school_is_held_not_lost(world):
    closed = world.b.schools[1]
    closed.status = "Closed"
    closed.save()

    [outcome] = send(world.a.schools[0],
                     ("amy.xml", transfer_ctf("330", "2001", "331", closed.estab, [AMY])))

    assert outcome.status == "held" and "closed" in outcome.message


def test_an_la_outside_this_service_is_shown_as_such(world):
    [outcome] = send(world.a.schools[0],
                     ("amy.xml", transfer_ctf("330", "2001", "873", "2001", [AMY])))

    assert outcome.status == "outside" and "873" in outcome.message
    assert TransferFile.objects.get().status == "outside"


def test_files_past_retention_are_deleted_and_the_deletion_is_audited(world):
    send(world.a.schools[0], ("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY])))

    later = timezone.now() + dt.timedelta(days=400)
    assert do_delete_expired_transfers(now=later) == 1

    transfer = TransferFile.objects.get()
    assert transfer.content is None and transfer.deleted_at is not None
    with pytest.raises(ValueError, match="retention"):
        open_transfer_file(transfer)
    assert AuditEvent.objects.filter(event_type=EventType.TRANSFERS_DELETED).count() == 1


def test_transfer_send_inbox_and_download_from_the_command_line(world, tmp_path):
    path = tmp_path / "3302001_CTF_3312001_001.xml"
    path.write_bytes(transfer_ctf("330", "2001", "331", "2001", [AMY]))

    call_command("transfer", "send", str(path), "--from", "3302001")
    call_command("transfer", "inbox", "--school", "3312001", "--out", str(tmp_path / "in.csv"))
    with open(tmp_path / "in.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == INBOX_COLUMNS
    [row] = rows[1:]
    assert row[1:5] == ["3302001", "3312001", path.name, "1"] and row[6] == "sent"
    dt.datetime.fromisoformat(row[5])

    call_command("transfer", "download", row[0], "--school", "3312001", "--out",
                 str(tmp_path / "got.xml"))
    assert (tmp_path / "got.xml").read_bytes() == path.read_bytes()
    assert TransferFile.objects.get().status == "downloaded"


def test_another_schools_file_cannot_be_downloaded_from_the_command_line(world, tmp_path):
    path = tmp_path / "amy.xml"
    path.write_bytes(transfer_ctf("330", "2001", "331", "2001", [AMY]))
    call_command("transfer", "send", str(path), "--from", "3302001")
    transfer = TransferFile.objects.get()

    with pytest.raises(CommandError) as error:
        call_command("transfer", "download", str(transfer.pk), "--school", "3312002", "--out",
                     str(tmp_path / "x.xml"))
    assert error.value.returncode == 2


def test_a_refused_file_on_the_command_line_exits_2_as_import_does(world, tmp_path):
    path = tmp_path / "bad.xml"
    path.write_bytes(transfer_ctf("330", "2001", None, None, [AMY]))

    with pytest.raises(CommandError) as error:
        call_command("transfer", "send", str(path), "--from", "3302001")
    assert error.value.returncode == 2


def test_an_unknown_sending_school_is_bad_usage(world, tmp_path):
    path = tmp_path / "amy.xml"
    path.write_bytes(transfer_ctf("330", "2001", "331", "2001", [AMY]))

    with pytest.raises(CommandError) as error:
        call_command("transfer", "send", str(path), "--from", "9999999")
    assert error.value.returncode == 2


def test_a_school_user_sends_from_the_page_and_the_receiver_downloads_and_rejects(
        world, login, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    sender = login(world.a.users["school_user"])
    upload = SimpleUploadedFile("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY]))
    page = sender.post(reverse("transfer:home"), {"files": [upload]})
    assert page.status_code == 200 and b"sent to Coventry Primary School" in page.content
    transfer = TransferFile.objects.get()

    client.logout()
    browser = login(world.b.users["school_user"])
    inbox = browser.get(reverse("transfer:home"))
    assert b"amy.xml" in inbox.content
    assert b"Jones" in browser.get(reverse("transfer:file", args=[transfer.pk])).content
    download = browser.get(reverse("transfer:download", args=[transfer.pk]))
    assert download.status_code == 200 and b"<CTfile>" in download.content
    rejected = browser.post(reverse("transfer:file", args=[transfer.pk]),
                            {"reject-reason": "Never joined us"})
    assert rejected.status_code == 302
    transfer.refresh_from_db()
    assert (transfer.status, transfer.note) == ("rejected", "Never joined us")
    assert TransferNotice.objects.filter(school=world.a.schools[0],
                                         title__contains="rejected").exists()


def test_the_sender_cannot_reject_its_own_file(world, login):
    send(world.a.schools[0], ("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY])))
    transfer = TransferFile.objects.get()

    page = login(world.a.users["school_user"]).post(
        reverse("transfer:file", args=[transfer.pk]), {"reject-reason": "x"})

    assert page.status_code == 403


def test_an_la_transfer_officer_routes_a_held_file_to_one_of_its_schools(world, login):
    send(world.a.schools[0], ("amy.xml", transfer_ctf("330", "2001", "331", "9999", [AMY])))
    transfer = TransferFile.objects.get()
    officer = login(world.b.users["transfer_officer"])

    assert b"amy.xml" in officer.get(reverse("transfer:home")).content
    page = officer.post(reverse("transfer:file", args=[transfer.pk]),
                        {"route-laestab": "3312002", "route-reason": "the family told us"})

    assert page.status_code == 302
    transfer.refresh_from_db()
    assert (transfer.status, transfer.to_laestab) == ("sent", "3312002")
    assert AuditEvent.objects.filter(event_type=EventType.TRANSFER_ROUTED).count() == 1


def test_a_transfer_officer_sends_on_a_schools_behalf(world, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    officer = login(world.a.users["transfer_officer"])
    upload = SimpleUploadedFile("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY]))
    page = officer.post(reverse("transfer:home"), {"files": [upload], "school": "3302001"})

    assert page.status_code == 200 and b"sent to" in page.content
    assert TransferFile.objects.get().sent_by == world.a.users["transfer_officer"]


@pytest.mark.parametrize("role", ["la_analyst", "la_data_officer", "virtual_school"])
def test_roles_without_transfers_get_403(world, login, role):
    assert login(world.a.users[role]).get(reverse("transfer:home")).status_code == 403


def test_the_receiving_schools_home_page_says_a_file_is_waiting(world, login):
    send(world.a.schools[0], ("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY])))

    page = login(world.b.users["school_user"]).get("/")

    assert b"1 pupil file waiting in your transfer inbox" in page.content


def test_the_reader_keeps_every_container_of_a_full_ctf():
    from keystage.formats.ctf import CtfReader

    with CtfReader(transfer_ctf("330", "2001", "331", "2001", [AMY]), filename="amy.xml",
                   full=True) as reader:
        [pupil] = list(reader.pupils())

    sections = {s.name: s.records for s in pupil.sections}
    assert set(sections) == {"BasicDetails", "LookedAfter", "SENhistory", "FSMhistory",
                             "Address", "Contacts", "Attendance", "SchoolHistory"}
    assert sections["BasicDetails"][0] == ("BasicDetails", {
        "FormerUPN": "B330200121001", "NCyearActual": "4", "Ethnicity": "WBRI",
        "EnrolStatus": "C"})
    assert sections["Attendance"] == (("YearData", {"Year": "2025", "SessionsPossible": "300",
                                                    "SessionsAuthorised": "10"}),)
    assert sections["Address"] == (("BS7666Address", {
        "PAON": "1", "Street": "High Street", "Town": "Anytown", "PostCode": "AB1 2CD"}),)
    assert sections["Contacts"][0][1]["Surname"] == "Parent"


def test_the_receiving_school_reads_the_pupils_record_before_downloading(world, login):
    send(world.a.schools[0], ("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY])))
    transfer = TransferFile.objects.get()

    page = login(world.b.users["school_user"]).get(reverse("transfer:file", args=[transfer.pk]))

    assert b"SENhistory" in page.content and b"AB1 2CD" in page.content
    assert TransferFile.objects.get().status == "sent"  # reading is not downloading


def test_a_zip_with_a_path_escape_is_refused_whole_and_nothing_is_sent(world, tmp_path,
                                                                       capsys):
    import zipfile

    archive = tmp_path / "leavers.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY]))
        zipped.writestr("../escape.xml", transfer_ctf("330", "2001", "331", "2002", [AMY]))

    with pytest.raises(CommandError) as error:
        call_command("transfer", "send", str(archive), "--from", "3302001")

    assert error.value.returncode == 2
    assert "leavers.zip" in capsys.readouterr().err
    assert not TransferFile.objects.exists()


def test_a_zip_of_ctfs_is_sent_file_by_file(world, tmp_path):
    import zipfile

    archive = tmp_path / "leavers.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY]))
        zipped.writestr("ben.xml", transfer_ctf("330", "2001", "331", "2002", [
            full_pupil("A330200121002", "Brown", "Ben", "2016-06-01")]))

    call_command("transfer", "send", str(archive), "--from", "3302001")

    assert sorted(TransferFile.objects.values_list("file_name", "to_laestab")) == [
        ("leavers.zip/amy.xml", "3312001"), ("leavers.zip/ben.xml", "3312002")]


def test_a_file_sealed_with_another_key_is_a_clear_message_not_a_server_error(world, login,
                                                                              settings):
    send(world.a.schools[0], ("amy.xml", transfer_ctf("330", "2001", "331", "2001", [AMY])))
    transfer = TransferFile.objects.get()
    settings.KEYSTAGE_FILE_KEYS = ["Vg8PEgt6ZMX0LqfNh2FMmNfy4kA4XoZOJ1h3s4vM0Wk="]
    browser = login(world.b.users["school_user"])

    page = browser.get(reverse("transfer:file", args=[transfer.pk]))
    download = browser.get(reverse("transfer:download", args=[transfer.pk]), follow=True)

    assert page.status_code == 200
    assert "file keys" in download.content.decode()
