"""Uploads bounded in memory and disk: streaming, size limits, expiry, originals on commit."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from keystage.audit.models import AuditEvent, EventType
from keystage.cli import main
from keystage.collection import actions
from keystage.collection.models import PupilRecord, ReceivedFile, Submission
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.jobs.actions import run_pending_jobs
from keystage.jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)  # the worker closes connections


def _upload(client, files, year=2026):
    uploads = []
    for name, data in files:
        handle = io.BytesIO(data)
        handle.name = name
        uploads.append(handle)
    return client.post("/collection/upload/", {"files": uploads, "year": year})


def _files_under_media() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def _zip(members) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _job_id(response) -> int:
    return int(response.url.rstrip("/").split("/")[-1])


def test_an_import_that_rolls_back_leaves_no_file_under_the_uploads_folder(
    world, tmp_path, monkeypatch
):
    data, _ = eyfsp_file("330", world.a.schools[0].estab, 3)
    path = tmp_path / "school.xml"
    path.write_bytes(data)
    real = actions.record_event

    def failing(event_type, **kwargs):
        if event_type == EventType.SUBMISSION_ADDED:
            raise RuntimeError("the database went away")
        return real(event_type, **kwargs)

    def failing_many(events, **kwargs):
        # A chunk's new files are logged together (keystage.collection.actions._Register).
        if any(e["event_type"] == EventType.SUBMISSION_ADDED for e in events):
            raise RuntimeError("the database went away")
        return real_many(events, **kwargs)

    real_many = actions.record_events
    monkeypatch.setattr(actions, "record_event", failing)
    monkeypatch.setattr(actions, "record_events", failing_many)
    assert main(["import", str(path), "--la", "330", "--year", "2026"]) == 2
    assert Submission.objects.count() == 0 and ReceivedFile.objects.count() == 0
    assert _files_under_media() == []


def test_an_import_that_commits_stores_its_original_and_no_temporary_files(world, tmp_path):
    first, _ = eyfsp_file("330", world.a.schools[0].estab, 3)
    second, _ = eyfsp_file("330", world.a.schools[1].estab, 2)
    path = tmp_path / "batch.zip"
    path.write_bytes(_zip([("a/one.xml", first), ("a/two.xml", second)]))
    assert main(["import", str(path), "--la", "330", "--year", "2026"]) == 0
    stored = sorted(Path(settings.MEDIA_ROOT) / f.stored_path for f in ReceivedFile.objects.all())
    assert sorted(p.read_bytes() for p in stored) == sorted([first, second])
    assert sorted(_files_under_media()) == stored


def test_zip_members_are_read_from_disk_a_chunk_ahead_at_most_never_as_a_list(
        world, tmp_path, monkeypatch):
    files = [eyfsp_file("330", school.estab, 2)[0] for school in world.a.schools[:3]]
    path = tmp_path / "batch.zip"
    path.write_bytes(_zip([(f"{i}.xml", data) for i, data in enumerate(files)]))
    monkeypatch.setattr(actions, "FILES_PER_TRANSACTION", 1)
    seen = []
    real = actions.import_ctf

    def spy(name, data, **kwargs):
        # Each file reaches the importer as a file on disk, the members before it are gone, and
        # only the next chunk's (one file here) is on disk beside it, being read ahead.
        seen.append((name, isinstance(data, actions.InputFile) and data.path is not None,
                     len(list((Path(settings.MEDIA_ROOT) / "tmp").glob("member-*")))))
        return real(name, data, **kwargs)

    monkeypatch.setattr(actions, "import_ctf", spy)
    assert main(["import", str(path), "--la", "330", "--year", "2026"]) == 0
    assert seen == [(f"batch.zip/{i}.xml", True, n) for i, n in enumerate([2, 2, 1])]
    assert PupilRecord.objects.count() == 6


def test_an_import_stopped_mid_batch_deletes_the_chunk_it_was_reading_ahead(world, tmp_path,
                                                                            monkeypatch):
    files = [eyfsp_file("330", school.estab, 2)[0] for school in world.a.schools[:3]]
    path = tmp_path / "batch.zip"
    path.write_bytes(_zip([(f"{i}.xml", data) for i, data in enumerate(files)]))
    monkeypatch.setattr(actions, "FILES_PER_TRANSACTION", 1)

    def stop(done, total, message):
        raise KeyboardInterrupt  # the worker stopped after the first file

    with pytest.raises(KeyboardInterrupt):
        actions.do_import_files(actions.iter_input_files([path]), la=world.a.la, year=2026,
                                acting_user=None, progress=stop)
    # The first file committed; the second, already being read, is gone from disk.
    assert PupilRecord.objects.count() == 2
    assert list((Path(settings.MEDIA_ROOT) / "tmp").glob("member-*")) == []


def test_a_batch_whose_files_stop_coming_deletes_the_chunk_it_had_read(world, tmp_path,
                                                                       monkeypatch):
    copy = tmp_path / "member-copy.xml"
    copy.write_bytes(eyfsp_file("330", world.a.schools[0].estab, 2)[0])
    monkeypatch.setattr(actions, "FILES_PER_TRANSACTION", 1)

    def files():
        yield "one.xml", actions.InputFile("one.xml", path=copy, owned=True)
        raise OSError("the upload's folder went away")

    with pytest.raises(OSError, match="went away"):
        actions.do_import_files(files(), la=world.a.la, year=2026, acting_user=None)
    assert not copy.exists()


def test_the_reading_done_beside_a_write_never_touches_the_database(world, monkeypatch,
                                                                     django_db_blocker):
    from keystage.collection import intake
    from keystage.formats.tests.census_builder import census_pupil, census_xml

    schools = world.a.schools
    files = [("a.xml", census_xml(estab=schools[0].estab, pupils=[census_pupil()])),
             ("b.xml", census_xml(estab=schools[1].estab,
                                  pupils=[census_pupil(upn="A330200121004")])),
             ("c.xml", eyfsp_file("330", schools[0].estab, 2)[0]),
             ("d.xml", eyfsp_file("330", schools[1].estab, 2)[0])]
    real, read = intake.prepare_chunk, []

    def without_database(chunk, *, year):
        # The read-ahead thread runs this while the main thread writes: any query here would
        # go outside the chunk's transaction, on a connection of its own.
        with django_db_blocker.block():
            read.append(real(chunk, year=year))
        return read[-1]

    monkeypatch.setattr(intake, "prepare_chunk", without_database)
    outcomes = actions.do_import_files(files, la=world.a.la, year=2026, acting_user=None)
    assert [o.status for o in outcomes] == ["committed"] * 4
    assert len(read) == 1 and len(read[0]) == 4  # all four read ahead, none alone


def test_an_upload_over_the_request_limit_is_a_form_error_saying_the_limit(world, client,
                                                                           settings):
    settings.KEYSTAGE_UPLOAD_MAX_BYTES = 1000
    client.force_login(world.a.users["la_data_officer"])
    data, _ = eyfsp_file("330", world.a.schools[0].estab, 5)
    response = _upload(client, [("big.xml", data)])
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert "more than the 1 KB one upload may hold" in page
    assert "Upload them in several smaller batches" in page
    assert Job.objects.count() == 0


def test_an_upload_past_the_las_bytes_in_flight_is_a_form_error(world, client, settings):
    client.force_login(world.a.users["la_data_officer"])
    estab = world.a.schools[0].estab
    _upload(client, [("a.xml", eyfsp_file("330", estab, 2)[0])])
    run_pending_jobs()
    waiting = _upload(client, [("b.xml", eyfsp_file("330", estab, 3)[0])])
    run_pending_jobs()
    assert Job.objects.get(pk=_job_id(waiting)).result["waiting"]
    settings.KEYSTAGE_UPLOAD_LA_IN_FLIGHT_BYTES = 20_000
    response = _upload(client, [("c.xml", eyfsp_file("330", world.a.schools[1].estab, 9)[0])])
    assert response.status_code == 200
    page = response.content.decode()
    assert "being imported or waiting for confirmation" in page
    assert "confirm (or leave to expire) the replacements" in page
    # The refused upload queued nothing and kept no file (the first load queued its reports).
    assert Job.objects.filter(kind="import-files").count() == 2
    assert len(list((Path(settings.MEDIA_ROOT) / "jobs").iterdir())) == 1
    # Another LA is not held back by this one's uploads.
    client.force_login(world.b.users["la_data_officer"])
    other = _upload(client, [("d.xml", eyfsp_file("331", world.b.schools[0].estab, 2)[0])])
    assert other.status_code == 302


def _waiting_batch(world, client):
    client.force_login(world.a.users["la_data_officer"])
    estab = world.a.schools[0].estab
    _upload(client, [("a.xml", eyfsp_file("330", estab, 2)[0])])
    run_pending_jobs()
    response = _upload(client, [("b.xml", eyfsp_file("330", estab, 3)[0])])
    run_pending_jobs()
    return Job.objects.get(pk=_job_id(response))


def test_files_waiting_for_confirmation_expire_and_the_batch_says_so(world, client, settings):
    job = _waiting_batch(world, client)
    folder = Path(settings.MEDIA_ROOT) / job.params["folder"]
    assert folder.is_dir()
    # Not yet: six days is within the seven kept.
    assert actions.do_expire_waiting_uploads(now=timezone.now() + timedelta(days=6)) == []
    assert folder.is_dir()
    expired = actions.do_expire_waiting_uploads(now=timezone.now() + timedelta(days=8))
    assert expired == [job.pk]
    assert not folder.exists()
    page = client.get(f"/collection/batches/{job.pk}/").content.decode()
    assert "Confirm the replacements" not in page
    assert "waited for confirmation for more than 7 days" in page
    assert "deleted on" in page and ": b.xml." in page and "00000__" not in page
    assert "upload it again" in page
    event = AuditEvent.objects.get(event_type=EventType.UPLOADS_EXPIRED)
    assert event.la == world.a.la and "b.xml" in event.extra_data["files"]
    assert client.post(f"/collection/batches/{job.pk}/confirm/").status_code == 404
    assert PupilRecord.objects.count() == 2


def test_the_expire_uploads_command_uses_the_waiting_days_setting(world, client, settings):
    job = _waiting_batch(world, client)
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=3))
    settings.KEYSTAGE_UPLOAD_WAITING_DAYS = 2
    out = io.StringIO()
    call_command("expire_uploads", stdout=out)
    assert "1 batch had files waiting more than 2 days" in out.getvalue()
    assert not (Path(settings.MEDIA_ROOT) / job.params["folder"]).exists()


def test_a_batch_whose_confirmation_is_queued_is_not_expired(world, client):
    job = _waiting_batch(world, client)
    client.post(f"/collection/batches/{job.pk}/confirm/")
    assert actions.do_expire_waiting_uploads(now=timezone.now() + timedelta(days=30)) == []
    run_pending_jobs()
    assert PupilRecord.objects.count() == 3


def test_the_worker_sweeps_expired_uploads(world, client, settings):
    job = _waiting_batch(world, client)
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=8))
    assert main(["worker", "--once"]) == 0
    assert not (Path(settings.MEDIA_ROOT) / job.params["folder"]).exists()
    assert Job.objects.get(pk=job.pk).result["expired_files"] == ["b.xml"]


def test_temporary_files_left_by_a_crash_are_swept_after_a_day(world, settings):
    scratch = Path(settings.MEDIA_ROOT) / "tmp"
    scratch.mkdir(parents=True)
    (scratch / "member-old.part").write_bytes(b"x")
    actions.do_expire_waiting_uploads(now=timezone.now() + timedelta(hours=12))
    assert (scratch / "member-old.part").exists()
    actions.do_expire_waiting_uploads(now=timezone.now() + timedelta(days=2))
    assert not (scratch / "member-old.part").exists()
