"""The emerging national picture: every LA's part summed from its own pupils and kept while
that LA's files are unchanged, the nation's the sum of the parts, and what each LA's reports and
the national analyst's page read."""

from __future__ import annotations

import pytest

from keystage.analysis import frames
from keystage.analysis.models import LaSummary, NationalSummary
from keystage.analysis.national import (
    compute_national_picture,
    national_picture,
    refresh_national_pictures,
)
from keystage.analysis.queries import national_report_rows, report_rows
from keystage.analysis.tests.test_stored import _load_both
from keystage.collection.actions import import_ctf
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.measures import primary


@pytest.fixture
def reads(monkeypatch):
    """The LA ids (None: every LA) each read of pupils' outcomes asked for."""
    asked = []
    real = frames.pupil_outcomes

    def recording(dataset, year, la_id, *args, **kwargs):
        asked.append(la_id)
        return real(dataset, year, la_id, *args, **kwargs)

    monkeypatch.setattr(frames, "pupil_outcomes", recording)
    return asked


def test_the_picture_is_summed_once_and_every_las_report_then_reads_its_own_pupils(world,
                                                                                  reads):
    _load_both(world)
    first, second = sorted([world.a.la, world.b.la], key=lambda la: la.code)

    report_rows(world.a.la, "eyfsp", 2026, by="group", national=True)
    # Both LAs' parts from one read (a batch of LAs), then the LA's own pupils for its report.
    assert reads == [(first.pk, second.pk), world.a.la.pk]
    assert NationalSummary.objects.filter(dataset="eyfsp", year=2026).count() == 1
    assert LaSummary.objects.filter(dataset="eyfsp", year=2026).count() == 2

    reads.clear()
    report_rows(world.b.la, "eyfsp", 2026, by="school", national=True)
    report_rows(world.a.la, "eyfsp", 2026, by=None, national=False)
    assert reads == [world.b.la.pk, world.a.la.pk]


def test_the_kept_picture_equals_the_picture_summed_now(world):
    _load_both(world)

    kept = national_picture("eyfsp", 2026)
    again = national_picture("eyfsp", 2026)  # read back from the database
    assert again.sums == kept.sums == compute_national_picture("eyfsp", 2026).sums
    # Eight children, four in each LA; every ELG expected in LA 330 only.
    assert again.sums[("gld", "all", "all")] == (8, 4.0)
    assert again.sums[("gld", primary.LA, world.a.la.code)] == (4, 4.0)
    assert again.sums[("gld", primary.LA, world.b.la.code)] == (4, 0.0)


def test_a_new_file_of_any_la_makes_the_picture_summed_again(world, reads):
    _load_both(world)
    report_rows(world.a.la, "eyfsp", 2026, national=True)
    before = NationalSummary.objects.get(dataset="eyfsp", year=2026).fingerprint

    # LA 331's school sends its file again, every ELG now expected.
    data, _ = eyfsp_file(world.b.la.code, world.b.schools[0].estab, 4, expected=17,
                         first_serial=50)
    assert import_ctf("e.xml", data, la=world.b.la, year=2026, acting_user=None,
                      confirm_replacements=True).status == "committed"
    reads.clear()
    report_rows(world.a.la, "eyfsp", 2026, national=True)

    # Only the LA whose file changed has its part summed again; the other's is kept.
    assert reads == [(world.b.la.pk,), world.a.la.pk]
    assert NationalSummary.objects.get(dataset="eyfsp", year=2026).fingerprint != before
    assert national_picture("eyfsp", 2026).sums[("gld", "all", "all")] == (8, 8.0)


def test_the_national_analysts_rows_need_no_pupil_once_the_picture_is_kept(world, reads):
    _load_both(world)
    first = national_report_rows("eyfsp", 2026)
    reads.clear()

    assert national_report_rows("eyfsp", 2026) == first
    assert reads == []
    las = [r for r in first if r[3] == "la" and r[2] == "gld"]
    assert [r[4] for r in las] == sorted([world.a.la.code, world.b.la.code])
    # Four pupils is under the 11.2 minimum for a reader outside the LA: hidden.
    assert all(r[11] == "Y" for r in las)


def test_the_worker_reads_each_las_groups_once_for_every_datasets_picture(world, monkeypatch):
    from keystage.context import queries

    _load_both(world)
    read = []
    real = queries.pupil_characteristics

    def counting(la, year, **kwargs):
        read.append(la.code)
        return real(la, year, **kwargs)

    monkeypatch.setattr(queries, "pupil_characteristics", counting)
    refresh_national_pictures(2026, primary.DATASETS)
    assert sorted(read) == sorted([world.a.la.code, world.b.la.code])
    assert NationalSummary.objects.filter(year=2026).exists()
    read.clear()
    refresh_national_pictures(2026, primary.DATASETS)  # nothing changed: nothing read
    assert read == []


def test_an_las_part_is_dropped_when_it_has_no_file_left(world):
    _load_both(world)
    national_picture("eyfsp", 2026)
    from keystage.collection.models import Submission

    Submission.objects.filter(la=world.b.la, collection="eyfsp").update(status="replaced")
    picture = national_picture("eyfsp", 2026)

    assert picture.sums[("gld", "all", "all")] == (4, 4.0)
    assert list(LaSummary.objects.filter(dataset="eyfsp").values_list("la_id", flat=True)) == [
        world.a.la.pk]


@pytest.mark.django_db(transaction=True)
def test_parts_summed_on_two_connections_add_up_as_on_one(world, monkeypatch):
    from keystage.analysis import national

    _load_both(world)
    one = compute_national_picture("eyfsp", 2026)
    LaSummary.objects.all().delete()
    # Threads from the first stale LA: the world's committed rows are read on their own
    # connections (a transactional test, so they are visible there).
    monkeypatch.setattr(national, "_THREADS_FROM", 1)
    import threading

    threads = []
    real = national._batch_sums

    def recording(*args):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args)

    monkeypatch.setattr(national, "_batch_sums", recording)
    monkeypatch.setattr(national, "BATCH", 1)
    two = compute_national_picture("eyfsp", 2026)

    assert threads == [False, False]
    assert two.sums == one.sums
    assert LaSummary.objects.filter(dataset="eyfsp").count() == 2
