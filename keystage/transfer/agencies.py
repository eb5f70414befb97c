"""Agencies an LA works with (health, social care, police, dental health ...) and the pupil
extracts it sends them, each an audited action.

An agency's reference is the registering LA's number and a serial (`330AG0001`); another LA
that works with it links to the same reference. An extract is chosen fields of a list of pupils
(by UPN) or of a school's roll, from the pupils of the LA that year (`export pupils`), kept
encrypted until the agency's user downloads it: once, after which it is deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.db import transaction
from django.utils import timezone

from keystage.audit.log import record_event
from keystage.audit.models import EventType
from keystage.core.cells import SafeCsvWriter
from keystage.core.sealed import seal, unseal
from keystage.transfer.models import Agency, AgencyExtract, AgencyKind, AgencyLa

# The fields an extract may carry: identity, school and the education characteristics;
# social-care flags never leave this way.
AGENCY_FIELDS = ("upn", "former_upns", "laestab", "surname", "forename", "dob", "sex",
                 "ncyear", "ethnicity", "eal", "fsm", "sen")
EXTRACT_DAYS = 30


class AgencyRefused(ValueError):
    """An agency or extract request that cannot be done, with the reason."""


@transaction.atomic
def do_register_agency(la, *, name: str, kind: str, email: str = "", acting_user) -> Agency:
    """Register a new agency; its reference starts with the LA's number."""
    name = name.strip()
    if not name or kind not in AgencyKind.values:
        raise AgencyRefused("Give the agency's name and what kind of agency it is.")
    serial = Agency.objects.filter(registered_by=la).count() + 1
    while Agency.objects.filter(reference=f"{la.code}AG{serial:04d}").exists():
        serial += 1
    agency = Agency.objects.create(reference=f"{la.code}AG{serial:04d}", name=name[:200],
                                   kind=kind, email=email.strip()[:254], registered_by=la)
    AgencyLa.objects.create(agency=agency, la=la)
    record_event(EventType.AGENCY_REGISTERED, acting_user=acting_user, la=la, obj=agency,
                 summary=f"Agency {agency.name} registered as {agency.reference}")
    return agency


@transaction.atomic
def do_link_agency(la, *, reference: str, acting_user) -> Agency:
    """Work with an agency another LA registered, by its reference."""
    agency = Agency.objects.filter(reference__iexact=reference.strip()).first()
    if agency is None:
        raise AgencyRefused(f"No agency has the reference {reference.strip()[:20]!r}. Ask the "
                            "agency for the reference another LA gave it, or register it.")
    _, made = AgencyLa.objects.get_or_create(agency=agency, la=la)
    if made:
        record_event(EventType.AGENCY_LINKED, acting_user=acting_user, la=la, obj=agency,
                     summary=f"LA {la.code} works with agency {agency.reference}")
    return agency


def _csv(frame, fields) -> bytes:
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(fields)
    writer.writerows(frame.select(fields).iter_rows())
    return out.getvalue().encode("utf-8")


@transaction.atomic
def do_send_agency_extract(la, agency: Agency, *, year: int, fields: list[str], purpose: str,
                           acting_user, upns: list[str] | None = None,
                           school=None) -> AgencyExtract:
    """Chosen fields of a list of pupils or of a school's roll, for the agency to download."""
    import polars as pl

    from keystage.context.queries import pupil_characteristics

    if not AgencyLa.objects.filter(agency=agency, la=la).exists():
        raise AgencyRefused("Your LA does not work with this agency: link it first.")
    fields = [f for f in AGENCY_FIELDS if f in set(fields)]
    if not fields:
        raise AgencyRefused("Choose the fields the agency needs.")
    if not purpose.strip():
        raise AgencyRefused("Say why the agency needs the extract.")
    if (upns is None) == (school is None):
        raise AgencyRefused("Give a list of UPNs or a school, not both.")
    pupils = pupil_characteristics(la, year)
    if school is not None:
        if school.la_id != la.pk:
            raise AgencyRefused("Choose a school of your LA.")
        chosen = pupils.filter(pl.col("laestab") == school.laestab)
    else:
        wanted = sorted({u.strip().upper() for u in upns if u.strip()})
        chosen = pupils.filter(pl.col("upn").is_in(wanted)).unique("upn", keep="first")
        missing = sorted(set(wanted) - set(chosen["upn"].to_list()))
        if not wanted:
            raise AgencyRefused("List the pupils' UPNs, one per line.")
        if missing:
            raise AgencyRefused(f"{len(missing)} UPN(s) are not pupils of your LA in {year}: "
                                f"{', '.join(missing[:10])}. Check them and send again.")
    if chosen.is_empty():
        raise AgencyRefused("No pupils to send: the school has no pupils on roll that year.")
    chosen = chosen.sort("laestab", "surname", "forename", "upn")
    serial = AgencyExtract.objects.filter(agency=agency, la=la).count() + 1
    extract = AgencyExtract.objects.create(
        agency=agency, la=la, reference=f"{agency.reference}-{la.code}-{serial:04d}",
        purpose=purpose.strip()[:300], fields=fields, school=school, pupils=chosen.height,
        content=seal(_csv(chosen, fields)), sent_by=acting_user,
        expires_at=timezone.now() + dt.timedelta(days=EXTRACT_DAYS))
    record_event(EventType.AGENCY_EXTRACT_SENT, acting_user=acting_user, la=la, school=school,
                 obj=extract, reason=purpose,
                 summary=f"Extract {extract.reference}: {chosen.height} pupil(s), fields "
                 f"{', '.join(fields)}, to {agency.name}")
    _tell_agency(agency)
    return extract


def _tell_agency(agency: Agency) -> None:
    from django.core.mail import send_mail

    recipients = sorted({u.email for u in agency.users.filter(is_active=True).exclude(email="")})
    if recipients:
        transaction.on_commit(lambda: send_mail(
            "Keystage: an extract is waiting", "An LA has sent your agency an extract. Sign in "
            "to Keystage to download it (once).", None, recipients, fail_silently=True))


@transaction.atomic
def do_download_agency_extract(extract: AgencyExtract, *, acting_user) -> bytes:
    """The extract for the agency's user, once: it is deleted as it is handed over."""
    locked = AgencyExtract.objects.select_for_update().get(pk=extract.pk)
    if locked.content is None:
        when = (f"on {timezone.localtime(locked.downloaded_at):%d %B %Y at %H:%M}"
                if locked.downloaded_at else "")
        raise AgencyRefused(f"Extract {locked.reference} was already downloaded {when} or has "
                            "expired; ask the LA to send it again.")
    data = unseal(locked.content)
    locked.content = None
    locked.downloaded_by = acting_user
    locked.downloaded_at = timezone.now()
    locked.save(update_fields=["content", "downloaded_by", "downloaded_at"])
    record_event(EventType.AGENCY_EXTRACT_DOWNLOADED, acting_user=acting_user, la=locked.la,
                 obj=locked, summary=f"Extract {locked.reference} downloaded by "
                 f"{locked.agency.name}")
    return data


def extract_rows(data: bytes) -> list[list[str]]:
    """The rows of an extract's CSV (for tests and checks)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))
