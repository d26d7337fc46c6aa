"""Volunteers for the demo district (issue 15), written in bulk.

Sized like the real system of seed 002 (枫桥镇): ≈ 1,800 volunteers, ≈ 230 activities over the
past year (and ~10 upcoming ones open for sign-up) and 121 interest groups for fengqiao's 178
level-3 grids; other profiles in proportion to their level-3 grids.

Every row is what the services (`volunteers.services`) would have written at its moment:
- volunteers are resident accounts (a resident assignment on their home grid, a phone to log in
  with) who applied to serve that grid; the grid's managers decided — mostly approved, some
  pending, refused or suspended (a few suspended and reinstated) — each step a `VolunteerLog`
  entry with its actor and reason, as `apply` and `decide` write them;
- teams are registry organizations (when the registry was built) led by an approved volunteer
  of the organization's grid, their members joined with a log entry each (`create_team`, `add_member`);
- activities are published by a manager of their grid at a point inside it, to a level-3 grid,
  a community or a street; sign-ups and cancellations run through the waiting list as
  `sign_up`, `cancel_signup` and `_promote` decide; attendance has check-in and check-out times
  and methods (a few set by the organizer, with the `correct_times` log entry); closing marks
  the no-shows, checks out those still in, and writes the EARN entries from `services.points_for`;
- the ledger only grows and no balance ever goes below zero: orders are placed in time order
  against the balance at that moment, cancelled orders are refunded, a few managers' awards;
- interest groups belong to communities, with members joining and leaving and a few notices
  (with the members' in-app notifications, as `post_group_notice` sends them).

Timestamps that the models stamp on creation (`auto_now_add`) are set to the past moment the
row stands for, through `historical_times`.
"""

import random
from bisect import bisect_right
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import shapely
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from faker import Faker

from gridgov.accounts.models import Assignment, Role, User
from gridgov.cases.models import Notification
from gridgov.demo.builder import DEMO_PASSWORD, Profile, _allocate
from gridgov.grids import geometry
from gridgov.grids.codes import code_length
from gridgov.grids.models import Grid
from gridgov.population.models import Organization
from gridgov.volunteers import services
from gridgov.volunteers.models import (
    Activity,
    ActivityLog,
    Attendance,
    ExpiryPolicy,
    GroupMember,
    GroupNotice,
    InterestGroup,
    Order,
    PointEntry,
    ShopItem,
    Signup,
    Team,
    Volunteer,
    VolunteerLog,
)

# --- sizes ---------------------------------------------------------------------------------------

FENGQIAO_GRIDS = 178  # the level-3 grids the seed's figures are for
TARGETS = {"volunteers": 1800, "activities": 230, "upcoming": 10, "groups": 121}

# What became of the applications (the rest approved); of the approved, some were suspended
# for a while and reinstated; of the pending, some had been refused before and applied again.
P_APPLIED, P_REFUSED, P_SUSPENDED = 0.05, 0.04, 0.05
P_REINSTATED, P_REAPPLIED = 0.03, 0.15
# Where activities are published: a level-3 grid, its community or its street.
ACTIVITY_LEVELS = ((3, 0.7), (2, 0.2), (1, 0.1))
QUOTAS = {3: (4, 10), 2: (8, 20), 1: (15, 40)}
P_CANCEL, P_ATTEND = 0.08, 0.9
P_QR, P_CORRECTED, P_NO_CHECK_OUT = 0.62, 0.04, 0.16
TEAM_SHARE = 0.35  # level-3 grids with organizations that got a volunteer team
P_AWARD = 0.05
ORDERS = ((0, 0.62), (1, 0.3), (2, 0.08))  # orders per approved volunteer
P_LEFT_GROUP, P_CLOSED_GROUP, P_NOTICES = 0.1, 0.04, 0.4

# --- texts ---------------------------------------------------------------------------------------

SKILLS = ("急救", "理发", "心理疏导", "法律咨询", "驾驶", "摄影", "书法", "电脑维修", "英语", "家电维修",
          "医护", "文艺表演", "手语", "烹饪")
AVAILABILITY = ("周末", "工作日晚上", "周三下午", "随时", "节假日", "工作日白天", "周末上午")
REFUSE_REASONS = ("所选服务网格不是居住地，请重新选择后申请", "联系电话无法接通，请核实后重新申请",
                  "未满十八周岁，请在监护人陪同下报名", "申请信息不完整，请补充后重新申请")
SUSPEND_REASONS = ("连续三次报名后未到场", "长期未参加活动，暂停服务", "本人申请暂停（外出务工）",
                   "服务中与居民发生争执，暂停待查")
REINSTATE_REASONS = ("本人申请恢复服务，已谈话提醒", "返回社区居住，恢复服务", "核查后情况属实，恢复服务")
CORRECT_REASONS = ("手机没电，由组织者补录签到签退", "老人志愿者不会使用扫码，现场登记后补录",
                   "定位信号差无法签到，组织者补录")
AWARD_REASONS = ("参加防汛抢险表现突出", "年度优秀志愿者", "协助疫情防控值守", "协助民警抓获盗窃嫌疑人",
                 "长期结对帮扶独居老人", "在文明城市创建中表现突出")
STAFF_CANCEL_REASONS = ("该商品暂时缺货，积分已退回", "逾期未领取，订单取消", "志愿者电话申请取消")

# kind: (titles, (start hour, duration hours) choices, weight)
KINDS = {
    Activity.Kind.PATROL: (("平安巡逻", "夜间治安巡逻", "防火安全巡查", "防溺水巡查"),
                           ((19.0, 2.0), (8.5, 3.0)), 18),
    Activity.Kind.ELDERLY_CARE: (("探望独居老人", "助老理发服务", "长者食堂送餐", "陪老人聊天读报"),
                                 ((9.0, 2.5), (14.5, 2.0)), 16),
    Activity.Kind.ENVIRONMENT: (("垃圾分类督导", "河道清洁", "小区环境整治", "清理小广告"),
                                ((7.0, 2.0), (8.5, 3.0), (15.0, 2.0)), 20),
    Activity.Kind.CIVILITY: (("文明交通劝导", "文明养犬宣传", "共享单车整理", "文明餐桌宣传"),
                             ((7.5, 1.5), (16.5, 2.0)), 14),
    Activity.Kind.EPIDEMIC: (("防疫知识宣传", "疫苗接种现场引导", "流感防控宣传"), ((9.0, 3.0),), 6),
    Activity.Kind.GRID_WEDNESDAY: (("网格周三走访", "周三入户走访", "网格周三集中巡查"), ((14.5, 2.5),), 16),
    Activity.Kind.OTHER: (("反诈宣传进社区", "社区义诊服务", "图书漂流", "消防演练协助"),
                          ((9.5, 2.5), (14.0, 2.0)), 10),
}
DESCRIPTIONS = {
    Activity.Kind.PATROL: "沿小区主要道路巡查治安和消防隐患，发现问题及时报告网格员。",
    Activity.Kind.ELDERLY_CARE: "上门看望独居和高龄老人，了解生活需求，帮助做些力所能及的事。",
    Activity.Kind.ENVIRONMENT: "清理卫生死角，指导居民垃圾分类投放。请自带手套。",
    Activity.Kind.CIVILITY: "在路口和小区门口劝导不文明行为，宣传文明城市创建。",
    Activity.Kind.EPIDEMIC: "发放防疫宣传资料，引导居民有序排队，提醒做好个人防护。",
    Activity.Kind.GRID_WEDNESDAY: "跟随网格员入户走访，收集居民诉求和矛盾隐患。",
    Activity.Kind.OTHER: "协助社区开展便民服务，具体分工现场安排。",
}
ADDRESSES = ("{place}党群服务中心", "{place}文化广场", "{place}新时代文明实践站", "{place}{n}号楼前空地",
             "{place}居民活动室", "{road}沿线", "{road}与小区东门交叉口")
SHOP_ITEMS = (("环保购物袋", 20), ("抽纸一提", 40), ("理发券", 40), ("毛巾两条装", 50), ("雨伞", 60),
              ("手电筒", 60), ("洗衣液", 80), ("保温杯", 100), ("大米十斤", 120), ("电影票两张", 120),
              ("食用油五升", 150), ("健康体检券", 300))
ITEMS_PER_STREET = (4, 6)
GROUP_TOPICS = ("太极拳队", "广场舞队", "合唱团", "书法兴趣小组", "摄影小组", "读书会", "园艺小组",
                "象棋协会", "手工编织小组", "乒乓球队", "健步走队", "戏曲社", "葫芦丝班", "剪纸小组",
                "亲子阅读会", "烘焙小组")
GROUP_DESCRIPTIONS = ("每周活动两次，欢迎社区志愿者加入。", "由社区志愿者自发组织，活动免费。",
                      "定期开展交流和展示活动，新手也欢迎。")
NOTICES = ("本周六上午九点在社区活动室集合，请准时参加。", "下周活动暂停一次，恢复时间另行通知。",
           "天气转凉，户外活动改到室内进行。", "请大家报名参加街道组织的展示活动，名额有限。",
           "活动场地改到党群服务中心二楼，请相互转告。")

Window = tuple[datetime, datetime | None]


@contextmanager
def historical_times(*models):
    """Let bulk_create keep the given times in the models' `auto_now_add` fields.

    Those fields stamp the moment of writing, but the demo's rows stand for moments of the
    past year (a certificate counts the points of the year they were written in). The flag is
    switched off on the field objects for the build only and always restored; the demo command
    is one thread, and a forgotten time fails loudly (the columns are NOT NULL)."""
    fields = [f for model in models for f in model._meta.concrete_fields if getattr(f, "auto_now_add", False)]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


def targets(profile: Profile) -> dict[str, int]:
    """The seed's figures for fengqiao, scaled to the profile's level-3 grids."""
    factor = profile.counts[2] / FENGQIAO_GRIDS
    return {name: max(1, round(n * factor)) for name, n in TARGETS.items()}


@dataclass
class Person:
    """A volunteer being built, with what the build needs to know about them later."""

    grid: str  # service grid code (level 3)
    volunteer: Volunteer
    events: list  # (action, at, actor id or None for the volunteer, reason)
    windows: list[Window] = field(default_factory=list)  # when they were approved
    ledger: list = field(default_factory=list)  # (at, amount), kept sorted

    def approved_at(self, moment: datetime) -> bool:
        return any(start <= moment and (end is None or moment < end) for start, end in self.windows)

    def balance_at(self, moment: datetime) -> int:
        return sum(amount for at, amount in self.ledger[: bisect_right(self.ledger, (moment, float("inf")))])

    def add(self, moment: datetime, amount: int) -> None:
        self.ledger.insert(bisect_right(self.ledger, (moment, amount)), (moment, amount))


@dataclass
class Plan:
    """An activity with the people it reached."""

    activity: Activity
    line: str  # its grid's code: it reaches the volunteers whose grid code starts with it
    signups: list = field(default_factory=list)
    attendance: list = field(default_factory=list)


class VolunteerBuilder:
    def __init__(self, profile: Profile, *, seed: int, now: datetime):
        self.profile, self.now = profile, now
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.roads = list(dict.fromkeys(self.fake.street_name() for _ in range(60)))
        self.zone = timezone.get_default_timezone()
        self.targets = targets(profile)
        self.grids = {code: (pk, name, level, boundary) for pk, code, name, level, boundary in
                      Grid.objects.filter(level__in=(1, 2, 3)).order_by("code")
                      .values_list("id", "code", "name", "level", "boundary")}
        self.households = dict(Grid.objects.filter(level=3).values_list("code", "households_estimate"))
        self.managers: dict[str, list[int]] = defaultdict(list)
        for user, code in (Assignment.objects.filter(is_active=True, user__is_active=True,
                                                     role__in=(Role.LEADER, Role.GRID_LEADER),
                                                     grid__level__in=(1, 2, 3))
                           .order_by("user_id", "id").values_list("user_id", "grid__code")):
            self.managers[code].append(user)
        self.superusers = list(User.objects.filter(is_superuser=True, is_active=True)
                               .order_by("id").values_list("id", flat=True))
        self.lengths = {level: code_length(level) for level in (1, 2, 3)}
        self.people: list[Person] = []
        self.by_grid: dict[str, list[Person]] = defaultdict(list)
        self.logs: list[VolunteerLog] = []
        self.entries: list[PointEntry] = []
        self.counts: dict[str, int] = defaultdict(int)
        self._shapes: dict = {}
        self._weights: dict = {}
        self._reach: dict[str, list[Person]] = {}

    # --- small draws ---------------------------------------------------------------------------

    def days(self, low: float, high: float) -> timedelta:
        return timedelta(days=self.rng.uniform(low, high))

    def weighted(self, pairs):
        values, weights = zip(*pairs, strict=True)
        return self.rng.choices(values, weights)[0]

    def moment(self, day: date, hour: float) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(hours=hour)

    def between(self, start: datetime, end: datetime) -> datetime:
        return start + (end - start) * self.rng.random()

    def cut(self, code: str, level: int) -> str:
        return code[: self.lengths[level]]

    def managers_of(self, code: str, *, up_to: int = 1) -> list[int]:
        """Who may manage volunteers of this grid: its own managers, else those of the nearest
        grid above it (not above level `up_to`), else the administrators."""
        level = self.grids[code][2]
        for n in range(level, up_to - 1, -1):
            found = self.managers.get(self.cut(code, n))
            if found:
                return found
        return self.superusers

    def decider(self, grid: str) -> int:
        """A grid leader of the volunteer's grid or a leader of its community."""
        return self.rng.choice(self.managers_of(grid) + self.managers.get(self.cut(grid, 2), []))

    def point_in(self, code: str) -> tuple[float, float]:
        """(lat, lon) of a random point inside the grid's polygon."""
        if code not in self._shapes:
            shape = geometry.parse_polygon(self.grids[code][3])
            shapely.prepare(shape)
            self._shapes[code] = shape
        shape = self._shapes[code]
        minx, miny, maxx, maxy = shape.bounds
        for _attempt in range(100):
            x, y = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if shapely.contains_xy(shape, x, y):
                return y, x
        inside = shape.point_on_surface()
        return inside.y, inside.x

    # --- volunteers ----------------------------------------------------------------------------

    def decision(self, after: datetime) -> datetime:
        return min(after + self.days(0.05, 5), self.now - timedelta(hours=1))

    def life(self, grid: str) -> tuple[str, list, list[Window]]:
        """The volunteer's state, their log and when they were approved."""
        rng, now, State = self.rng, self.now, Volunteer.State
        roll = rng.random()
        if roll < P_APPLIED:
            events = []
            if rng.random() < P_REAPPLIED:
                first = now - self.days(60, 400)
                events += [("apply", first, None, ""),
                           ("refuse", self.decision(first), self.decider(grid), rng.choice(REFUSE_REASONS))]
            return State.APPLIED, [*events, ("apply", now - self.days(0.3, 20), None, "")], []
        applied = now - self.days(20, 900)
        decided = self.decision(applied)
        events = [("apply", applied, None, "")]
        if roll < P_APPLIED + P_REFUSED:
            return State.REFUSED, [*events, ("refuse", decided, self.decider(grid),
                                             rng.choice(REFUSE_REASONS))], []
        events.append(("approve", decided, self.decider(grid), ""))
        if roll < P_APPLIED + P_REFUSED + P_SUSPENDED:
            suspended = decided + (now - decided) * rng.uniform(0.3, 0.95)
            events.append(("suspend", suspended, self.decider(grid), rng.choice(SUSPEND_REASONS)))
            return State.SUSPENDED, events, [(decided, suspended)]
        if rng.random() < P_REINSTATED and now - decided > timedelta(days=60):
            suspended = decided + (now - decided) * rng.uniform(0.2, 0.5)
            back = suspended + (now - suspended) * rng.uniform(0.1, 0.5)
            events += [("suspend", suspended, self.decider(grid), rng.choice(SUSPEND_REASONS)),
                       ("reinstate", back, self.decider(grid), rng.choice(REINSTATE_REASONS))]
            return State.APPROVED, events, [(decided, suspended), (back, None)]
        return State.APPROVED, events, [(decided, None)]

    def person(self, grid: str, user_id: int | None, life=None) -> Person:
        state, events, windows = life or self.life(grid)
        last = events[-1]
        applied = max(at for action, at, _actor, _reason in events if action == "apply")
        decided = last[0] != "apply"
        skills = "、".join(self.rng.sample(SKILLS, self.rng.choice((0, 1, 1, 2))))
        volunteer = Volunteer(user_id=user_id, grid_id=self.grids[grid][0], skills=skills,
                              availability=self.rng.choice(AVAILABILITY), state=state, applied_at=applied,
                              decided_at=last[1] if decided else None,
                              decided_by_id=last[2] if decided else None, reason=last[3] if decided else "")
        person = Person(grid, volunteer, events, windows)
        self.people.append(person)
        self.by_grid[grid].append(person)
        return person

    def demo_resident(self) -> tuple[int, str] | None:
        """The demo resident account and its home grid, when that is a level-3 grid: it serves
        there, approved for over a year, so the resident's pages show a volunteer's year."""
        found = (Assignment.objects.filter(user__username="resident", role=Role.RESIDENT, grid__level=3)
                 .values_list("user_id", "grid__code").first())
        return found

    def build_volunteers(self) -> None:
        grids = sorted(self.households)
        counts = _allocate(self.targets["volunteers"], [max(1, self.households[g]) for g in grids])
        demo = self.demo_resident()
        new_people = []
        for grid, count in zip(grids, counts, strict=True):
            for _n in range(count):
                if demo and demo[1] == grid:
                    applied = self.now - timedelta(days=420)
                    approved = applied + timedelta(days=1)
                    self.person(grid, demo[0], (Volunteer.State.APPROVED,
                                                [("apply", applied, None, ""),
                                                 ("approve", approved, self.decider(grid), "")],
                                                [(approved, None)]))
                    demo = None
                    continue
                new_people.append(self.person(grid, None))
        self.write_users(new_people)
        Volunteer.objects.bulk_create([p.volunteer for p in self.people], batch_size=1000)
        for person in self.people:
            for action, at, actor, reason in person.events:
                self.logs.append(VolunteerLog(volunteer_id=person.volunteer.pk, action=action, reason=reason,
                                              actor_id=actor or person.volunteer.user_id, at=at))
        self.counts["volunteers"] = len(self.people)
        self.counts["approved"] = sum(p.volunteer.state == Volunteer.State.APPROVED for p in self.people)

    def phones(self, count: int) -> list[str]:
        """Mobile numbers no account has yet: a resident logs in by their phone."""
        digest = User._meta.get_field("phone_hash").digest
        taken = set(User.objects.exclude(phone_hash="").values_list("phone_hash", flat=True))
        found = []
        while len(found) < count:
            phone = f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"
            hashed = digest(phone)
            if hashed not in taken:
                taken.add(hashed)
                found.append(phone)
        return found

    def write_users(self, people: list[Person]) -> None:
        """Resident accounts as a first phone login makes them (with a resident assignment on
        their home grid), with the demo password so a demo can also log in as one."""
        password = make_password(DEMO_PASSWORD)
        taken = set(User.objects.filter(username__startswith="v").values_list("username", flat=True))
        names = (f"v{n:05d}" for n in range(1, 10**6) if f"v{n:05d}" not in taken)
        users = [User(username=next(names), name=self.fake.name(), phone=phone, password=password,
                      date_joined=person.volunteer.applied_at - self.days(0, 30))
                 for person, phone in zip(people, self.phones(len(people)), strict=True)]
        User.objects.bulk_create(users, batch_size=500)
        Assignment.objects.bulk_create([Assignment(user_id=u.pk, role=Role.RESIDENT,
                                                   grid_id=self.grids[p.grid][0])
                                        for u, p in zip(users, people, strict=True)], batch_size=1000)
        for user, person in zip(users, people, strict=True):
            person.volunteer.user_id = user.pk

    # --- teams ---------------------------------------------------------------------------------

    def build_teams(self) -> None:
        """Registry organizations become teams, led and joined by approved volunteers of their grid."""
        by_grid = defaultdict(list)
        kinds = (Organization.Kind.SOCIAL, Organization.Kind.PUBLIC, Organization.Kind.COMPANY)
        for pk, name, code in (Organization.objects.filter(kind__in=kinds)
                               .order_by("grid__code", "id").values_list("id", "name", "grid__code")):
            by_grid[self.cut(code, 3)].append((pk, name))
        teams, members = [], []
        for grid in sorted(by_grid):
            ready = [p for p in self.by_grid.get(grid, []) if p.volunteer.state == Volunteer.State.APPROVED]
            if len(ready) < 3 or self.rng.random() >= TEAM_SHARE:
                continue
            organization, name = self.rng.choice(by_grid[grid])
            chosen = self.rng.sample(ready, min(len(ready), self.rng.randint(3, 7)))
            leader = chosen[0]
            # Created while the leader serves (their last approval), joined by the others later.
            since = max(leader.windows[-1][0], *(p.windows[-1][0] for p in chosen))
            created = min(since + self.days(1, 90), self.now - timedelta(days=1))
            actor = self.decider(grid)
            team = Team(organization_id=organization, leader_id=leader.volunteer.pk, created_at=created)
            teams.append(team)
            for n, person in enumerate(chosen):
                joined = created if n == 0 else self.between(created, self.now - timedelta(hours=2))
                members.append((team, person, joined, actor, name))
        Team.objects.bulk_create(teams)
        for team, person, joined, actor, name in members:
            person.volunteer.team_id = team.pk
            self.logs.append(VolunteerLog(volunteer_id=person.volunteer.pk, action=VolunteerLog.Action.TEAM,
                                          actor_id=actor, reason=name, at=joined))
        Volunteer.objects.bulk_update([p.volunteer for _t, p, *_rest in members], ["team"], batch_size=1000)
        self.counts["teams"] = len(teams)

    # --- activities ----------------------------------------------------------------------------

    def activity_grid(self, level: int) -> str:
        """A grid of this level, the more volunteers the likelier."""
        if level not in self._weights:
            weights = defaultdict(int)
            for grid, people in self.by_grid.items():
                weights[self.cut(grid, level)] += len(people)
            codes = sorted(weights)
            self._weights[level] = (codes, [weights[c] for c in codes])
        codes, weights = self._weights[level]
        return self.rng.choices(codes, weights)[0]

    def organizer(self, code: str) -> int:
        """The grid's own manager; for a level-3 grid now and then a leader of its community."""
        if self.grids[code][2] == 3 and self.rng.random() < 0.3:
            return self.rng.choice(self.managers_of(self.cut(code, 2)))
        return self.rng.choice(self.managers_of(code))

    def schedule(self, kind: str, day: date) -> tuple[datetime, datetime]:
        _titles, slots, _weight = KINDS[kind]
        hour, hours = self.rng.choice(slots)
        if kind == Activity.Kind.GRID_WEDNESDAY:  # the Wednesday before a past day, after a future one
            past = day <= timezone.localtime(self.now).date()
            day += timedelta(days=-((day.weekday() - 2) % 7) if past else (2 - day.weekday()) % 7)
        starts = self.moment(day, hour)
        return starts, starts + timedelta(hours=hours)

    def plan(self, code: str, kind: str, day: date, organizer: int | None = None) -> Plan:
        level = self.grids[code][2]
        titles, _slots, _weight = KINDS[kind]
        starts, ends = self.schedule(kind, day)
        place = self.grids[self.cut(code, min(level, 2))][1]
        lat, lon = self.point_in(code)
        rule = self.weighted(((Activity.PointsRule.PER_HOUR, 0.7), (Activity.PointsRule.FIXED, 0.3)))
        per_hour = rule == Activity.PointsRule.PER_HOUR
        points = self.rng.choice((5, 8, 10, 15, 20) if per_hour else (10, 20, 30, 50))
        address = self.rng.choice(ADDRESSES).format(place=place, n=self.rng.randint(1, 30),
                                                    road=self.rng.choice(self.roads))
        deadline = starts - timedelta(hours=self.rng.choice((0, 2, 12, 24)))
        activity = Activity(
            grid_id=self.grids[code][0], title=f"{place}{self.rng.choice(titles)}"[:100], kind=kind,
            description=DESCRIPTIONS[kind], address=address[:200], lat=lat, lon=lon, starts_at=starts,
            ends_at=ends, signup_deadline=deadline, quota=self.rng.randint(*QUOTAS[level]),
            points_rule=rule, points=points, radius_m=self.rng.choice((100, 200, 200, 300)),
            organizer_id=organizer or self.organizer(code),
            created_at=min(deadline, starts) - self.days(2, 14),
        )
        return Plan(activity, code)

    def plans(self) -> list[Plan]:
        """The past year's activities and the upcoming ones; the demo grid leader's grid has a
        few of each kind of moment, and every kind is published at least once."""
        today = timezone.localtime(self.now).date()
        plans = []
        demo = (Assignment.objects.filter(user__username="gridleader", role=Role.GRID_LEADER, grid__level=3)
                .values_list("user_id", "grid__code").first())
        if demo and demo[1] in self.by_grid:
            user, code = demo
            for ago, kind in ((12, Activity.Kind.ENVIRONMENT), (45, Activity.Kind.GRID_WEDNESDAY),
                              (130, Activity.Kind.ELDERLY_CARE)):
                plans.append(self.plan(code, kind, today - timedelta(days=ago), user))
            plans.append(self.plan(code, Activity.Kind.PATROL, today + timedelta(days=3), user))
        missing = [k for k in KINDS if k not in {p.activity.kind for p in plans}]
        upcoming = sum(p.activity.starts_at > self.now for p in plans)
        past = len(plans) - upcoming
        while past < self.targets["activities"]:
            kind = missing[0] if missing else self.weighted((k, v[2]) for k, v in KINDS.items())
            day = today - timedelta(days=self.rng.randint(1, 358))
            plan = self.plan(self.activity_grid(self.weighted(ACTIVITY_LEVELS)), kind, day)
            if plan.activity.ends_at > self.now - timedelta(hours=1):
                continue  # ended too recently (or not yet): draw another day
            plans.append(plan)
            missing = missing[1:]
            past += 1
        while upcoming < self.targets["upcoming"]:
            kind = self.weighted((k, v[2]) for k, v in KINDS.items())
            day = today + timedelta(days=self.rng.randint(2, 14))
            plan = self.plan(self.activity_grid(self.weighted(ACTIVITY_LEVELS)), kind, day)
            plan.activity.created_at = self.now - self.days(0.5, 6)
            plans.append(plan)
            upcoming += 1
        return plans

    def reach(self, code: str) -> list[Person]:
        """The volunteers an activity or a group of this grid reaches (`models.line_q`): those
        whose service grid (level 3) lies inside it."""
        if code not in self._reach:
            self._reach[code] = [p for grid in sorted(self.by_grid) if grid.startswith(code)
                                 for p in self.by_grid[grid]]
        return self._reach[code]

    def queue(self, plan: Plan) -> None:
        """Sign-ups in time order through the quota and the waiting list; some cancel before the
        start and the first on the waiting list moves up (`sign_up`, `cancel_signup`, `_promote`)."""
        activity, rng = plan.activity, self.rng
        opens = activity.created_at
        closes = min(activity.signup_deadline, self.now)
        wanted = round(activity.quota * rng.uniform(0.6, 1.35))
        if activity.starts_at > self.now:
            wanted = round(activity.quota * rng.uniform(0.2, 0.8))
        joins = []
        reached = self.reach(plan.line)
        for person in rng.sample(reached, len(reached)):
            if len(joins) >= wanted:
                break
            at = self.between(opens, closes)
            if person.approved_at(at):
                joins.append((at, person))
        events = [(at, 0, person) for at, person in joins]
        cancel_until = min(activity.starts_at, self.now)
        # Only a place taken before the activity starts can be given up before it (a late join
        # cancelled "earlier" would come before its own sign-up).
        events += [(self.between(at, cancel_until), 1, person) for at, person in joins
                   if rng.random() < P_CANCEL and at < cancel_until]
        states, rows = {}, {}
        for at, cancelling, person in sorted(events, key=lambda e: (e[0], e[1])):
            if not cancelling:
                taken = sum(s == Signup.State.SIGNED_UP for s in states.values())
                full = taken >= activity.quota
                states[id(person)] = Signup.State.WAITING if full else Signup.State.SIGNED_UP
                rows[id(person)] = Signup(volunteer_id=person.volunteer.pk, queued_at=at)
                continue
            held = states[id(person)] == Signup.State.SIGNED_UP
            states[id(person)] = Signup.State.CANCELLED
            rows[id(person)].cancelled_at = at
            waiting = sorted((rows[k].queued_at, k) for k, s in states.items() if s == Signup.State.WAITING)
            if held and waiting:
                states[waiting[0][1]] = Signup.State.SIGNED_UP
        by_id = {id(p): p for _at, p in joins}
        for key, signup in rows.items():
            signup.state = states[key]
            plan.signups.append((signup, by_id[key]))

    def attend(self, plan: Plan) -> None:
        """Check-in and check-out of those with a place, for an activity that has started."""
        activity, rng = plan.activity, self.rng
        if activity.starts_at > self.now:
            return
        early = services.CHECK_IN_EARLY
        for signup, person in plan.signups:
            if (signup.state != Signup.State.SIGNED_UP or rng.random() >= P_ATTEND
                    or not person.approved_at(activity.starts_at)):  # suspended since: a no-show
                continue
            roll = rng.random()
            corrected_at = activity.ends_at + timedelta(minutes=rng.uniform(5, 25))
            if roll < P_CORRECTED and corrected_at < self.now:
                attendance = Attendance(checked_in_at=activity.starts_at, checked_out_at=activity.ends_at,
                                        check_in_method=Attendance.Method.ORGANIZER,
                                        check_out_method=Attendance.Method.ORGANIZER)
                self.correction(plan, person, attendance, corrected_at)
            else:
                method = Attendance.Method.QR if rng.random() < P_QR else Attendance.Method.GEOFENCE
                checked_in = activity.starts_at + timedelta(minutes=rng.uniform(-early.seconds / 60, 20))
                attendance = Attendance(checked_in_at=checked_in, check_in_method=method)
                out = activity.ends_at + timedelta(minutes=rng.uniform(-25, 15))
                if rng.random() >= P_NO_CHECK_OUT and out < self.now:
                    attendance.checked_out_at, attendance.check_out_method = out, method
            attendance.volunteer_id = person.volunteer.pk
            plan.attendance.append((attendance, person))

    def correction(self, plan: Plan, person: Person, attendance: Attendance, at: datetime) -> None:
        """The organizer enters the times of one who could not scan, as `correct_times` logs it."""
        data = {"checked_in_at": [None, attendance.checked_in_at.isoformat()],
                "checked_out_at": [None, attendance.checked_out_at.isoformat()]}
        self.activity_logs.append(ActivityLog(activity=plan.activity, volunteer_id=person.volunteer.pk,
                                              action=ActivityLog.Action.CORRECT,
                                              actor_id=plan.activity.organizer_id,
                                              reason=self.rng.choice(CORRECT_REASONS), data=data, at=at))

    def close(self, plan: Plan) -> None:
        """As `services.close` by the organizer, a while after the end; the latest ones are not
        closed yet."""
        activity = plan.activity
        closed = activity.ends_at + timedelta(hours=self.rng.uniform(0.5, 48))
        if closed >= self.now:
            return
        for attendance, _person in plan.attendance:
            if attendance.checked_out_at is None:
                attendance.checked_out_at = min(closed, activity.ends_at)
                attendance.check_out_method = Attendance.Method.CLOSING
        came = {id(person) for _a, person in plan.attendance}
        no_shows = 0
        for signup, person in plan.signups:
            if signup.state == Signup.State.SIGNED_UP and id(person) not in came:
                signup.state = Signup.State.NO_SHOW
                no_shows += 1
        total = 0
        for attendance, person in plan.attendance:
            amount = services.points_for(attendance, activity)
            if amount > 0:
                total += amount
                person.add(closed, amount)
                self.entries.append(PointEntry(volunteer_id=person.volunteer.pk, amount=amount,
                                               kind=PointEntry.Kind.EARN, reason=activity.title,
                                               approver_id=activity.organizer_id, activity=activity,
                                               created_at=closed))
        activity.state, activity.closed_at = Activity.State.CLOSED, closed
        self.activity_logs.append(ActivityLog(activity=activity, action=ActivityLog.Action.CLOSE,
                                              actor_id=activity.organizer_id, at=closed,
                                              data={"attended": len(plan.attendance), "no_shows": no_shows,
                                                    "points": total}))

    def build_activities(self) -> None:
        self.activity_logs: list[ActivityLog] = []
        plans = self.plans()
        Activity.objects.bulk_create([p.activity for p in plans], batch_size=500)
        for plan in plans:
            self.activity_logs.append(ActivityLog(activity=plan.activity, action=ActivityLog.Action.PUBLISH,
                                                  actor_id=plan.activity.organizer_id,
                                                  at=plan.activity.created_at))
            self.queue(plan)
            self.attend(plan)
            if plan.activity.ends_at < self.now:
                self.close(plan)
        Activity.objects.bulk_update([p.activity for p in plans if p.activity.closed_at],
                                     ["state", "closed_at"], batch_size=500)
        signups = [s for p in plans for s, _person in p.signups]
        for plan in plans:
            for signup, _person in plan.signups:
                signup.activity = plan.activity
            for attendance, _person in plan.attendance:
                attendance.activity = plan.activity
        Signup.objects.bulk_create(signups, batch_size=1000)
        Attendance.objects.bulk_create([a for p in plans for a, _person in p.attendance], batch_size=1000)
        ActivityLog.objects.bulk_create(sorted(self.activity_logs, key=lambda e: e.at), batch_size=1000)
        self.counts["activities"] = len(plans)
        self.counts["upcoming"] = sum(p.activity.starts_at > self.now for p in plans)
        self.counts["signups"] = len(signups)
        self.counts["attendance"] = sum(len(p.attendance) for p in plans)

    # --- points and the shop -------------------------------------------------------------------

    def awards(self) -> None:
        """A few manual awards by a manager of the volunteer's grid, while they serve."""
        for person in self.people:
            if not person.windows or self.rng.random() >= P_AWARD:
                continue
            start, end = self.rng.choice(person.windows)
            at = self.between(start, end or self.now)
            amount = self.rng.choice((10, 20, 30, 50))
            person.add(at, amount)
            self.entries.append(PointEntry(volunteer_id=person.volunteer.pk, amount=amount,
                                           kind=PointEntry.Kind.AWARD, reason=self.rng.choice(AWARD_REASONS),
                                           approver_id=self.decider(person.grid), created_at=at))

    def build_shop(self) -> None:
        """A few items per street, and orders placed in time order against the balance of that
        moment (`place_order`); fulfilled by the street's staff or cancelled and refunded."""
        items: dict[str, list[ShopItem]] = {}
        for code, (pk, name, level, _boundary) in self.grids.items():
            if level != 1:
                continue
            chosen = self.rng.sample(SHOP_ITEMS, self.rng.randint(*ITEMS_PER_STREET))
            items[code] = [ShopItem(name=item, price=price, stock=self.rng.randint(30, 120), grid_id=pk,
                                    pickup_point=f"{name}新时代文明实践站",
                                    created_at=self.now - self.days(380, 420))
                           for item, price in sorted(chosen, key=lambda i: i[1])]
        ShopItem.objects.bulk_create([i for street in items.values() for i in street])
        wishes = []
        for person in self.people:
            for start, end in person.windows:
                start = start + timedelta(days=14)
                end = end or self.now - timedelta(minutes=10)
                if end > start:
                    wishes += [(self.between(start, end), person) for _n in range(self.weighted(ORDERS))]
        orders = []
        for at, person in sorted(wishes, key=lambda w: w[0]):
            balance = person.balance_at(at)
            street = items.get(self.cut(person.grid, 1), [])
            affordable = [i for i in street if i.stock > 0 and i.price <= balance]
            if affordable:
                orders.append(self.order(person, self.rng.choice(affordable), at))
        ShopItem.objects.bulk_update([i for street in items.values() for i in street], ["stock"])
        Order.objects.bulk_create([o for o, _person, _refund in orders], batch_size=1000)
        for order, person, refund in orders:
            self.entries.append(PointEntry(volunteer_id=person.volunteer.pk, amount=-order.points,
                                           kind=PointEntry.Kind.REDEEM, reason=order.item.name, order=order,
                                           created_at=order.placed_at))
            if refund is not None:
                refund.order = order
                self.entries.append(refund)
        self.counts["items"] = sum(len(street) for street in items.values())
        self.counts["orders"] = len(orders)

    def order(self, person: Person, item: ShopItem, at: datetime) -> tuple[Order, Person, PointEntry | None]:
        """One order placed at `at` and what became of it; its refund entry if it was cancelled."""
        rng = self.rng
        item.stock -= 1
        person.add(at, -item.price)
        order = Order(volunteer_id=person.volunteer.pk, item=item, points=item.price, placed_at=at)
        recent = at > self.now - timedelta(days=10)
        S = Order.State
        state = self.weighted(((S.PLACED, 0.6), (S.FULFILLED, 0.3), (S.CANCELLED, 0.1)) if recent
                              else ((S.FULFILLED, 0.88), (S.CANCELLED, 0.12)))
        if state == Order.State.PLACED:
            return order, person, None
        order.state = state
        order.closed_at = min(at + self.days(0.02, 5), self.now - timedelta(minutes=5))
        street = self.cut(person.grid, 1)
        if state == Order.State.FULFILLED:
            order.closed_by_id = rng.choice(self.managers_of(street))
            return order, person, None
        item.stock += 1
        person.add(order.closed_at, item.price)
        by_staff = rng.random() < 0.4
        order.closed_by_id = rng.choice(self.managers_of(street)) if by_staff else person.volunteer.user_id
        order.reason = rng.choice(STAFF_CANCEL_REASONS) if by_staff else ""
        refund = PointEntry(volunteer_id=person.volunteer.pk, amount=item.price, kind=PointEntry.Kind.REFUND,
                            reason=order.reason or item.name, created_at=order.closed_at,
                            approver_id=order.closed_by_id if by_staff else None)
        return order, person, refund

    def write_ledger(self) -> None:
        PointEntry.objects.bulk_create(sorted(self.entries, key=lambda e: e.created_at), batch_size=1000)
        self.counts["ledger"] = len(self.entries)

    # --- interest groups -----------------------------------------------------------------------

    def build_groups(self) -> None:
        """Groups of the communities, each set up by a community leader and run by them or by
        an approved volunteer of the community, with members and a few notices."""
        communities = sorted({self.cut(grid, 2) for grid in self.by_grid})
        wanted = self.targets["groups"]
        order = self.rng.sample(communities, len(communities))
        homes = (order * (wanted // len(order) + 1))[:wanted]
        groups = []
        for community in sorted(set(homes)):
            topics = self.rng.sample(GROUP_TOPICS, min(len(GROUP_TOPICS), homes.count(community)))
            for topic in topics:
                groups.append(self.group(community, topic))
        InterestGroup.objects.bulk_create([g for g, _members, _notices in groups])
        members = [m for g, found, _n in groups for m in found]
        for group, found, _notices in groups:
            for member, _person in found:
                member.group = group
        GroupMember.objects.bulk_create([m for m, _person in members], batch_size=1000)
        notices, notifications = [], []
        for group, found, times in groups:
            for at in times:
                notice, sent = self.notice(group, found, at)
                notices.append(notice)
                notifications += sent
        GroupNotice.objects.bulk_create(notices)
        Notification.objects.bulk_create(notifications, batch_size=1000)
        self.counts["groups"] = len(groups)
        self.counts["members"] = len(members)
        self.counts["notices"] = len(notices)

    def group(self, community: str, topic: str):
        rng = self.rng
        creator = rng.choice(self.managers_of(community))
        created = self.now - self.days(30, 700)
        people = self.reach(community)
        serving = [p for p in people if p.approved_at(created)]
        organizer = rng.choice(serving) if serving and rng.random() < 0.6 else None
        closed = None
        if rng.random() < P_CLOSED_GROUP:
            closed = self.between(created + timedelta(days=20), self.now - timedelta(days=1))
        group = InterestGroup(grid_id=self.grids[community][0], name=f"{self.grids[community][1]}{topic}",
                              description=rng.choice(GROUP_DESCRIPTIONS), created_by_id=creator,
                              organizer_id=organizer.volunteer.user_id if organizer else creator,
                              created_at=created, state=InterestGroup.State.CLOSED if closed
                              else InterestGroup.State.OPEN, closed_at=closed)
        found = []
        if organizer is not None:
            found.append((GroupMember(volunteer_id=organizer.volunteer.pk, joined_at=created), organizer))
        until = closed or self.now - timedelta(hours=1)
        others = [p for p in people if p is not organizer]
        for person in rng.sample(others, min(len(others), rng.randint(5, 25))):
            at = self.between(created, until)
            if not person.approved_at(at):  # only approved volunteers join
                continue
            member = GroupMember(volunteer_id=person.volunteer.pk, joined_at=at)
            if rng.random() < P_LEFT_GROUP:
                member.left_at = self.between(at, self.now - timedelta(minutes=30))
            found.append((member, person))
        times = []
        if rng.random() < P_NOTICES:
            first = created + timedelta(days=1)
            times = sorted(self.between(first, until) for _n in range(rng.randint(1, 3)))
        return group, found, times

    def notice(self, group: InterestGroup, found: list, at: datetime):
        """A notice by the organizer to the members of that moment, each one notified in the app."""
        text = self.rng.choice(NOTICES)
        author = group.organizer_id
        users = sorted({person.volunteer.user_id for member, person in found
                        if member.joined_at <= at and (member.left_at is None or member.left_at > at)}
                       - {author})
        notice = GroupNotice(group=group, author_id=author, text=text, recipients=len(users), created_at=at)
        message = services.group_notice_text(group, text)
        read = at < self.now - timedelta(days=7)
        sent = [Notification(user_id=u, kind="volunteer_group", text=message, created_at=at,
                             read_at=at + timedelta(hours=self.rng.uniform(1, 72)) if read else None)
                for u in users]
        return notice, sent


@transaction.atomic
def build_volunteers(profile: Profile, seed: int = 2026, *, now: datetime | None = None) -> dict[str, int]:
    """Build the district's volunteers and all that hangs on them (see the module's docstring);
    all or nothing. Refuses a district that has volunteers. Returns the counts for the summary."""
    if Volunteer.objects.exists():
        raise RuntimeError("The district already has volunteers; reset the demo to build them again.")
    if not Grid.objects.filter(level=3).exists():
        raise RuntimeError("The district has no grids: build the demo district first.")
    builder = VolunteerBuilder(profile, seed=seed, now=now or timezone.now())
    with historical_times(VolunteerLog, Team, Activity, ActivityLog, ShopItem, Order, PointEntry,
                          InterestGroup, GroupNotice, Notification):
        builder.build_volunteers()
        builder.build_teams()
        VolunteerLog.objects.bulk_create(sorted(builder.logs, key=lambda e: e.at), batch_size=1000)
        builder.build_activities()
        builder.awards()
        builder.build_shop()
        builder.write_ledger()
        builder.build_groups()
    # The district's rule, as 枫桥 announces it: points last two years, to the end of the year.
    for top in Grid.objects.filter(parent=None):
        ExpiryPolicy.objects.create(grid=top, valid_months=24, at_year_end=True)
        builder.counts["expiry rules"] += 1
    return dict(builder.counts)
