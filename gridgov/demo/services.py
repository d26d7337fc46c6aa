"""Services near people for the demo district (issue 17), written in bulk.

- Service points of every kind inside the micro-grids of every community: a proxy point (代办点),
  one or two meal partners (长者食堂/助餐点, with a capacity per hour), a home-care station and a
  shop or two per community; clinics, schools, a job centre, legal aid, police rooms and other
  services per street. Opening hours in the format `points.parse_hours` accepts.
- Proxy points (`ProxyPoint`) at every community and at the street's service centre, their agents
  the leaders of that grid (those `errands.is_agent` lets act there), most of the five
  unifications in place.
- A year of orders for the registry's elderly (those living alone or as an empty nest) from the
  nearest point of the kind open at the time of the call, taken by the street's hotline or the
  grid's workers; accepted in minutes and delivered mostly within the kind's target
  (`conf.target_minutes`: 15 minutes for meals).
- A year of errands (≈ 300, ≈ 95 % completed, as seed 004 reports), each step an `ErrandLog` row
  as `errands.act` writes it, deadlines in the item's working days (`worktime.add_time`), the
  lights `errands.refresh_lights` would have set (red ones logged and told once), and the in-app
  notices the steps send.
- Ratings of points by residents of their community; ≈ 50 job wishes, openings at registry
  organizations, matches and their outcomes as `jobs.match` and `jobs.decide` leave them.

What needs the registry (orders for its elderly, wishes of its people, openings at its
organizations) is built where the registry was.
"""

import heapq
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role
from gridgov.cases.lights import light_for
from gridgov.cases.models import Notification
from gridgov.demo.builder import Profile
from gridgov.demo.partition import _random_points_inside
from gridgov.demo.volunteers import historical_times
from gridgov.grids import geometry
from gridgov.grids.codes import code_length
from gridgov.grids.models import Grid
from gridgov.population.models import Organization, Person, PersonTag
from gridgov.services import conf, points
from gridgov.services.models import (
    Errand,
    ErrandItem,
    ErrandLog,
    JobMatch,
    JobOpening,
    JobWish,
    Kind,
    Order,
    ProxyPoint,
    Rating,
    ServicePoint,
)
from gridgov.worktime.models import TimeUnit
from gridgov.worktime.services import add_time, elapsed_share

# --- sizes and shares ----------------------------------------------------------------------------

ORDERS = 2500  # a year of calls: ≈ 7 a day from the district's elderly callers
CALLERS = 400  # the elderly who call (each calls again and again)
ORDER_KINDS = ((Kind.MEAL, 80), (Kind.ELDERLY_CARE, 12), (Kind.CONVENIENCE, 8))
P_ORDER_LATE, P_ORDER_CANCELLED, P_HOTLINE = 0.06, 0.03, 0.7
ERRANDS, ERRANDS_OPEN, P_ERRAND_CANCELLED, P_ERRAND_LATE = 300, 15, 0.02, 0.06
P_RESIDENT_ASKS, P_CONFIRMED = 0.6, 0.8
RATINGS, WISHES, OPENINGS = 300, 50, 30
P_UNIFIED = 0.85  # each of the five unifications in place at a proxy point

# --- texts ---------------------------------------------------------------------------------------

ROADS = ("狮山路", "长江路", "塔园路", "金山路", "玉山路", "竹园路", "珠江路", "运河路", "滨河路", "嵩山路",
         "何山路", "长亭路", "华山路", "泰山路", "向阳路", "横山路", "马运路", "鹿山路", "金枫路", "寒山路")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱胡沈顾陆钱蒋"
# Hours, Monday first: "" is closed that day.
MEALS = ["06:30-08:30,10:30-13:00,16:30-18:30"] * 7
MEALS_WEEKDAYS = ["10:30-13:00,16:30-18:30"] * 5 + ["10:30-13:00"] * 2
OFFICE = ["08:30-11:30,13:30-17:00"] * 5 + ["08:30-11:30", ""]
CARE = ["08:00-17:30"] * 5 + ["08:30-11:30"] * 2
SHOP = ["07:00-22:00"] * 7
ALL_DAY = ["00:00-24:00"] * 7
SCHOOL = ["07:30-17:00"] * 5 + ["", ""]
CLINIC = ["08:00-11:30,13:30-17:00"] * 5 + ["08:00-11:30"] * 2
# Per community: (kind, names, hours, how many: (least, most)); per street likewise.
PER_COMMUNITY = (
    (Kind.MEAL, ("{c}长者食堂", "{c}邻里助餐点"), MEALS, (1, 1)),
    (Kind.MEAL, ("{s}记餐厅助餐点", "{s}家小厨助餐点", "{r}社区餐厅"), MEALS_WEEKDAYS, (0, 1)),
    (Kind.ELDERLY_CARE, ("{c}居家养老服务站", "{c}日间照料中心"), CARE, (1, 1)),
    (Kind.CONVENIENCE, ("{s}家便利店", "{r}好邻居便利店", "{c}生活超市"), SHOP, (1, 2)),
)
PER_STREET = (
    (Kind.CLINIC, ("{t}社区卫生服务中心", "{c}社区卫生服务站"), CLINIC, (2, 2)),
    (Kind.SCHOOL, ("{t}实验小学", "{t}中心幼儿园", "{r}小学"), SCHOOL, (2, 2)),
    (Kind.JOB_CENTRE, ("{t}劳动就业服务站",), OFFICE, (1, 1)),
    (Kind.LEGAL_AID, ("{t}法律援助工作站",), OFFICE, (1, 1)),
    (Kind.POLICE_ROOM, ("{c}警务室", "{r}治安岗亭"), ALL_DAY, (2, 2)),
    (Kind.OTHER, ("{t}邮政便民服务点", "{c}快递驿站", "{t}新时代文明实践站"), SHOP, (2, 2)),
)
MEAL_CAPACITY = (20, 30, 40, 60)
NOTES = ("少盐少油", "饭菜软烂一些", "不要辣", "送到楼下即可", "老人行动不便，请送上楼")
ANSWERS = ("材料齐全，已受理", "经审核符合条件，已办结", "已审批通过，证件已制作", "已办结，结果已告知")
RESULTS = ("已将办理结果送达居民本人", "证件已代领并送到居民家中", "居民已到现场领取", "已电话告知办理结果")
CANCEL_NOTES = ("居民本人已自行办理", "居民不再需要办理", "材料不全，居民暂缓办理")
COMMENTS = ("饭菜可口，价格实惠", "服务热情周到", "环境干净整洁", "", "", "", "排队时间有点长")
WORKS = ("保洁员", "保安", "餐饮服务员", "快递分拣员", "家政服务员", "仓库管理员", "收银员", "电工",
         "养老护理员", "货车司机", "超市理货员", "物业维修工")
WORK_HOURS = ("8:00-17:00", "早班 6:00-14:00", "做一休一", "晚班 18:00-次日2:00", "周末")


@dataclass
class Area:
    """A community or street with what the build needs of it."""

    grid_id: int
    code: str
    name: str
    micro: list[tuple[int, str, object]]  # (id, code, polygon) of its micro-grids
    agents: list[int] = field(default_factory=list)


class ServicesBuilder:
    def __init__(self, seed: int, now: datetime):
        self.rng, self.np = random.Random(seed), np.random.default_rng(seed)
        self.now, self.zone = now, timezone.get_default_timezone()
        self.today = timezone.localdate(now)
        self.lengths = {n: code_length(n) for n in (1, 2, 3)}
        self.counts: dict[str, int] = defaultdict(int)
        self.notices: list[Notification] = []
        grids = list(Grid.objects.filter(level__in=(1, 2, 4)).order_by("code")
                     .values_list("id", "code", "name", "level", "boundary"))
        micro = defaultdict(list)
        for pk, code, _name, level, boundary in grids:
            if level == 4:
                micro[code[: self.lengths[2]]].append((pk, code, boundary))
        self.names = {code: name for _pk, code, name, _level, _b in grids}
        self.code_of = dict(Grid.objects.values_list("id", "code"))
        leaders = defaultdict(list)
        for user, code in (Assignment.objects.filter(is_active=True, role=Role.LEADER, grid__level__in=(1, 2))
                           .order_by("user_id").values_list("user_id", "grid__code")):
            leaders[code].append(user)
        self.communities = [Area(pk, code, name, micro[code], leaders[code])
                            for pk, code, name, level, _b in grids if level == 2 and micro[code]]
        self.streets = [Area(pk, code, name, [m for c, ms in micro.items() if c.startswith(code) for m in ms],
                             leaders[code]) for pk, code, name, level, _b in grids if level == 1]
        self.shapes: dict[str, object] = {}
        self.staff = defaultdict(list)  # (role, grid code) → user ids
        for user, role, code in (Assignment.objects.filter(
                is_active=True, role__in=(Role.DISPATCHER, Role.GRID_WORKER)).order_by("user_id")
                .values_list("user_id", "role", "grid__code")):
            self.staff[role, code].append(user)
        self.residents = defaultdict(list)  # community code → resident user ids (home on its line)
        for user, code in (Assignment.objects.filter(is_active=True, role=Role.RESIDENT, grid__isnull=False)
                           .order_by("user_id").values_list("user_id", "grid__code")):
            self.residents[code[: self.lengths[2]]].append(user)

    # --- small draws ---------------------------------------------------------------------------

    def cut(self, code: str, level: int) -> str:
        return code[: self.lengths[level]]

    def moment(self, day: date, minutes: float) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minutes)

    def day(self, back: tuple[int, int] = (0, 364)) -> date:
        return self.today - timedelta(days=self.rng.randint(*back))

    def office(self, day: date) -> datetime:
        """A moment of office hours on `day` (the morning or the afternoon period)."""
        start, end = self.rng.choice(((8.5 * 60, 11.5 * 60), (13.5 * 60, 17 * 60)))
        return self.moment(day, self.rng.uniform(start, end))

    def hours(self, rng_span: tuple[float, float]) -> timedelta:
        return timedelta(hours=self.rng.uniform(*rng_span))

    def notify(self, users, text: str, at: datetime) -> None:
        """An in-app notice as `errands.tell` sends it; read a while later unless it is recent."""
        for user in sorted({u for u in users if u}):
            read = at + self.hours((0.2, 30))
            self.notices.append(Notification(user_id=user, kind="errand", text=text[:300], created_at=at,
                                             read_at=read if read < self.now else None))

    # --- points --------------------------------------------------------------------------------

    def place(self, area: Area, kind: str, name: str, hours: list[str], grid_index: int | None = None):
        micro_id, micro_code, boundary = (area.micro[grid_index] if grid_index is not None
                                          else self.rng.choice(area.micro))
        if micro_code not in self.shapes:
            self.shapes[micro_code] = geometry.parse_polygon(boundary)
        (lon, lat), = _random_points_inside(self.shapes[micro_code], 1, self.np)
        road = self.rng.choice(ROADS)
        return ServicePoint(
            name=name, kind=kind, grid_id=micro_id, lat=float(lat), lon=float(lon),
            address=f"{road}{self.rng.randint(1, 300)}号", phone=f"0512-6{self.rng.randrange(10**7):07d}",
            hours=points.parse_hours(hours),
            capacity_per_hour=self.rng.choice(MEAL_CAPACITY) if kind == Kind.MEAL else None,
        )

    def named(self, pattern: str, area: Area, street: str) -> str:
        short = area.name.removesuffix("社区").removesuffix("村")
        return pattern.format(c=short, s=self.rng.choice(SURNAMES), r=self.rng.choice(ROADS),
                              t=street.removesuffix("街道").removesuffix("镇"))

    def build_points(self) -> None:
        made = []
        for areas, plan in ((self.communities, PER_COMMUNITY), (self.streets, PER_STREET)):
            for area in areas:
                street = self.names[self.cut(area.code, 1)]
                for kind, names, hours, (least, most) in plan:
                    for _n in range(self.rng.randint(least, most)):
                        made.append(self.place(area, kind, self.named(self.rng.choice(names), area, street),
                                               hours))
        self.proxies = []
        for area in self.communities + self.streets:
            is_street = len(area.code) == self.lengths[1]
            name = f"{area.name}{'便民服务中心' if is_street else '党群服务中心'}代办点"
            spot = self.place(area, Kind.PROXY_POINT, name, OFFICE, grid_index=0)
            made.append(spot)
            proxy = ProxyPoint(name=name, grid_id=area.grid_id, address=spot.address,
                               **{f"unified_{u}": self.rng.random() < P_UNIFIED
                                  for u in ("sign", "rules", "process", "scope", "agent")})
            self.proxies.append((proxy, area))
        ServicePoint.objects.bulk_create(made, batch_size=1000)
        ProxyPoint.objects.bulk_create([p for p, _area in self.proxies])
        through = ProxyPoint.agents.through
        through.objects.bulk_create([through(proxypoint_id=p.pk, user_id=u)
                                     for p, area in self.proxies for u in area.agents])
        self.points = made
        self.counts["points"], self.counts["proxy points"] = len(made), len(self.proxies)

    # --- orders --------------------------------------------------------------------------------

    def callers(self) -> list[dict]:
        """Elderly people of the registry who live alone or as an empty nest, with their home's point."""
        tagged = list(PersonTag.objects.filter(tag_type__code__in=("elderly_alone", "empty_nest"),
                                               person__household__house__building__lat__isnull=False)
                      .order_by("person_id").values_list("person_id", flat=True).distinct())
        chosen = sorted(self.rng.sample(tagged, min(CALLERS, len(tagged))))
        rows = (Person.objects.filter(pk__in=chosen).order_by("pk")
                .values("pk", "name", "phone", "grid_id", "grid__code", "household__house__building__lat",
                        "household__house__building__lon", "household__house__building__address"))
        return [{"id": r["pk"], "name": r["name"], "phone": r["phone"], "grid": r["grid_id"],
                 "code": r["grid__code"], "lat": r["household__house__building__lat"],
                 "lon": r["household__house__building__lon"],
                 "address": r["household__house__building__address"]} for r in rows]

    def build_orders(self) -> None:
        callers = self.callers()
        if not callers:
            return
        index = points.PointIndex.load("demo")
        by_id = {p.pk: p for p in self.points}
        kinds, weights = zip(*ORDER_KINDS, strict=True)
        frequency = [self.rng.choice((1, 2, 4, 8)) for _c in callers]  # some call every day
        nearest: dict = {}
        orders = []
        while len(orders) < ORDERS:
            caller = self.rng.choices(callers, frequency)[0]
            kind = self.rng.choices(kinds, weights)[0]
            key = (caller["id"], kind)
            if key not in nearest:
                nearest[key] = index.nearest(kind, caller["lat"], caller["lon"], 3, conf.search_km() * 1000)
            found = self.call(caller, kind, nearest[key], by_id)
            if found is not None:
                orders.append(found)
        Order.objects.bulk_create(orders, batch_size=1000)
        self.counts["orders"] = len(orders)

    def call(self, caller: dict, kind: str, near: list, by_id: dict) -> Order | None:
        """A call on a random day, in the open hours of the nearest point open that day (as the
        operator's offer has it), and what became of the order."""
        day = self.day()
        for pk, found in near:
            point, metres = by_id[pk], found
            periods = points._minutes(point.hours, day.weekday())
            if periods:
                break
        else:
            return None
        start, end = self.rng.choice(periods)
        called = self.moment(day, self.rng.uniform(start, max(start, end - 30)))
        if called > self.now - timedelta(hours=2):
            return None
        target = conf.target_minutes(kind)
        late = self.rng.random() < P_ORDER_LATE
        minutes = self.rng.uniform(target + 0.5, target * 2.5) if late else self.rng.uniform(target * 0.4,
                                                                                             target - 0.5)
        accepted = called + timedelta(minutes=self.rng.uniform(0.5, min(4, minutes - 0.2)))
        delivered = called + timedelta(minutes=minutes)
        state = Order.State.DELIVERED
        if self.rng.random() < P_ORDER_CANCELLED:
            state, delivered = Order.State.CANCELLED, None
        code3 = self.cut(caller["code"], 3)
        hotline = self.staff[Role.DISPATCHER, self.cut(caller["code"], 1)]
        workers = self.staff[Role.GRID_WORKER, code3]
        taker = self.rng.choice(hotline if hotline and (self.rng.random() < P_HOTLINE or not workers)
                                else workers)
        return Order(
            kind=kind, point=point, grid_id=caller["grid"], person_id=caller["id"],
            caller_name=caller["name"], caller_phone=caller["phone"], address=caller["address"] or "",
            lat=caller["lat"], lon=caller["lon"],
            note=self.rng.choice(NOTES) if kind == Kind.MEAL and self.rng.random() < 0.2 else "",
            state=state, estimated_minutes=round(points.walking_minutes(metres), 1), called_at=called,
            accepted_at=accepted, delivered_at=delivered, taken_by_id=taker,
        )

    # --- errands -------------------------------------------------------------------------------

    def build_errands(self) -> None:
        items = list(ErrandItem.objects.filter(is_active=True).order_by("id"))
        by_level = defaultdict(list)
        for item in items:
            by_level[item.level].append(item)
        people = self.people_by_community()
        plans = []
        for _n in range(ERRANDS):
            proxy, area = self.rng.choices(self.proxies, [1 if len(a.code) > self.lengths[1] else 6
                                                          for _p, a in self.proxies])[0]
            if not area.agents:
                continue
            level = (self.rng.choices(("village", "town", "district"), (70, 20, 10))[0]
                     if len(area.code) > self.lengths[1] else self.rng.choice(("town", "district")))
            residents = [u for c, us in self.residents.items() if c.startswith(area.code) for u in us] \
                if len(area.code) == self.lengths[1] else self.residents.get(area.code, [])
            folk = people.get(area.code[: self.lengths[2]], []) if len(area.code) > self.lengths[1] else []
            resident = person = None
            if residents and (self.rng.random() < P_RESIDENT_ASKS or not folk):
                resident = self.rng.choice(residents)
            elif folk:
                person = self.rng.choice(folk)
            else:
                continue
            requested = self.office(self.day((1, 364)))
            plans.append((requested, proxy, area, self.rng.choice(by_level[level]), resident, person))
        plans.sort(key=lambda p: p[0])
        errands, logs = [], []
        cancelled = set(self.rng.sample(range(len(plans) - ERRANDS_OPEN),
                                        round(P_ERRAND_CANCELLED * len(plans))))
        for n, (requested, proxy, area, item, resident, person) in enumerate(plans):
            outcome = "open" if n >= len(plans) - ERRANDS_OPEN else "cancelled" if n in cancelled else "done"
            errand = Errand(proxy_point=proxy, grid_id=proxy.grid_id, item=item,
                            kind=self.rng.choices(Errand.Kind.values, (60, 20, 20))[0], resident_id=resident,
                            person_id=person, requested_at=requested)
            errands.append(errand)
            logs += self.errand_life(errand, area, outcome)
        Errand.objects.bulk_create(errands, batch_size=500)
        ErrandLog.objects.bulk_create(sorted(logs, key=lambda e: e.at), batch_size=1000)
        self.counts["errands"] = len(errands)
        self.counts["errands completed"] = sum(e.state in (Errand.State.DONE, Errand.State.CONFIRMED)
                                               for e in errands)

    def people_by_community(self) -> dict[str, list[int]]:
        """A few registry people per community, for the errands agents ask for on their behalf."""
        found = defaultdict(list)
        for pk, code in (Person.objects.filter(is_active=True, birth_date__lte=self.now.date() - timedelta(
                days=365 * 60)).order_by("pk").values_list("pk", "grid__code")[:20000]):
            found[self.cut(code, 2)].append(pk)
        return found

    def errand_life(self, errand: Errand, area: Area, outcome: str) -> list[ErrandLog]:
        """The steps of one errand as `errands.request` and `errands.act` write them."""
        S, rng, item = Errand.State, self.rng, errand.item
        agent = rng.choice(area.agents)
        steps: list[tuple[str, datetime, int | None, str, str, str, dict]] = []

        def step(action, at, actor, to_state, note="", data=None):
            steps.append((action, at, actor, errand.state, to_state, note, data or {}))
            errand.state = to_state

        requested = errand.requested_at
        errand.state = ""
        asker = errand.resident_id or agent
        step("request", requested, asker, S.REQUESTED, errand.note)
        self.notify(set(area.agents) - {asker}, _("New errand: %s") % item.name, requested)
        stop = rng.choice((S.REQUESTED, S.ACCEPTED, S.SUBMITTED, S.ANSWERED)) if outcome == "open" else None
        accepted = min(requested + self.hours((0.2, 20)), self.now - timedelta(minutes=30))
        if outcome == "cancelled" and rng.random() < 0.5:
            step("cancel", accepted, agent, S.CANCELLED, rng.choice(CANCEL_NOTES))
            return self.logs(errand, steps)
        if stop == S.REQUESTED:
            return self.logs(errand, steps)
        deadline = add_time(accepted, item.time_limit_days, TimeUnit.WORKING_DAYS).at
        errand.agent_id, errand.started_at, errand.deadline = agent, accepted, deadline
        errand.deadline_unit = TimeUnit.WORKING_DAYS
        step("accept", accepted, agent, S.ACCEPTED, data={"deadline": deadline.isoformat()})
        if outcome == "cancelled":
            step("cancel", accepted + self.hours((1, 48)), agent, S.CANCELLED, rng.choice(CANCEL_NOTES))
            return self.logs(errand, steps)
        last = self.now - timedelta(minutes=20)
        if stop != S.ACCEPTED:
            submitted = min(accepted + self.hours((0.5, 30)), last)
            errand.materials_ticked = list(item.materials)
            step("submit", submitted, agent, S.SUBMITTED,
                 data={"materials": errand.materials_ticked, "department": item.department})
        if stop not in (S.ACCEPTED, S.SUBMITTED):
            late = rng.random() < P_ERRAND_LATE
            answered = (deadline + self.hours((4, 120)) if late
                        else submitted + (deadline - submitted) * rng.uniform(0.2, 0.85))
            answered = max(min(answered, last), submitted)
            errand.answer = rng.choice(ANSWERS)
            step("answer", answered, agent, S.ANSWERED)
        if stop is None:
            closed = min(answered + self.hours((0.5, 24)), last)
            errand.result, errand.closed_at = rng.choice(RESULTS), closed
            step("close", closed, agent, S.DONE)
            if errand.resident_id:
                text = _("Your errand “%s” is done: please confirm it.") % item.name
                self.notify([errand.resident_id], text, closed)
                confirmed = closed + self.hours((2, 72))
                if rng.random() < P_CONFIRMED and confirmed < self.now:
                    errand.rating = rng.choices((5, 4, 3, 2), (70, 22, 6, 2))[0]
                    step("confirm", confirmed, errand.resident_id, S.CONFIRMED,
                         data={"rating": errand.rating})
        self.light(errand, agent, steps)
        return self.logs(errand, steps)

    def light(self, errand: Errand, agent: int, steps: list) -> None:
        """The light `refresh_lights` leaves: how much of the limit was used while the errand was on
        the clock (until it was done, or now); red ones logged and told at their deadline."""
        end = errand.closed_at or self.now
        errand.light = light_for(elapsed_share(errand.started_at, errand.deadline, end, errand.deadline_unit))
        if errand.light == Errand.Light.RED:
            at = errand.deadline
            state = next((to for _a, when, _u, _f, to, *_r in reversed(steps) if when <= at), errand.state)
            errand.overdue_told_at = at
            steps.append(("overdue", at, None, state, state, "", {}))
            self.notify([agent], _("The errand “%s” is past its time limit.") % errand.item.name, at)

    def logs(self, errand: Errand, steps: list) -> list[ErrandLog]:
        return [ErrandLog(errand=errand, actor_id=actor, action=action, from_state=from_state, to_state=to,
                          note=note, data=data, at=at)
                for action, at, actor, from_state, to, note, data in steps]

    # --- ratings -------------------------------------------------------------------------------

    def build_ratings(self) -> None:
        """Residents rate the points of their community (one rating each, changed by rating again)."""
        community_points = defaultdict(list)
        for point in self.points:
            if point.kind in (Kind.MEAL, Kind.ELDERLY_CARE, Kind.CONVENIENCE, Kind.PROXY_POINT):
                community_points[self.code_of[point.grid_id][: self.lengths[2]]].append(point)
        pairs = {}
        candidates = [c for c in sorted(community_points) if self.residents.get(c)]
        for _n in range(RATINGS * 2):
            if len(pairs) >= RATINGS or not candidates:
                break
            community = self.rng.choice(candidates)
            point = self.rng.choice(community_points[community])
            pair = (point.pk, self.rng.choice(self.residents[community]))
            pairs.setdefault(pair, self.rng.choices((5, 4, 3, 2, 1), (50, 30, 12, 5, 3))[0])
        stamp = Rating._meta.get_field("rated_at")
        stamp.auto_now = False  # kept: each rating's past moment (restored below, one thread)
        try:
            ratings = Rating.objects.bulk_create(
                [Rating(point_id=p, user_id=u, score=s,
                        comment=self.rng.choice(COMMENTS) if s >= 4 else "等待时间较长",
                        rated_at=self.moment(self.day(), self.rng.uniform(8 * 60, 21 * 60)))
                 for (p, u), s in sorted(pairs.items())], batch_size=1000)
        finally:
            stamp.auto_now = True
        self.counts["ratings"] = len(ratings)

    # --- jobs ----------------------------------------------------------------------------------

    def build_jobs(self) -> None:
        """Openings at registry organizations, wishes of registry people and residents of the same
        communities, and matches decided in time order as `jobs.match` and `jobs.decide` allow."""
        leaders = {a.code: a.agents for a in self.communities}
        employers = [(pk, name, address, grid, code) for pk, name, address, grid, code in
                     Organization.objects.filter(kind__in=(Organization.Kind.COMPANY, Organization.Kind.SHOP))
                     .order_by("pk").values_list("pk", "name", "address", "grid_id", "grid__code")
                     if leaders.get(self.cut(code, 2))]
        if not employers:
            return
        openings = []
        for pk, name, address, grid, code in self.rng.sample(employers, min(OPENINGS, len(employers))):
            community = self.cut(code, 2)
            openings.append(JobOpening(
                grid_id=grid, employer_id=pk, work=self.rng.choice(WORKS), hours=self.rng.choice(WORK_HOURS),
                place=address or name, positions=self.rng.choice((1, 1, 2, 3, 5)),
                created_by_id=self.rng.choice(leaders[community]),
                created_at=self.moment(self.day((30, 364)), self.rng.uniform(9 * 60, 17 * 60))))
        JobOpening.objects.bulk_create(openings)
        communities = sorted({self.cut(code, 2) for *_r, code in employers})
        adults = defaultdict(list)
        for pk, grid, code in (Person.objects.filter(
                is_active=True, grid__code__regex=r"^(" + "|".join(communities) + ")",
                birth_date__range=(self.now.date() - timedelta(days=365 * 58), self.now.date() - timedelta(
                    days=365 * 20))).order_by("pk").values_list("pk", "grid_id", "grid__code")[:20000]):
            adults[self.cut(code, 2)].append((pk, grid))
        homes = dict(Assignment.objects.filter(role=Role.RESIDENT, is_active=True, grid__isnull=False)
                     .values_list("user_id", "grid_id"))
        wishes = []
        for _n in range(WISHES):
            opening = self.rng.choice(openings)
            community = self.cut(self.code_of_opening(opening), 2)
            work = opening.work if self.rng.random() < 0.7 else self.rng.choice(WORKS)
            created = self.moment(self.day((5, 330)), self.rng.uniform(9 * 60, 17 * 60))
            residents = self.residents.get(community, [])
            if residents and (self.rng.random() < 0.3 or not adults[community]):
                user = self.rng.choice(residents)
                wish = JobWish(grid_id=homes[user], resident_id=user, work=work, created_at=created)
            elif adults[community]:
                person, grid = self.rng.choice(adults[community])
                wish = JobWish(grid_id=grid, person_id=person, work=work, created_at=created)
            else:
                continue
            wish.hours, wish.place = self.rng.choice(WORK_HOURS), self.names[community]
            wishes.append((wish, community))
        JobWish.objects.bulk_create([w for w, _c in wishes])
        matches = self.matches(wishes, openings, leaders)
        JobMatch.objects.bulk_create(matches)
        JobWish.objects.bulk_update([w for w, _c in wishes], ["state"])
        JobOpening.objects.bulk_update(openings, ["positions", "is_open"])
        self.counts.update(wishes=len(wishes), openings=len(openings), matches=len(matches))

    def code_of_opening(self, opening: JobOpening) -> str:
        return self.code_of[opening.grid_id]

    def matches(self, wishes, openings, leaders) -> list[JobMatch]:
        """Each wish matched, in time order, to an open opening of its community whose work fits
        (`jobs.suggestions`), by a leader of the community; decided some days later: hired (the wish
        filled, one position taken), declined (another match may follow) or still pending."""
        events = []  # (when, sequence, wish number, the match to decide or None to make one)
        sequence = iter(range(10**9))
        for n, (wish, _community) in enumerate(wishes):
            first = wish.created_at + timedelta(days=self.rng.uniform(1, 20))
            events.append((first, next(sequence), n, None))
        heapq.heapify(events)
        made, tries = [], defaultdict(int)
        while events:
            at, _seq, n, match = heapq.heappop(events)
            wish, community = wishes[n]
            if match is not None:
                self.decide(match, wish, at)
                if match.outcome == JobMatch.Outcome.DECLINED and tries[n] < 2 and self.rng.random() < 0.6:
                    again = at + timedelta(days=self.rng.uniform(1, 10))
                    if again < self.now:
                        heapq.heappush(events, (again, next(sequence), n, None))
                continue
            if at >= self.now or wish.state != JobWish.State.OPEN:
                continue
            taken = {m.opening_id for m in made if m.wish_id == wish.pk}
            fits = [o for o in openings if o.is_open and o.pk not in taken and o.created_at < at
                    and self.cut(self.code_of[o.grid_id], 2) == community
                    and (wish.work in o.work or o.work in wish.work)]
            if not fits:
                continue
            tries[n] += 1
            match = JobMatch(wish=wish, opening=self.rng.choice(fits),
                             matched_by_id=self.rng.choice(leaders[community]), matched_at=at)
            made.append(match)
            decided = at + timedelta(days=self.rng.uniform(2, 15))
            if decided < self.now - timedelta(days=1):
                heapq.heappush(events, (decided, next(sequence), n, match))
        for wish, _community in wishes:  # a few gave up waiting
            if wish.state == JobWish.State.OPEN and wish.created_at < self.now - timedelta(days=90):
                if self.rng.random() < 0.15:
                    wish.state = JobWish.State.WITHDRAWN
        return made

    def decide(self, match: JobMatch, wish: JobWish, at: datetime) -> None:
        """As `jobs.decide`: a hire fills the wish and takes one position of the opening."""
        hired = self.rng.random() < 0.5
        match.outcome = JobMatch.Outcome.HIRED if hired else JobMatch.Outcome.DECLINED
        match.decided_at = at
        if hired:
            wish.state = JobWish.State.HIRED
            opening = match.opening
            opening.positions = max(opening.positions - 1, 0)
            opening.is_open = opening.positions > 0


@transaction.atomic
def build_services(profile: Profile, seed: int = 2026, *, now: datetime | None = None) -> dict[str, int]:
    """Build the district's services (see the module's docstring); all or nothing. Refuses a
    district that has service points. Returns the counts for the summary."""
    if ServicePoint.objects.exists() or ProxyPoint.objects.exists():
        raise RuntimeError("The district already has service points; reset the demo to build them again.")
    if not Grid.objects.filter(level=4).exists():
        raise RuntimeError("The district has no grids: build the demo district first.")
    builder = ServicesBuilder(seed + 17, now or timezone.now())
    with historical_times(JobWish, JobOpening, JobMatch, Notification):
        builder.build_points()
        builder.build_orders()
        builder.build_errands()
        builder.build_ratings()
        builder.build_jobs()
        Notification.objects.bulk_create(builder.notices, batch_size=1000)
    points.bump_version()  # bulk_create sends no post_save: every process reloads its index
    builder.counts["notices"] = len(builder.notices)
    return dict(builder.counts)
