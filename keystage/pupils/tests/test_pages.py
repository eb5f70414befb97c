"""Pupil search, the pupil page, and the confirm, split and merge actions through HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from keystage.audit.models import AuditEvent, EventType
from keystage.collection.actions import do_import_batch
from keystage.collection.models import PupilRecord
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.pupils.models import LinkReview, Pupil, PupilAlias, PupilIdentifier

pytestmark = pytest.mark.django_db

PP_HEADER = "UPN,LAESTAB,SURNAME,FORENAMES,DOB,PP_ELIGIBLE,PP_REASON"


@pytest.fixture
def loaded(world):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 3)
    pp = (f"{PP_HEADER}\n{upns[0]},{school.laestab},Smith,Childa,2020-11-02,Y,FSM6\n").encode()
    do_import_batch([("eyfsp.xml", data), ("pp.csv", pp)], la=world.a.la, year=2026,
                    acting_user=None)
    return world, upns


def test_search_by_upn_name_or_former_upn_finds_the_pupil(loaded, login,
                                                          django_assert_max_num_queries):
    world, upns = loaded
    client = login(world.a.users["la_analyst"])
    pupil = Pupil.objects.get(upn=upns[0])
    PupilIdentifier.objects.create(pupil=pupil, la=world.a.la, kind="former_upn",
                                   value="A330200199999")
    for query in (upns[0], upns[0].lower(), "A330200199999", "smi, childa"):
        with django_assert_max_num_queries(12):
            page = client.get(reverse("pupils:search"), {"q": query}).content.decode()
        assert reverse("pupils:detail", args=[pupil.pk]) in page, query
    page = client.get(reverse("pupils:search"), {"q": "Smith"}).content.decode()
    assert "3 pupils" in page


def test_the_pupil_page_shows_every_record_of_every_dataset(loaded, login):
    world, upns = loaded
    pupil = Pupil.objects.get(upn=upns[0])
    page = login(world.a.users["la_data_officer"]).get(
        reverse("pupils:detail", args=[pupil.pk])).content.decode()
    assert "EYFSP" in page and "Pupil premium" in page and "2025/26" in page


def test_school_users_and_other_las_cannot_see_a_pupil(loaded, login):
    world, upns = loaded
    url = reverse("pupils:detail", args=[Pupil.objects.get(upn=upns[0]).pk])
    assert login(world.b.users["la_data_officer"]).get(url).status_code == 404
    assert login(world.a.users["school_user"]).get(url).status_code == 404
    assert login(world.a.users["school_user"]).get(reverse("pupils:search")).status_code == 403


def test_merging_moves_every_record_and_the_old_address_leads_on(loaded, login):
    world, upns = loaded
    keep, other = Pupil.objects.get(upn=upns[0]), Pupil.objects.get(upn=upns[1])
    client = login(world.a.users["la_data_officer"])
    response = client.post(reverse("pupils:merge", args=[keep.pk]),
                           {"other": upns[1], "reason": "Same child, UPN keyed twice"})
    assert response.status_code == 302
    assert not Pupil.objects.filter(pk=other.pk).exists()
    assert PupilRecord.objects.filter(pupil=keep).count() == 3
    assert PupilAlias.objects.get(pk=other.pk).pupil == keep
    assert client.get(reverse("pupils:detail", args=[other.pk])).url == reverse(
        "pupils:detail", args=[keep.pk])
    event = AuditEvent.objects.get(event_type=EventType.PUPILS_MERGED)
    assert event.reason == "Same child, UPN keyed twice"


def test_a_merge_needs_a_reason(loaded, login):
    world, upns = loaded
    keep = Pupil.objects.get(upn=upns[0])
    page = login(world.a.users["la_data_officer"]).post(
        reverse("pupils:merge", args=[keep.pk]), {"other": upns[1], "reason": " "})
    assert "Say why" in page.content.decode()
    assert Pupil.objects.count() == 3


def _review(world, upns):
    record = PupilRecord.objects.get(upn=upns[1])
    candidate = Pupil.objects.get(upn=upns[2])
    return LinkReview.objects.create(la=world.a.la, record=record, candidate=candidate,
                                     score=0.9, reason="same name and date of birth")


def test_confirming_a_near_match_links_the_record_and_is_audited(loaded, login):
    world, upns = loaded
    review = _review(world, upns)
    client = login(world.a.users["la_data_officer"])
    assert "may be" in client.get(reverse("pupils:reviews")).content.decode()
    client.post(reverse("pupils:decide", args=[review.pk]),
                {"decision": "confirm", "reason": "Checked with the school"})
    record = PupilRecord.objects.get(pk=review.record_id)
    assert record.pupil_id == review.candidate_id and record.link_method == "confirmed"
    assert AuditEvent.objects.filter(event_type=EventType.PUPIL_LINK_CONFIRMED).exists()
    assert not Pupil.objects.filter(upn=upns[1]).exists()


def test_splitting_keeps_the_record_apart_and_closes_the_review(loaded, login):
    world, upns = loaded
    review = _review(world, upns)
    login(world.a.users["la_data_officer"]).post(
        reverse("pupils:decide", args=[review.pk]),
        {"decision": "split", "reason": "Twins"})
    review.refresh_from_db()
    assert review.status == "split"
    assert PupilRecord.objects.get(pk=review.record_id).pupil.upn == upns[1]
    assert AuditEvent.objects.filter(event_type=EventType.PUPIL_RECORD_SPLIT).exists()


def test_analysts_may_search_but_not_decide(loaded, login):
    world, upns = loaded
    review = _review(world, upns)
    client = login(world.a.users["la_analyst"])
    assert client.post(reverse("pupils:decide", args=[review.pk]),
                       {"decision": "confirm", "reason": "x"}).status_code == 403


def test_the_pupil_page_shows_the_years_characteristics(world, login,
                                                       django_assert_max_num_queries):
    from keystage.formats.tests.census_builder import census_pupil, census_xml

    school = world.a.schools[0]
    census = census_xml("330", school.estab, [census_pupil(
        fsm=[("2025-09-01", None)], sen_provision="K", sen_needs=[("ASD", 1)])])
    do_import_batch([("c.xml", census)], la=world.a.la, year=2026, acting_user=None)
    pupil = Pupil.objects.get()
    client = login(world.a.users["la_analyst"])
    with django_assert_max_num_queries(25):
        page = client.get(reverse("pupils:detail", args=[pupil.pk])).content.decode()
    assert 'data-testid="pupil-characteristics"' in page
    assert "ASD" in page and "WHIT" in page
