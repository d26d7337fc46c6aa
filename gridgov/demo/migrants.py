"""Migrants for the demo district (issue 19), written in bulk.

Seed 000 (Fengqiao): about 200,000 migrants; worker dormitories such as 木桥公寓 with 10,000+
workers in rooms for 4–8, registered through their employers, each with a personal access card,
an on-site police room and a "five-in-one" office; a dormitory is a dedicated grid.

- One dormitory (木桥公寓) on a dedicated grid (kind "special", type "dormitory") inside the demo
  accounts' community, saved through `grids.services.save_grid`; its buildings, rooms for 4–8 with
  their beds (a few rooms with extra beds: more people than their capacity), its manager (the demo
  account `dormmanager`).
- About a dozen employers (registry organizations of the community with valid credit codes) housed
  there; the biggest one's account is the demo account `employer`.
- ≈ 10,000 workers: registry people (migrants with ID numbers of their home counties, arrived over
  the last three years) with their employment, a bed (`Stay`, the bed written on the person as
  `dormitories._move_in` does) — a few hundred still waiting for one — and an access card (a few
  lost and replaced, blocked or returned, each step a `CardEvent`); a few who left (employment
  ended, bed given up, card returned).
- Residence permits for every migrant of the registry, the dormitory's and the households': most who
  have lived here past `conf.stay_months()` hold one issued (renewed ahead of its end), some applied,
  some refused or expired; a few hundred due to apply or renew, so the grid workers' lists are not
  empty. `Person.permit_state` follows each person's newest permit, as `permits` keeps it.
- Rentals: a few hundred rented registry houses on the inspection schedule (every 90 days, some
  every 30) with a year of inspections as `rentals.inspect` records them (mostly passed and on time,
  some late, some failed and rechecked within `rentals.RECHECK_DAYS`); a few flats leased to the
  employers (代租制). No findings are taken up as cases.
- `MigrantEstimate` for every level-3 grid holding migrants: registered ÷ estimated ≈ 85–95 %.
"""

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate

import numpy as np
import shapely
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from faker.providers.person.zh_CN import Provider as NameProvider

from gridgov.accounts.models import Assignment, Post, Role, User
from gridgov.core import bulk
from gridgov.demo.builder import DEMO_PASSWORD, Profile
from gridgov.demo.partition import _random_points_inside
from gridgov.demo.registry import MIGRANT_EDUCATION, _places
from gridgov.demo.volunteers import historical_times
from gridgov.grids import geometry
from gridgov.grids.codes import code_length
from gridgov.grids.models import Grid
from gridgov.grids.services import GridSpec, save_grid
from gridgov.migrants import conf, rentals
from gridgov.migrants.models import (
    AccessCard,
    Bed,
    CardEvent,
    Dormitory,
    Employment,
    Inspection,
    Lessee,
    MigrantEstimate,
    Permit,
    Rental,
    Room,
    Stay,
)
from gridgov.migrants.permits import add_months
from gridgov.population import codes
from gridgov.population.models import Building, House, Organization, Person

# --- sizes and shares ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    buildings: int
    floors: int
    rooms_per_floor: int
    employers: int
    waiting: int  # workers registered but not yet given a bed
    former: int  # workers who left: employment ended, bed given up, card returned
    over_rooms: int  # rooms with extra beds, all taken: more people than the capacity
    rentals: int
    proxy: int  # flats leased to the employers (代租制)


SIZES = {
    # 6 buildings × 12 floors × 24 rooms = 1,728 rooms, ≈ 10,400 beds.
    "fengqiao": Size(
        buildings=6,
        floors=12,
        rooms_per_floor=24,
        employers=12,
        waiting=300,
        former=150,
        over_rooms=15,
        rentals=300,
        proxy=8,
    ),
    "jinhua": Size(
        buildings=2,
        floors=6,
        rooms_per_floor=16,
        employers=6,
        waiting=40,
        former=20,
        over_rooms=3,
        rentals=60,
        proxy=3,
    ),
}
CAPACITIES = ((4, 25), (6, 50), (8, 25))  # people a room is for
FREE_BEDS = 0.015  # beds empty today
CARD_SHARE = 0.97  # workers in a bed holding a card
P_LOST, P_BLOCKED = 0.012, 0.006  # cards of those who left are returned
YEARS_BACK = 3 * 365  # workers arrived over the last three years
# Permits, of the migrants past their stay (`conf.stay_months()` + the reminder window):
P_DUE = 0.008  # never applied, refused or expired and not applied again: due to apply
P_APPLIED = 0.05
P_RENEW_DUE = 0.008  # an issued permit ending within the reminder window
P_REFUSED_BEFORE = 0.02  # an issued permit with a refused application before it
P_ON_BEHALF = 0.6
P_INTERVAL_30 = 0.15  # rentals inspected monthly (houses let to many, past failures)
P_INSPECTION_LATE, P_INSPECTION_FAILED, P_RENTAL_OVERDUE = 0.08, 0.06, 0.06
ESTIMATE_SHARE = (0.85, 0.95)

DORMITORY = "木桥公寓"
POLICE_ROOM = "木桥公寓警务室（24小时值班）"
SERVICE_OFFICE = "木桥公寓“五位一体”综合服务站"
DORMITORY_SEQ = 901  # the dedicated grid's sequence under its community (community + 901)
HALF_SIDE = 0.0016  # degrees: a ≈ 300 m square
EMPLOYERS = (
    "木桥精密电子",
    "枫桥光电科技",
    "华鼎汽车零部件",
    "捷锐通讯设备",
    "苏新电子材料",
    "恒瑞新能源",
    "瑞丰精工机械",
    "博远半导体",
    "金枫塑胶制品",
    "海纳物流",
    "嘉禾食品",
    "盛泰纺织",
    "宏达模具",
    "新宇智能装备",
    "天诚包装材料",
)
EMPLOYER_NAMES = ("{city}{name}有限公司", "{name}（{city}）有限公司", "{city}{name}股份有限公司")
LOST_NOTES = ("卡片遗失，已补办新卡", "工作时丢失", "外出时遗失")
BLOCK_NOTES = ("借给他人使用，暂停门禁", "多次夜间带外来人员进入，暂停门禁", "未按规定登记访客，暂停门禁")
RETURN_NOTES = ("离职退宿，交回门禁卡", "调往外地厂区，交回门禁卡")
REFUSED_NOTES = ("居住时间证明不足六个月", "材料不全，需补充租住证明", "信息与登记不符，请核实后重新申请")
INSPECTION_NOTES = (
    "消防器材齐全，通道畅通。",
    "租客信息与登记一致。",
    "提醒租客不要在室内给电动车充电。",
    "房东已落实治安责任书。",
    "",
)
FAIL_NOTES = {
    "fire_safety": "楼道内停放电动车并私拉电线充电，已责令整改。",
    "overcrowding": "隔断出租，居住人数超出面积标准，已通知房东整改。",
    "tenants_registered": "发现新入住租客未登记，已督促办理登记。",
}
SURNAMES = tuple(NameProvider.last_names.items())
GIVEN = {"1": NameProvider.first_names_male, "2": NameProvider.first_names_female}


class MigrantsBuilder:
    def __init__(self, profile: Profile, seed: int, today: date):
        self.profile, self.size = profile, SIZES.get(profile.name, SIZES["jinhua"])
        self.rng, self.np = random.Random(seed), np.random.default_rng(seed)
        self.today, self.zone, self.now = today, timezone.get_default_timezone(), timezone.now()
        self.places = _places(profile.district_code)
        self.sources = [(c, w) for c, w in self.places.sources if c[:2] != profile.district_code[:2]] or list(
            self.places.sources
        )
        self.counts: dict[str, int] = defaultdict(int)
        self.hash_field = Person._meta.get_field("id_number_hash")
        self.taken_ids: set[str] = set()
        self.permit_seq = 0
        self._tables: dict[int, tuple] = {}

    # --- small draws ---------------------------------------------------------------------------

    def pick(self, pairs):
        """A value from ((value, weight), ...) pairs. The pairs' cumulative weights are kept (the
        migrants' source counties are some 1,500 pairs); the draw is the one `choices(values,
        weights)` makes, which accumulates the same weights first."""
        table = self._tables.get(id(pairs))
        if table is None or table[0] is not pairs:
            values, weights = zip(*pairs, strict=True)
            table = self._tables[id(pairs)] = (pairs, values, list(accumulate(weights)))
        return self.rng.choices(table[1], cum_weights=table[2])[0]

    def moment(self, day: date, start_hour: float = 8.5, end_hour: float = 17.5) -> datetime:
        minutes = self.rng.uniform(start_hour * 60, end_hour * 60)
        at = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minutes)
        return min(at, self.now - timedelta(minutes=self.rng.uniform(1, 60)))  # today's: before now

    def name(self, sex: str) -> str:
        surname = self.pick(SURNAMES)
        given = GIVEN[sex]
        return surname + self.rng.choice(given) + (self.rng.choice(given) if self.rng.random() < 0.65 else "")

    def phone(self) -> str:
        return f"1{self.rng.choice('35789')}{self.rng.randrange(10**9):09d}"

    def id_number(self, area: str, birth: date, sex: str) -> str:
        while True:
            seq = self.rng.randrange(1, 1000, 2) if sex == "1" else self.rng.randrange(2, 1000, 2)
            body = f"{area}{birth:%Y%m%d}{seq:03d}"
            if body not in self.taken_ids:
                self.taken_ids.add(body)
                return body + codes.id_check_char(body)

    def credit_code(self, taken: set[str]) -> str:
        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        while True:
            body = "MA" + "".join(self.rng.choice(alphabet) for _ in range(6))
            first17 = f"91{self.profile.district_code}{body}{codes._org_code_check(body)}"
            code = first17 + codes.credit_check_char(first17)
            if code not in taken:
                taken.add(code)
                return code

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    # --- the dormitory's grid, its staff and its employers ---------------------------------------

    def place(self) -> None:
        """The dedicated grid inside the demo accounts' community, and its buildings' points."""
        community = (
            Assignment.objects.filter(user__username="community", role=Role.LEADER)
            .values_list("grid__code", flat=True)
            .first()
            or Grid.objects.filter(level=2).order_by("code").values_list("code", flat=True).first()
        )
        if community is None:
            raise RuntimeError("The district has no communities: build the demo district first.")
        self.community = Grid.objects.get(code=community)
        shape = shapely.geometry.shape(self.community.boundary)
        for x, y in _random_points_inside(
            shape.buffer(-HALF_SIDE * 1.2) if shape.area > (HALF_SIDE * 6) ** 2 else shape, 200, self.np
        ):
            square = shapely.box(x - HALF_SIDE, y - HALF_SIDE * 0.85, x + HALF_SIDE, y + HALF_SIDE * 0.85)
            if shape.contains(square):
                break
        else:
            raise RuntimeError(f"No room for a dormitory in community {community}.")
        self.square = square
        self.grid = save_grid(
            GridSpec(
                code=f"{community}{DORMITORY_SEQ:03d}",
                name=DORMITORY,
                boundary=geometry.to_geojson(square),
                kind=Grid.Kind.SPECIAL,
                special_type=Grid.SpecialType.DORMITORY,
                management_grade="A",
                metadata={"source": "demo"},
            )
        )
        # The community's micro-grids, where the employers' offices are.
        micro = list(
            Grid.objects.filter(level=4, code__startswith=community)
            .order_by("code")
            .values_list("id", "boundary")
        )
        self.office_grid, boundary = micro[0] if micro else (self.community.pk, self.community.boundary)
        self.office_shape = shapely.geometry.shape(boundary)

    def staff(self) -> None:
        password = User.objects.filter(username="admin").values_list(
            "password", flat=True
        ).first() or make_password(DEMO_PASSWORD)
        self.manager = User.objects.create(
            username="dormmanager", name=self.name("1"), phone=self.phone(), password=password
        )
        Assignment.objects.create(user=self.manager, role=Role.DORM_MANAGER, grid=self.grid)
        self.password = password
        self.counts["dormitory managers"] = 1

    def employers(self) -> None:
        taken = set(Organization.objects.exclude(credit_code="").values_list("credit_code", flat=True))
        ((lon, lat),) = _random_points_inside(self.office_shape, 1, self.np)
        park = Building.objects.create(
            grid_id=self.office_grid,
            name="木桥工业坊",
            address="木桥工业坊",
            lat=float(lat),
            lon=float(lon),
            floors=6,
            use=Building.Use.COMMERCIAL,
        )
        names = self.rng.sample(EMPLOYERS, self.size.employers)
        city = self.places.city or "苏州"
        weights = [1 / (n + 1) ** 0.9 for n in range(len(names))]
        self.shares = [w / sum(weights) for w in weights]  # biggest first
        orgs = [
            Organization(
                name=self.rng.choice(EMPLOYER_NAMES).format(city=city, name=name),
                kind=Organization.Kind.COMPANY,
                credit_code=self.credit_code(taken),
                grid_id=self.office_grid,
                building=park,
                address=f"木桥工业坊{n + 1}号厂房",
                lat=park.lat,
                lon=park.lon,
                contact_name=self.name("1"),
                contact_phone=self.phone(),
            )
            for n, name in enumerate(names)
        ]
        self.orgs = Organization.objects.bulk_create(orgs)
        since = self.today - timedelta(days=YEARS_BACK + 200)
        self.dormitory = Dormitory.objects.create(
            name=DORMITORY,
            grid=self.grid,
            address=f"{self.community.name}木桥路88号",
            police_room=POLICE_ROOM,
            service_office=SERVICE_OFFICE,
        )
        Lessee.objects.bulk_create(
            [
                Lessee(
                    dormitory=self.dormitory,
                    organization=o,
                    since=self.day_between(since, since + timedelta(days=180)),
                )
                for o in self.orgs
            ]
        )
        self.employer_user = User.objects.create(
            username="employer", name=self.orgs[0].contact_name, phone=self.phone(), password=self.password
        )
        Assignment.objects.create(user=self.employer_user, role=Role.EMPLOYER, organization=self.orgs[0])
        self.counts["employers"] = len(self.orgs)

    # --- rooms and beds ------------------------------------------------------------------------

    def rooms(self) -> list[tuple[dict, list[dict]]]:
        size = self.size
        (cx, cy) = self.square.centroid.coords[0]
        buildings = []
        for n in range(1, size.buildings + 1):
            x = cx + (n - (size.buildings + 1) / 2) * HALF_SIDE * 1.6 / size.buildings
            buildings.append(
                Building(
                    grid=self.grid,
                    name=f"{n}号楼",
                    address=f"{self.dormitory.address}{n}号楼",
                    lat=cy + self.rng.uniform(-1, 1) * HALF_SIDE * 0.4,
                    lon=x,
                    floors=size.floors,
                    use=Building.Use.RESIDENTIAL,
                )
            )
        self.buildings = Building.objects.bulk_create(buildings)
        rooms, room_ids = (
            [],
            iter(bulk.reserve_ids(Room, len(buildings) * size.floors * size.rooms_per_floor)),
        )
        for building in self.buildings:
            for floor in range(1, size.floors + 1):
                for n in range(1, size.rooms_per_floor + 1):
                    rooms.append(
                        {
                            "id": next(room_ids),
                            "dormitory_id": self.dormitory.pk,
                            "building_id": building.pk,
                            "floor": floor,
                            "number": f"{floor}{n:02d}",
                            "capacity": self.pick(CAPACITIES),
                            "_building": building.name,
                        }
                    )
        over = set(self.rng.sample(range(len(rooms)), min(size.over_rooms, len(rooms))))
        beds, plan = [], []
        bed_ids = iter(bulk.reserve_ids(Bed, sum(r["capacity"] for r in rooms) + 2 * len(over)))
        for index, room in enumerate(rooms):
            count = room["capacity"] + (self.rng.choice((1, 2)) if index in over else 0)
            room_beds = [
                {"id": next(bed_ids), "room_id": room["id"], "number": str(b), "is_active": True}
                for b in range(1, count + 1)
            ]
            beds += room_beds
            plan.append((room, room_beds))
        bulk.insert_rows(
            Room, [{k: v for k, v in r.items() if not k.startswith("_")} for r in rooms], with_pk=True
        )
        bulk.insert_rows(Bed, beds, with_pk=True)
        self.counts.update(rooms=len(rooms), beds=len(beds))
        return plan

    # --- workers -------------------------------------------------------------------------------

    def worker(self, pk: int, org: Organization) -> dict:
        sex = "1" if self.rng.random() < 0.6 else "2"
        age = self.rng.uniform(18, 24) if self.rng.random() < 0.35 else self.rng.uniform(24, 48)
        birth = self.today - timedelta(days=int(age * 365.25) + 1)
        origin = self.pick(self.sources)
        arrived = self.today - timedelta(days=self.rng.randint(5, YEARS_BACK))
        arrived = max(arrived, birth + timedelta(days=int(18 * 365.25)))
        started = min(self.today, arrived + timedelta(days=self.rng.randint(0, 20)))
        return {
            "id": pk,
            "household_id": None,
            "grid_id": self.grid.pk,
            "name": self.name(sex),
            "id_number": self.id_number(origin, birth, sex),
            "birth_date": birth,
            "sex": sex,
            "phone": self.phone(),
            "ethnicity": "01" if self.rng.random() < 0.95 else "03",
            "political_status": "03" if age < 28 and self.rng.random() < 0.3 else "13",
            "education": self.pick(MIGRANT_EDUCATION),
            "marital_status": "10" if age < 26 else "20",
            "registered_address": self.places.names.get(origin, ""),
            "is_migrant": True,
            "arrived_on": arrived,
            "permit_state": Person.PermitState.NONE,
            "employer_id": org.pk,
            "employer_name": org.name[:100],
            "dormitory_bed": "",
            "is_active": True,
            "_started": started,
        }

    def unique_ids(self, people: list[dict]) -> None:
        """Hash every ID number (as the field does); redraw the few a registry person has already."""
        for person in people:
            person["id_number_hash"] = self.hash_field.digest(person["id_number"])
        clash = set()
        hashes = [p["id_number_hash"] for p in people]
        for chunk in bulk.chunks(hashes, 900):
            clash |= set(
                Person.objects.filter(id_number_hash__in=chunk).values_list("id_number_hash", flat=True)
            )
        for person in people:
            while person["id_number_hash"] in clash:
                birth, sex = person["birth_date"], person["sex"]
                person["id_number"] = self.id_number(person["id_number"][:6], birth, sex)
                person["id_number_hash"] = self.hash_field.digest(person["id_number"])

    def workers(self, plan: list[tuple[dict, list[dict]]]) -> None:
        size = self.size
        every_bed = [(room, bed) for room, beds in plan for bed in beds]
        over_rooms = {room["id"] for room, beds in plan if len(beds) > room["capacity"]}
        free = set(
            self.rng.sample(
                [i for i, (room, _b) in enumerate(every_bed) if room["id"] not in over_rooms],
                round(len(every_bed) * FREE_BEDS),
            )
        )
        taken = [rb for i, rb in enumerate(every_bed) if i not in free]
        total = len(taken) + size.waiting + size.former
        ids = bulk.reserve_ids(Person, total)
        # Each employer's workers together, room after room (as `assign_waiting` fills them).
        counts = [round(total * s) for s in self.shares]
        counts[0] += total - sum(counts)
        owners = [org for org, n in zip(self.orgs, counts, strict=True) for _n in range(n)]
        people = [self.worker(pk, org) for pk, org in zip(ids, owners, strict=True)]
        self.unique_ids(people)
        order = list(range(total))
        self.rng.shuffle(order)
        waiting = set(order[: size.waiting])
        former = set(order[size.waiting : size.waiting + size.former])
        beds_left = iter(taken)
        self.stays, self.employments, self.cards, self.events = [], [], [], []
        self.card_numbers = iter(self.rng.sample(range(10**7, 10**8), total * 2))
        manager, today = self.manager.pk, self.today
        for n, person in enumerate(people):
            org = person["employer_id"]
            started = person.pop("_started")
            registered_by = self.employer_user.pk if org == self.orgs[0].pk else manager
            employment = {
                "person_id": person["id"],
                "organization_id": org,
                "grid_id": self.grid.pk,
                "started_on": started,
                "registered_by_id": registered_by,
                "registered_at": self.moment(started),
            }
            self.employments.append(employment)
            if n in waiting:
                person["arrived_on"] = max(
                    person["arrived_on"], today - timedelta(days=self.rng.randint(1, 25))
                )
                employment["started_on"] = max(started, person["arrived_on"])
                employment["registered_at"] = self.moment(employment["started_on"])
                continue
            # Those who left slept somewhere before: any bed (its stay ended), now free or taken again.
            room, bed = self.rng.choice(every_bed) if n in former else next(beds_left)
            checked_in = min(today, started + timedelta(days=self.rng.randint(0, 7)))
            stay = {
                "bed_id": bed["id"],
                "person_id": person["id"],
                "organization_id": org,
                "grid_id": self.grid.pk,
                "checked_in_on": checked_in,
                "checked_in_by_id": manager,
            }
            self.stays.append(stay)
            if n in former:
                left = self.day_between(checked_in + timedelta(days=30), today - timedelta(days=1))
                left = max(min(left, today - timedelta(days=1)), checked_in)
                stay.update(checked_out_on=left, checked_out_by_id=manager, out_reason="离职退宿")
                employment.update(
                    ended_on=left, ended_reason=self.rng.choice(("合同期满", "个人原因离职", "调往外地厂区"))
                )
                person.update(employer_id=None, employer_name="", is_active=False)
                self.card(person, checked_in, returned_on=left)
                continue
            person["dormitory_bed"] = f"{room['_building']}{room['number']}-{bed['number']}"[:30]
            if self.rng.random() < CARD_SHARE:
                self.card(person, checked_in)
        self.people = people
        self.counts.update(
            workers=total,
            waiting=size.waiting,
            left=size.former,
            stays=sum(1 for s in self.stays if "checked_out_on" not in s),
        )

    def card(self, person: dict, issued: date, returned_on: date | None = None) -> None:
        """A card issued at check-in and what became of it (each step a `CardEvent`)."""
        holder = person["id"]

        def new_card(on: date, state: str) -> dict:
            card = {
                "id": len(self.cards) + 1,
                "number": f"MQ{next(self.card_numbers)}",
                "dormitory_id": self.dormitory.pk,
                "grid_id": self.grid.pk,
                "holder_id": holder,
                "state": state,
                "issued_on": on,
            }
            self.cards.append(card)
            self.event(card, CardEvent.Action.ISSUE, on)
            return card

        if returned_on is not None:
            card = new_card(issued, AccessCard.State.RETURNED)
            self.event(card, CardEvent.Action.RETURN, returned_on, self.rng.choice(RETURN_NOTES))
            return
        draw = self.rng.random()
        late = self.day_between(issued, self.today)
        if draw < P_LOST:
            card = new_card(issued, AccessCard.State.LOST)
            self.event(card, CardEvent.Action.LOSE, late, self.rng.choice(LOST_NOTES))
            new_card(late, AccessCard.State.ISSUED)
        elif draw < P_LOST + P_BLOCKED:
            card = new_card(issued, AccessCard.State.BLOCKED)
            self.event(card, CardEvent.Action.BLOCK, late, self.rng.choice(BLOCK_NOTES))
        else:
            new_card(issued, AccessCard.State.ISSUED)

    def event(self, card: dict, action: str, on: date, note: str = "") -> None:
        self.events.append(
            {
                "card_id": card["id"],
                "person_id": card["holder_id"],
                "action": action,
                "note": note,
                "actor_id": self.manager.pk,
                "at": self.moment(on),
            }
        )

    def write_workers(self) -> None:
        bulk.insert_rows(Person, self.people, with_pk=True)
        bulk.insert_rows(Employment, self.employments)
        bulk.insert_rows(Stay, self.stays)
        ids = bulk.reserve_ids(AccessCard, len(self.cards))
        renumber = {card["id"]: pk for card, pk in zip(self.cards, ids, strict=True)}
        for card in self.cards:
            card["id"] = renumber[card["id"]]
        for event in self.events:
            event["card_id"] = renumber[event["card_id"]]
        bulk.insert_rows(AccessCard, self.cards, with_pk=True)
        bulk.insert_rows(CardEvent, sorted(self.events, key=lambda e: e["at"]))
        for organization in self.orgs:
            workers = sum(
                1 for e in self.employments if e["organization_id"] == organization.pk and "ended_on" not in e
            )
            Organization.objects.filter(pk=organization.pk).update(
                employee_count=workers + self.rng.randint(20, 200)
            )
        self.counts.update(cards=len(self.cards), card_events=len(self.events))

    # --- residence permits ----------------------------------------------------------------------

    def permit_number(self, on: date) -> str:
        self.permit_seq += 1
        return f"{self.profile.district_code}{on:%Y}{self.permit_seq:07d}"

    def permits(self) -> None:
        """A permit history for every migrant of the registry (the households' and the dormitory's),
        and each person's `permit_state` set from their newest permit."""
        workers = self.grid_workers()
        level3 = code_length(3)
        rows = (
            Person.objects.filter(is_migrant=True, is_active=True, arrived_on__isnull=False)
            .order_by("pk")
            .values_list("pk", "grid_id", "grid__code", "arrived_on")
        )
        permits, states = [], defaultdict(list)
        stay, remind = conf.stay_months(), conf.remind_days()
        for pk, grid, code, arrived in rows.iterator(chunk_size=5000):
            recorder = (
                self.manager.pk
                if grid == self.grid.pk
                else self.rng.choice(workers.get(code[:level3]) or workers["*"])
            )
            made, state = self.permit_history(pk, grid, arrived, recorder, stay, remind)
            permits += made
            states[state].append(pk)
        bulk.insert_rows(Permit, permits)
        for state, people in states.items():
            if state != Person.PermitState.NONE:
                for chunk in bulk.chunks(people, 900):
                    Person.objects.filter(pk__in=chunk).update(permit_state=state)
        for chunk in bulk.chunks(states[Person.PermitState.NONE], 900):
            Person.objects.filter(pk__in=chunk).exclude(permit_state=Person.PermitState.NONE).update(
                permit_state=Person.PermitState.NONE
            )
        by_state = defaultdict(int)
        for permit in permits:
            by_state[permit["state"]] += 1
        self.counts.update({f"permits {s}": n for s, n in sorted(by_state.items())})

    def grid_workers(self) -> dict[str, list[int]]:
        found = defaultdict(list)
        for user, code in (
            Assignment.objects.filter(role=Role.GRID_WORKER, is_active=True, grid__level=3)
            .exclude(post=Post.POLICE_OFFICER)
            .order_by("user_id")
            .values_list("user_id", "grid__code")
        ):
            found[code].append(user)
        found["*"] = [u for users in found.values() for u in users] or [self.manager.pk]
        return found

    def permit_history(
        self, person: int, grid: int, arrived: date, recorder: int, stay: int, remind: int
    ) -> tuple[list[dict], str]:
        """(permit rows, the person's permit state). Due: the day the stay is reached."""
        due = add_months(arrived, stay)
        today, rng = self.today, self.rng
        base = {"person_id": person, "grid_id": grid, "recorded_by_id": recorder}

        def row(state, applied, **extra) -> dict:
            applied = min(applied, today)
            return {
                **base,
                "state": state,
                "applied_on": applied,
                "on_behalf": rng.random() < P_ON_BEHALF,
                **extra,
            }

        if due > today + timedelta(days=remind):  # not yet due: some applied early (they wait)
            if due <= today + timedelta(days=remind + 60) and rng.random() < 0.3:
                return [
                    row(
                        Permit.State.APPLIED,
                        self.day_between(max(arrived, today - timedelta(days=20)), today),
                    )
                ], Person.PermitState.APPLIED
            return [], Person.PermitState.NONE
        draw = rng.random()
        if draw < P_DUE:
            kind = rng.choices(("none", "expired", "refused"), (55, 30, 15))[0]
            if kind == "none" or due > today - timedelta(days=60):
                return [], Person.PermitState.NONE
            if kind == "refused":
                applied = self.day_between(due, today - timedelta(days=30))
                return [
                    row(Permit.State.REFUSED, applied, note=rng.choice(REFUSED_NOTES))
                ], Person.PermitState.NONE
            applied = self.day_between(due, due + timedelta(days=20))
            issued = applied + timedelta(days=rng.randint(5, 15))
            expires = add_months(issued, conf.valid_months())
            if expires >= today:  # an expired permit needs a past end: this one is simply not renewed yet
                return [], Person.PermitState.NONE
            return [
                row(
                    Permit.State.EXPIRED,
                    applied,
                    number=self.permit_number(issued),
                    issued_on=issued,
                    expires_on=expires,
                )
            ], Person.PermitState.EXPIRED
        if draw < P_DUE + P_APPLIED or due > today - timedelta(days=15):
            applied = self.day_between(max(due, today - timedelta(days=25)), today)
            return [row(Permit.State.APPLIED, applied)], Person.PermitState.APPLIED
        made = []
        applied = self.day_between(due, min(due + timedelta(days=30), today - timedelta(days=15)))
        if rng.random() < P_REFUSED_BEFORE:
            made.append(row(Permit.State.REFUSED, applied, note=rng.choice(REFUSED_NOTES)))
            applied = min(applied + timedelta(days=rng.randint(7, 30)), today - timedelta(days=15))
        issued = min(applied + timedelta(days=rng.randint(5, 15)), today)
        # Renewed year by year (签注) ahead of its end: the end lies within the coming year, and a
        # few within the reminder window.
        if rng.random() < P_RENEW_DUE:
            expires = today + timedelta(days=rng.randint(0, remind - 1))
        else:
            expires = today + timedelta(days=rng.randint(remind + 1, 365))
        made.append(
            row(
                Permit.State.ISSUED,
                applied,
                number=self.permit_number(issued),
                issued_on=issued,
                expires_on=max(expires, issued + timedelta(days=1)),
            )
        )
        return made, Person.PermitState.VALID

    # --- rentals ---------------------------------------------------------------------------------

    def rentals(self) -> None:
        """Rented registry houses on the schedule, with a year of inspections."""
        workers = self.grid_workers()
        level3 = code_length(3)
        houses = list(
            House.objects.filter(use=House.Use.RENTED, rental__isnull=True)
            .order_by("pk")
            .values_list("pk", "grid_id", "grid__code", "area_m2")
        )
        if not houses:
            return
        community = code_length(2)
        near = [h for h in houses if h[2][:community] == self.community.code]
        chosen = self.rng.sample(houses, min(self.size.rentals, len(houses)))
        chosen_ids = {h[0] for h in chosen}
        proxy = [h for h in near if h[0] not in chosen_ids][: self.size.proxy]
        tenants = defaultdict(int)
        wanted = [h[0] for h in chosen + proxy]
        for chunk in bulk.chunks(wanted, 900):
            for house in Person.objects.filter(
                household__house__in=chunk, household__is_active=True, is_active=True
            ).values_list("household__house", flat=True):
                tenants[house] += 1
        made, inspections = [], []
        for n, (pk, grid, code, area) in enumerate(chosen + proxy):
            is_proxy = n >= len(chosen)
            inspector = self.rng.choice(workers.get(code[:level3]) or workers["*"])
            interval = 30 if self.rng.random() < P_INTERVAL_30 else 90
            registered = self.today - timedelta(days=self.rng.randint(300, 420))
            rental = Rental(
                house_id=pk,
                grid_id=grid,
                interval_days=interval,
                registered_by_id=inspector,
                registered_at=self.moment(registered),
                next_due_on=registered,
                scheme=Rental.Scheme.PROXY if is_proxy else Rental.Scheme.MARKET,
                lessee=self.rng.choice(self.orgs) if is_proxy else None,
            )
            made.append(rental)
            inspections.append(self.inspect(rental, registered, inspector, tenants[pk], area))
        with historical_times(Rental, Inspection):
            Rental.objects.bulk_create(made, batch_size=500)
            rows = []
            for rental, found in zip(made, inspections, strict=True):
                for inspection in found:
                    inspection.rental_id = rental.pk
                    rows.append(inspection)
            Inspection.objects.bulk_create(rows, batch_size=1000)
        self.counts.update(rentals=len(made), **{"proxy rentals": len(proxy), "inspections": len(rows)})

    def inspect(self, rental: Rental, start: date, inspector: int, registered: int, area) -> list[Inspection]:
        """The inspections since `start`, as `rentals.inspect` records them; the rental's next due date."""
        found, due, rng = [], start, self.rng
        overdue = rng.random() < P_RENTAL_OVERDUE
        while True:
            late = rng.random() < P_INSPECTION_LATE
            done = (
                due + timedelta(days=rng.randint(1, 20)) if late else due - timedelta(days=rng.randint(0, 10))
            )
            done = max(done, start)
            missed = (
                overdue
                and due <= self.today - timedelta(days=3)
                and due + timedelta(days=rental.interval_days) > self.today
            )
            if done >= self.today or missed:  # the rental's next inspection is still to come, or overdue
                break
            tenants = registered + (1 if rng.random() < 0.04 else 0)
            results = {item: rentals.PASS for item in rentals.CHECKLIST}
            notes = [rng.choice(INSPECTION_NOTES)]
            if rng.random() < P_INSPECTION_FAILED:
                item = rng.choice(("fire_safety", "overcrowding"))
                results[item] = rentals.FAIL
                notes = [FAIL_NOTES[item]]
            if tenants > registered:
                results["tenants_registered"] = rentals.FAIL
                notes.append(f"发现租客{tenants}人，登记{registered}人。")
            if area and tenants and float(area) / tenants < conf.min_m2_per_person():
                results["overcrowding"] = rentals.FAIL
            passed = all(v == rentals.PASS for v in results.values())
            found.append(
                Inspection(
                    grid_id=rental.grid_id,
                    inspector_id=inspector,
                    done_on=done,
                    due_on=due,
                    on_time=done <= due,
                    tenants_found=tenants,
                    tenants_registered=registered,
                    results=results,
                    passed=passed,
                    notes="\n".join(n for n in notes if n),
                    created_at=self.moment(done),
                )
            )
            gap = rental.interval_days if passed else min(rentals.RECHECK_DAYS, rental.interval_days)
            due = done + timedelta(days=gap)
        rental.next_due_on = due
        return found

    # --- estimates -------------------------------------------------------------------------------

    def estimates(self) -> None:
        level3 = code_length(3)
        registered = defaultdict(int)
        for code in (
            Person.objects.filter(is_migrant=True, is_active=True)
            .values_list("grid__code", flat=True)
            .iterator(chunk_size=5000)
        ):
            registered[code[:level3]] += 1
        grids = dict(Grid.objects.filter(code__in=list(registered)).values_list("code", "id"))
        rows = [
            MigrantEstimate(
                grid_id=grids[code],
                estimated=round(n / self.rng.uniform(*ESTIMATE_SHARE)),
                source="派出所流动人口统计（演示）",
            )
            for code, n in sorted(registered.items())
            if code in grids
        ]
        MigrantEstimate.objects.bulk_create(rows)
        self.counts["estimates"] = len(rows)


@transaction.atomic
def build_migrants(profile: Profile, seed: int = 2026, *, today: date | None = None) -> dict[str, int]:
    """Build the district's migrants (see the module's docstring); all or nothing. Refuses a district
    that has a dormitory. Returns the counts for the summary."""
    if Dormitory.objects.exists() or Permit.objects.exists():
        raise RuntimeError("The district already has migrants' rows; reset the demo to build them again.")
    if not Grid.objects.filter(level=2).exists():
        raise RuntimeError("The district has no grids: build the demo district first.")
    builder = MigrantsBuilder(profile, seed + 19, today or timezone.localdate())
    builder.place()
    builder.staff()
    builder.employers()
    plan = builder.rooms()
    builder.workers(plan)
    with historical_times(Employment, CardEvent):
        builder.write_workers()
    builder.permits()
    builder.rentals()
    builder.estimates()
    return dict(builder.counts)
