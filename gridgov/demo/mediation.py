"""A year of the mediation centre (矛调中心, issue 18) in the demo district, written in bulk.

Sized like the centre of seed 004 (金华开发区: 2,204 visits, 1,013 disputes accepted, 996 resolved,
化解率 98.3 %, 12 windows): one centre at the demo accounts' street with 12 windows, the departments
that sit in them taken from the demo's own (the street's judicial office, police station, market
supervision and city management squad, the district's labour, housing and civil affairs bureaus).

Every row is what the services would have written at its moment (`mediation.intake`,
`mediation.workflow`): each visit has the day's next queue number at its centre; most disputes come
from a visit, registered with their parties and risk (high when many people are involved or
violence is threatened, escalated at once); mediators of the dispute's grid are assigned, hold
sessions and record agreements; a return visit falls due 30 days later and closes the dispute,
or finds the agreement broken and reopens it with a fresh clock; a few are referred on (and
followed), withdrawn, or still open. Each step is a `DisputeLog` row as `act` writes it.

Personal data goes through the model fields under bulk_create as under save(): the encrypted
fields seal their values in `get_prep_value`, and the lookup hashes are computed in `pre_save`,
which bulk_create calls too (`demo/tests/test_demo.py` finds a visitor by their phone's hash).
"""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from gridgov.accounts.models import Assignment, Department, Role
from gridgov.cases.lights import light_for
from gridgov.demo.builder import DEPARTMENTS_DISTRICT, Profile
from gridgov.demo.volunteers import historical_times
from gridgov.grids.models import Grid
from gridgov.mediation import conf
from gridgov.mediation.models import (
    Agreement,
    Centre,
    Dispute,
    DisputeLog,
    Party,
    Referral,
    ReturnVisit,
    Session,
    Visit,
    Visitor,
    Window,
)
from gridgov.worktime.models import TimeUnit
from gridgov.worktime.services import add_time, elapsed_share

# Seed 004's year: visits (人次) and disputes; the outcomes below give ≈ 98.3 % resolved.
VISITS, DISPUTES = 2204, 1013
REFERRED, WITHDRAWN, OPEN, BROKEN, STILL_REOPENED = 6, 3, 6, 10, 2

# (number, name, department: a street office's suffix, a district bureau's name, or None)
WINDOWS = [
    (1, "综合受理", None),
    (2, "人民调解", "司法所"),
    (3, "劳动争议", "区人力资源和社会保障局"),
    (4, "治安调解", "派出所"),
    (5, "消费维权", "市场监管所"),
    (6, "城市管理", "城管中队"),
    (7, "物业与住建", "区住房和城乡建设局"),
    (8, "婚姻家庭", "区民政局"),
    (9, "信访接待", None),
    (10, "诉讼服务", None),
    (11, "法律援助", "司法所"),
    (12, "心理疏导", None),
]
# kind: (weight, window number, typical amount in yuan or None, respondent is an organization)
KINDS = {
    "neighbour": (30, 2, (500, 8000), False),
    "family": (14, 8, None, False),
    "labour": (15, 3, (3000, 60000), True),
    "property": (15, 7, (1000, 20000), True),
    "consumer": (8, 5, (200, 10000), True),
    "traffic": (7, 4, (2000, 50000), False),
    "land": (3, 2, (5000, 80000), False),
    "other": (8, 1, None, False),
}
TOPICS = {
    "neighbour": ("楼上漏水纠纷", "楼上卫生间漏水至楼下，双方就维修和赔偿协商不成。"),
    "family": ("赡养纠纷", "兄妹三人就父母赡养费分担和轮流照料发生争执。"),
    "labour": ("拖欠工资纠纷", "务工人员反映用工单位拖欠三个月工资。"),
    "property": ("物业费纠纷", "业主以服务质量差为由拒交物业费，物业公司要求补缴。"),
    "consumer": ("预付卡退费纠纷", "健身房停业，会员要求退还预付卡余额。"),
    "traffic": ("交通事故赔偿纠纷", "电动车与轿车剐蹭，双方就责任和医疗费赔偿有争议。"),
    "land": ("宅基地界址纠纷", "相邻两户就宅基地界址和围墙位置发生争执。"),
    "other": ("噪音扰民纠纷", "楼下商铺夜间经营噪音扰民，居民多次协商未果。"),
}
# The share of visits that bring a dispute; the others come for these (window number, purpose).
DISPUTE_VISITS = 0.72
SERVICES = [
    (1, "政策咨询"),
    (6, "反映占道经营问题"),
    (9, "信访事项咨询"),
    (10, "诉讼程序咨询"),
    (11, "申请法律援助"),
    (12, "心理疏导"),
]
ORGANIZATIONS = {
    "labour": ["苏州某建筑劳务有限公司", "某电子厂", "某餐饮管理有限公司"],
    "property": ["某物业服务有限公司", "某置业有限公司"],
    "consumer": ["某健身会所", "某教育培训中心", "某家具城"],
}
TERMS = [
    "被申请人于十日内一次性支付申请人{amount}元，双方就此纠纷再无其他争议。",
    "双方同意按本协议约定分担费用，被申请人于本月底前完成维修。",
    "双方互相谅解，被申请人当面赔礼道歉并支付{amount}元。",
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂玉兰建文辉志红梅海燕国庆雪东春花永宏晓鹏飞琳慧"


def _name(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _n in range(rng.choice((1, 2, 2))))


def _phone(rng) -> str:
    return rng.choice(("138", "139", "137", "150", "151", "158", "187", "188", "135", "136")) + "".join(
        str(rng.randrange(10)) for _n in range(8)
    )


def _at(day: date, rng) -> datetime:
    """A moment of office hours on `day`, local time."""
    minutes = rng.randint(8 * 60 + 30, 17 * 60)
    return timezone.make_aware(datetime.combine(day, time(minutes // 60, minutes % 60)))


def _office_day(rng, today: date) -> date:
    """A day of the past year, mostly a weekday (the centre keeps a Saturday morning rota)."""
    while True:
        day = today - timedelta(days=rng.randint(0, 364))
        if day.weekday() < 5 or rng.random() < 0.15:
            return day


def _street(profile: Profile) -> Grid | None:
    streets = Grid.objects.filter(level=1)
    preferred = streets.filter(code__in=profile.first_streets).order_by("code").first()
    return preferred or streets.order_by("code").first()


class Year:
    """The rows being built, and the log entries written beside them."""

    def __init__(self, rng, now):
        self.rng, self.now = rng, now
        self.log: list[DisputeLog] = []
        self.sessions: list[Session] = []
        # [dispute, agreement, held at the return visit, when it was done]
        self.agreements: list[list] = []
        self.referrals: list[Referral] = []

    def step(self, dispute, actor_id, action, from_state, to_state, at, note="", data=None):
        self.log.append(
            DisputeLog(
                dispute=dispute,
                actor_id=actor_id,
                action=action,
                from_state=from_state,
                to_state=to_state,
                note=note,
                data=data or {},
                at=at,
            )
        )


@transaction.atomic
def build_mediation(profile: Profile, seed: int = 2026, now: datetime | None = None) -> dict[str, int]:
    rng, now = random.Random(seed + 18), now or timezone.now()
    today = timezone.localdate(now)
    street = _street(profile)
    if street is None:
        return {"centres": 0, "windows": 0, "visits": 0, "visitors": 0, "disputes": 0}
    departments = {d.name: d for d in Department.objects.filter(is_active=True)}
    centre = Centre.objects.create(
        name=f"{street.name}社会矛盾纠纷调处化解中心", grid=street, address=f"{street.name}综治中心一楼"
    )
    windows = {}
    for number, name, body in WINDOWS:
        department = None
        if body in {n for n, _duty in DEPARTMENTS_DISTRICT}:
            department = departments.get(body)
        elif body:
            department = departments.get(f"{street.name}{body}")
        windows[number] = Window(centre=centre, number=number, name=name, department=department)
    Window.objects.bulk_create(windows.values())

    grids = list(Grid.objects.filter(level=3, code__startswith=street.code).order_by("code"))
    desk = list(
        Assignment.objects.filter(role=Role.DISPATCHER, is_active=True, grid=street)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    street_mediators = desk + list(
        Assignment.objects.filter(role=Role.LEADER, is_active=True, grid=street).values_list(
            "user_id", flat=True
        )
    )
    grid_leaders: dict[str, list[int]] = {}
    for user_id, code in Assignment.objects.filter(
        role=Role.GRID_LEADER, is_active=True, grid__code__startswith=street.code
    ).values_list("user_id", "grid__code"):
        grid_leaders.setdefault(code, []).append(user_id)
    demo_grid = (
        Assignment.objects.filter(user__username="gridleader").values_list("grid__code", flat=True).first()
    )
    if not desk or not grids:
        raise RuntimeError("The mediation demo needs the street's command centre and its grids.")

    # --- visitors and visits, numbered per day --------------------------------------------------
    people = []
    for _n in range(round(VISITS * 0.82)):
        people.append(
            Visitor(
                centre=centre,
                name=_name(rng),
                phone=_phone(rng),
                home_grid=rng.choice(grids) if rng.random() < 0.95 else None,
            )
        )
    # Everyone comes once, some again; nobody comes later than now.
    plan = sorted(
        (
            (
                min(_at(_office_day(rng, today), rng), now - timedelta(minutes=rng.randint(5, 240))),
                people[i] if i < len(people) else rng.choice(people),
            )
            for i in range(VISITS)
        ),
        key=lambda pair: pair[0],
    )
    first_seen: dict[int, datetime] = {}
    for at, person in plan:
        first_seen.setdefault(id(person), at)
    for person in people:
        person.created_at = first_seen.get(id(person), now)
    kinds = list(KINDS)
    weights = [KINDS[k][0] for k in kinds]
    visits, wanted = [], []
    numbers: dict[date, int] = {}
    with historical_times(Visitor, Visit, Session, Agreement):
        Visitor.objects.bulk_create(people, batch_size=1000)
        for at, person in plan:
            day = timezone.localdate(at)
            numbers[day] = numbers.get(day, 0) + 1
            # Most come with a dispute; the others for advice, a petition or the court's services.
            kind = rng.choices(kinds, weights)[0] if rng.random() < DISPUTE_VISITS else None
            number, purpose = (KINDS[kind][1], TOPICS[kind][0]) if kind else rng.choice(SERVICES)
            visits.append(
                Visit(
                    centre=centre,
                    visitor=person,
                    day=day,
                    queue_number=numbers[day],
                    window=windows[number] if rng.random() < 0.9 else windows[1],
                    purpose=purpose,
                    registered_by_id=rng.choice(desk),
                    created_at=at,
                )
            )
            wanted.append(kind)
        Visit.objects.bulk_create(visits, batch_size=1000)

        # --- disputes from the visits -------------------------------------------------------------
        year = Year(rng, now)
        chosen = sorted(rng.sample([i for i, kind in enumerate(wanted) if kind], DISPUTES))
        disputes, parties = [], []
        for index in chosen:
            visit, kind = visits[index], wanted[index]
            disputes.append(_dispute(year, centre, visit, kind, grids, windows))
        _mark_outcomes(disputes, rng)
        # Each dispute's whole history first, then one insert: the log rows, sessions and the rest
        # take the disputes' ids when they are written after them.
        for dispute in disputes:
            _history(year, dispute, desk, street_mediators, grid_leaders, demo_grid)
        Dispute.objects.bulk_create(disputes, batch_size=500)
        for dispute in disputes:
            parties += _parties(dispute, rng)
        Party.objects.bulk_create(parties, batch_size=1000)
        Session.objects.bulk_create(year.sessions, batch_size=1000)
        Agreement.objects.bulk_create([a for _d, a, _held, _done in year.agreements], batch_size=1000)
        ReturnVisit.objects.bulk_create(
            [
                ReturnVisit(
                    dispute=d,
                    agreement=a,
                    due_on=a.signed_on + timedelta(days=conf.return_visit_days()),
                    reminded_at=done - timedelta(hours=6) if done else None,
                    done_at=done,
                    held=held,
                    visited_by_id=d.mediator_id if done else None,
                    notes=("已按协议履行" if held else "被申请人未按协议履行，重新调解") if done else "",
                )
                for d, a, held, done in year.agreements
            ],
            batch_size=1000,
        )
        Referral.objects.bulk_create(year.referrals)
        DisputeLog.objects.bulk_create(year.log, batch_size=2000)
    states = {}
    for d in disputes:
        states[d.state] = states.get(d.state, 0) + 1
    return {
        "centres": 1,
        "windows": len(windows),
        "visits": len(visits),
        "visitors": len(people),
        "disputes": len(disputes),
        **{f"{state}": n for state, n in sorted(states.items())},
        "sessions": len(year.sessions),
        "agreements": len(year.agreements),
        "referrals": len(year.referrals),
    }


def _dispute(year, centre, visit, kind, grids, windows) -> Dispute:
    rng = year.rng
    _weight, window_number, amounts, _org = KINDS[kind]
    title, description = TOPICS[kind]
    people = rng.randint(12, 40) if kind == "labour" and rng.random() < 0.12 else rng.choice((1, 2, 2, 3))
    threat = rng.random() < 0.01
    created = min(visit.created_at + timedelta(minutes=rng.randint(5, 40)), year.now - timedelta(minutes=2))
    home = visit.visitor.home_grid
    dispute = Dispute(
        centre=centre,
        grid=home or rng.choice(grids),
        visit=visit,
        title=title,
        description=description,
        kind=kind,
        amount=Decimal(rng.randint(*amounts)) if amounts else None,
        people_involved=people,
        threat_of_violence=threat,
        risk=Dispute.Risk.HIGH
        if people >= conf.high_risk_people() or threat
        else rng.choices((Dispute.Risk.LOW, Dispute.Risk.MEDIUM), (85, 15))[0],
        window=windows[window_number],
        department=windows[window_number].department,
        created_by_id=visit.registered_by_id,
        created_at=created,
    )
    _clock(dispute, created)
    return dispute


def _clock(dispute: Dispute, at: datetime) -> None:
    deadline = add_time(at, conf.mediation_days(), TimeUnit.WORKING_DAYS)
    dispute.started_at, dispute.deadline, dispute.deadline_unit = at, deadline.at, TimeUnit.WORKING_DAYS


def _mark_outcomes(disputes: list[Dispute], rng) -> None:
    """Which disputes end how: the newest few are still open; a few old ones were referred on,
    withdrawn, or had their agreement broken (most of those mediated again and agreed anew)."""
    for d in disputes:
        d.outcome = "resolved"
    for d in disputes[-OPEN:]:
        d.outcome = "open"
    for d in disputes[-2:]:
        d.outcome = "waiting"  # registered at the desk, no mediator yet
    older = disputes[: len(disputes) - 60]
    picked = rng.sample(older, REFERRED + WITHDRAWN + BROKEN)
    for i, d in enumerate(picked):
        if i < REFERRED:
            d.outcome = "referred"
        elif i < REFERRED + WITHDRAWN:
            d.outcome = "withdrawn"
        elif i < REFERRED + WITHDRAWN + STILL_REOPENED:
            d.outcome = "reopened"
        else:
            d.outcome = "broken_then_resolved"


def _parties(dispute: Dispute, rng) -> list[Party]:
    visitor = dispute.visit.visitor
    applicant = Party(dispute=dispute, role=Party.Role.APPLICANT, name=visitor.name, phone=visitor.phone)
    if KINDS[dispute.kind][3]:
        respondent = Party(
            dispute=dispute,
            role=Party.Role.RESPONDENT,
            kind=Party.Kind.ORGANIZATION,
            name=rng.choice(ORGANIZATIONS[dispute.kind]),
        )
    else:
        respondent = Party(dispute=dispute, role=Party.Role.RESPONDENT, name=_name(rng), phone=_phone(rng))
    return [applicant, respondent]


def _mediator(dispute, street_mediators, grid_leaders, demo_grid, rng) -> int:
    """The grid's own leader for half the disputes (always in the demo grid leader's grid, so that
    the demo account finds work), else a mediator of the street's centre."""
    leaders = grid_leaders.get(dispute.grid.code)
    if leaders and (dispute.grid.code == demo_grid or rng.random() < 0.5):
        return rng.choice(leaders)
    return rng.choice(street_mediators)


def _history(year, d: Dispute, desk, street_mediators, grid_leaders, demo_grid) -> None:
    """The steps of one dispute, as `intake` and `workflow.act` write them."""
    rng, now = year.rng, year.now
    S = Dispute.State
    at = d.created_at
    year.step(d, d.created_by_id, "register", "", S.REGISTERED, at, data={"risk": d.risk, "parties": 2})
    if d.risk == Dispute.Risk.HIGH:
        d.escalated_at = at
        year.step(d, d.created_by_id, "escalate", S.REGISTERED, S.REGISTERED, at)
    if d.outcome == "waiting":
        d.state = S.REGISTERED
        _light(d, now)
        return
    assigned = min(now, at + timedelta(hours=rng.uniform(0.5, 30)))
    d.mediator_id = _mediator(d, street_mediators, grid_leaders, demo_grid, rng)
    d.state = S.MEDIATING
    year.step(
        d,
        d.created_by_id,
        "assign",
        S.REGISTERED,
        S.MEDIATING,
        assigned,
        data={"mediator_id": d.mediator_id, "window_id": d.window_id},
    )
    if d.outcome == "withdrawn":
        d.state = S.WITHDRAWN
        year.step(
            d,
            d.created_by_id,
            "withdraw",
            S.MEDIATING,
            S.WITHDRAWN,
            assigned + timedelta(days=2),
            note="申请人与对方自行和解，撤回调解申请",
        )
        return
    first = _sessions(year, d, assigned, 1 if d.outcome == "open" else rng.choice((1, 1, 2, 3)))
    if d.outcome == "open":
        _light(d, now)
        return
    if d.outcome == "referred":
        sent = first + timedelta(days=rng.uniform(1, 5))
        kind = rng.choice(Referral.Kind.values)
        names = {
            "litigation": "区人民法院",
            "arbitration": "区劳动人事争议仲裁委员会",
            "judicial_confirmation": "区人民法院",
            "petition_office": "区信访局",
            "department": "区住房和城乡建设局",
        }
        referral = Referral(dispute=d, kind=kind, to_name=names[kind], sent_at=sent)
        if sent + timedelta(days=7) < now:
            referral.state, referral.received_at = (
                Referral.State.RECEIVED,
                sent + timedelta(days=rng.uniform(1, 6)),
            )
            if rng.random() < 0.6:
                referral.state = Referral.State.CONCLUDED
                referral.concluded_at = referral.received_at + timedelta(days=rng.uniform(10, 40))
                referral.result = "已立案审理并作出判决" if kind == "litigation" else "已依法处理完毕"
        year.referrals.append(referral)
        d.state = S.REFERRED
        year.step(
            d,
            d.mediator_id,
            "refer",
            S.MEDIATING,
            S.REFERRED,
            sent,
            note="双方分歧较大，调解不成",
            data={"kind": kind, "to": referral.to_name},
        )
        return
    agreed = _agree(year, d, first)
    if d.outcome in ("broken_then_resolved", "reopened"):
        broken = _return_visit(year, d, agreed, held=False)
        d.reopen_count = 1
        _clock(d, broken)
        first = _sessions(year, d, broken, 1)
        if d.outcome == "reopened":
            _light(d, now)
            return
        agreed = _agree(year, d, first)
    d.resolved_at = agreed
    if timezone.localdate(agreed) + timedelta(days=conf.return_visit_days()) <= timezone.localdate(
        now
    ) - timedelta(days=3):
        _return_visit(year, d, agreed, held=True)


def _sessions(year, d, start: datetime, count: int) -> datetime:
    """Sessions after `start`; returns the time of the last."""
    rng, at = year.rng, start
    for _n in range(count):
        at = min(year.now - timedelta(minutes=10), at + timedelta(days=rng.uniform(0.2, 6)))
        year.sessions.append(
            Session(
                dispute=d,
                held_at=at,
                place="调解室" + str(rng.randint(1, 4)),
                participants="申请人、被申请人、调解员",
                notes=rng.choice(
                    ("听取双方陈述，释法明理", "背对背调解，双方各退一步", "现场查看并核实损失")
                ),
                mediator_id=d.mediator_id,
                created_at=at,
            )
        )
        year.step(d, d.mediator_id, "session", d.state, d.state, at)
    return at


def _agree(year, d, after: datetime) -> datetime:
    rng = year.rng
    late = rng.random() < 0.03
    at = after + timedelta(hours=rng.uniform(1, 48))
    if late:
        at = max(at, d.deadline + timedelta(days=rng.uniform(1, 10)))
    at = min(at, year.now - timedelta(minutes=5))
    signed = timezone.localdate(at)
    amount = int(d.amount) if d.amount else rng.randint(500, 5000)
    agreement = Agreement(
        dispute=d,
        terms=rng.choice(TERMS).format(amount=amount),
        signed_on=signed,
        made_by_id=d.mediator_id,
        created_at=at,
    )
    year.agreements.append([d, agreement, None, None])
    d.state = Dispute.State.AGREED
    year.step(d, d.mediator_id, "agree", Dispute.State.MEDIATING, Dispute.State.AGREED, at)
    return at


def _return_visit(year, d, agreed: datetime, held: bool) -> datetime:
    due = timezone.localdate(agreed) + timedelta(days=conf.return_visit_days())
    done = _at(due + timedelta(days=year.rng.randint(0, 3)), year.rng)
    done = min(done, year.now - timedelta(minutes=1))
    entry = year.agreements[-1]
    entry[2], entry[3] = held, done
    d.state = Dispute.State.CLOSED if held else Dispute.State.MEDIATING
    note = "回访：双方已按协议履行" if held else "回访：被申请人未履行协议，重新调解"
    year.step(
        d, d.mediator_id, "return_visit", Dispute.State.AGREED, d.state, done, note=note, data={"held": held}
    )
    return done


def _light(d: Dispute, now: datetime) -> None:
    d.light = light_for(elapsed_share(d.started_at, d.deadline, now, d.deadline_unit))
    if d.light == Dispute.Light.RED:
        d.overdue_told_at = d.deadline
