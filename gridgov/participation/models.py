"""Residents' voice. The message board (民意直通车): residents post to their grid or community, and
every post must get a staff reply within a time limit on the working calendar, watched by lights
like cases."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridgov.core.scope import ScopedQuerySet


class BlockedWord(models.Model):
    """A word no post may contain (kept by administrators)."""

    word = models.CharField(_("word"), max_length=50, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("blocked word")
        verbose_name_plural = _("blocked words")
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class PostQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"


class Post(models.Model):
    class Kind(models.TextChoices):
        SUGGESTION = "suggestion", _("Suggestion")
        COMPLAINT = "complaint", _("Complaint")
        QUESTION = "question", _("Question")

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for a reply")
        REPLIED = "replied", _("Replied")
        HIDDEN = "hidden", _("Hidden")

    class Light(models.TextChoices):
        GREEN = "green", _("Green")
        YELLOW = "yellow", _("Yellow")
        RED = "red", _("Red")

    class Rating(models.TextChoices):
        SATISFIED = "satisfied", _("Satisfied")
        BASICALLY = "basically", _("Basically satisfied")
        UNSATISFIED = "unsatisfied", _("Not satisfied")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    # What others read: ID numbers and phones masked (the author reads their own text).
    title_public = models.CharField(_("title as shown"), max_length=100)
    body_public = models.TextField(_("text as shown"))
    is_public = models.BooleanField(_("public"), default=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.WAITING, db_index=True
    )
    created_at = models.DateTimeField(_("posted"), db_index=True)
    reply_due = models.DateTimeField(_("reply due"))
    reply_unit = models.CharField(_("unit"), max_length=16)
    light = models.CharField(_("light"), max_length=8, choices=Light.choices, default=Light.GREEN)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True)
    replied_on_time = models.BooleanField(_("replied on time"), null=True)
    rating = models.CharField(_("rating"), max_length=12, choices=Rating.choices, blank=True)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True)
    hidden_reason = models.CharField(_("why it is hidden"), max_length=300, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hidden by"),
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="board_posts",
        verbose_name=_("case"),
    )

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("message board post")
        verbose_name_plural = _("message board")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["grid", "created_at"])]

    def __str__(self) -> str:
        return self.title_public


class ReplyQuerySet(ScopedQuerySet):
    scope_grid_field = "post__grid"


class Reply(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="replies", verbose_name=_("post"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    text = models.TextField(_("text"))
    text_public = models.TextField(_("text as shown"))
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = ReplyQuerySet.as_manager()

    class Meta:
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.post} · {self.author}"


class MeToo(models.Model):
    """ "Me too": another resident with the same concern (once each)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="me_too", verbose_name=_("post"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("me too")
        verbose_name_plural = _("me too")
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="me_too_once")]

    def __str__(self) -> str:
        return f"{self.post} · {self.user}"


# --- deliberation (议事协商) ---------------------------------------------------------------------------


class ProposalQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"


class Proposal(models.Model):
    """A matter put to the residents of an area: submitted, accepted for discussion (or declined
    with a reason), voted on, decided."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        DISCUSSION = "discussion", _("In discussion")
        DECLINED = "declined", _("Declined")
        VOTING = "voting", _("Being voted on")
        DECIDED = "decided", _("Decided")

    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    post = models.ForeignKey(
        Post,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="proposals",
        verbose_name=_("from the message"),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.SUBMITTED)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    decision = models.TextField(_("decision"), blank=True)
    created_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Representative(models.Model):
    """A residents' representative of an area for a term (1 per 1,000 residents)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("representative")
    )
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    starts_on = models.DateField(_("term starts"))
    ends_on = models.DateField(_("term ends"))
    # Null when entered in the back office (e.g. elected before the platform).
    election = models.ForeignKey(
        "Election",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("elected in"),
    )

    class Meta:
        verbose_name = _("residents' representative")
        verbose_name_plural = _("residents' representatives")
        constraints = [
            models.UniqueConstraint(fields=["user", "grid", "starts_on"], name="representative_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.grid}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.starts_on and self.ends_on and self.ends_on <= self.starts_on:
            raise ValidationError({"ends_on": _("The term ends after it starts.")})
        if self.grid_id and self.starts_on and self.ends_on:
            from gridgov.participation.deliberation import check_seats

            check_seats(self)


class Vote(models.Model):
    """One question put to a proposal's electorate. Options are labels; when `abstain` names one,
    it counts for turnout but not for the majority."""

    class Electorate(models.TextChoices):
        RESIDENTS = "residents", _("All residents of the area")
        REPRESENTATIVES = "representatives", _("The area's representatives")

    class Majority(models.TextChoices):
        SIMPLE = "simple", _("More than half of the votes for or against")
        TWO_THIRDS = "two_thirds", _("Two thirds of the votes for or against")

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("vote", "Open")
        CLOSED = "closed", pgettext_lazy("vote", "Closed")

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="votes", verbose_name=_("proposal")
    )
    question = models.CharField(_("question"), max_length=200)
    options = models.JSONField(_("options"))
    abstain = models.PositiveSmallIntegerField(_("the abstain option"), null=True, blank=True)
    electorate = models.CharField(_("who votes"), max_length=16, choices=Electorate.choices)
    secret = models.BooleanField(_("secret ballot"), default=False)
    quorum = models.PositiveSmallIntegerField(_("quorum (% of those eligible)"), default=50)
    majority = models.CharField(
        _("majority"), max_length=12, choices=Majority.choices, default=Majority.SIMPLE
    )
    eligible = models.PositiveIntegerField(_("eligible voters"), default=0)
    closes_at = models.DateTimeField(_("closes"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)
    result = models.JSONField(_("result"), default=dict, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return self.question


class Ballot(models.Model):
    """That a person voted, and — in an open vote only — how. A secret vote's choice goes only
    into the tally, so nothing links it to the voter."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="ballots", verbose_name=_("vote"))
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("voter")
    )
    choice = models.PositiveSmallIntegerField(_("choice"), null=True, blank=True)
    cast_at = models.DateField(_("voted on"), auto_now_add=True)  # the day only: no order to link

    class Meta:
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        constraints = [models.UniqueConstraint(fields=["vote", "voter"], name="one_person_one_vote")]

    def __str__(self) -> str:
        return f"{self.vote} · {self.voter}"


class Tally(models.Model):
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="tallies", verbose_name=_("vote"))
    option = models.PositiveSmallIntegerField(_("option"))
    count = models.PositiveIntegerField(_("votes"), default=0)

    class Meta:
        verbose_name = _("tally")
        verbose_name_plural = _("tallies")
        constraints = [models.UniqueConstraint(fields=["vote", "option"], name="tally_once")]

    def __str__(self) -> str:
        return f"{self.vote} #{self.option}: {self.count}"


class Meeting(models.Model):
    """A meeting or hearing on a proposal: when and where, who was invited, who came, the minutes."""

    class Kind(models.TextChoices):
        MEETING = "meeting", _("Consultation meeting")
        HEARING = "hearing", _("Hearing")

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="meetings", verbose_name=_("proposal")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    place = models.CharField(_("place"), max_length=200)
    starts_at = models.DateTimeField(_("starts"))
    invited = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", verbose_name=_("invited"))
    attended = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="+", blank=True, verbose_name=_("attended")
    )
    minutes = models.TextField(_("minutes"), blank=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return f"{self.proposal} {self.starts_at:%Y-%m-%d}"


class FollowUp(models.Model):
    """A case opened to carry out a decision; its progress shows on the proposal."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("proposal")
    )
    case = models.OneToOneField(
        "cases.Case", on_delete=models.PROTECT, related_name="+", verbose_name=_("case")
    )

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")

    def __str__(self) -> str:
        return f"{self.proposal} · {self.case_id}"


class Comment(models.Model):
    """A word in a proposal's discussion, by a resident of the area or its staff."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="comments", verbose_name=_("proposal")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("text"))  # masked when written: everyone in the area reads it
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.proposal} · {self.author}"


# --- photos and documents ----------------------------------------------------------------------------


def _attachment_path(instance, filename: str) -> str:
    owner = f"posts/{instance.post_id}" if instance.post_id else f"meetings/{instance.meeting_id}"
    return f"board/{owner}/{instance.sha256[:16]}{instance.extension}"


def _thumbnail_path(instance, filename: str) -> str:
    owner = f"posts/{instance.post_id}" if instance.post_id else f"meetings/{instance.meeting_id}"
    return f"board/{owner}/{instance.sha256[:16]}-thumb.jpg"


class Attachment(models.Model):
    """A post's photo, or a meeting's photo or PDF (the sign-in sheet, the minutes as signed).
    Stored through `core.uploads`: checked by content, photos without their location."""

    post = models.ForeignKey(
        Post,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("post"),
    )
    meeting = models.ForeignKey(
        Meeting,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("meeting"),
    )
    name = models.CharField(_("name"), max_length=120, blank=True)
    kind = models.CharField(_("kind"), max_length=8)
    mime = models.CharField(_("type"), max_length=40)
    extension = models.CharField(max_length=8)
    file = models.FileField(_("file"), upload_to=_attachment_path)
    thumbnail = models.FileField(_("thumbnail"), upload_to=_thumbnail_path, blank=True)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(post__isnull=False, meeting__isnull=True)
                | models.Q(post__isnull=True, meeting__isnull=False),
                name="attachment_of_post_or_meeting",
            )
        ]

    def __str__(self) -> str:
        return self.name or self.file.name


# --- electing representatives --------------------------------------------------------------------------


class ElectionQuerySet(ScopedQuerySet):
    scope_grid_field = "grid"


class Election(models.Model):
    """Residents elect their area's representatives for a term: the seats free in that term
    (1 per 1,000 residents, less those already serving), a secret ballot of up to that many
    candidates each, the most votes elected."""

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("vote", "Open")
        CLOSED = "closed", pgettext_lazy("vote", "Closed")

    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    seats = models.PositiveSmallIntegerField(_("seats"))
    starts_on = models.DateField(_("term starts"))
    ends_on = models.DateField(_("term ends"))
    quorum = models.PositiveSmallIntegerField(_("quorum (% of those eligible)"), default=50)
    eligible = models.PositiveIntegerField(_("eligible voters"), default=0)
    closes_at = models.DateTimeField(_("closes"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)
    result = models.JSONField(_("result"), default=dict, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)

    objects = ElectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("election of representatives")
        verbose_name_plural = _("elections of representatives")
        ordering = ["-opened_at", "-id"]

    def __str__(self) -> str:
        return f"{self.grid} {self.starts_on:%Y}"


class Candidate(models.Model):
    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, related_name="candidates", verbose_name=_("election")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("candidate")
    )
    votes = models.PositiveIntegerField(_("votes"), default=0)
    elected = models.BooleanField(_("elected"), default=False)

    class Meta:
        verbose_name = _("candidate")
        verbose_name_plural = _("candidates")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["election", "user"], name="candidate_once")]

    def __str__(self) -> str:
        return f"{self.election} · {self.user}"


class ElectionBallot(models.Model):
    """That a person voted in an election; the choices go into the candidates' counts only."""

    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, related_name="ballots", verbose_name=_("election")
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("voter")
    )
    cast_at = models.DateField(_("voted on"), auto_now_add=True)

    class Meta:
        verbose_name = _("election ballot")
        verbose_name_plural = _("election ballots")
        constraints = [models.UniqueConstraint(fields=["election", "voter"], name="one_ballot_per_election")]

    def __str__(self) -> str:
        return f"{self.election} · {self.voter}"
