"""The message board over HTTP: residents post, add "me too" and rate; staff reply, hide and take
posts up as cases. Thin handlers over `board`."""

from datetime import datetime

from django.db.models import Count
from ninja import Field, File, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from gridgov.accounts.roles import roles_of
from gridgov.core.openapi import CONFLICT, ERROR_TEXTS
from gridgov.core.pagination import LazyPage, Pagination
from gridgov.core.schemas import GridRef, Schema
from gridgov.participation import board, deliberation, elections
from gridgov.participation.models import Attachment, Post, Reply
from gridgov.privacy.masking import mask_name, mask_text

router = Router(tags=["message board"])


class BoardReplyOut(Schema):
    author: str
    text: str
    created_at: datetime


class BoardPostCaseOut(Schema):
    number: str
    state: str
    state_label: str
    result: str = Field(description="once closed; ID numbers and phones masked")


class BoardFileOut(Schema):
    id: int
    kind: str = Field(description="image or document (PDF)")
    name: str
    url: str
    thumbnail: str | None = Field(description="photos only")
    size: int


def file_out(a: Attachment) -> dict:
    return {
        "id": a.pk,
        "kind": a.kind,
        "name": a.name,
        "url": a.file.url,
        "thumbnail": a.thumbnail.url if a.thumbnail else None,
        "size": a.size,
    }


class BoardPostOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str = Field(description="as the public reads it; the author reads their own words")
    grid: GridRef
    author: str = Field(description="masked, or 'me'")
    mine: bool
    is_public: bool
    state: str = Field(description="waiting, replied or hidden")
    state_label: str
    hidden_reason: str = Field(description="to the author and the staff only")
    created_at: datetime
    reply_due: datetime
    light: str
    replied_at: datetime | None
    replied_on_time: bool | None
    rating: str
    me_too: int
    case: BoardPostCaseOut | None
    replies: list[BoardReplyOut]
    photos: list[BoardFileOut]


def _case_out(post: Post) -> dict | None:
    case = post.case
    if case is None:
        return None
    result = mask_text(case.result) if case.state == case.State.CLOSED else ""
    return {
        "number": case.number,
        "state": case.state,
        "state_label": case.get_state_display(),
        "result": result,
    }


def posts_out(user, posts) -> list[dict]:
    """A page of posts with their counts, replies and photos in four queries."""
    ids = [p.pk for p in posts]
    answered_by_me = set()  # the posts this user answers (and so reads the hiding reason of), read once
    if roles_of(user) & board.ANSWERING_ROLES:
        answered_by_me = set(Post.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    counts = dict(Post.objects.filter(pk__in=ids).annotate(n=Count("me_too")).values_list("pk", "n"))
    replies: dict[int, list] = {}
    for r in Reply.objects.filter(post__in=ids).select_related("author"):
        replies.setdefault(r.post_id, []).append(
            {"author": str(r.author), "text": r.text_public, "created_at": r.created_at}
        )
    photos: dict[int, list] = {}
    for a in Attachment.objects.filter(post__in=ids):
        photos.setdefault(a.post_id, []).append(file_out(a))
    rows = []
    for p in posts:
        mine = p.author_id == user.pk
        rows.append(
            {
                "id": p.pk,
                "kind": p.kind,
                "kind_label": p.get_kind_display(),
                "title": p.title if mine else p.title_public,
                "body": p.body if mine else p.body_public,
                "grid": {"code": p.grid.code, "name": p.grid.name},
                "author": "me" if mine else mask_name(p.author.name or p.author.username),
                "mine": mine,
                "is_public": p.is_public,
                "state": p.state,
                "state_label": p.get_state_display(),
                "hidden_reason": p.hidden_reason if (mine or p.pk in answered_by_me) else "",
                "created_at": p.created_at,
                "reply_due": p.reply_due,
                "light": p.light,
                "replied_at": p.replied_at,
                "replied_on_time": p.replied_on_time,
                "rating": p.rating,
                "me_too": counts.get(p.pk, 0),
                "case": _case_out(p),
                "replies": replies.get(p.pk, []),
                "photos": photos.get(p.pk, []),
            }
        )
    return rows


def _one(request, post_id: int) -> dict:
    return posts_out(request.auth, [board.readable_post(request.auth, post_id)])[0]


class BoardPostIn(Schema):
    kind: str = Field(description="suggestion, complaint or question")
    title: str
    body: str
    grid_code: str = Field("", description="default: my home grid; or a grid above it")
    is_public: bool = True


class BoardPostFilter(Schema):
    state: str = Field("", description="waiting, replied or hidden")
    light: str = Field("", description="green, yellow or red")
    grid: str = Field("", description="a grid code: the whole subtree")
    mine: bool = False


@router.get(
    "/board/posts", response=list[BoardPostOut], summary="Message-board posts I may read, newest first"
)
@paginate(Pagination)
def list_posts(request, filters: Query[BoardPostFilter]):
    """Staff: the posts of their grids (hidden ones too). Residents: the public posts of their
    grid's line of the tree and their own."""
    rows = board.readable(request.auth).select_related("grid", "author", "case")
    for field in ("state", "light"):
        if getattr(filters, field):
            rows = rows.filter(**{field: getattr(filters, field)})
    if filters.grid:
        rows = rows.filter(grid__code__startswith=filters.grid)
    if filters.mine:
        rows = rows.filter(author=request.auth)
    return LazyPage(rows, out_page=lambda page: posts_out(request.auth, page))


@router.post("/board/posts", response={201: BoardPostOut}, summary="Post to the message board (residents)")
def create_post(request, payload: BoardPostIn):
    created = board.post(request.auth, **payload.dict())
    return Status(201, _one(request, created.pk))


@router.get("/board/posts/{post_id}", response=BoardPostOut, summary="A post with its replies")
def get_post(request, post_id: int):
    return _one(request, post_id)


@router.post(
    "/board/posts/{post_id}/photos",
    response={201: BoardPostOut},
    openapi_extra=CONFLICT,
    summary="Add photos to one's post while it waits for a reply (multipart, up to 9 in all)",
)
def add_photos(request, post_id: int, photos: list[UploadedFile] = File(None)):
    board.add_photos(request.auth, post_id, photos or [])
    return Status(201, _one(request, post_id))


@router.post(
    "/board/posts/{post_id}/me-too", response={200: BoardPostOut, 201: BoardPostOut}, summary="Me too"
)
def me_too(request, post_id: int):
    _post, added = board.me_too(request.auth, post_id)
    return Status(201 if added else 200, _one(request, post_id))


class BoardTextIn(Schema):
    text: str


@router.post(
    "/board/posts/{post_id}/replies", response={201: BoardPostOut}, summary="Reply (staff of the grid)"
)
def reply(request, post_id: int, payload: BoardTextIn):
    board.reply(request.auth, post_id, payload.text)
    return Status(201, _one(request, post_id))


class BoardRatingIn(Schema):
    rating: str = Field(description="satisfied, basically or unsatisfied")


@router.post("/board/posts/{post_id}/rate", response=BoardPostOut, summary="Rate the reply (the author)")
def rate(request, post_id: int, payload: BoardRatingIn):
    board.rate(request.auth, post_id, payload.rating)
    return _one(request, post_id)


class BoardReasonIn(Schema):
    reason: str


@router.post(
    "/board/posts/{post_id}/hide", response=BoardPostOut, summary="Hide a post, with the reason (staff)"
)
def hide(request, post_id: int, payload: BoardReasonIn):
    board.hide(request.auth, post_id, payload.reason)
    return _one(request, post_id)


class BoardCaseIn(Schema):
    category_id: int


@router.post(
    "/board/posts/{post_id}/case",
    response={201: BoardPostOut},
    summary="Take a post up as a case, reported for its author (staff)",
)
def to_case(request, post_id: int, payload: BoardCaseIn):
    board.to_case(request.auth, post_id, payload.category_id)
    return Status(201, _one(request, post_id))


class BoardFigures(Schema):
    posts: int
    replied: int
    on_time: int
    rated: int
    satisfied: int = Field(description="satisfied or basically satisfied")
    reply_rate: float | None
    on_time_rate: float | None = Field(description="replied in time ÷ posts")
    satisfaction: float | None = Field(description="satisfied ÷ rated")


class BoardAreaFigures(BoardFigures):
    code: str
    name: str


class BoardFiguresOut(Schema):
    period: dict
    totals: BoardFigures
    areas: list[BoardAreaFigures]


@router.get(
    "/board/figures",
    response=BoardFiguresOut,
    summary="Message-board figures of a period: posts, reply and on-time rates, satisfaction per area",
)
def board_figures(request):
    """The period as for the analytics rankings, grid=a grid code in your area; for staff with
    grids (403 for others)."""
    from django.core.exceptions import PermissionDenied
    from django.utils.translation import gettext as _

    from gridgov.analytics import periods
    from gridgov.participation import figures

    period = periods.parse(request.GET)
    found = figures.build(request.auth, period, (request.GET.get("grid") or "").strip())
    if found is None:
        raise PermissionDenied(_("Only staff with grids see the message board's figures."))
    return {"period": period.as_dict(), **found}


# --- deliberation ------------------------------------------------------------------------------------


class ProposalIn(Schema):
    title: str
    body: str
    grid_code: str = Field("", description="a resident's: default my home grid, or a grid above it")
    post_id: int | None = Field(None, description="staff: a message-board post this proposal comes from")


class VoteResultOut(Schema):
    votes: list[dict] = Field(description="each option with its count")
    cast: int
    eligible: int
    turnout: float | None
    quorum_met: bool
    winner: str | None = Field(description="the option that carried, if quorum and majority were met")


class VoteOut(Schema):
    id: int
    question: str
    options: list[str]
    abstain: int | None
    electorate: str
    secret: bool
    quorum: int
    majority: str
    eligible: int
    closes_at: datetime
    state: str
    i_voted: bool
    result: VoteResultOut | None = Field(description="once closed")


class MeetingOut(Schema):
    id: int
    kind: str
    place: str
    starts_at: datetime
    invited: int
    attended: int
    minutes: str
    files: list[BoardFileOut]


class FollowUpOut(Schema):
    number: str
    state: str
    state_label: str
    result: str = Field(description="once closed; masked")


class CommentOut(Schema):
    author: str = Field(description="masked for residents, 'me' for one's own")
    text: str
    created_at: datetime


class ProposalOut(Schema):
    id: int
    title: str
    body: str
    grid: GridRef
    state: str
    state_label: str
    reason: str
    decision: str
    post_id: int | None
    created_at: datetime
    decided_at: datetime | None
    votes: list[VoteOut]
    meetings: list[MeetingOut]
    follow_ups: list[FollowUpOut]
    comments: list[CommentOut]


# What a proposal's page shows, read with the proposals in a fixed number of queries.
PROPOSAL_PARTS = (
    "votes",
    "meetings__invited",
    "meetings__attended",
    "meetings__attachments",
    "follow_ups__case",
    "comments__author",
)


def proposals_out(user, proposals) -> list[dict]:
    """A page of proposals (prefetched with PROPOSAL_PARTS) and the user's ballots, read once."""
    from gridgov.participation.models import Ballot

    proposals = list(proposals)
    votes = [v.pk for p in proposals for v in p.votes.all()]
    mine = set(Ballot.objects.filter(vote__in=votes, voter=user).values_list("vote_id", flat=True))
    return [proposal_out(user, p, mine) for p in proposals]


def proposal_out(user, proposal, mine: set[int]) -> dict:
    votes = list(proposal.votes.all())
    return {
        "id": proposal.pk,
        "title": proposal.title,
        "body": proposal.body,
        "grid": {"code": proposal.grid.code, "name": proposal.grid.name},
        "state": proposal.state,
        "state_label": proposal.get_state_display(),
        "reason": proposal.reason,
        "decision": proposal.decision,
        "post_id": proposal.post_id,
        "created_at": proposal.created_at,
        "decided_at": proposal.decided_at,
        "votes": [
            {
                "id": v.pk,
                "question": v.question,
                "options": v.options,
                "abstain": v.abstain,
                "electorate": v.electorate,
                "secret": v.secret,
                "quorum": v.quorum,
                "majority": v.majority,
                "eligible": v.eligible,
                "closes_at": v.closes_at,
                "state": v.state,
                "i_voted": v.pk in mine,
                "result": v.result or None,
            }
            for v in votes
        ],
        "meetings": [
            {
                "id": m.pk,
                "kind": m.kind,
                "place": m.place,
                "starts_at": m.starts_at,
                "invited": len(m.invited.all()),
                "attended": len(m.attended.all()),
                "minutes": m.minutes,
                "files": [file_out(a) for a in m.attachments.all()],
            }
            for m in proposal.meetings.all()
        ],
        "follow_ups": [_follow_up_out(f.case) for f in proposal.follow_ups.all()],
        "comments": [
            {
                "author": "me" if c.author_id == user.pk else mask_name(c.author.name or c.author.username),
                "text": c.text,
                "created_at": c.created_at,
            }
            for c in proposal.comments.all()
        ],
    }


def _follow_up_out(case) -> dict:
    result = mask_text(case.result) if case.state == case.State.CLOSED else ""
    return {
        "number": case.number,
        "state": case.state,
        "state_label": case.get_state_display(),
        "result": result,
    }


def _proposal(request, proposal_id: int) -> dict:
    found = deliberation.readable_proposal(request.auth, proposal_id, parts=PROPOSAL_PARTS)
    return proposals_out(request.auth, [found])[0]


@router.post("/board/proposals", response={201: ProposalOut}, summary="Propose a matter for deliberation")
def propose(request, payload: ProposalIn):
    made = deliberation.propose(request.auth, **payload.dict())
    return Status(201, _proposal(request, made.pk))


@router.get("/board/proposals", response=list[ProposalOut], summary="Proposals of my area, newest first")
@paginate(Pagination)
def list_proposals(request):
    rows = deliberation.readable_proposals(request.auth).prefetch_related(*PROPOSAL_PARTS)
    return LazyPage(rows, out_page=lambda page: proposals_out(request.auth, page))


@router.get("/board/proposals/{proposal_id}", response=ProposalOut, summary="A proposal with its votes")
def get_proposal(request, proposal_id: int):
    return _proposal(request, proposal_id)


class DecisionIn(Schema):
    decision: str


@router.post(
    "/board/proposals/{proposal_id}/accept",
    response=ProposalOut,
    openapi_extra=CONFLICT,
    summary="Accept a proposal for discussion (staff of the area)",
)
def accept(request, proposal_id: int):
    deliberation.accept(request.auth, proposal_id)
    return _proposal(request, proposal_id)


@router.post(
    "/board/proposals/{proposal_id}/decline",
    response=ProposalOut,
    openapi_extra=CONFLICT,
    summary="Decline a proposal, with the reason (staff of the area)",
)
def decline(request, proposal_id: int, payload: BoardReasonIn):
    deliberation.decline(request.auth, proposal_id, payload.reason)
    return _proposal(request, proposal_id)


@router.post(
    "/board/proposals/{proposal_id}/decide",
    response=ProposalOut,
    openapi_extra=CONFLICT,
    summary="Publish the decision (staff of the area, no vote open)",
)
def decide(request, proposal_id: int, payload: DecisionIn):
    deliberation.decide(request.auth, proposal_id, payload.decision)
    return _proposal(request, proposal_id)


class VoteIn(Schema):
    question: str
    options: list[str] | None = Field(None, description="default 赞成 / 反对 / 弃权")
    abstain: int | None = Field(None, description="the option that counts for turnout only (default 弃权)")
    electorate: str = Field(description="residents or representatives")
    secret: bool = False
    quorum: int = Field(50, description="% of those eligible who must vote")
    majority: str = Field("simple", description="simple or two_thirds of the votes for or against")
    days: int = Field(7, description="open for this many days")


@router.post(
    "/board/proposals/{proposal_id}/votes",
    response={201: ProposalOut},
    openapi_extra=CONFLICT,
    summary="Put a proposal to a vote (staff of the area)",
)
def open_vote(request, proposal_id: int, payload: VoteIn):
    data = payload.dict(exclude_unset=True)
    deliberation.open_vote(request.auth, proposal_id, data)
    return Status(201, _proposal(request, proposal_id))


class BallotIn(Schema):
    choice: int = Field(description="the option's number, from 0")


@router.post(
    "/board/votes/{vote_id}/ballots",
    response={201: dict},
    openapi_extra=CONFLICT,
    summary="Vote (once; a secret ballot keeps only that you voted)",
)
def cast(request, vote_id: int, payload: BallotIn):
    deliberation.cast(request.auth, vote_id, payload.choice)
    return Status(201, {"voted": True})


@router.post(
    "/board/votes/{vote_id}/close",
    response=ProposalOut,
    openapi_extra=CONFLICT,
    summary="Close a vote and count it (staff of the area)",
)
def close_vote(request, vote_id: int):
    vote = deliberation.close(request.auth, vote_id)
    return _proposal(request, vote.proposal_id)


class MeetingIn(Schema):
    kind: str = Field(description="meeting or hearing")
    place: str
    starts_at: datetime
    invited: list[int] = Field(description="user ids of people of the area")


@router.post(
    "/board/proposals/{proposal_id}/meetings",
    response={201: ProposalOut},
    openapi_extra=CONFLICT,
    summary="Schedule a meeting or hearing on a proposal (staff of the area)",
)
def schedule_meeting(request, proposal_id: int, payload: MeetingIn):
    deliberation.schedule(request.auth, proposal_id, **payload.dict())
    return Status(201, _proposal(request, proposal_id))


class MeetingRecordIn(Schema):
    attended: list[int]
    minutes: str = ""


@router.post(
    "/board/meetings/{meeting_id}/record",
    response=ProposalOut,
    summary="Record who came and the minutes (staff of the area)",
)
def record_meeting(request, meeting_id: int, payload: MeetingRecordIn):
    meeting = deliberation.record_meeting(request.auth, meeting_id, **payload.dict())
    return _proposal(request, meeting.proposal_id)


@router.post(
    "/board/meetings/{meeting_id}/files",
    response={201: ProposalOut},
    summary="Attach photos or PDFs to a meeting: the sign-in sheet, the signed minutes (multipart)",
)
def meeting_files(request, meeting_id: int, files: list[UploadedFile] = File(None)):
    stored = deliberation.attach(request.auth, meeting_id, files or [])
    return Status(201, _proposal(request, stored[0].meeting.proposal_id))


@router.post(
    "/board/proposals/{proposal_id}/follow-ups",
    response={201: ProposalOut},
    openapi_extra=CONFLICT,
    summary="Open a case to carry out the decision (staff of the area)",
)
def follow_up(request, proposal_id: int, payload: BoardCaseIn):
    deliberation.follow_up(request.auth, proposal_id, payload.category_id)
    return Status(201, _proposal(request, proposal_id))


@router.post(
    "/board/proposals/{proposal_id}/comments",
    response={201: ProposalOut},
    openapi_extra=CONFLICT,
    summary="Comment in a proposal's discussion (those who read it)",
)
def comment(request, proposal_id: int, payload: BoardTextIn):
    deliberation.comment(request.auth, proposal_id, payload.text)
    return Status(201, _proposal(request, proposal_id))


# --- elections of representatives ---------------------------------------------------------------------


class ElectionIn(Schema):
    grid_code: str = Field(description="the area (a grid of one's scope)")
    starts_on: str = Field(description="the term, YYYY-MM-DD")
    ends_on: str
    candidates: list[int] = Field(description="user ids of residents of the area with a verified home")
    days: int = Field(7, description="open for this many days")
    quorum: int = Field(50, description="% of those eligible who must vote")


class CandidateOut(Schema):
    id: int
    name: str = Field(description="in full: candidates stand in public")
    votes: int | None = Field(description="once closed")
    elected: bool


class ElectionOut(Schema):
    id: int
    grid: GridRef
    seats: int
    starts_on: str
    ends_on: str
    quorum: int
    eligible: int
    closes_at: datetime
    state: str
    i_voted: bool
    candidates: list[CandidateOut]
    result: dict | None = Field(description="once closed: cast, turnout, quorum_met, tied, unfilled")


def elections_out(user, elections) -> list[dict]:
    from gridgov.participation.models import ElectionBallot

    elections = list(elections)
    mine = set(
        ElectionBallot.objects.filter(election__in=elections, voter=user).values_list(
            "election_id", flat=True
        )
    )
    return [
        {
            "id": e.pk,
            "grid": {"code": e.grid.code, "name": e.grid.name},
            "seats": e.seats,
            "starts_on": e.starts_on.isoformat(),
            "ends_on": e.ends_on.isoformat(),
            "quorum": e.quorum,
            "eligible": e.eligible,
            "closes_at": e.closes_at,
            "state": e.state,
            "i_voted": e.pk in mine,
            "candidates": [
                {
                    "id": c.pk,
                    "name": c.user.name or c.user.username,
                    # Running counts stay unseen until the count, so nobody votes on a trend.
                    "votes": c.votes if e.state == e.State.CLOSED else None,
                    "elected": c.elected,
                }
                for c in e.candidates.all()
            ],
            "result": e.result or None,
        }
        for e in elections
    ]


def _election(request, election_id: int) -> dict:
    found = elections.readable_election(request.auth, election_id, parts=("candidates__user",))
    return elections_out(request.auth, [found])[0]


@router.post(
    "/board/elections",
    response={201: ElectionOut},
    # 404: the area named by grid_code is outside one's scope
    openapi_extra={"responses": {**CONFLICT["responses"], "404": {"description": ERROR_TEXTS["404"]}}},
    summary="Open an election of the area's representatives for a term (staff of the area)",
)
def open_election(request, payload: ElectionIn):
    made = elections.open_election(request.auth, payload.dict())
    return Status(201, _election(request, made.pk))


@router.get("/board/elections", response=list[ElectionOut], summary="Elections of my areas, newest first")
@paginate(Pagination)
def list_elections(request):
    rows = elections.readable(request.auth).select_related("grid").prefetch_related("candidates__user")
    return LazyPage(
        rows.order_by("-opened_at", "-id"), out_page=lambda page: elections_out(request.auth, page)
    )


@router.get("/board/elections/{election_id}", response=ElectionOut, summary="An election with its candidates")
def get_election(request, election_id: int):
    return _election(request, election_id)


class ElectionBallotIn(Schema):
    choices: list[int] = Field(description="candidate ids, 1 to as many as there are seats")


@router.post(
    "/board/elections/{election_id}/ballots",
    response={201: ElectionOut},
    openapi_extra=CONFLICT,
    summary="Vote (residents of the area with a verified home; secret, once)",
)
def cast_election_ballot(request, election_id: int, payload: ElectionBallotIn):
    elections.cast(request.auth, election_id, payload.choices)
    return Status(201, _election(request, election_id))


@router.post(
    "/board/elections/{election_id}/close",
    response=ElectionOut,
    summary="Count the election and seat those elected (staff of the area)",
)
def close_election(request, election_id: int):
    elections.close(request.auth, election_id)
    return _election(request, election_id)
