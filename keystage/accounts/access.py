"""The only way views fetch guarded objects: each helper checks role and tenancy.

A user who lacks the permission gets 403; an object outside the user's LA or school is
reported as not found (404), so nobody can learn that another LA's object exists.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from keystage.accounts.models import Role, User
from keystage.accounts.permissions import has_permission
from keystage.schools.models import Establishment, EstablishmentImport, LocalAuthority


def require_permission(user, action: str) -> None:
    """Raise 403 unless the user's role grants the action."""
    if not has_permission(user, action):
        raise PermissionDenied(f"Your role does not allow this ({action}).")


def access_user_la(user, action: str) -> LocalAuthority:
    """The LA the user works for, after checking the action; 403 for users with no LA."""
    require_permission(user, action)
    if user.la_id is None:
        raise PermissionDenied("This page is for local authority users.")
    return user.la


def _schools_in_scope(user):
    """Establishments inside the user's tenancy, whatever their role allows."""
    schools = Establishment.objects.select_related("la")
    if not getattr(user, "is_authenticated", False):
        return schools.none()
    if user.role == Role.SCHOOL_USER:
        # The school must also still belong to the user's LA: a school user never follows
        # their school into another LA's register.
        return schools.filter(pk=user.school_id, la_id=user.la_id)
    if user.la_id is not None:
        return schools.filter(la_id=user.la_id)
    return schools.none()


def access_schools(user, action: str = "view-schools") -> QuerySet[Establishment]:
    """The establishments the user may see: their LA's, or only their own school."""
    require_permission(user, action)
    return _schools_in_scope(user)


def access_school_by_urn(user, urn: str, action: str = "view-schools") -> Establishment:
    """One establishment by URN: 404 outside the user's scope, 403 if the role forbids it."""
    # Scope first: another LA's school is "not found" whatever the user's role.
    school = _schools_in_scope(user).filter(urn=urn).first()
    if school is None:
        raise Http404("No such school in your register.")
    require_permission(user, action)
    return school


def access_users(user, action: str = "manage-users") -> QuerySet[User]:
    """The users an LA administrator manages: their LA's staff and its schools' users."""
    la = access_user_la(user, action)
    return User.objects.filter(la=la).select_related("la", "school")


def access_user_by_id(user, user_id: int, action: str = "manage-users") -> User:
    """One user of the administrator's LA: 404 outside the LA, 403 if the role forbids it."""
    if user.la_id is None or user.role == Role.SCHOOL_USER:
        target = None
    else:
        target = User.objects.filter(la_id=user.la_id, pk=user_id).select_related("la").first()
    if target is None:
        raise Http404("No such user in your local authority.")
    require_permission(user, action)
    return target


def access_register_imports(user) -> QuerySet[EstablishmentImport]:
    """The GIAS imports that touched the user's LA."""
    la = access_user_la(user, "manage-schools")
    return EstablishmentImport.objects.filter(la=la)


def _la_object_by_id(user, model, pk: int, action: str, missing: str):
    """An LA-wide object of the user's LA: 404 outside it and for school users, else 403."""
    found = None
    la_user = getattr(user, "is_authenticated", False) and user.role != Role.SCHOOL_USER
    if la_user and user.la_id is not None:
        found = model.objects.filter(la_id=user.la_id, pk=pk).first()
    if found is None:
        raise Http404(missing)
    require_permission(user, action)
    return found


def access_register_import_by_id(user, import_id: int) -> EstablishmentImport:
    """One GIAS import of the user's LA: 404 outside the LA, 403 if the role forbids it."""
    return _la_object_by_id(user, EstablishmentImport, import_id, "manage-schools",
                            "No such import for your local authority.")


def access_audit_events(user):
    """The audit log of the administrator's LA."""
    from keystage.audit.models import AuditEvent

    la = access_user_la(user, "view-audit-log")
    return AuditEvent.objects.filter(la=la).select_related("school", "acting_user")


def _jobs_in_scope(user):
    from keystage.jobs.models import Job

    if not getattr(user, "is_authenticated", False):
        return Job.objects.none()
    if user.role == Role.SCHOOL_USER:
        return Job.objects.filter(created_by_id=user.pk, la_id=user.la_id)
    if user.la_id is None:
        return Job.objects.filter(created_by_id=user.pk)
    return Job.objects.filter(la_id=user.la_id)


def access_jobs(user):
    """The background jobs the user may follow: their own, and for LA users their LA's."""
    require_permission(user, "view-own-jobs")
    return _jobs_in_scope(user)


def access_job_by_id(user, job_id: int):
    """One background job the user may follow: 404 outside their scope, 403 without the
    permission of the job's kind (a GIAS import needs manage-schools, and so on)."""
    from keystage.jobs.registry import permission_for

    job = _jobs_in_scope(user).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    require_permission(user, "view-own-jobs")
    needed = permission_for(job.kind)
    if needed is None:
        if job.created_by_id != user.pk:
            raise PermissionDenied("Only the person who started this job can follow it.")
    else:
        require_permission(user, needed)
    return job


def _submissions_in_scope(user):
    from keystage.collection.models import Submission

    if not getattr(user, "is_authenticated", False):
        return Submission.objects.none()
    if user.role == Role.SCHOOL_USER:
        return Submission.objects.filter(school_id=user.school_id, la_id=user.la_id)
    if user.la_id is not None:
        return Submission.objects.filter(la_id=user.la_id)
    return Submission.objects.none()


def access_submissions(user, action: str = "view-reports"):
    """Submissions the user may see: their LA's, or their own school's."""
    require_permission(user, action)
    return _submissions_in_scope(user).select_related("school", "file")


def access_submission_by_id(user, submission_id: int, action: str = "view-reports"):
    """One submission: 404 outside the user's scope, 403 if the role forbids it."""
    submission = (
        _submissions_in_scope(user).select_related("school", "file").filter(pk=submission_id)
        .first()
    )
    if submission is None:
        raise Http404("No such submission.")
    require_permission(user, action)
    return submission


def access_received_file_by_id(user, file_id: int):
    """A file as a school sent it, for download by the LA: 404 outside the LA."""
    from keystage.collection.models import ReceivedFile

    return _la_object_by_id(user, ReceivedFile, file_id, "download-originals", "No such file.")


def _tenancy_filter(user) -> dict | None:
    """The filter that keeps rows with la and school columns inside the user's tenancy."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.role == Role.SCHOOL_USER:
        if not (user.school_id and user.la_id):
            return None
        return {"school_id": user.school_id, "la_id": user.la_id}
    if user.la_id is not None:
        return {"la_id": user.la_id}
    return None


def access_issues(user, action: str = "view-reports"):
    """Cleaning issues the user may see: their LA's, or only their own school's."""
    from keystage.cleaning.models import Issue

    require_permission(user, action)
    scope = _tenancy_filter(user)
    return Issue.objects.none() if scope is None else Issue.objects.filter(**scope)


def access_pupil_by_id(user, pupil_id: int, action: str = "view-reports"):
    """One pupil record: 404 outside the user's LA or school, 403 if the role forbids it."""
    from keystage.collection.models import PupilRecord

    return _pupil_in_scope(
        user, PupilRecord.objects.select_related("school", "la", "submission"), action, pk=pupil_id
    )


def _pupil_in_scope(user, queryset, action: str, **filters):
    """The newest row of `queryset` matching `filters` inside the user's LA or school: 404
    outside it (checked first, so a refusal reveals nothing), 403 if the role forbids `action`."""
    scope = _tenancy_filter(user)
    found = None
    if scope is not None:
        found = queryset.filter(**filters, **scope).order_by("-id").first()
    if found is None:
        raise Http404("No such pupil in your data.")
    require_permission(user, action)
    return found


def access_assessment_results(user, pupil, action: str = "view-reports"):
    """The results of one pupil the user may see (fetch the pupil with access_pupil_by_id)."""
    from keystage.collection.models import AssessmentResult

    require_permission(user, action)
    scope = _tenancy_filter(user)
    if scope is None:
        return AssessmentResult.objects.none()
    return AssessmentResult.objects.filter(
        pupil=pupil, **{f"pupil__{key}": value for key, value in scope.items()}
    )


def access_national_register(user):
    """Every open establishment in the deployment, for aggregate counts only."""
    require_permission(user, "view-national-aggregates")
    return Establishment.objects.filter(status__startswith="Open")


def access_local_authority_count(user) -> int:
    """How many LAs the deployment holds, for the national aggregates page."""
    require_permission(user, "view-national-aggregates")
    return LocalAuthority.objects.count()


def access_pupil_by_key(user, collection: str, year: int, urn: str, upn: str,
                        action: str = "view-reports"):
    """The current record of a pupil by its stable key (collection, year, school URN, UPN).

    A replacement file gives a pupil a new record id; this key stays, so the pupil's page
    keeps its address. 404 outside the user's LA or school, 403 if the role forbids it.
    """
    from keystage.collection.models import PupilRecord

    if not upn:
        raise Http404("No such pupil in your data.")
    return _pupil_in_scope(
        user, PupilRecord.objects.select_related("school", "la", "submission"), action,
        collection=collection, year=year, school__urn=urn, upn=upn,
    )


def access_retired_pupil_by_id(user, pupil_id: int, action: str = "view-reports"):
    """The stable key of a pupil record a replacement file removed, by the record's old id.

    Its school comes with it, for the pupil's stable address. 404 outside the user's LA or
    school (and for an id that was never retired), 403 if the role forbids it.
    """
    from keystage.collection.models import RetiredPupilRecord

    return _pupil_in_scope(
        user, RetiredPupilRecord.objects.select_related("school"), action, pk=pupil_id
    )


def access_la_edits(user, action: str = "view-reports"):
    """The LA's edits to pupil data: their LA's, or those to their own school's data."""
    from keystage.cleaning.models import LaEdit

    require_permission(user, action)
    scope = _tenancy_filter(user)
    return LaEdit.objects.none() if scope is None else LaEdit.objects.filter(**scope)


def access_cleaning_runs(user, action: str = "view-reports"):
    """Runs of the cleaning rules over the user's LA's data (LA users only)."""
    from keystage.cleaning.models import CleaningRun

    la = access_user_la(user, action)
    return CleaningRun.objects.filter(la=la)


def access_returns(user, action: str = "view-reports"):
    """The DfE return files of the user's LA (LA users only)."""
    from keystage.returns.models import ReturnFile

    la = access_user_la(user, action)
    if user.role == Role.SCHOOL_USER:
        raise PermissionDenied("Returns are made by the local authority.")
    return ReturnFile.objects.filter(la=la)


def access_return_by_id(user, return_id: int, action: str = "view-reports"):
    """One return file: 404 outside the user's LA, 403 if the role forbids it."""
    from keystage.returns.models import ReturnFile

    return _la_object_by_id(user, ReturnFile, return_id, action, "No such return file.")


def access_la_notices(user):
    """Notices to the user's LA, for its data officers and administrators; none for others."""
    from keystage.collection.models import LaNotice

    if not getattr(user, "is_authenticated", False) or user.la_id is None or user.role not in (
        Role.LA_DATA_OFFICER, Role.LA_ADMIN
    ):
        return LaNotice.objects.none()
    return LaNotice.objects.filter(la_id=user.la_id)


def access_la_notice_by_id(user, notice_id: int):
    """One notice to the user's LA: 404 outside it or for a role that does not see notices."""
    found = access_la_notices(user).filter(pk=notice_id).first()
    if found is None:
        raise Http404("No such notice.")
    return found



def access_pupils(user, action: str = "view-pupils"):
    """The LA's pupils (keystage.pupils): LA users of roles that may see them; 403 otherwise."""
    from keystage.pupils.models import Pupil

    la = access_user_la(user, action)
    return Pupil.objects.filter(la=la)


def access_pupil_identity_by_id(user, pupil_id: int, action: str = "view-pupils"):
    """One pupil of the user's LA by id, following a merged pupil's id to the pupil kept.

    Returns (pupil, moved): moved is True when the id was an alias. 404 outside the LA.
    """
    from keystage.pupils.models import Pupil, PupilAlias

    if not getattr(user, "is_authenticated", False) or user.la_id is None \
            or user.role == Role.SCHOOL_USER:
        raise Http404("No such pupil.")
    pupil = Pupil.objects.filter(pk=pupil_id, la_id=user.la_id).first()
    moved = False
    if pupil is None:
        alias = PupilAlias.objects.filter(pk=pupil_id, pupil__la_id=user.la_id).first()
        if alias is None:
            raise Http404("No such pupil.")
        pupil, moved = alias.pupil, True
    require_permission(user, action)
    return pupil, moved


def access_pupil_records(user, pupil, action: str = "view-pupils"):
    """Every record linked to a pupil fetched with access_pupil_identity_by_id."""
    from keystage.collection.models import PupilRecord

    require_permission(user, action)
    return PupilRecord.objects.filter(pupil=pupil, la_id=user.la_id)


def access_link_reviews(user, action: str = "manage-identity"):
    """The LA's near matches waiting for (or decided by) an officer."""
    from keystage.pupils.models import LinkReview

    la = access_user_la(user, action)
    return LinkReview.objects.filter(la=la)


def access_link_review_by_id(user, review_id: int, action: str = "manage-identity"):
    """One near match of the user's LA: 404 outside it, 403 if the role forbids deciding it."""
    from keystage.pupils.models import LinkReview

    return _la_object_by_id(user, LinkReview, review_id, action, "No such match to review.")


def access_care_returns(user, action: str = "view-social-care"):
    """The LA's social care returns: only roles given social-care data; 403 otherwise."""
    from keystage.socialcare.models import CareReturn

    la = access_user_la(user, action)
    return CareReturn.objects.filter(la=la)


def access_care_children(user, action: str = "view-social-care"):
    """The children of the LA's social care returns (every return, current or replaced)."""
    from keystage.socialcare.models import CareChild

    la = access_user_la(user, action)
    return CareChild.objects.filter(la=la)


def access_care_child_by_id(user, child_id: int, action: str = "view-social-care"):
    """One child of the LA's returns: 404 outside the LA (and for school users), else 403."""
    from keystage.socialcare.models import CareChild

    return _la_object_by_id(user, CareChild, child_id, action, "No such child.")


def access_care_changes(user, action: str = "view-social-care"):
    """The LA's hand edits of the looked-after cohort."""
    from keystage.socialcare.models import LookedAfterChange

    la = access_user_la(user, action)
    return LookedAfterChange.objects.filter(la=la)


def access_care_return_by_id(user, return_id: int, action: str = "view-social-care"):
    """One social care return of the user's LA: 404 outside it, 403 for other roles."""
    from keystage.socialcare.models import CareReturn

    return _la_object_by_id(user, CareReturn, return_id, action, "No such return.")


def access_report_sharing(user, action: str = "view-analysis"):
    """What the user's LA shares of its reports with its schools."""
    from keystage.analysis.models import ReportSharing

    la = access_user_la(user, action)
    return ReportSharing.objects.filter(la=la)


def _transfers_in_scope(user):
    """Transfer files a user's tenancy reaches: a school's own traffic (sent or received); an
    LA user's, every file from or to its schools and every file held for it."""
    from django.db.models import Q

    from keystage.transfer.models import TransferFile

    files = TransferFile.objects.select_related("from_school", "to_school", "to_la", "from_la")
    if not getattr(user, "is_authenticated", False):
        return files.none()
    if user.role == Role.SCHOOL_USER:
        return files.filter(Q(from_school_id=user.school_id) | Q(to_school_id=user.school_id))
    if user.la_id is not None:
        return files.filter(Q(from_la_id=user.la_id) | Q(to_la_id=user.la_id))
    return files.none()


def access_transfers(user, action: str = "transfer-files"):
    """The transfer files the user may see: their school's, or their LA's schools' traffic."""
    require_permission(user, action)
    return _transfers_in_scope(user)


def access_transfer_by_id(user, transfer_id: int, action: str = "transfer-files"):
    """One transfer file in the user's scope: 404 outside it, 403 if the role forbids it."""
    found = _transfers_in_scope(user).filter(pk=transfer_id).first()
    if found is None:
        raise Http404("No such transfer file.")
    require_permission(user, action)
    return found


def _notices_in_scope(user):
    """Notices for the user: their school's, or (LA officers) their LA's own."""
    from keystage.transfer.models import TransferNotice

    notices = TransferNotice.objects.all()
    if not getattr(user, "is_authenticated", False):
        return notices.none()
    if user.role == Role.SCHOOL_USER:
        return notices.filter(school_id=user.school_id)
    return notices.filter(la_id=user.la_id, school__isnull=True)


def access_transfer_notices(user, action: str = "transfer-files"):
    """The notices not yet dismissed for the user: their school's, or their LA's own."""
    require_permission(user, action)
    return _notices_in_scope(user).filter(dismissed_at__isnull=True)


def access_transfer_notice_by_id(user, notice_id: int, action: str = "transfer-files"):
    """One notice for the user: 404 for anyone else's."""
    found = _notices_in_scope(user).filter(pk=notice_id).first()
    if found is None:
        raise Http404("No such notice.")
    if not (has_permission(user, "transfer-files") or has_permission(user, "manage-lost-pupils")):
        raise PermissionDenied("Your role does not allow this.")
    return found


def access_lost_pupils(user, action: str = "manage-lost-pupils"):
    """The LA's lost-pupils register (lost and found)."""
    from keystage.transfer.models import LostPupil

    la = access_user_la(user, action)
    return LostPupil.objects.filter(la=la)


def access_lost_pupil_by_id(user, lost_id: int, action: str = "manage-lost-pupils"):
    """One pupil of the LA's register: 404 outside the LA (and for school users), else 403."""
    from keystage.transfer.models import LostPupil

    return _la_object_by_id(user, LostPupil, lost_id, action, "No such lost pupil.")


def access_lost_matches(user, action: str = "manage-lost-pupils"):
    """Near matches of the LA's lost pupils waiting for an officer."""
    from keystage.transfer.models import LostMatch

    la = access_user_la(user, action)
    return LostMatch.objects.filter(la=la)


def access_lost_match_by_id(user, match_id: int, action: str = "manage-lost-pupils"):
    """One near match of the LA's register: 404 outside the LA, else 403."""
    from keystage.transfer.models import LostMatch

    return _la_object_by_id(user, LostMatch, match_id, action, "No such match.")


def _threads_in_scope(user):
    from django.db.models import Q

    from keystage.transfer.models import MessageThread

    threads = MessageThread.objects.select_related("la", "school", "other_la")
    if not getattr(user, "is_authenticated", False):
        return threads.none()
    if user.role == Role.SCHOOL_USER:
        return threads.filter(school_id=user.school_id, la_id=user.la_id)
    if user.la_id is not None:
        return threads.filter(Q(la_id=user.la_id) | Q(other_la_id=user.la_id))
    return threads.none()


def access_threads(user, action: str = "send-messages"):
    """The message threads the user's school or LA is part of."""
    require_permission(user, action)
    return _threads_in_scope(user)


def access_thread_by_id(user, thread_id: int, action: str = "send-messages"):
    """One thread the user's school or LA is part of: 404 for anyone else's, 403 by role."""
    found = _threads_in_scope(user).filter(pk=thread_id).first()
    if found is None:
        raise Http404("No such conversation.")
    require_permission(user, action)
    return found


def access_local_authorities(user, action: str = "send-messages"):
    """The other LAs of this deployment an LA user may write to (names and codes only)."""
    require_permission(user, action)
    if user.role == Role.SCHOOL_USER or user.la_id is None:
        return LocalAuthority.objects.none()
    return LocalAuthority.objects.exclude(pk=user.la_id)


def access_agencies(user, action: str = "manage-agencies"):
    """The agencies the user's LA works with."""
    from keystage.transfer.models import Agency

    la = access_user_la(user, action)
    return Agency.objects.filter(las=la)


def _extracts_in_scope(user):
    from keystage.transfer.models import AgencyExtract

    extracts = AgencyExtract.objects.select_related("agency", "la", "school")
    if not getattr(user, "is_authenticated", False):
        return extracts.none()
    if user.role == Role.AGENCY_USER:
        return extracts.filter(agency_id=user.agency_id)
    if user.role != Role.SCHOOL_USER and user.la_id is not None:
        return extracts.filter(la_id=user.la_id)
    return extracts.none()


def access_agency_extracts(user, action: str):
    """Extracts the user may see: those sent to their agency, or those their LA sent."""
    require_permission(user, action)
    return _extracts_in_scope(user)


def access_agency_extract_by_id(user, extract_id: int, action: str = "agency-downloads"):
    """One extract in the user's scope: 404 outside it, 403 by role."""
    found = _extracts_in_scope(user).filter(pk=extract_id).first()
    if found is None:
        raise Http404("No such extract.")
    require_permission(user, action)
    return found
