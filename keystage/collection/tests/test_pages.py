"""The collection pages: upload through the worker, batches, tenancy, exports."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import load_workbook

from keystage.collection.models import PupilRecord, Submission
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


def test_an_upload_runs_in_the_worker_and_shows_what_happened(world, client):
    client.force_login(world.a.users["la_data_officer"])
    data, _ = eyfsp_file("330", world.a.schools[0].estab, 4)
    response = _upload(client, [("school.xml", data), ("notes.txt", b"hello")])
    assert response.status_code == 302 and "/jobs/" in response.url
    job_id = int(response.url.rstrip("/").split("/")[-1])
    run_pending_jobs()
    status = client.get(f"/jobs/{job_id}/status/").json()
    assert status["finished"] and status["result_url"] == f"/collection/batches/{job_id}/"
    page = client.get(status["result_url"]).content.decode()
    assert "Loaded" in page and "Skipped" in page
    assert PupilRecord.objects.count() == 4


def test_a_replacement_uploaded_in_the_app_waits_for_confirmation(world, client):
    client.force_login(world.a.users["la_data_officer"])
    estab = world.a.schools[0].estab
    _upload(client, [("a.xml", eyfsp_file("330", estab, 2)[0])])
    run_pending_jobs()
    response = _upload(client, [("b.xml", eyfsp_file("330", estab, 3)[0])])
    job_id = int(response.url.rstrip("/").split("/")[-1])
    run_pending_jobs()
    page = client.get(f"/collection/batches/{job_id}/").content.decode()
    assert "Confirm the replacements" in page and "1 added, 0 removed, 0 changed" in page
    assert "Childc Smith (" in page and 'data-testid="totals"' in page  # added, by name
    assert PupilRecord.objects.count() == 2
    confirm = client.post(f"/collection/batches/{job_id}/confirm/")
    assert confirm.status_code == 302
    run_pending_jobs()
    assert PupilRecord.objects.count() == 3


def test_the_preview_shows_each_changed_field_per_school(world, client):
    client.force_login(world.a.users["la_data_officer"])
    estab = world.a.schools[0].estab
    _upload(client, [("a.xml", eyfsp_file("330", estab, 2)[0])])
    run_pending_jobs()
    preview = _job_id(_upload(client, [("b.xml", eyfsp_file("330", estab, 2,
                                                            surname="Jones")[0])]))
    run_pending_jobs()
    page = client.get(f"/collection/batches/{preview}/").content.decode()
    assert f"{world.a.schools[0].name}, EYFSP: 0 added, 0 removed, 2 changed" in page
    assert 'data-testid="changes"' in page and ">Smith<" in page and ">Jones<" in page
    assert "Childa Jones" in page


def test_an_upload_with_no_file_chosen_is_a_form_error(world, client):
    client.force_login(world.a.users["la_data_officer"])
    response = client.post("/collection/upload/", {"year": 2026})
    page = response.content.decode()
    assert response.status_code == 200 and "govuk-error-summary" in page
    assert "Choose the files or ZIP to upload." in page
    assert not Job.objects.exists()


def test_an_empty_file_is_refused_by_name_and_the_rest_load(world, client):
    client.force_login(world.a.users["la_data_officer"])
    data, _ = eyfsp_file("330", world.a.schools[0].estab, 2)
    job = _job_id(_upload(client, [("good.xml", data), ("empty.xml", b"")]))
    run_pending_jobs()
    page = client.get(f"/collection/batches/{job}/").content.decode()
    assert "empty.xml: the file is empty" in page and "Refused" in page
    assert PupilRecord.objects.count() == 2


def test_a_batch_title_counts_the_files_in_a_zip_not_the_zip(world, client):
    client.force_login(world.a.users["la_data_officer"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, school in enumerate(world.a.schools[:2]):
            archive.writestr(f"s{i}.xml", eyfsp_file("330", school.estab, 1)[0])
        archive.writestr("empty.xml", b"")
    job = _job_id(_upload(client, [("all.zip", buffer.getvalue())]))
    run_pending_jobs()
    page = client.get(f"/collection/batches/{job}/").content.decode()
    assert "Import 3 files: 2 loaded, 1 refused" in page
    assert Job.objects.get(pk=job).title == "Import 3 files: 2 loaded, 1 refused"


def _job_id(response):
    return int(response.url.rstrip("/").split("/")[-1])


def test_a_stale_preview_is_refused_and_links_to_the_newer_file(world, client):
    client.force_login(world.a.users["la_data_officer"])
    estab = world.a.schools[0].estab
    _upload(client, [("a.xml", eyfsp_file("330", estab, 2)[0])])
    run_pending_jobs()
    preview = _job_id(_upload(client, [("b.xml", eyfsp_file("330", estab, 3)[0])]))
    run_pending_jobs()
    # Another file from the school is confirmed after b.xml was previewed.
    other = _job_id(_upload(client, [("c.xml", eyfsp_file("330", estab, 5)[0])]))
    run_pending_jobs()
    client.post(f"/collection/batches/{other}/confirm/")
    run_pending_jobs()
    newer = Submission.objects.get(status="current")
    assert newer.pupil_count == 5
    confirm = client.post(f"/collection/batches/{preview}/confirm/")
    run_pending_jobs()
    assert Submission.objects.get(status="current") == newer
    assert PupilRecord.objects.count() == 5
    page = client.get(f"/collection/batches/{_job_id(confirm)}/").content.decode()
    assert "A newer file arrived from this school since this preview" in page
    assert f"/collection/submissions/{newer.pk}/" in page


def test_a_confirmed_batch_offers_no_confirm_and_refuses_a_second(world, client):
    client.force_login(world.a.users["la_data_officer"])
    estab = world.a.schools[0].estab
    _upload(client, [("a.xml", eyfsp_file("330", estab, 2)[0])])
    run_pending_jobs()
    preview = _job_id(_upload(client, [("b.xml", eyfsp_file("330", estab, 3)[0])]))
    run_pending_jobs()
    assert client.post(f"/collection/batches/{preview}/confirm/").status_code == 302
    second = client.post(f"/collection/batches/{preview}/confirm/", follow=True)
    assert "confirmed already" in second.content.decode()
    run_pending_jobs()
    assert Job.objects.filter(kind="import-files").count() == 3
    page = client.get(f"/collection/batches/{preview}/").content.decode()
    assert "Confirm the replacements" not in page and 'data-testid="confirmed"' in page
    assert PupilRecord.objects.count() == 3


def test_a_school_user_cannot_send_another_schools_file(world, client):
    client.force_login(world.a.users["school_user"])  # works at schools[0]
    _upload(client, [("other.xml", eyfsp_file("330", world.a.schools[1].estab, 2)[0])])
    run_pending_jobs()
    assert not Submission.objects.exists()


def test_another_las_submission_and_file_are_not_found(world, client):
    client.force_login(world.b.users["la_data_officer"])
    _upload(client, [("b.xml", eyfsp_file("331", world.b.schools[0].estab, 2)[0])])
    run_pending_jobs()
    submission = Submission.objects.get()
    for user in world.a.users.values():
        client.force_login(user)
        assert client.get(f"/collection/submissions/{submission.pk}/").status_code == 404
        assert client.get(f"/collection/files/{submission.file_id}/").status_code == 404
    client.force_login(world.b.users["la_data_officer"])
    assert client.get(f"/collection/submissions/{submission.pk}/").status_code == 200
    original = client.get(f"/collection/files/{submission.file_id}/")
    assert original.status_code == 200
    assert b"".join(original.streaming_content) == eyfsp_file("331", world.b.schools[0].estab,
                                                             2)[0]


def test_results_export_as_xlsx_has_a_row_per_pupil(world, client):
    client.force_login(world.a.users["la_data_officer"])
    _upload(client, [("a.xml", eyfsp_file("330", world.a.schools[0].estab, 3)[0])])
    run_pending_jobs()
    response = client.get("/collection/export/?collection=eyfsp&year=2026&format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][:2] == ("laestab", "upn") and len(rows) == 4


def test_an_expected_cohorts_csv_can_be_uploaded_with_the_files(world, client):
    from keystage.collection.models import ExpectedCohort

    client.force_login(world.a.users["la_data_officer"])
    school = world.a.schools[0]
    cohorts = (f"LAESTAB,Collection,AcademicYear,ExpectedCount\n{school.laestab},EYFSP,"
               "2025/26,4\n").encode()
    _upload(client, [("cohorts.csv", cohorts), ("a.xml", eyfsp_file("330", school.estab, 4)[0])])
    run_pending_jobs()
    assert ExpectedCohort.objects.get().expected_count == 4
    assert PupilRecord.objects.count() == 4


def test_a_school_user_cannot_upload_expected_cohorts(world, client):
    from keystage.collection.models import ExpectedCohort

    client.force_login(world.a.users["school_user"])
    school = world.a.schools[0]
    cohorts = (f"LAESTAB,Collection,AcademicYear,ExpectedCount\n{school.laestab},EYFSP,"
               "2025/26,4\n").encode()
    _upload(client, [("cohorts.csv", cohorts)])
    run_pending_jobs()
    assert not ExpectedCohort.objects.exists()


def test_a_batch_page_names_files_as_uploaded_never_by_their_stored_names(world, client):
    client.force_login(world.a.users["la_data_officer"])
    data, _ = eyfsp_file("330", world.a.schools[0].estab, 2)
    response = _upload(client, [("broken.zip", b"PK\x03\x04 not really a zip"),
                                ("school.xml", data)])
    job_id = int(response.url.rstrip("/").split("/")[-1])
    run_pending_jobs()

    page = client.get(f"/collection/batches/{job_id}/").content.decode()
    assert "broken.zip" in page and "school.xml" in page
    assert "__broken.zip" not in page and "__school.xml" not in page
