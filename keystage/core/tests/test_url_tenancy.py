"""Every URL that takes an object's key answers 404 across LAs and across schools.

The test walks Django's URL resolver: each pattern with a parameter must have a row in CASES
saying how to reach the object of another LA and of another school (or, in EXEMPT, why the
parameter is no object's key). A new pattern without a row fails the suite, so tenancy is
checked for every page as it is added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import keystage
from keystage.accounts.actions import do_create_user
from keystage.accounts.models import Role
from keystage.cleaning.actions import do_run_cleaning
from keystage.collection.actions import import_ctf
from keystage.collection.models import LaNotice, PupilRecord, Submission
from keystage.collection.tests.ctf_builder import eyfsp_file
from keystage.core.testing import PASSWORD
from keystage.jobs.actions import do_queue_job
from keystage.returns.actions import do_make_return
from keystage.schools.models import EstablishmentImport


def parameterised_url_names() -> set[str]:
    """The names (namespace:name) of every URL pattern that takes a parameter."""

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                # Parameters of an included prefix are the resolver's; the app's patterns here
                # carry their own, which is where object keys are.
                if pattern.pattern.converters or pattern.pattern.regex.groups:
                    yield namespace + (pattern.name or str(pattern.pattern))

    return set(walk(get_resolver().url_patterns))


@dataclass
class Objects:
    """One school's objects, and its LA's, that URLs take keys of."""

    school: object
    pupil: PupilRecord
    submission: Submission
    job: object
    school_job: object
    register_import: EstablishmentImport
    user: object
    return_file: object
    notice: object
    review: object
    care_child: object
    transfer: object
    transfer_notice: object
    lost: object
    lost_match: object
    thread: object
    extract: object


def _send(part, index: int, first_serial: int) -> None:
    school = part.schools[index]
    data, _ = eyfsp_file(part.la.code, school.estab, 2, first_serial=first_serial)
    outcome = import_ctf(f"{school.estab}.xml", data, la=part.la, year=2026, acting_user=None,
                         confirm_replacements=True)
    assert outcome.status == "committed", outcome.message


def _objects_of(part, index: int, return_file) -> Objects:
    school = part.schools[index]
    submission = Submission.objects.filter(school=school).first()
    school_user = do_create_user(
        f"school_{school.urn}", role=Role.SCHOOL_USER, school=school,
        email=f"school.{school.urn}@example.org", password=PASSWORD, acting_user=None,
    ) if index else part.users["school_user"]
    params = {"folder": "jobs/none", "la_code": part.la.code}
    return Objects(
        school=school,
        pupil=PupilRecord.objects.filter(school=school).first(),
        submission=submission,
        job=do_queue_job("import-files", "Upload", la=part.la, params=params,
                         acting_user=part.users["la_data_officer"]),
        school_job=do_queue_job("import-files", "Upload", la=part.la, params=params,
                                acting_user=school_user),
        register_import=EstablishmentImport.objects.filter(la=part.la).first(),
        user=part.users["la_data_officer"],
        return_file=return_file,
        notice=LaNotice.objects.create(la=part.la, school=school, submission=submission,
                                       title="LA edits overwritten", body="Check them."),
        review=_review_of(part, school),
        care_child=_care_child_of(part, index),
        **_transfer_objects_of(part, index),
    )


def _transfer_objects_of(part, index: int) -> dict:
    """A file from the school to the LA's academy, and one to an unknown destination."""
    from keystage.transfer.actions import send_transfer_files
    from keystage.transfer.models import LostMatch, TransferNotice
    from keystage.transfer.tests.builder import full_pupil, transfer_ctf

    school = part.schools[index]
    code = part.la.code
    moving = full_pupil(f"A{code}{school.estab}2100{index}", f"Mover{code}", "Ann", "2016-01-02")
    gone = full_pupil(f"A{code}{school.estab}2200{index}", f"Gone{code}", "Bo", "2016-03-04")
    sent = send_transfer_files(
        [("moving.xml", transfer_ctf(code, school.estab, code, "4001", [moving])),
         ("gone.xml", transfer_ctf(code, school.estab, "XXX", "XXXX", [gone]))],
        from_school=school, acting_user=None)
    assert [o.status for o in sent] == ["sent", "lost"], [o.message for o in sent]
    from keystage.transfer.models import LostPupil

    lost = LostPupil.objects.get(transfer=sent[1].transfer)
    return {
        "transfer": sent[0].transfer,
        "transfer_notice": TransferNotice.objects.create(la=part.la, school=school,
                                                         title="t", body="b"),
        "lost": lost,
        "lost_match": LostMatch.objects.create(lost=lost, la=part.la, laestab="9999999",
                                               source="census", score=0.9, reason="near"),
        "thread": _thread_of(part, school),
        "extract": _extract_of(part, school),
    }


def _extract_of(part, school):
    """An extract of the school's roll for the LA's agency."""
    from keystage.transfer.agencies import do_send_agency_extract

    agency = part.agency_user.agency
    return do_send_agency_extract(part.la, agency, year=2026, fields=["upn", "surname"],
                                  purpose="health visits", school=school, acting_user=None)


def _thread_of(part, school):
    """A conversation between the LA and the school."""
    from keystage.transfer.models import MessageThread

    return MessageThread.objects.create(la=part.la, school=school, subject="s")


def _care_child_of(part, index: int):
    from keystage.socialcare.models import CareChild, CareReturn

    care_return, _ = CareReturn.objects.get_or_create(
        la=part.la, dataset="ssda903", year=2026, status="current",
        defaults={"digest": "0" * 64, "submitted_by_name": "test"})
    return CareChild.objects.create(care_return=care_return, la=part.la,
                                    child_id=f"C{part.la.code}{index}", line=index + 2)


def _review_of(part, school):
    from keystage.pupils.models import LinkReview

    record = PupilRecord.objects.filter(school=school).first()
    return LinkReview.objects.create(la=part.la, record=record, candidate=record.pupil,
                                     score=0.9, reason="a near match")


@pytest.fixture
def objects(world, django_capture_on_commit_callbacks):
    """(world, LA 330 school 0's objects, LA 330 school 1's, LA 331 school 0's)."""
    made = {}
    for part in (world.a, world.b):
        # Originals are moved into place when their import commits.
        with django_capture_on_commit_callbacks(execute=True):
            _send(part, 0, 1)
            _send(part, 1, 50)
        do_run_cleaning(part.la, "eyfsp", 2026, acting_user=None)
        made[part.la.code] = do_make_return(part.la, "eyfsp", 2026, acting_user=None,
                                            accept_queries=True)
    return (world, _objects_of(world.a, 0, made["330"]), _objects_of(world.a, 1, made["330"]),
            _objects_of(world.b, 0, made["331"]))


@dataclass(frozen=True)
class Case:
    """How to reach a URL's object: its kwargs from an Objects, the LA role that may open it."""

    kwargs: Callable[[Objects], dict]
    la_role: str
    method: str = "get"
    # The school user's own object: their school's (True), or an LA-wide one they never see.
    school_scoped: bool = True
    # The LA job pages follow a school user's own jobs: the other school's is its user's job.
    school_kwargs: Callable[[Objects], dict] | None = None


def _urn(o: Objects) -> dict:
    return {"urn": o.school.urn}


def _job(o: Objects) -> dict:
    return {"job_id": o.job.pk}


def _school_job(o: Objects) -> dict:
    return {"job_id": o.school_job.pk}


CASES: dict[str, Case] = {
    "accounts:user-edit": Case(lambda o: {"user_id": o.user.pk}, Role.LA_ADMIN,
                               school_scoped=False),
    "schools:import-detail": Case(lambda o: {"import_id": o.register_import.pk}, Role.LA_ADMIN,
                                  school_scoped=False),
    "schools:detail": Case(_urn, Role.LA_ANALYST),
    "schools:edit": Case(_urn, Role.LA_ADMIN),
    "jobs:detail": Case(_job, Role.LA_DATA_OFFICER, school_kwargs=_school_job),
    "jobs:status": Case(_job, Role.LA_DATA_OFFICER, school_kwargs=_school_job),
    "collection:batch": Case(_job, Role.LA_DATA_OFFICER, school_kwargs=_school_job),
    "collection:batch-confirm": Case(_job, Role.LA_DATA_OFFICER, method="post",
                                     school_kwargs=_school_job),
    "collection:submission": Case(lambda o: {"submission_id": o.submission.pk},
                                  Role.LA_DATA_OFFICER),
    "collection:download": Case(lambda o: {"file_id": o.submission.file_id},
                                Role.LA_DATA_OFFICER),
    "cleaning:school": Case(_urn, Role.LA_DATA_OFFICER),
    "cleaning:pupil": Case(lambda o: {"pupil_id": o.pupil.pk}, Role.LA_DATA_OFFICER),
    "collection:notice-dismiss": Case(lambda o: {"notice_id": o.notice.pk},
                                      Role.LA_DATA_OFFICER, method="post", school_scoped=False),
    "cleaning:pupil-edit": Case(lambda o: {"pupil_id": o.pupil.pk}, Role.LA_DATA_OFFICER),
    "cleaning:pupil-at": Case(lambda o: {"collection": o.pupil.collection, "year": o.pupil.year,
                                         "urn": o.pupil.school.urn, "upn": o.pupil.upn},
                              Role.LA_DATA_OFFICER),
    "returns:detail": Case(lambda o: {"return_id": o.return_file.pk}, Role.LA_DATA_OFFICER,
                           school_scoped=False),
    "returns:download": Case(lambda o: {"return_id": o.return_file.pk}, Role.LA_DATA_OFFICER,
                             school_scoped=False),
    "returns:moderation-school": Case(_urn, Role.LA_ANALYST),
    "analysis:ks4-school": Case(_urn, Role.LA_ANALYST),
    "analysis:ks5-school": Case(_urn, Role.LA_ANALYST),
    "analysis:school-pdf": Case(_urn, Role.LA_ANALYST),
    "analysis:school": Case(_urn, Role.LA_ANALYST),
    "pupils:detail": Case(lambda o: {"pupil_id": o.pupil.pupil_id}, Role.LA_ANALYST,
                          school_scoped=False),
    "pupils:merge": Case(lambda o: {"pupil_id": o.pupil.pupil_id}, Role.LA_DATA_OFFICER,
                         school_scoped=False),
    "pupils:decide": Case(lambda o: {"review_id": o.review.pk}, Role.LA_DATA_OFFICER,
                          method="post", school_scoped=False),
    "socialcare:child": Case(lambda o: {"child_id": o.care_child.pk}, Role.VIRTUAL_SCHOOL,
                             school_scoped=False),
    "socialcare:return": Case(lambda o: {"return_id": o.care_child.care_return_id},
                              Role.LA_DATA_OFFICER, school_scoped=False),
    "transfer:file": Case(lambda o: {"transfer_id": o.transfer.pk}, Role.TRANSFER_OFFICER),
    "transfer:download": Case(lambda o: {"transfer_id": o.transfer.pk}, Role.TRANSFER_OFFICER),
    "transfer:notice-dismiss": Case(lambda o: {"notice_id": o.transfer_notice.pk},
                                    Role.TRANSFER_OFFICER, method="post"),
    # Only an agency's user downloads (a POST, which spends the extract).
    "transfer:extract-download": Case(lambda o: {"extract_id": o.extract.pk}, "agency_user",
                                      method="post", school_scoped=False),
    "transfer:thread": Case(lambda o: {"thread_id": o.thread.pk}, Role.TRANSFER_OFFICER),
    "transfer:lost-pupil": Case(lambda o: {"lost_id": o.lost.pk}, Role.LOST_PUPILS_OFFICER,
                                school_scoped=False),
    "transfer:lost-match": Case(lambda o: {"match_id": o.lost_match.pk},
                                Role.LOST_PUPILS_OFFICER, method="post", school_scoped=False),
}

# Parameters that are no object's key, with the reason.
EXEMPT = {
    "accounts:password-reset-confirm": "a signed one-time token, checked by Django's own view",
}


def test_every_url_that_takes_a_parameter_has_a_tenancy_case():
    missing = parameterised_url_names() - set(CASES) - set(EXEMPT)
    stale = (set(CASES) | set(EXEMPT)) - parameterised_url_names()

    assert not missing, f"add a cross-LA and cross-school case to CASES for: {sorted(missing)}"
    assert not stale, f"these URL names no longer exist: {sorted(stale)}"


def _status(client, case: Case, name: str, kwargs: dict) -> int:
    url = reverse(name, kwargs=kwargs)
    return (client.post(url, {}) if case.method == "post" else client.get(url)).status_code


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_la_user_gets_404_for_another_las_object(objects, login, name):
    world, ours, _, theirs = objects
    case = CASES[name]
    client = login(world.a.agency_user if case.la_role == "agency_user"
                   else world.a.users[case.la_role])

    assert _status(client, case, name, case.kwargs(theirs)) == 404
    if case.method == "get":
        # The same user reaches their own LA's object: the 404 above is tenancy, not a bad key.
        assert _status(client, case, name, case.kwargs(ours)) != 404


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_school_user_gets_404_for_another_schools_object(objects, login, name):
    world, ours, other_school, theirs = objects
    case = CASES[name]
    client = login(world.a.users["school_user"])
    build = case.school_kwargs or case.kwargs
    # Another school of its own LA; for LA-wide objects, the LA's own object.
    target = other_school if case.school_scoped or case.school_kwargs else ours

    assert _status(client, case, name, build(target)) == 404
    assert _status(client, case, name, build(theirs)) == 404


def test_no_view_reads_a_model_directly():
    """Views fetch through the access helpers (accounts/access.py), which check tenancy."""
    root = Path(keystage.__file__).parent
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.glob("*/views.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ".objects." in line
    ]

    assert not offenders, f"read these through an access_* helper: {offenders}"
