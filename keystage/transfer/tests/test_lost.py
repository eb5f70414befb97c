"""The lost-pupils register: filled by files with no known destination, emptied as any LA's
loads find its pupils (with changed UPNs and name variants), by hand, or by a confirmed near
match; `keystage lost list`."""

from __future__ import annotations

import csv

import pytest
from django.core.management import call_command
from django.urls import reverse

from keystage.audit.models import AuditEvent, EventType
from keystage.collection.actions import do_import_batch
from keystage.formats.tests.census_builder import census_pupil, census_xml
from keystage.transfer.actions import open_transfer_file, send_transfer_files
from keystage.transfer.management.commands.lost import LOST_COLUMNS
from keystage.transfer.models import LostMatch, LostPupil, TransferFile, TransferNotice
from keystage.transfer.tests.builder import full_pupil, transfer_ctf

BEN = ("A330200121002", "Brown", "Ben", "2016-06-01", "M")
CAT = ("A330200121003", "Cole", "Cat", "2016-07-01", "F")


def lose(world, *pupils, dest=("XXX", "XXXX")):
    """School 0 of LA 330 sends these pupils' file with an unknown destination."""
    data = transfer_ctf("330", "2001", *dest, [full_pupil(*p) for p in pupils],
                        when="2026-02-27T10:00:00")
    [outcome] = send_transfer_files([("gone.xml", data)], from_school=world.a.schools[0],
                                    acting_user=None)
    return outcome


def census(world, part, index, *pupils):
    """A census of one school of an LA, naming these pupils (upn, surname, forename, dob, sex)."""
    school = part.schools[index]
    data = census_xml(part.la.code, school.estab,
                      [census_pupil(u, s, f, d, x, "4") for u, s, f, d, x in pupils])
    outcomes = do_import_batch([(f"census_{school.estab}.xml", data)], la=part.la, year=2026,
                               acting_user=None).outcomes
    assert all(o.status == "committed" for o in outcomes), [o.message for o in outcomes]


def test_a_file_with_an_unknown_destination_puts_its_pupils_in_the_las_register(world):
    outcome = lose(world, BEN, CAT)

    assert outcome.status == "lost"
    register = {p.upn: p for p in LostPupil.objects.all()}
    assert set(register) == {BEN[0], CAT[0]}
    ben = register[BEN[0]]
    assert (ben.la, ben.last_laestab, ben.destination, ben.status) == (
        world.a.la, "3302001", "XXXXXXX", "lost")
    assert ben.left_on.isoformat() == "2026-02-27"


def test_a_pupil_who_left_the_maintained_sector_is_registered_as_such(world):
    lose(world, BEN, dest=("MMM", "MMMM"))

    assert LostPupil.objects.get().destination == "MMMMMMM"


def test_lost_list_writes_the_register_in_the_contract_layout(world, tmp_path):
    lose(world, BEN)
    out = tmp_path / "lost.csv"

    call_command("lost", "list", "--la", "330", "--out", str(out))

    with open(out, newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == LOST_COLUMNS
    assert rows[1] == ["A330200121002", "Brown", "Ben", "2016-06-01", "M", "3302001",
                       "2026-02-27", "XXXXXXX", "lost", ""]


def test_another_las_census_finds_the_pupil_and_tells_everyone_and_forwards_the_file(world):
    lose(world, BEN, CAT)

    census(world, world.b, 1, BEN)

    ben = LostPupil.objects.get(upn=BEN[0])
    assert (ben.status, ben.matched_laestab, ben.matched_la, ben.found_how, ben.found_method) \
        == ("found", "3312002", world.b.la, "census", "upn")
    assert LostPupil.objects.get(upn=CAT[0]).status == "lost"
    # The LA that lost him, the school that sent the file, and the LA where he is now.
    assert TransferNotice.objects.filter(la=world.a.la, school=None, lost=ben).exists()
    assert TransferNotice.objects.filter(school=world.a.schools[0], lost=ben).exists()
    assert TransferNotice.objects.filter(la=world.b.la, school=None, lost=ben).exists()
    forwarded = TransferFile.objects.get(forwarded_from__isnull=False)
    assert (forwarded.to_school, forwarded.status, forwarded.pupils) == (
        world.b.schools[1], "sent", 1)
    content = open_transfer_file(forwarded)
    assert b"A330200121002" in content and b"A330200121003" not in content
    assert b"<LEA>331</LEA><Estab>2002</Estab>" in content
    assert AuditEvent.objects.filter(event_type=EventType.LOST_PUPIL_FOUND).count() == 1


def test_a_changed_upn_is_found_by_name_date_of_birth_and_sex(world):
    lose(world, BEN)

    census(world, world.b, 0, ("N331200126001", "Brown", "Ben", "2016-06-01", "M"))

    ben = LostPupil.objects.get()
    assert (ben.status, ben.found_method, ben.matched_laestab) == ("found", "details",
                                                                   "3312001")


def test_a_name_variant_with_the_same_upn_is_found(world):
    lose(world, BEN)

    census(world, world.b, 0, (BEN[0], "Browne", "Benjamin", "2016-06-01", "M"))

    assert LostPupil.objects.get().status == "found"


def test_a_changed_upn_and_a_name_variant_wait_for_an_officer_who_confirms(world, login):
    lose(world, BEN)
    census(world, world.b, 0, ("N331200126001", "Broun", "Ben", "2016-06-01", "M"))

    ben = LostPupil.objects.get()
    assert ben.status == "lost"
    match = LostMatch.objects.get()
    assert (match.lost, match.laestab, match.status) == (ben, "3312001", "open")

    officer = login(world.a.users["lost_pupils_officer"])
    assert b"Broun" in officer.get(reverse("transfer:lost")).content
    page = officer.post(reverse("transfer:lost-match", args=[match.pk]),
                        {"decision": "confirm", "reason": "same child, the school agrees"})
    assert page.status_code == 302
    ben.refresh_from_db()
    assert (ben.status, ben.found_method, ben.matched_laestab) == ("found", "confirmed",
                                                                   "3312001")


def test_the_old_schools_own_census_does_not_find_the_pupil(world):
    lose(world, BEN)

    census(world, world.a, 0, BEN)

    assert LostPupil.objects.get().status == "lost"


def test_two_children_with_the_pupils_details_and_new_upns_find_nobody(world):
    lose(world, BEN)

    census(world, world.b, 0, ("N331200126001", "Brown", "Ben", "2016-06-01", "M"),
           ("N331200126002", "Brown", "Ben", "2016-06-01", "M"))

    assert LostPupil.objects.get().status == "lost"
    assert LostMatch.objects.count() == 2


def test_an_assessment_file_finds_the_pupil(world):
    from keystage.collection.actions import import_ctf
    from keystage.collection.tests.ctf_builder import ctf, eyfsp_rows, pupil_xml

    lose(world, BEN)
    school = world.b.schools[0]
    data = ctf("331", school.estab, [pupil_xml(*BEN, "R", eyfsp_rows(["2"] * 17))])
    outcome = import_ctf("eyfsp.xml", data, la=world.b.la, year=2026, acting_user=None,
                         confirm_replacements=True)
    assert outcome.status == "committed", outcome.message

    ben = LostPupil.objects.get()
    assert (ben.status, ben.found_how) == ("found", "assessment")


def test_a_transfer_to_a_school_finds_the_pupil(world):
    lose(world, BEN)

    send_transfer_files([("again.xml", transfer_ctf("331", "2001", "331", "2002",
                                                    [full_pupil(*BEN)]))],
                        from_school=world.b.schools[0], acting_user=None)

    ben = LostPupil.objects.get()
    assert (ben.status, ben.found_how, ben.matched_laestab) == ("found", "transfer", "3312002")


def test_an_officer_marks_a_pupil_found_by_hand_with_where_and_how(world, login):
    lose(world, BEN)
    ben = LostPupil.objects.get()
    officer = login(world.a.users["lost_pupils_officer"])

    page = officer.post(reverse("transfer:lost-pupil", args=[ben.pk]),
                        {"laestab": "", "note": "moved to Scotland, the family phoned"})

    assert page.status_code == 302
    ben.refresh_from_db()
    assert (ben.status, ben.found_how, ben.matched_laestab) == ("found", "by hand", "")
    assert AuditEvent.objects.filter(event_type=EventType.LOST_PUPIL_FOUND,
                                     reason__contains="Scotland").exists()


def test_the_register_page_searches_and_downloads_csv(world, login):
    lose(world, BEN, CAT)
    officer = login(world.a.users["lost_pupils_officer"])

    page = officer.get(reverse("transfer:lost"), {"q": "cole"})
    assert b"Cat" in page.content and b"Ben</a>" not in page.content
    download = officer.get(reverse("transfer:lost"), {"format": "csv"})
    body = b"".join(download.streaming_content).decode()
    assert body.splitlines()[0] == ",".join(LOST_COLUMNS) and "Brown" in body


def test_another_las_officer_never_sees_the_register(world, login):
    lose(world, BEN)
    ben = LostPupil.objects.get()

    other = login(world.b.users["lost_pupils_officer"])
    assert other.get(reverse("transfer:lost-pupil", args=[ben.pk])).status_code == 404
    assert b"Brown" not in other.get(reverse("transfer:lost")).content


@pytest.mark.parametrize("role", ["la_analyst", "transfer_officer", "virtual_school"])
def test_roles_without_the_register_get_403(world, login, role):
    assert login(world.a.users[role]).get(reverse("transfer:lost")).status_code == 403


def test_a_pupil_already_on_another_las_census_is_found_when_the_file_is_sent(world):
    census(world, world.b, 1, BEN)

    outcome = lose(world, BEN, CAT)

    assert "1 of them found at once" in outcome.message
    ben = LostPupil.objects.get(upn=BEN[0])
    assert (ben.status, ben.matched_laestab, ben.found_how) == ("found", "3312002", "census")
    assert LostPupil.objects.get(upn=CAT[0]).status == "lost"


def test_a_census_of_an_earlier_year_does_not_find_a_pupil_who_left_later(world):
    school = world.b.schools[1]
    data = census_xml("331", school.estab, [census_pupil(*BEN[:5], "4")], year="2025",
                      reference="2025-01-16")
    outcomes = do_import_batch([("old.xml", data)], la=world.b.la, year=2025,
                               acting_user=None).outcomes
    assert all(o.status == "committed" for o in outcomes), [o.message for o in outcomes]

    lose(world, BEN)

    assert LostPupil.objects.get().status == "lost"


def test_the_register_searches_by_date_left_and_why_lost(world, login):
    lose(world, BEN)
    lose(world, CAT, dest=("MMM", "MMMM"))
    officer = login(world.a.users["lost_pupils_officer"])

    by_date = officer.get(reverse("transfer:lost"), {"q": "2026-02-27"})
    sector = officer.get(reverse("transfer:lost"), {"destination": "MMMMMMM"})

    assert b"Brown" in by_date.content and b"Cole" in by_date.content
    assert b"Cole" in sector.content and b"Ben Brown" not in sector.content


def test_finding_many_lost_pupils_takes_as_many_queries_as_finding_a_few(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from keystage.collection.models import Submission
    from keystage.transfer.lost import find_lost_in_submissions

    def queries_to_find(n: int, first: int) -> int:
        pupils = [(f"A33020012{first + i:04d}", f"Gone{first + i}", "Kid", "2016-06-01", "M")
                  for i in range(n)]
        lose(world, *pupils)
        school = world.b.schools[first // 100]
        data = census_xml("331", school.estab, [census_pupil(*p, "4") for p in pupils])
        before = set(Submission.objects.values_list("pk", flat=True))
        outcomes = do_import_batch([(f"c{first}.xml", data)], la=world.b.la, year=2026,
                                   acting_user=None).outcomes
        assert outcomes[0].status == "committed"
        loaded = list(set(Submission.objects.values_list("pk", flat=True)) - before)
        # Lost again, then found again by the same load: only the finding is counted.
        LostPupil.objects.filter(upn__in=[p[0] for p in pupils]).update(status="lost")
        with CaptureQueriesContext(connection) as captured:
            assert find_lost_in_submissions(loaded) == n
        return len(captured)

    assert queries_to_find(12, 100) <= queries_to_find(3, 0) + 2
