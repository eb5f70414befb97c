"""Every export is safe to open: hostile names come out as text, never as formulas."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from keystage.cleaning.actions import do_run_cleaning
from keystage.cli import main
from keystage.collection.actions import import_ctf
from keystage.collection.tests.ctf_builder import ctf, eyfsp_rows, pupil_xml
from keystage.core.cells import DANGEROUS_FIRST, SafeCsvWriter, safe_cell
from keystage.formats.upn import make_upn
from keystage.schools.models import Establishment

HOSTILE = ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "+1", "-1+2", "\t=1+1", "\r=1+1"]
PACKAGE = Path(__file__).resolve().parents[2]
WRITERS = re.compile(
    # write_csv: keystage.core.outfiles's, not a polars frame's method (.write_csv).
    r"(?<![.\w])(csv_response|xlsx_response|xlsx_sheets_response|SafeCsvWriter|write_csv)\(")


@dataclass(frozen=True)
class Export:
    """One export a user can open: a web download (url) or a command line (argv)."""

    name: str
    source: str  # the module that writes it, relative to the package
    url: str = ""
    argv: tuple[str, ...] = ()
    shows_names: bool = True  # False: no text a school or user wrote reaches this export
    role: str = "la_data_officer"  # who downloads a web export
    post: bool = False  # a download that is a POST (an agency extract is spent by it)

    @property
    def is_xlsx(self) -> bool:
        return "format=xlsx" in self.url


URN = "100001"
EXPORTS = [
    Export("collection results CSV", "collection/views.py",
           url="/collection/export/?collection=eyfsp&year=2026"),
    Export("collection results XLSX", "collection/views.py",
           url="/collection/export/?collection=eyfsp&year=2026&format=xlsx"),
    Export("completeness table CSV", "collection/views.py",
           url="/collection/?collection=eyfsp&year=2026&format=csv"),
    Export("cleaning grid CSV", "cleaning/views.py",
           url="/cleaning/issues/?collection=eyfsp&year=2026&format=csv"),
    Export("school cleaning report CSV", "cleaning/views.py",
           url=f"/cleaning/schools/{URN}/?collection=eyfsp&year=2026&format=csv"),
    Export("school cleaning report XLSX", "cleaning/views.py",
           url=f"/cleaning/schools/{URN}/?collection=eyfsp&year=2026&format=xlsx"),
    Export("moderation summary CSV", "returns/views.py",
           url=f"/returns/moderation/{URN}/?year=2026&format=csv", shows_names=False),
    Export("moderation results CSV", "returns/views.py",
           url=f"/returns/moderation/{URN}/?year=2026&format=csv&table=eyfsp"),
    Export("moderation XLSX", "returns/views.py",
           url=f"/returns/moderation/{URN}/?year=2026&format=xlsx"),
    Export("keystage export results", "collection/management/commands/export.py",
           argv=("export", "results", "--la", "330", "--year", "2026",
                 "--collection", "eyfsp")),
    Export("keystage clean --report", "cleaning/management/commands/clean.py",
           argv=("clean", "--la", "330", "--year", "2026", "--collection", "eyfsp")),
    Export("keystage export pupils", "collection/management/commands/export.py",
           argv=("export", "pupils", "--la", "330", "--year", "2026")),
    Export("keystage indicators", "collection/management/commands/indicators.py",
           argv=("indicators", "--la", "330", "--year", "2026"), shows_names=False),
    Export("import indicators CSV", "collection/views.py",
           url="/collection/indicators/?format=csv", shows_names=False),
    Export("looked-after cohort CSV", "socialcare/views.py",
           url="/social-care/looked-after/?format=csv", shows_names=False),
    Export("looked-after cohort XLSX", "socialcare/views.py",
           url="/social-care/looked-after/?format=xlsx", shows_names=False),
    Export("social care findings CSV", "socialcare/views.py",
           url="/social-care/returns/{care_return}/?format=csv"),
    Export("report CSV", "analysis/views.py",
           url="/reports/?dataset=eyfsp&year=2026&by=school&format=csv", shows_names=False),
    Export("report XLSX", "analysis/views.py",
           url="/reports/?dataset=eyfsp&year=2026&by=school&format=xlsx", shows_names=False),
    Export("keystage report", "analysis/management/commands/report.py",
           argv=("report", "eyfsp", "--la", "330", "--year", "2026", "--by", "school"),
           shows_names=False),
    Export("keystage export socialcare", "collection/management/commands/export.py",
           argv=("export", "socialcare", "--la", "330", "--year", "2026"), shows_names=False),
    Export("lost pupils CSV", "transfer/views.py", url="/transfer/lost/?format=csv",
           role="lost_pupils_officer"),
    Export("keystage lost list", "transfer/management/commands/lost.py",
           argv=("lost", "list", "--la", "330")),
    Export("keystage transfer inbox", "transfer/management/commands/transfer.py",
           argv=("transfer", "inbox", "--school", "3302002")),
    Export("agency extract CSV", "transfer/agencies.py",
           url="/transfer/extracts/{extract}/download/", role="agency_user", post=True),
]


def _plant_hostile_pupils(world) -> None:
    """A school with a hostile name, and pupils whose names and one mark are hostile."""
    school = world.a.schools[0]
    Establishment.objects.filter(pk=school.pk).update(name='=HYPERLINK("http://x","school")')
    pupils = [
        pupil_xml(make_upn("330", school.estab, 2021, i + 1), surname, HOSTILE[-1 - i],
                  "2021-01-15", "F", "R", eyfsp_rows([value] + ["2"] * 16))
        for i, (surname, value) in enumerate(zip(HOSTILE, HOSTILE, strict=True))
    ]
    outcome = import_ctf(f"{school.estab}.xml", ctf("330", school.estab, pupils),
                         la=world.a.la, year=2026, acting_user=None)
    assert outcome.status == "committed", outcome.message
    do_run_cleaning(world.a.la, "eyfsp", 2026, acting_user=None, trigger="command")
    from keystage.socialcare.models import CareFinding, CareReturn

    care_return = CareReturn.objects.create(la=world.a.la, dataset="ssda903", year=2026,
                                            digest="0" * 64, submitted_by_name="test")
    CareFinding.objects.create(care_return=care_return, code="903S03", severity="error",
                               table="header", line=2, column="ETHNIC", child_id=HOSTILE[0],
                               value=HOSTILE[0], message=HOSTILE[1])
    from keystage.transfer.actions import send_transfer_files
    from keystage.transfer.tests.builder import full_pupil, transfer_ctf

    leavers = [full_pupil(make_upn("330", school.estab, 2016, i + 1), surname, HOSTILE[-1 - i],
                          "2016-01-15") for i, surname in enumerate(HOSTILE)]
    sent = send_transfer_files(
        [("gone.xml", transfer_ctf("330", school.estab, "XXX", "XXXX", leavers)),
         (HOSTILE[0] + ".xml", transfer_ctf("330", school.estab, "330", "2002", leavers[:1]))],
        from_school=school, acting_user=None)
    assert [o.status for o in sent] == ["lost", "sent"], [o.message for o in sent]
    from keystage.transfer.agencies import do_send_agency_extract

    do_send_agency_extract(world.a.la, world.a.agency_user.agency, year=2026,
                           fields=["upn", "surname", "forename", "laestab"], school=school,
                           purpose="checks", acting_user=None)


def _cells(export: Export, client, tmp_path) -> list[tuple[object, str | None]]:
    """Every cell of the export as (value, XLSX data type or None for CSV)."""
    if export.argv:
        out = tmp_path / "out.csv"
        flag = "--report" if export.argv[0] == "clean" else "--out"
        main([*export.argv, flag, str(out)])
        text = out.read_text(encoding="utf-8")
    else:
        url = export.url
        if "{care_return}" in url:
            from keystage.socialcare.models import CareReturn

            url = url.format(care_return=CareReturn.objects.get().pk)
        if "{extract}" in url:
            from keystage.transfer.models import AgencyExtract

            url = url.format(extract=AgencyExtract.objects.get().pk)
        response = client.post(url) if export.post else client.get(url)
        assert response.status_code == 200, export.name
        if export.is_xlsx:
            workbook = load_workbook(io.BytesIO(response.content))
            return [(cell.value, cell.data_type) for sheet in workbook for row in sheet.iter_rows()
                    for cell in row if cell.value is not None]
        body = (b"".join(response.streaming_content) if response.streaming
                else response.content)
        text = body.decode("utf-8")
    return [(value, None) for row in csv.reader(io.StringIO(text, newline="")) for value in row]


@pytest.mark.django_db(transaction=True)  # the command line closes connections
def test_every_export_writes_hostile_names_as_quoted_text(world, client, tmp_path):
    _plant_hostile_pupils(world)
    for export in EXPORTS:
        client.force_login(world.a.agency_user if export.role == "agency_user"
                           else world.a.users[export.role])
        cells = _cells(export, client, tmp_path)
        texts = [value for value, _ in cells if isinstance(value, str)]

        if export.shows_names:
            assert any("HYPERLINK" in text for text in texts), f"{export.name}: no hostile cell"
        for value, data_type in cells:
            if isinstance(value, str):
                assert safe_cell(value) == value, f"{export.name}: {value!r} is live"
                assert data_type in (None, "s"), f"{export.name}: {value!r} is {data_type}"
        if export.name == "collection results CSV":
            assert "'=HYPERLINK(\"http://x\",\"y\")" in texts and "'+1" in texts


def test_every_module_that_writes_an_export_is_in_the_declared_list():
    writing = {
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if "tests" not in path.parts
        and path.name not in ("downloads.py", "cells.py", "outfiles.py")
        and WRITERS.search(path.read_text(encoding="utf-8"))
    }
    assert writing == {export.source for export in EXPORTS}


def test_no_export_writes_csv_without_the_safe_writer():
    # The rule-file writer is the one csv.writer left: it writes rules Keystage reads back.
    raw = {
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if "tests" not in path.parts and "csv.writer(" in path.read_text(encoding="utf-8")
    }
    assert raw == {"core/cells.py", "cleaning/ruleset.py"}


@pytest.mark.parametrize("value", HOSTILE)
def test_dangerous_text_gets_a_leading_quote(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", [-3, 2.5, "-3", "-1.5", "Smith", "", None, "O'Brien"])
def test_numbers_plain_negative_numbers_and_ordinary_text_pass_unchanged(value):
    assert safe_cell(value) == value


def test_the_safe_csv_writer_quotes_every_dangerous_first_character():
    buffer = io.StringIO()
    SafeCsvWriter(buffer).writerow([c + "x" for c in DANGEROUS_FIRST])
    row = next(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert all(cell.startswith("'") for cell in row)
