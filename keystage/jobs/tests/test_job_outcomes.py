"""Real job kinds report their outcome honestly on the job's page."""

from __future__ import annotations

import io

import pytest

from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.jobs.actions import run_pending_jobs

pytestmark = pytest.mark.django_db(transaction=True)  # the worker closes connections


def _upload(client, files) -> int:
    uploads = []
    for name, data in files:
        handle = io.BytesIO(data)
        handle.name = name
        uploads.append(handle)
    response = client.post("/collection/upload/", {"files": uploads, "year": 2026})
    run_pending_jobs()
    return int(response.url.rstrip("/").split("/")[-1])


def test_an_upload_that_loaded_files_says_finished_with_its_counts(world, client):
    client.force_login(world.a.users["la_data_officer"])
    data, _ = eyfsp_file("330", world.a.schools[0].estab, 4)
    job_id = _upload(client, [("school.xml", data), ("notes.txt", b"hello")])
    status = client.get(f"/jobs/{job_id}/status/").json()
    assert status["status_label"] == "Finished"
    assert status["message"] == "2 files: 1 loaded, 1 skipped"


def test_an_upload_of_a_file_already_loaded_says_nothing_to_do(world, client):
    client.force_login(world.a.users["la_data_officer"])
    data, _ = eyfsp_file("330", world.a.schools[0].estab, 4)
    _upload(client, [("school.xml", data)])
    job_id = _upload(client, [("again.xml", data)])
    status = client.get(f"/jobs/{job_id}/status/").json()
    assert status["status_label"] == "Nothing to do"
    assert status["message"] == "Nothing to do: 1 file: 1 unchanged"
    page = client.get(f"/jobs/{job_id}/").content.decode()
    assert "Finished" not in page and "Nothing was changed" not in page
