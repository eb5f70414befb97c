"""Secure messages between an LA and its schools and between LAs, each an audited action.

A thread is between one LA and one of its schools, or between two LAs; it may be about a pupil
(UPN), a transfer file or a lost pupil. Whoever is on the other side is emailed that a message
waits, never what it says. Opening a thread leaves read receipts.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from keystage.accounts.models import Role
from keystage.audit.log import actor_name, record_event
from keystage.audit.models import EventType
from keystage.transfer.models import Message, MessageRead, MessageThread

# Who hears of a new message on an LA's side (and every LA user who wrote in the thread).
LA_RECIPIENT_ROLES = (Role.TRANSFER_OFFICER, Role.LOST_PUPILS_OFFICER)


class MessageRefused(ValueError):
    """A message that cannot be sent, with the reason for the writer."""


def _side(user) -> dict:
    if user.role == Role.SCHOOL_USER:
        return {"from_school": user.school, "from_la": None}
    return {"from_school": None, "from_la": user.la}


def _recipients(thread: MessageThread, author) -> list[str]:
    """Emails of the other side of the thread."""
    from keystage.accounts.models import User

    users = User.objects.filter(is_active=True).exclude(email="").exclude(pk=author.pk)
    writers = set(thread.messages.exclude(author=None).values_list("author_id", flat=True))
    if author.role == Role.SCHOOL_USER:
        chosen = users.filter(la=thread.la, school__isnull=True).filter(
            role__in=LA_RECIPIENT_ROLES) | users.filter(pk__in=writers, school__isnull=True)
    elif thread.school_id is not None:
        chosen = users.filter(school=thread.school, role=Role.SCHOOL_USER)
    else:
        other = thread.other_la if author.la_id == thread.la_id else thread.la
        chosen = users.filter(la=other, school__isnull=True).filter(
            role__in=LA_RECIPIENT_ROLES) | users.filter(pk__in=writers, la=other,
                                                         school__isnull=True)
    return sorted(set(chosen.values_list("email", flat=True)))


def _notify(thread: MessageThread, author) -> None:
    from django.core.mail import send_mail

    recipients = _recipients(thread, author)
    if recipients:
        # The email says only that a message waits: no subject, names or text of it.
        transaction.on_commit(lambda: send_mail(
            "Keystage: you have a new secure message",
            "A new message is waiting for you in Keystage. Sign in and open Messages to read "
            "it.", None, recipients, fail_silently=True))


@transaction.atomic
def do_start_thread(*, acting_user, subject: str, body: str, school=None, other_la=None,
                    upn: str = "", transfer=None, lost=None) -> MessageThread:
    """Start a thread: an LA user to one of its schools or to another LA; a school user to
    its LA (school and other_la left empty)."""
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise MessageRefused("Give the message a subject and some text.")
    if acting_user.role == Role.SCHOOL_USER:
        la, school, other_la = acting_user.school.la, acting_user.school, None
    else:
        la = acting_user.la
        if (school is None) == (other_la is None):
            raise MessageRefused("Choose one school of your LA, or another LA.")
        if school is not None and school.la_id != la.pk:
            raise MessageRefused("You can write to the schools of your own LA.")
        if other_la is not None and other_la.pk == la.pk:
            raise MessageRefused("Choose another LA, or one of your schools.")
    thread = MessageThread.objects.create(
        la=la, school=school, other_la=other_la, subject=subject[:200], upn=upn.strip()[:20],
        transfer=transfer, lost=lost, started_by=acting_user)
    _add(thread, body, acting_user)
    return thread


@transaction.atomic
def do_send_message(thread: MessageThread, *, body: str, acting_user) -> Message:
    """Reply in a thread; the other side is emailed that a message waits."""
    body = body.strip()
    if not body:
        raise MessageRefused("Write something to send.")
    return _add(thread, body, acting_user)


def _add(thread: MessageThread, body: str, acting_user) -> Message:
    message = Message.objects.create(thread=thread, author=acting_user,
                                     author_name=actor_name(acting_user), body=body[:5000],
                                     **_side(acting_user))
    thread.last_message_at = message.sent_at
    thread.save(update_fields=["last_message_at"])
    record_event(EventType.MESSAGE_SENT, acting_user=acting_user, la=thread.la,
                 school=thread.school, obj=message,
                 summary=f"Message in thread {thread.pk} ({len(body)} characters)",
                 thread=thread.pk, other_la=thread.other_la.code if thread.other_la else "")
    _notify(thread, acting_user)
    return message


@transaction.atomic
def do_mark_thread_read(thread: MessageThread, *, acting_user) -> int:
    """Read receipts for the messages of others the user had not opened; the count made."""
    unread = list(thread.messages.exclude(author=acting_user).exclude(
        reads__reader=acting_user).values_list("pk", flat=True))
    if not unread:
        return 0
    now = timezone.now()
    MessageRead.objects.bulk_create([MessageRead(message_id=pk, reader=acting_user, read_at=now)
                                     for pk in unread], ignore_conflicts=True)
    record_event(EventType.MESSAGES_READ, acting_user=acting_user, la=thread.la,
                 school=thread.school, obj=thread,
                 summary=f"{len(unread)} message(s) of thread {thread.pk} read")
    return len(unread)
