"""Early results (issue 14): KS4 results loaded in August as provisional, said so by the reports,
and replaced by the DfE's file with every changed grade listed."""

from __future__ import annotations

import pytest

from keystage.cli import main

pytestmark = pytest.mark.django_db(transaction=True)  # the command line closes connections
KS4_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,SEX,QUALTYPE,SUBJECT,GRADE"


def _ks4(tmp_path, name, laestab, maths="5", english="6"):
    path = tmp_path / name
    path.write_text(f"{KS4_HEADER}\nA330200119001,{laestab},Lee,Sam,2008-01-02,M,GCSE,MATHS,"
                    f"{maths}\nA330200119001,{laestab},Lee,Sam,2008-01-02,M,GCSE,ENGLANG,"
                    f"{english}\n")
    return path


def test_provisional_results_are_said_so_until_the_dfe_file_replaces_them(world, tmp_path,
                                                                          capsys, client):
    from keystage.collection.models import Submission

    academy = world.a.schools[2].laestab
    early = _ks4(tmp_path, "early.csv", academy)
    assert main(["import", str(early), "--la", "330", "--year", "2026", "--provisional"]) == 0
    assert "provisional (early results)" in capsys.readouterr().out
    assert main(["report", "ks4", "--la", "330", "--year", "2026", "--out",
                 str(tmp_path / "r.csv")]) == 0
    assert "Provisional:" in capsys.readouterr().out
    client.force_login(world.a.users["la_analyst"])
    page = client.get("/reports/", {"dataset": "ks4", "year": 2026}).content.decode()
    assert 'data-testid="provisional"' in page

    final = _ks4(tmp_path, "dfe.csv", academy, maths="6")
    assert main(["import", str(final), "--la", "330", "--year", "2026"]) == 1
    out = capsys.readouterr().out
    assert "1 changed" in out and "Sam Lee (A330200119001) MATHS: '5' -> '6'" in out
    assert main(["import", str(final), "--la", "330", "--year", "2026", "--yes"]) == 0

    current = Submission.objects.get(collection="ks4", year=2026, status="current")
    assert current.provisional is False
    assert current.report["details"] == [{"upn": "A330200119001", "name": "Sam Lee",
                                          "field": "MATHS", "old": "5", "new": "6"}]
    assert main(["report", "ks4", "--la", "330", "--year", "2026", "--out",
                 str(tmp_path / "r2.csv")]) == 0
    assert "Provisional:" not in capsys.readouterr().out
    page = client.get("/reports/", {"dataset": "ks4", "year": 2026}).content.decode()
    assert 'data-testid="provisional"' not in page


def test_a_school_sends_its_own_early_results_but_not_another_schools(world, tmp_path):
    from keystage.collection.actions import do_import_batch
    from keystage.collection.models import Submission

    user = world.a.users["school_user"]
    school = user.school
    own = _ks4(tmp_path, "own.csv", school.laestab).read_bytes()
    other = _ks4(tmp_path, "other.csv", world.a.schools[2].laestab).read_bytes()

    batch = do_import_batch([("own.csv", own), ("other.csv", other)], la=world.a.la,
                            year=2026, acting_user=user, only_school=school, provisional=True)

    statuses = {o.filename: (o.status, o.message) for o in batch.outcomes}
    assert statuses["own.csv"][0] == "committed"
    assert statuses["other.csv"][0] == "refused"
    assert "a school sends its own school's results only" in statuses["other.csv"][1]
    assert Submission.objects.get(collection="ks4", status="current").provisional is True


def test_provisional_does_not_mark_datasets_without_early_results(world, tmp_path):
    from keystage.collection.actions import do_import_batch
    from keystage.collection.models import Submission

    pp = tmp_path / "pp.csv"
    pp.write_text("UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON\n"
                  f"A330200119001,{world.a.schools[0].laestab},Lee,Sam,2015-01-02,Y,FSM6\n")

    do_import_batch([("pp.csv", pp.read_bytes())], la=world.a.la, year=2026,
                    acting_user=None, provisional=True)

    assert Submission.objects.get(collection="pp").provisional is False


def test_the_report_page_is_served_from_cache_until_the_data_changes(
        world, tmp_path, client, django_assert_max_num_queries):
    academy = world.a.schools[2].laestab
    assert main(["import", str(_ks4(tmp_path, "a.csv", academy)), "--la", "330",
                 "--year", "2026"]) == 0
    client.force_login(world.a.users["la_analyst"])
    query = {"dataset": "ks4", "year": 2026, "by": "school"}
    first = client.get("/reports/", query).content.decode()

    # Again: session, user, sharing, the data version; the figures come from the cache.
    with django_assert_max_num_queries(10):
        again = client.get("/reports/", query).content.decode()
    assert 'data-testid="report"' in again and again.count("<tr") == first.count("<tr")

    assert main(["import", str(_ks4(tmp_path, "b.csv", academy, maths="9", english="9")),
                 "--la", "330", "--year", "2026", "--yes"]) == 0
    after = client.get("/reports/", query).content.decode()
    # A8 was 5 * 2 + 6 = 16 (English once: language only); now 9 * 2 + 9 = 27.
    assert ">16.0<" in first and ">27.0<" in after and ">16.0<" not in after
