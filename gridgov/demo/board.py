"""A year of the message board (民意直通车) in the demo district: residents' suggestions,
complaints and questions to their grid or community, most answered by the grid's staff within the
time limit, some late, some rated, a few hidden, the newest still waiting (their lights as the
clock gives them). Written like the board writes them: masked public texts, the due time from the
working calendar."""

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from gridgov.accounts.models import Assignment, Role
from gridgov.cases.lights import light_for
from gridgov.demo.builder import Profile
from gridgov.demo.volunteers import historical_times
from gridgov.participation import board
from gridgov.participation.models import MeToo, Post, Reply
from gridgov.privacy.masking import mask_text
from gridgov.worktime.services import add_time, elapsed_share

POSTS_PER_GRID = 12  # about one a month in every grid
TOPICS = [
    ("suggestion", "小区增设电动车充电桩", "楼下电动车越来越多，飞线充电很危险，建议在车棚增设充电桩。"),
    ("suggestion", "希望增加老年活动室开放时间", "老年活动室下午四点就关门，希望延长到晚上八点。"),
    ("complaint", "夜间施工噪音扰民", "工地晚上十一点还在施工，影响休息，请相关部门管一管。"),
    ("complaint", "楼道堆放杂物", "3单元楼道长期堆放纸箱和旧家具，存在消防隐患。"),
    ("question", "垃圾分类投放时间", "请问小区垃圾分类定时投放是几点到几点？"),
    ("question", "老年证怎么办理", "家里老人满70岁了，老年优待证在哪里办理，需要带什么材料？"),
    ("suggestion", "路口增设减速带", "学校门口的路口车速太快，建议增设减速带和提示牌。"),
    ("complaint", "路灯不亮", "小区东门路灯坏了半个月，晚上出行不便，联系电话13812345678。"),
]
REPLIES = [
    "已收到，我们已联系物业现场查看，本周内处理。",
    "已转相关部门办理，处理结果会在这里告知。",
    "感谢建议，社区将在下次居民议事会上讨论。",
    "已答复：时间为每天早7点至9点、晚6点至8点。",
]
HIDE_REASONS = ["含有他人隐私信息", "与本社区无关的广告"]


def _authors() -> dict[str, list[int]]:
    """Residents by their home grid's code: the demo's reporting residents, not its volunteers
    (the volunteers' build can be redone on its own, with their accounts)."""
    found: dict[str, list[int]] = {}
    rows = Assignment.objects.filter(
        role=Role.RESIDENT, is_active=True, grid__isnull=False, user__volunteer__isnull=True
    )
    for user_id, code in rows.values_list("user_id", "grid__code").order_by("user_id"):
        found.setdefault(code, []).append(user_id)
    return found


def _answerers() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    rows = Assignment.objects.filter(role__in=(Role.GRID_WORKER, Role.GRID_LEADER), is_active=True)
    for user_id, code in rows.values_list("user_id", "grid__code").order_by("user_id"):
        found.setdefault(code, []).append(user_id)
    return found


@transaction.atomic
def build_board(profile: Profile, seed: int = 2026, now: datetime | None = None) -> dict[str, int]:
    rng, now = random.Random(seed), now or timezone.now()
    authors, answerers = _authors(), _answerers()
    amount, unit = board.reply_limit()
    from gridgov.grids.models import Grid

    posts, replies, plans = [], [], []
    for grid in Grid.objects.filter(level=3).order_by("code"):
        people = authors.get(grid.code) or []
        staff = answerers.get(grid.code) or []
        if not people or not staff:
            continue
        for _n in range(POSTS_PER_GRID):
            kind, title, body = rng.choice(TOPICS)
            at = now - timedelta(days=rng.uniform(0.2, 365), minutes=rng.randint(0, 600))
            due = add_time(at, amount, unit).at
            target = grid if rng.random() < 0.8 else (grid.parent or grid)
            posts.append(
                Post(
                    author_id=rng.choice(people),
                    grid=target,
                    kind=kind,
                    title=title,
                    body=body,
                    title_public=mask_text(title),
                    body_public=mask_text(body),
                    is_public=rng.random() < 0.9,
                    created_at=at,
                    reply_due=due,
                    reply_unit=unit,
                )
            )
            plans.append(staff)
    counts = {"posts": 0, "replies": 0, "late": 0, "hidden": 0, "waiting": 0, "me too": 0}
    with historical_times(Reply, MeToo):
        # Each post's outcome (hidden, waiting, replied, rated) is decided before the posts are
        # written, so they are written once as they end up (a bulk_update of 2,000 posts' eight
        # fields, one CASE per field, took longer than the rest of the board).
        for found, staff in zip(posts, plans, strict=True):
            counts["posts"] += 1
            roll = rng.random()
            if roll < 0.03:
                found.state, found.hidden_reason = Post.State.HIDDEN, rng.choice(HIDE_REASONS)
                found.hidden_by_id = staff[0]
                counts["hidden"] += 1
                continue
            if found.reply_due > now and roll < 0.3:  # recent ones still waiting for the staff
                found.light = light_for(
                    elapsed_share(found.created_at, found.reply_due, now, found.reply_unit)
                )
                counts["waiting"] += 1
                continue
            late = rng.random() < 0.08
            span = (found.reply_due - found.created_at).total_seconds()
            at = found.created_at + timedelta(
                seconds=span * (rng.uniform(1.05, 1.6) if late else rng.uniform(0.05, 0.9))
            )
            at = min(at, now)
            text = rng.choice(REPLIES)
            replies.append(
                Reply(post=found, author_id=rng.choice(staff), text=text, text_public=text, created_at=at)
            )
            found.state, found.replied_at, found.replied_on_time = (
                Post.State.REPLIED,
                at,
                at <= found.reply_due,
            )
            found.light = Post.Light.RED if late else Post.Light.GREEN
            counts["replies"] += 1
            counts["late"] += late
            if rng.random() < 0.55:
                found.rating = rng.choices(Post.Rating.values, weights=[70, 20, 10])[0]
                found.rated_at = at + timedelta(hours=rng.uniform(1, 48))
        Post.objects.bulk_create(posts, batch_size=1000)
        Reply.objects.bulk_create(replies, batch_size=1000)
        voices = []
        for found in posts:
            neighbours = [u for u in authors.get(found.grid.code, []) if u != found.author_id]
            if found.is_public and found.state != Post.State.HIDDEN and neighbours and rng.random() < 0.3:
                for user_id in rng.sample(neighbours, min(len(neighbours), rng.randint(1, 5))):
                    voices.append(
                        MeToo(
                            post=found,
                            user_id=user_id,
                            created_at=min(now, found.created_at + timedelta(hours=rng.uniform(1, 96))),
                        )
                    )
        MeToo.objects.bulk_create(voices, batch_size=1000)
        counts["me too"] = len(voices)
    return counts


PROPOSALS = [
    ("老旧小区加装电梯", "6层以上住宅楼居民多为老人，建议由居民议事会商议加装电梯和费用分摊方案。"),
    ("小区停车位重新划线", "小区停车难，建议重新规划停车位，增设临时停车区。"),
    ("增设电动车集中充电点", "为消除飞线充电隐患，建议在车棚增设集中充电点。"),
    ("开设社区老年食堂", "建议利用社区用房开设老年食堂，解决独居老人吃饭难。"),
]
PROPOSALS_PER_COMMUNITY = 2


def _leader_of(community) -> int | None:
    row = Assignment.objects.filter(role=Role.LEADER, is_active=True, grid=community).values_list(
        "user_id", flat=True
    )
    return row.first()


def build_deliberation(seed: int = 2026, now: datetime | None = None) -> dict[str, int]:
    """A few dozen proposals by residents, accepted, put to their community's residents, voted on
    and decided (one declined in every few), through the deliberation services; dated over the
    past year afterwards. Representatives: the community's seats, elected by its residents.
    Most residents' homes are verified (as the registry's phone match does); a few wait for
    their grid's staff, who find them on the elections page."""
    with transaction.atomic():
        return _build_deliberation(seed, now)


def _build_deliberation(seed: int, now: datetime | None) -> dict[str, int]:
    from gridgov.grids.models import Grid
    from gridgov.participation import deliberation
    from gridgov.participation.models import Proposal, Vote

    rng, now = random.Random(seed + 1), now or timezone.now()
    counts = {"proposals": 0, "votes": 0, "ballots": 0, "representatives": 0}
    demo_resident = Assignment.objects.filter(user__username="resident", role=Role.RESIDENT)
    demo_resident.update(home_verified_at=now - timedelta(days=300))  # the demo login votes
    residents = _authors()
    for community in Grid.objects.filter(level=2).order_by("code"):
        leader = _leader_of(community)
        people = sorted(
            u for code, users in residents.items() if code.startswith(community.code) for u in users
        )
        if leader is None or len(people) < 2:
            continue
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.in_bulk(people)
        staff = get_user_model().objects.get(pk=leader)
        people = _verify_most(rng, community, people, staff)
        counts["representatives"] += _elect(rng, community, people, users, staff, now)
        for n in range(PROPOSALS_PER_COMMUNITY):
            title, body = rng.choice(PROPOSALS)
            made = deliberation.propose(
                users[rng.choice(people)], title=title, body=body, grid_code=community.code
            )
            counts["proposals"] += 1
            if rng.random() < 0.15:
                deliberation.decline(staff, made.pk, "已纳入街道年度实事项目统一实施")
                continue
            deliberation.accept(staff, made.pk)
            vote = deliberation.open_vote(
                staff,
                made.pk,
                {"question": f"是否同意：{title}？", "electorate": "residents", "secret": n % 2 == 1},
            )
            counts["votes"] += 1
            for user_id in people:
                if rng.random() < 0.8:
                    deliberation.cast(
                        users[user_id], vote.pk, rng.choices([0, 1, 2], weights=[70, 20, 10])[0]
                    )
                    counts["ballots"] += 1
            closed = deliberation.close(staff, vote.pk)
            winner = closed.result.get("winner")
            deliberation.decide(
                staff,
                made.pk,
                f"表决结果：{winner or '未通过'}。" + ("按决议组织实施。" if winner else "暂缓实施。"),
            )
            when = now - timedelta(days=rng.uniform(20, 360))
            Proposal.objects.filter(pk=made.pk).update(created_at=when, decided_at=when + timedelta(days=14))
            Vote.objects.filter(pk=vote.pk).update(
                opened_at=when + timedelta(days=5), closes_at=when + timedelta(days=12)
            )
    return counts


def _verify_most(rng, community, people: list[int], staff) -> list[int]:
    """Nine in ten residents verified, never none (a community of two may otherwise have no one
    to propose and vote); the verified ones, who vote."""
    verified = [u for n, u in enumerate(people) if n == 0 or rng.random() < 0.9]
    Assignment.objects.filter(role=Role.RESIDENT, user_id__in=verified).update(
        home_verified_at=timezone.now(), home_verified_by=staff
    )
    return verified


def _elect(rng, community, people: list[int], users: dict, staff, now: datetime) -> int:
    """The community's election of this term, held 400 days ago through the election services."""
    from gridgov.participation import elections
    from gridgov.participation.models import Election

    starts = (now - timedelta(days=400)).date()
    seats = elections.free_seats(community, starts, starts + timedelta(days=1400))
    if not seats or not people:
        return 0
    candidates = people[: seats + 1]
    election = elections.open_election(
        staff,
        {
            "grid_code": community.code,
            "starts_on": starts.isoformat(),
            "ends_on": (starts + timedelta(days=1400)).isoformat(),
            "candidates": candidates,
            "quorum": 50,
        },
    )
    ids = list(election.candidates.values_list("pk", flat=True))
    for user_id in people:
        if rng.random() < 0.85:
            elections.cast(users[user_id], election.pk, rng.sample(ids, rng.randint(1, min(seats, len(ids)))))
    elections.close(staff, election.pk)
    Election.objects.filter(pk=election.pk).update(
        opened_at=now - timedelta(days=420), closes_at=now - timedelta(days=413)
    )
    return election.candidates.filter(elected=True).count()
