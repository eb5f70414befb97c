"""A return refused or broken half-way: the page says why, and no file is left behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from keystage.accounts.models import Role
from keystage.cli import main
from keystage.jobs.actions import run_pending_jobs
from keystage.jobs.models import Job, JobStatus
from keystage.returns import actions
from keystage.returns.models import ReturnFile
from keystage.returns.tests.test_returns import _send

FINAL = "330_EYFSP_2026_001.xml"


def _files(folder: Path) -> set[str]:
    """Every file under a folder, hidden and temporary ones too."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _media() -> Path:
    return Path(settings.MEDIA_ROOT)


def _make_in_the_app(world, login, **post) -> Job:
    client = login(world.a.users[Role.LA_DATA_OFFICER])
    client.post("/returns/make/", {"collection": "eyfsp", "year": "2026", **post})
    run_pending_jobs()
    return Job.objects.filter(kind="make-return").order_by("-id").first()


@pytest.mark.django_db(transaction=True)  # the worker closes connections
def test_a_return_refused_at_the_gate_says_why_on_the_returns_page(world, login):
    _send(world.a, temporary=True)  # one query, not accepted
    job = _make_in_the_app(world, login)
    assert job.status == JobStatus.SUCCEEDED and not job.did_something
    page = login(world.a.users[Role.LA_DATA_OFFICER]).get(
        "/returns/?collection=eyfsp&year=2026").content.decode()
    assert 'data-testid="last-attempt"' in page
    assert "The last attempt made no file" in page
    assert "must be accepted before the EYFSP 2026 return is made" in page
    assert job.result["queries"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_return_made_after_a_refusal_no_longer_shows_the_refusal(world, login):
    _send(world.a, temporary=True)
    _make_in_the_app(world, login)
    _make_in_the_app(world, login, accept_queries="yes")
    assert ReturnFile.objects.count() == 1
    page = login(world.a.users[Role.LA_DATA_OFFICER]).get(
        "/returns/?collection=eyfsp&year=2026").content.decode()
    assert 'data-testid="last-attempt"' not in page


def _failing_validation(monkeypatch, seen: list):
    """Validation that fails, noting whether the final name existed while it ran."""

    def validate(path, layout):
        final = _media() / "returns" / "330" / "2026" / FINAL
        seen.append(final.exists())
        return ["line 2: injected schema failure"]

    monkeypatch.setattr(actions, "validate_return", validate)


def _failing_write(monkeypatch):
    """The data stream breaks after the first chunk has been written."""
    real = actions.return_chunks

    def chunks(*args, **kwargs):
        yield from list(real(*args, **kwargs))[:1]
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(actions, "return_chunks", chunks)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", ["validation", "writing"])
def test_a_crash_in_the_command_line_leaves_no_file_and_no_partial(
    world, tmp_path, monkeypatch, failure
):
    _send(world.a)
    before = _files(_media())
    seen: list = []
    if failure == "validation":
        _failing_validation(monkeypatch, seen)
    else:
        _failing_write(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises((RuntimeError, OSError)):
        main(["return", "eyfsp", "--la", "330", "--year", "2026", "--out", str(out)])
    assert seen in ([False], [])  # validated before it took its final name
    assert _files(_media()) == before and list(out.iterdir()) == []
    assert not ReturnFile.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", ["validation", "writing"])
def test_a_crash_in_the_web_job_leaves_no_file_and_no_partial(world, login, monkeypatch, failure):
    _send(world.a)
    before = _files(_media())
    seen: list = []
    if failure == "validation":
        _failing_validation(monkeypatch, seen)
    else:
        _failing_write(monkeypatch)
    job = _make_in_the_app(world, login)
    assert job.status == JobStatus.FAILED
    assert seen in ([False], [])
    assert _files(_media()) == before and not ReturnFile.objects.exists()
    page = login(world.a.users[Role.LA_DATA_OFFICER]).get(
        "/returns/?collection=eyfsp&year=2026").content.decode()
    assert "The last attempt made no file" in page and "No return file was made" in page


@pytest.mark.django_db(transaction=True)
def test_a_crash_copying_to_the_out_folder_leaves_nothing_there(world, tmp_path, monkeypatch):
    _send(world.a)

    def half_copy(source, target):
        Path(target).write_bytes(Path(source).read_bytes()[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", half_copy)
    with pytest.raises(OSError):
        main(["return", "eyfsp", "--la", "330", "--year", "2026", "--out", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []
