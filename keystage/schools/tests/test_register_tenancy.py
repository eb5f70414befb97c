"""Tenancy through the register: an LA's import never takes another LA's school.

Only a national import moves a school between LAs, reported as a move and audited for both LAs.
The command line closes database connections when it ends, so these tests run with
`transactional_db` (as test_gias_import does).
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from keystage.accounts.models import Role, User
from keystage.audit.models import AuditEvent
from keystage.cli import main
from keystage.core.testing import gias_csv
from keystage.jobs.actions import do_queue_job, run_pending_jobs
from keystage.jobs.models import Job, JobStatus
from keystage.jobs.registry import permission_for
from keystage.schools.actions import ForeignEstablishmentError, do_import_establishments
from keystage.schools.models import Establishment, EstablishmentImport

pytestmark = pytest.mark.usefixtures("transactional_db")

REFUSAL = "URN 110001 belongs to an establishment of another LA; only a national import can move it"


def _rows_for_330(*, take_110001: bool) -> list[dict]:
    """LA 330's own school renamed, and (optionally) LA 331's school 110001 claimed for 330."""
    rows = [{"URN": "100001", "LA (code)": "330", "LA (name)": "Birmingham",
             "EstablishmentNumber": "2001", "EstablishmentName": "Birmingham Primary Renamed"}]
    if take_110001:
        rows.append({"URN": "110001", "LA (code)": "330", "LA (name)": "Birmingham",
                     "EstablishmentNumber": "2901", "EstablishmentName": "Taken School"})
    return rows


def _register() -> list[tuple]:
    return list(Establishment.objects.order_by("urn").values_list("urn", "la__code", "name",
                                                                    "laestab"))


def _assert_no_name_of_la_331s_school(text: str) -> None:
    assert "Coventry" not in text
    assert "3312001" not in text  # the other LA's school's LAESTAB


def test_an_las_command_line_import_naming_another_las_urn_exits_1_and_changes_nothing(
    world, tmp_path, capsys
):
    path = tmp_path / "ours.csv"
    path.write_bytes(gias_csv(_rows_for_330(take_110001=True)))
    before = _register()

    status = main(["import-gias", str(path), "--la", "330"])

    err = capsys.readouterr().err
    assert status == 1
    assert f"ours.csv, line 3, column URN: {REFUSAL}" in err
    assert "Nothing was changed in the register." in err
    _assert_no_name_of_la_331s_school(err)
    assert _register() == before
    assert Establishment.objects.get(urn="110001").la == world.b.la
    assert not EstablishmentImport.objects.filter(filename="ours.csv").exists()


def test_an_las_import_of_only_its_own_schools_still_loads(world, tmp_path, capsys):
    path = tmp_path / "ours.csv"
    path.write_bytes(gias_csv(_rows_for_330(take_110001=False)))

    assert main(["import-gias", str(path), "--la", "330"]) == 0
    assert Establishment.objects.get(urn="100001").name == "Birmingham Primary Renamed"


def test_the_action_refuses_an_las_import_that_names_another_las_urn(world):
    with pytest.raises(ForeignEstablishmentError) as refused:
        do_import_establishments(gias_csv(_rows_for_330(take_110001=True)), filename="x.csv",
                                 la_code="330", acting_user=world.a.users["la_admin"])

    assert REFUSAL in str(refused.value)
    assert Establishment.objects.get(urn="100001").name == "Birmingham Primary School"


def test_an_la_admins_web_upload_naming_another_las_urn_fails_its_job_and_moves_nothing(
    world, login
):
    client = login(world.a.users["la_admin"])
    before = _register()

    client.post(reverse("schools:import"), {
        "extract": SimpleUploadedFile("ours.csv", gias_csv(_rows_for_330(take_110001=True)))})
    assert run_pending_jobs() == 1

    job = Job.objects.get()
    assert job.status == JobStatus.FAILED
    assert REFUSAL in job.error
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert REFUSAL in page
    _assert_no_name_of_la_331s_school(job.error + page)
    assert _register() == before
    # LA 331's own users keep their school.
    client = login(world.b.users["school_user"])
    assert client.get("/schools/110001/").status_code == 200


def test_a_national_import_moves_a_school_reports_the_move_and_audits_both_las(
    world, tmp_path, capsys, login
):
    path = tmp_path / "boundary.csv"
    path.write_bytes(gias_csv([{"URN": "110001", "LA (code)": "330", "LA (name)": "Birmingham",
                                "EstablishmentNumber": "2901",
                                "EstablishmentName": "Coventry Primary School"}]))
    school_user = world.b.users["school_user"]
    assert school_user.school.urn == "110001"

    assert main(["import-gias", str(path)]) == 0

    out = capsys.readouterr().out
    assert "1 moved between local authorities" in out
    assert "moved: 110001: from LA 331 to LA 330" in out
    assert Establishment.objects.get(urn="110001").la == world.a.la
    moves = AuditEvent.objects.filter(summary__contains="moved from LA 331 to LA 330")
    assert {event.la_id for event in moves} == {world.a.la.pk, world.b.la.pk}
    for admin in (world.a.users["la_admin"], world.b.users["la_admin"]):
        page = login(admin).get("/audit/").content.decode()
        assert "moved from LA 331 to LA 330" in page, admin.la
    # The school's users go with it, so they keep their school.
    assert User.objects.get(pk=school_user.pk).la == world.a.la
    assert login(school_user).get("/schools/110001/").status_code == 200
    # The old LA had no rows in the file, yet gets an import report listing the move out.
    assert "LA 330 import report: 1 moved in, 0 moved out" in out
    assert "LA 331 import report: 0 moved in, 1 moved out" in out
    report = EstablishmentImport.objects.get(la=world.b.la, filename="boundary.csv")
    assert (report.rows_read, report.moved_in, report.moved_out) == (0, 0, 1)


def _import_page(client, filename: str) -> tuple[str, str]:
    """The register import list, and the page of the import of `filename` it links to."""
    listing = client.get("/schools/import/").content.decode()
    log = client.get("/schools/import/").context["grid"].rows[0]
    assert log.filename == filename
    return listing, client.get(f"/schools/import/{log.pk}/").content.decode()


def test_after_a_national_move_both_las_import_pages_show_it_and_only_their_own_rows(
    world, tmp_path, capsys, login
):
    path = tmp_path / "boundary.csv"
    path.write_bytes(gias_csv([
        {"URN": "110001", "LA (code)": "330", "LA (name)": "Birmingham",
         "EstablishmentNumber": "2901", "EstablishmentName": "Coventry Primary School"},
        {"URN": "100002", "LA (code)": "330", "LA (name)": "Birmingham",
         "EstablishmentNumber": "2002", "EstablishmentName": "Birmingham Infant Renamed"},
        {"URN": "110002", "LA (code)": "331", "LA (name)": "Coventry",
         "EstablishmentNumber": "2002", "EstablishmentName": "Coventry Infant Renamed"},
    ]))
    assert main(["import-gias", str(path)]) == 0
    capsys.readouterr()

    listing, page = _import_page(login(world.a.users["la_admin"]), "boundary.csv")
    log = EstablishmentImport.objects.get(la=world.a.la, filename="boundary.csv")
    assert (log.moved_in, log.moved_out) == (1, 0)
    assert f'data-testid="moved-out-{log.pk}">0<' in listing
    assert 'data-testid="moved-in-count">1<' in page
    moved_in = page.split('data-testid="moved-in"', 1)[1].split("</table>", 1)[0]
    assert "Coventry Primary School" in moved_in and "110001" in moved_in and "331" in moved_in
    assert "Birmingham Infant Renamed" in page
    assert "Coventry Infant Renamed" not in page and "110002" not in page
    assert 'data-testid="moved-out"' not in page

    listing, page = _import_page(login(world.b.users["la_admin"]), "boundary.csv")
    log = EstablishmentImport.objects.get(la=world.b.la, filename="boundary.csv")
    assert (log.rows_read, log.moved_in, log.moved_out) == (1, 0, 1)
    assert f'data-testid="moved-out-{log.pk}">1<' in listing
    assert 'data-testid="moved-out-count">1<' in page
    moved_out = page.split('data-testid="moved-out"', 1)[1].split("</table>", 1)[0]
    assert "Coventry Primary School" in moved_out and "110001" in moved_out
    assert ">330<" in moved_out
    assert "Coventry Infant Renamed" in page
    assert "Birmingham" not in page and "100002" not in page
    assert 'data-testid="moved-in"' not in page
    # Both LAs' audit logs record their own import report.
    for la in (world.a.la, world.b.la):
        assert AuditEvent.objects.filter(la=la, summary__startswith="boundary.csv:").exists()
    assert AuditEvent.objects.get(la=world.b.la, summary__startswith="boundary.csv:").summary \
        .endswith("1 moved out")


def test_a_school_user_whose_school_is_in_another_la_sees_nothing_of_it(world, login):
    # A school user of LA 330 pointing at LA 331's school (as the old register hijack left them).
    user = world.a.users["school_user"]
    User.objects.filter(pk=user.pk).update(school=world.b.schools[0])
    client = login(User.objects.get(pk=user.pk))

    assert client.get(f"/schools/{world.b.schools[0].urn}/").status_code == 404
    assert world.b.schools[0].urn not in client.get("/schools/?status=all").content.decode()


@pytest.mark.parametrize("role", [Role.TRANSFER_OFFICER, Role.LOST_PUPILS_OFFICER,
                                  Role.LA_ANALYST])
def test_officers_without_the_import_permission_see_no_import_batch_pages(world, login, role):
    job = do_queue_job("import-files", "Upload", la=world.a.la,
                       acting_user=world.a.users["la_data_officer"],
                       params={"folder": "jobs/none", "la_code": "330"})
    client = login(world.a.users[role])

    assert client.get(f"/collection/batches/{job.pk}/").status_code == 403
    assert client.get(f"/jobs/{job.pk}/").status_code == 403
    assert client.get(f"/jobs/{job.pk}/status/").status_code == 403
    client = login(world.a.users["la_data_officer"])
    assert client.get(f"/jobs/{job.pk}/").status_code == 200


def test_each_job_kind_needs_the_permission_of_its_work():
    assert {kind: permission_for(kind) for kind in
            ("import-gias", "import-files", "make-return", "run-cleaning")} == {
        "import-gias": "manage-schools", "import-files": "import-files",
        "make-return": "make-returns", "run-cleaning": "clean-data",
    }
