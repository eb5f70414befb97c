"""Pupil keys without database constraints stay sound: identity changes take turns per LA."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from keystage.collection.actions import do_import_batch
from keystage.collection.models import PupilRecord
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.pupils import locks
from keystage.pupils.actions import (
    IdentityRefused,
    do_confirm_link,
    do_merge_pupils,
    do_split_record,
)
from keystage.pupils.models import LinkReview, Pupil, PupilIdentifier

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(world):
    school = world.a.schools[0]
    data, upns = eyfsp_file("330", school.estab, 3)
    do_import_batch([("eyfsp.xml", data)], la=world.a.la, year=2026, acting_user=None)
    return world, [Pupil.objects.get(upn=upn) for upn in upns]


def dangling_keys() -> int:
    """Records and identifiers whose pupil key leads nowhere."""
    return (PupilRecord.objects.filter(pupil__isnull=False)
            .exclude(pupil_id__in=Pupil.objects.values("pk")).count()
            + PupilIdentifier.objects.exclude(pupil_id__in=Pupil.objects.values("pk")).count())


def test_confirming_splitting_and_merging_leave_no_key_leading_nowhere(loaded):
    world, (first, second, third) = loaded
    officer = world.a.users["la_data_officer"]
    review = LinkReview.objects.create(la=world.a.la, record=second.records.get(),
                                       candidate=third, score=0.9, reason="same details")
    do_confirm_link(review, acting_user=officer, reason="Checked with the school")
    assert not Pupil.objects.filter(pk=second.pk).exists()
    assert dangling_keys() == 0
    do_split_record(third.records.first(), acting_user=officer, reason="Twins")
    assert dangling_keys() == 0
    do_merge_pupils(first, third, acting_user=officer, reason="One child")
    assert not Pupil.objects.filter(pk=third.pk).exists()
    assert dangling_keys() == 0


def test_a_merge_keeps_the_social_care_children_linked_to_the_pupil_merged_away(loaded):
    from keystage.socialcare.models import CareChild, CareReturn

    world, (first, second, _) = loaded
    care_return = CareReturn.objects.create(la=world.a.la, dataset="ssda903", year=2026,
                                            digest="0" * 64, submitted_by_name="test")
    child = CareChild.objects.create(care_return=care_return, la=world.a.la, child_id="C1",
                                     line=2, pupil=second, link_method="upn", link_score=1.0)
    do_merge_pupils(first, second, acting_user=world.a.users["la_data_officer"],
                    reason="One child")
    child.refresh_from_db()
    assert child.pupil_id == first.pk


def test_an_officer_acting_on_a_pupil_merged_away_meanwhile_is_told_so(loaded):
    world, (first, second, third) = loaded
    officer = world.a.users["la_data_officer"]
    stale = Pupil.objects.get(pk=second.pk)
    do_merge_pupils(first, second, acting_user=officer, reason="One child")
    with pytest.raises(IdentityRefused, match="merged into another meanwhile"):
        do_merge_pupils(third, stale, acting_user=officer, reason="One child")
    assert dangling_keys() == 0


@pytest.mark.skipif("connection.vendor != 'postgresql'")
# Committed for real: an import's lock lasts until its transaction ends, here the test's own.
@pytest.mark.django_db(transaction=True)
def test_a_merge_waits_for_an_import_of_its_la_and_then_is_refused_with_a_message(
        loaded, monkeypatch, login):
    world, (first, second, _) = loaded
    monkeypatch.setattr(locks, "OFFICER_WAIT_SECONDS", 0.2)
    settings = connection.settings_dict
    # Another connection (an import's transaction) holds LA A's identity lock.
    with psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None,
                         user=settings["USER"], dbname=settings["NAME"],
                         password=settings["PASSWORD"] or None, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [locks._IDENTITY, world.a.la.pk])
        assert not connection.in_atomic_block
        page = login(world.a.users["la_data_officer"]).post(
            reverse("pupils:merge", args=[first.pk]),
            {"other": second.upn, "reason": "One child"}).content.decode()
        assert "being loaded" in page
        assert Pupil.objects.filter(pk=second.pk).exists()
        # Another LA's identity is not held up.
        b_school = world.b.schools[0]
        data, upns = eyfsp_file("331", b_school.estab, 2)
        do_import_batch([("eyfsp.xml", data)], la=world.b.la, year=2026, acting_user=None)
        keep, merge = (Pupil.objects.get(upn=u) for u in upns)
        do_merge_pupils(keep, merge, acting_user=world.b.users["la_data_officer"],
                        reason="One child")
    do_merge_pupils(first, second, acting_user=world.a.users["la_data_officer"],
                    reason="One child")
    assert dangling_keys() == 0
