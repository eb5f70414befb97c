"""Every write of the reports: what an LA shares with its schools."""

from __future__ import annotations

from django.db import transaction

from keystage.analysis.models import ReportSharing
from keystage.audit.log import record_event
from keystage.audit.models import EventType


@transaction.atomic
def do_set_report_sharing(la, dataset: str, share: bool, *, acting_user) -> ReportSharing:
    """Let the LA's schools see (or stop seeing) the emerging LA and national figures."""
    sharing, _ = ReportSharing.objects.get_or_create(la=la, dataset=dataset)
    old = sharing.share_with_schools
    sharing.share_with_schools = share
    sharing.changed_by = acting_user
    sharing.save()
    record_event(EventType.REPORT_SHARING_CHANGED, acting_user=acting_user, la=la, obj=sharing,
                 summary=f"{dataset}: schools {'see' if share else 'do not see'} the emerging LA "
                 "and national figures", old={"share": old}, new={"share": share})
    return sharing
