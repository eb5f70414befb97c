"""CTFs sent between schools, the lost-pupils register, and the notices that tell people.

A TransferFile is one CTF a school (or an LA transfer officer for it) sent: the file itself is
kept encrypted (keystage.core.sealed) until its retention period ends, with its pupils listed
(TransferPupil) so the receiving school sees names before downloading. A file whose destination
is unknown (XXXXXXX) or outside the maintained sector (MMMMMMM) puts each of its pupils in the
sending LA's lost-pupils register (LostPupil) until they are found: automatically when any LA
of the deployment loads a census, an assessment file or a transfer naming them, or by hand.
"""

from __future__ import annotations

from django.db import models

UNKNOWN_DESTINATION = "XXXXXXX"
LEFT_MAINTAINED_SECTOR = "MMMMMMM"
LOST_DESTINATIONS = {UNKNOWN_DESTINATION: "Not known", LEFT_MAINTAINED_SECTOR:
                     "Left the maintained sector"}


class TransferStatus(models.TextChoices):
    SENT = "sent", "Waiting to be downloaded"
    DOWNLOADED = "downloaded", "Downloaded"
    REJECTED = "rejected", "Rejected"
    HELD = "held", "Held for the LA to route"
    OUTSIDE = "outside", "Destination outside Keystage"
    LOST = "lost", "In the lost-pupils register"


class TransferFile(models.Model):
    """One CTF sent by a school, with where it goes and what has happened to it."""

    from_school = models.ForeignKey("schools.Establishment", on_delete=models.PROTECT,
                                    related_name="+")
    from_la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT,
                                related_name="+")
    from_laestab = models.CharField(max_length=7)
    to_laestab = models.CharField(max_length=7)  # as the file gives it (XXXXXXX, MMMMMMM ...)
    to_school = models.ForeignKey("schools.Establishment", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    # The LA that routes or receives it: the destination school's, or the LA named by the
    # destination's LEA when the school is not in the register.
    to_la = models.ForeignKey("schools.LocalAuthority", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    content = models.BinaryField(null=True)  # sealed; None once deleted
    pupils = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=TransferStatus.choices)
    note = models.CharField(max_length=300, blank=True)  # why held, or why rejected
    # A copy sent on to the school where a lost pupil was found.
    forwarded_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    sent_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    sent_by_name = models.CharField(max_length=150)
    sent_at = models.DateTimeField(auto_now_add=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["to_school", "status"]),
                   models.Index(fields=["from_school", "sha256"]),
                   models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.from_laestab} to {self.to_laestab})"


class TransferPupil(models.Model):
    """A pupil of a transfer file, as its header details say."""

    transfer = models.ForeignKey(TransferFile, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField(default=0)
    upn = models.CharField(max_length=20, blank=True)
    former_upn = models.CharField(max_length=20, blank=True)
    surname = models.CharField(max_length=100, blank=True)
    forename = models.CharField(max_length=100, blank=True)
    dob = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, blank=True)

    class Meta:
        ordering = ["line", "id"]

    def __str__(self) -> str:
        return f"{self.upn} in transfer {self.transfer_id}"


class LostStatus(models.TextChoices):
    LOST = "lost", "Lost"
    FOUND = "found", "Found"


class LostPupil(models.Model):
    """A pupil in an LA's lost-pupils register, from a CTF with no known destination."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    transfer = models.ForeignKey(TransferFile, on_delete=models.PROTECT, related_name="+")
    # The pupil's place among the file's pupils (0 first): lines cannot tell apart the pupils of
    # a file written on one line.
    position = models.PositiveIntegerField(default=0)
    upn = models.CharField(max_length=20, blank=True)
    former_upn = models.CharField(max_length=20, blank=True)
    surname = models.CharField(max_length=100, blank=True)
    forename = models.CharField(max_length=100, blank=True)
    dob = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    last_laestab = models.CharField(max_length=7)
    left_on = models.DateField()
    destination = models.CharField(max_length=7)  # XXXXXXX or MMMMMMM
    status = models.CharField(max_length=5, choices=LostStatus.choices, default=LostStatus.LOST)
    matched_laestab = models.CharField(max_length=7, blank=True)
    matched_la = models.ForeignKey("schools.LocalAuthority", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    found_on = models.DateField(null=True, blank=True)
    # census, assessment, transfer (automatic) or by hand; and the identity method and score.
    found_how = models.CharField(max_length=12, blank=True)
    found_method = models.CharField(max_length=12, blank=True)
    found_score = models.FloatField(null=True, blank=True)
    found_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-left_on", "surname", "forename", "id"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["la", "status"])]

    def __str__(self) -> str:
        return f"lost pupil {self.upn or self.pk} of {self.last_laestab}"

    @property
    def destination_label(self) -> str:
        return LOST_DESTINATIONS.get(self.destination, self.destination)


class MatchStatus(models.TextChoices):
    OPEN = "open", "Waiting for an officer"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Not the same child"


class LostMatch(models.Model):
    """A near match of a lost pupil with a pupil another load named, for an officer to judge."""

    lost = models.ForeignKey(LostPupil, on_delete=models.CASCADE, related_name="matches")
    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    laestab = models.CharField(max_length=7)
    found_la = models.ForeignKey("schools.LocalAuthority", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=12)  # census, assessment, transfer
    upn = models.CharField(max_length=20, blank=True)
    surname = models.CharField(max_length=100, blank=True)
    forename = models.CharField(max_length=100, blank=True)
    dob = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    score = models.FloatField()
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=MatchStatus.choices,
                              default=MatchStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]

    def __str__(self) -> str:
        return f"match of lost pupil {self.lost_id} at {self.laestab}"


class TransferNotice(models.Model):
    """A message on a school's or an LA's transfer page: a file arrived, was rejected, or a lost
    pupil was found. With no school, it is for the LA's transfer and lost-pupils officers."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("schools.Establishment", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=500)
    transfer = models.ForeignKey(TransferFile, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    lost = models.ForeignKey(LostPupil, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class MessageThread(models.Model):
    """A conversation between an LA and one of its schools, or between two LAs, about a pupil
    or a transfer file, so that tracking a missing child does not run through general email."""

    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    # Exactly one of: a school of `la`, or another LA.
    school = models.ForeignKey("schools.Establishment", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    other_la = models.ForeignKey("schools.LocalAuthority", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=200)
    upn = models.CharField(max_length=20, blank=True)  # the pupil it is about, if any
    transfer = models.ForeignKey(TransferFile, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    lost = models.ForeignKey(LostPupil, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    started_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT,
                                   related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [models.CheckConstraint(
            condition=(models.Q(school__isnull=True) & models.Q(other_la__isnull=False))
            | (models.Q(school__isnull=False) & models.Q(other_la__isnull=True)),
            name="thread_with_a_school_or_another_la")]

    def __str__(self) -> str:
        return self.subject


class Message(models.Model):
    """One message of a thread."""

    thread = models.ForeignKey(MessageThread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT,
                               related_name="+")
    author_name = models.CharField(max_length=150)
    # The side that wrote it: the school, or which LA.
    from_school = models.ForeignKey("schools.Establishment", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    from_la = models.ForeignKey("schools.LocalAuthority", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=5000)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"message {self.pk} of thread {self.thread_id}"


class MessageRead(models.Model):
    """A read receipt: who opened a message, and when."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reads")
    reader = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "reader"],
                                               name="one_receipt_per_reader")]

    def __str__(self) -> str:
        return f"{self.reader_id} read {self.message_id}"


class AgencyKind(models.TextChoices):
    HEALTH = "health", "Health"
    SOCIAL_CARE = "social_care", "Social care"
    POLICE = "police", "Police"
    DENTAL = "dental", "Dental health"
    OTHER = "other", "Other"


class Agency(models.Model):
    """An organisation an LA sends pupil extracts to. Its reference is prefixed by the number
    of the LA that registered it; other LAs that work with it link to the same reference."""

    reference = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=AgencyKind.choices)
    email = models.EmailField(blank=True)
    registered_by = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT,
                                      related_name="+")
    registered_at = models.DateTimeField(auto_now_add=True)
    las = models.ManyToManyField("schools.LocalAuthority", through="AgencyLa",
                                 related_name="+")

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return f"{self.name} ({self.reference})"


class AgencyLa(models.Model):
    """An LA works with an agency (and may send it extracts)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "la"],
                                               name="one_link_per_agency_and_la")]

    def __str__(self) -> str:
        return f"{self.agency_id} with {self.la_id}"


class AgencyExtract(models.Model):
    """Chosen fields of chosen pupils (a list, or a school's roll) sent by an LA to an agency,
    kept encrypted until the agency's user downloads it, once."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="extracts")
    la = models.ForeignKey("schools.LocalAuthority", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=30, unique=True)
    purpose = models.CharField(max_length=300)
    fields = models.JSONField(default=list)
    school = models.ForeignKey("schools.Establishment", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    pupils = models.PositiveIntegerField(default=0)
    content = models.BinaryField(null=True)  # sealed CSV; None once downloaded or expired
    sent_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT,
                                related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    downloaded_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return self.reference
