"""Agencies: registered with the LA's number in their reference, shared by LAs, sent extracts
of chosen fields that their user downloads once."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from keystage.accounts.models import User
from keystage.audit.models import AuditEvent, EventType
from keystage.collection.actions import import_ctf
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.transfer.agencies import (
    AgencyRefused,
    do_download_agency_extract,
    do_link_agency,
    do_register_agency,
    do_send_agency_extract,
    extract_rows,
)
from keystage.transfer.models import AgencyExtract


@pytest.fixture
def pupils(world):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 3)
    outcome = import_ctf("eyfsp.xml", data, la=world.a.la, year=2026, acting_user=None,
                         confirm_replacements=True)
    assert outcome.status == "committed", outcome.message
    return upns


def test_an_agencys_reference_starts_with_the_las_number_and_other_las_link_to_it(world):
    agency = do_register_agency(world.a.la, name="Dental Health Team", kind="dental",
                                acting_user=world.a.users["la_admin"])

    assert agency.reference.startswith("330AG")
    assert do_link_agency(world.b.la, reference=agency.reference.lower(),
                          acting_user=world.b.users["la_admin"]) == agency
    assert set(agency.las.values_list("code", flat=True)) == {"330", "331"}
    with pytest.raises(AgencyRefused, match="No agency"):
        do_link_agency(world.b.la, reference="999AG0001", acting_user=None)


def test_an_extract_of_chosen_pupils_and_fields_downloads_once(world, pupils):
    agency = world.a.agency_user.agency
    extract = do_send_agency_extract(
        world.a.la, agency, year=2026, fields=["surname", "upn", "dob"], purpose="vision checks",
        upns=pupils[:2], acting_user=world.a.users["la_data_officer"])

    assert (extract.pupils, extract.reference) == (2, f"{agency.reference}-330-0001")
    data = do_download_agency_extract(extract, acting_user=world.a.agency_user)
    rows = extract_rows(data)
    assert rows[0] == ["upn", "surname", "dob"]  # the declared order of fields
    assert {r[0] for r in rows[1:]} == set(pupils[:2])
    with pytest.raises(AgencyRefused, match="already downloaded"):
        do_download_agency_extract(extract, acting_user=world.a.agency_user)
    assert AuditEvent.objects.filter(event_type=EventType.AGENCY_EXTRACT_DOWNLOADED).count() == 1


def test_a_schools_roll_goes_whole_and_social_care_flags_never_go(world, pupils):
    extract = do_send_agency_extract(
        world.a.la, world.a.agency_user.agency, year=2026, fields=["upn", "cla", "sen"],
        purpose="school nursing", school=world.a.schools[0], acting_user=None)

    rows = extract_rows(do_download_agency_extract(extract, acting_user=None))
    assert rows[0] == ["upn", "sen"] and len(rows) == 4


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"upns": ["N000000000000"]}, "not pupils of your LA"),
    ({"upns": []}, "UPNs"),
    ({"upns": None}, "not both"),
])
def test_bad_extract_requests_are_refused_and_nothing_is_stored(world, pupils, kwargs, says):
    with pytest.raises(AgencyRefused, match=says):
        do_send_agency_extract(world.a.la, world.a.agency_user.agency, year=2026,
                               fields=["upn"], purpose="x", acting_user=None, **kwargs)
    assert not AgencyExtract.objects.exists()


def test_an_la_cannot_send_to_an_agency_it_does_not_work_with(world, pupils):
    with pytest.raises(AgencyRefused, match="link it first"):
        do_send_agency_extract(world.a.la, world.b.agency_user.agency, year=2026,
                               fields=["upn"], purpose="x", upns=pupils, acting_user=None)


def test_the_officer_sends_from_the_page_and_the_agency_user_downloads_once(world, pupils,
                                                                           login, client):
    officer = login(world.a.users["la_data_officer"])
    agency = world.a.agency_user.agency
    page = officer.post(reverse("transfer:agencies"), {
        "extract": "1", "extract-agency": agency.pk, "extract-year": 2026,
        "extract-upns": "\n".join(pupils), "extract-fields": ["upn", "forename"],
        "extract-purpose": "health visitors"})
    assert page.status_code == 302
    extract = AgencyExtract.objects.get()

    client.logout()
    reader = login(world.a.agency_user)
    assert extract.reference.encode() in reader.get(reverse("transfer:extracts")).content
    first = reader.post(reverse("transfer:extract-download", args=[extract.pk]))
    assert first.status_code == 200 and pupils[0].encode() in first.content
    second = reader.post(reverse("transfer:extract-download", args=[extract.pk]))
    assert second.status_code == 302
    # Another agency's user never sees it; the LA's own users cannot spend it.
    client.logout()
    assert login(world.b.agency_user).post(
        reverse("transfer:extract-download", args=[extract.pk])).status_code == 404


def test_an_agency_user_is_added_on_the_command_line(world):
    agency = world.a.agency_user.agency

    call_command("user", "add", "dentist", "--role", "agency_user", "--agency",
                 agency.reference)

    assert User.objects.get(username="dentist").agency == agency
