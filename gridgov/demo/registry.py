"""The demo district's population registry, written in bulk.

"People into households, households into houses, houses into grids": for every populated
level-3 grid, compounds and buildings placed as points inside its micro-grids (a building's
grid is the micro-grid that contains its point), units, houses (≈ 75% owner-occupied, 15%
rented, 7% vacant, 3% business), households of 1–5 people, people with valid ID numbers
(GB 11643) and phones, the GB/T code tables filled consistently with the household
(relation to the head, marital status, education by age), ≈ 25% migrants with residence
permits, care and special-population tags at realistic shares, shops and companies with
valid credit codes (GB 32100 / GB 11714), and a year of household visits (every 2–3
months, tagged households as often as their tags' and care levels' `VisitRule`s ask) with
`last_visited_on`; and a few care files (一人一档) with a care plan, a note and a service.

Density (`Profile.registry_households`, `Profile.registry_communities`): fengqiao gives
every level-3 grid of every community its own `households_estimate` (≈ 400, full density,
as in the articles): 71,119 households, 182,059 people, 517,355 visits, measured at 43.7 s
on the 2-core machine with a test suite running beside it (`core.bulk.insert_rows`:
executemany on SQLite, COPY on PostgreSQL, instead of bulk_create's ≈ 90–220 µs a row);
jinhua 60 households per grid in its first 40 communities (≈ 4,300 households).
`gridgov demo --registry-communities N` fills only the first N communities (the test
suite uses 7, the demo accounts' street). The command's summary line says how many
communities were populated. Rows are written in chunks of level-3 grids, so memory stays
flat and the progress bar moves.
"""

import csv
import math
import random
from bisect import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

import shapely
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from faker import Faker
from faker.providers.person.zh_CN import Provider as NameProvider

from gridgov.accounts.models import Assignment, Post, Role
from gridgov.core import bulk
from gridgov.demo.builder import Profile
from gridgov.grids.codes import code_length
from gridgov.grids.models import Grid
from gridgov.population import codes
from gridgov.population.models import (
    Building,
    CareNote,
    CareService,
    CareTask,
    Compound,
    House,
    Household,
    Organization,
    Person,
    PersonTag,
    TagType,
    Unit,
    Visit,
    VisitRule,
)

CHUNK_HOUSEHOLDS = 1500  # level-3 grids are written together until this many households
# Their indexes are built once after the rows are in (`bulk.indexes_deferred`).
BIG_TABLES = (House, Household, Person, PersonTag, Visit)
HOUSE_USES = (
    (House.Use.OWNER_OCCUPIED, 0.75),
    (House.Use.RENTED, 0.15),
    (House.Use.VACANT, 0.07),
    (House.Use.BUSINESS, 0.03),
)
OCCUPIED_SHARE = 0.90  # owner-occupied + rented
HOUSEHOLD_SIZES = ((1, 0.20), (2, 0.30), (3, 0.28), (4, 0.13), (5, 0.09))
MIGRANT_OWNERS = 0.14  # owner-occupied households who are "new residents" (户籍 elsewhere)
MIGRANT_TENANTS = 0.90
ELDERLY_SINGLES = 0.12  # of local one-person households: ≈ 3% of the elderly live alone
COUPLE_AGES = (((22, 40), 25), ((40, 60), 20), ((60, 88), 55))  # local two-person households
SEXES = (("1", 52), ("2", 48))
LOCALS_FROM_ELSEWHERE = 0.15  # locals whose ID was first issued in another county of the city
HOUSEHOLDS_PER_COMPANY = 80
APARTMENTS_FROM = 60  # a micro-grid with fewer households has self-built houses, not blocks
DEFAULT_VISIT_DAYS = (60, 90)  # every household every 2–3 months (seed 000)
LATE_VISITS = 0.04  # households whose last visit is overdue
VISIT_NEEDS = 0.06

# Source provinces of migrants into Jiangsu and Zhejiang, with rough weights.
MIGRANT_PROVINCES = {
    "34": 25,
    "41": 18,
    "51": 10,
    "32": 10,
    "42": 7,
    "52": 8,
    "36": 6,
    "37": 5,
    "43": 5,
    "50": 3,
    "53": 3,
}
MINORITIES = (
    ("03", 20),
    ("06", 15),
    ("08", 12),
    ("15", 12),
    ("12", 8),
    ("09", 8),
    ("07", 6),
    ("11", 8),
    ("02", 4),
    ("04", 2),
    ("05", 2),
    ("10", 3),
)
PARTY_MEMBERS = 0.095  # of adults: ≈ 8% of everyone
SENSITIVE_RATES = {  # per person (adults unless noted); GB/T 31000 special populations
    "released_prisoner": 0.0008,
    "community_correction": 0.0003,
    "severe_mental_disorder": 0.003,
    "drug_user": 0.0003,
    "aids_risk": 0.0001,
    "key_youth": 0.002,  # key youth: of 12–25
}
LOW_INCOME_HOUSEHOLDS = 0.015
DISABLED = {False: 0.012, True: 0.05}  # under / over 60
DISABILITY_GRADES = ((1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4))
PERMITS = (
    (Person.PermitState.VALID, 0.70),
    (Person.PermitState.APPLIED, 0.08),
    (Person.PermitState.EXPIRED, 0.10),
    (Person.PermitState.NONE, 0.12),
)

COMPOUND_WORDS = (
    "枫桥 金色 阳光 锦绣 翠园 和谐 幸福 秀水 丽景 滨河 春华 嘉禾 紫薇 梧桐 海棠 玉兰 银杏 "
    "新华 东方 清风 明珠 湖畔"
).split()
COMPOUND_SUFFIXES = "花园 新村 家园 苑 小区 公寓 名邸 雅苑 山庄 里".split()
PROPERTY_COMPANIES = ("{w}物业管理有限公司", "{w}物业服务有限公司", "{w}置业物业公司")
SHOPS = (
    "便利店 超市 面馆 理发店 水果店 五金店 快餐店 药房 早餐店 洗衣店 烟酒店 小吃店 修车铺 "
    "茶叶店 花店 母婴店 棋牌室 电动车行 包子铺 干洗店"
).split()
INDUSTRIES = (
    "科技 电子 机械 贸易 物流 信息技术 精密制造 建材 文化传媒 环保科技 餐饮管理 家政服务 医疗器械 新材料"
).split()
VISIT_NOTES = (
    "入户走访，了解家庭基本情况，家中一切正常。",
    "上门核实人口信息，无变化。",
    "走访了解近况，身体健康，生活稳定。",
    "宣传防诈骗知识，发放宣传资料。",
    "宣传消防安全，提醒不要在楼道停放电动车。",
    "核对出租房屋及租住人员信息。",
    "了解老人身体状况，提醒按时服药。",
    "宣传垃圾分类，住户表示会配合。",
    "走访时住户反映邻里关系融洽。",
    "宣传医保缴费政策。",
    "提醒关好门窗，注意燃气安全。",
    "询问孩子上学情况，家长表示无困难。",
)
VISIT_NEEDS_TEXTS = (
    "反映楼道灯不亮，希望尽快维修。",
    "希望社区帮忙办理居住证。",
    "咨询低保申请条件。",
    "老人行动不便，希望有助餐服务。",
    "反映楼上漏水，与邻居协商未果。",
    "希望小区增设电动车充电桩。",
    "反映楼下餐馆油烟较大。",
    "咨询老旧小区加装电梯政策。",
    "孩子入学需要开具居住证明。",
    "反映小区停车难。",
    "反映夜间有噪声扰民。",
    "希望帮忙联系家政服务。",
)
# Completed education (GB/T 4658) of adults, by birth year.
EDUCATION_BY_BIRTH = (
    (1990, (("14", 6), ("21", 34), ("31", 25), ("44", 5), ("47", 5), ("61", 13), ("71", 12))),
    (1970, (("14", 3), ("21", 20), ("31", 19), ("44", 6), ("47", 5), ("61", 20), ("71", 25), ("81", 2))),
    (1950, (("21", 8), ("31", 9), ("41", 5), ("61", 25), ("71", 36), ("81", 15), ("90", 2))),
    (0, (("21", 4), ("31", 5), ("61", 15), ("71", 25), ("81", 35), ("90", 16))),
)
MIGRANT_EDUCATION = (("61", 30), ("71", 50), ("81", 20))
OLD_SEXES = (("1", 2), ("2", 3))  # more widows than widowers
MET = ("户主本人", "户主及配偶", "户主家人", "{head}", "{head}及家人")


# GB 11643's check character: the weighted sum of the first 17 digits, mod 11 (as
# codes.id_check_char), split into the 14 digits of county and birth date and the 3 of the sequence.
ID_CHECK = codes._ID_CHECK
SEQUENCE_WEIGHTS = tuple(
    sum(int(c) * w for c, w in zip(f"{seq:03d}", codes._ID_WEIGHTS[14:], strict=True)) for seq in range(1000)
)


def _weighted(prefix: str) -> int:
    return sum(int(c) * w for c, w in zip(prefix, codes._ID_WEIGHTS[:14], strict=True))


@dataclass
class Member:
    relation: str
    sex: str
    age: float
    married: bool = False


@dataclass
class Chunk:
    """Rows of some level-3 grids before they are written. Few rows (compounds, buildings,
    units, organizations) are model instances; the many are dicts of field values (by
    attname), which the writer takes as they are once their parents have ids (`_write`)."""

    compounds: list = field(default_factory=list)
    buildings: list = field(default_factory=list)
    units: list = field(default_factory=list)
    houses: list = field(default_factory=list)
    households: list = field(default_factory=list)
    people: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    organizations: list = field(default_factory=list)
    visits: list = field(default_factory=list)


# --- division codes ------------------------------------------------------------------------


def _division_rows(name: str) -> list[list[str]]:
    path = settings.NODE_MODULES / "china-division" / "dist" / name
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


@dataclass
class Places:
    names: dict[str, str]  # county code → "province city county"
    sources: tuple[tuple[str, int], ...]  # migrants' source counties, with weights
    home_city: list[str]  # the other counties of the district's own city
    city: str  # the name of the district's city, e.g. 苏州


def _places(district_code: str) -> Places:
    provinces = {row[0]: row[1] for row in _division_rows("provinces.csv")}
    cities = {row[0]: row[1] for row in _division_rows("cities.csv")}
    names, sources, home_city = {}, [], []
    for code, name, city, province in _division_rows("areas.csv"):
        city_name = cities.get(city, "")
        city_name = "" if city_name in ("市辖区", "县") else city_name
        names[code] = f"{provinces.get(province, '')}{city_name}{name}"
        if province in MIGRANT_PROVINCES and city != district_code[:4]:
            sources.append((code, MIGRANT_PROVINCES[province]))
        elif city == district_code[:4] and code != district_code:
            home_city.append(code)
    names.setdefault(district_code, "")
    city = cities.get(district_code[:4], "").removesuffix("市")
    return Places(names, tuple(sources) or ((district_code, 1),), home_city or [district_code], city)


# --- the plan ------------------------------------------------------------------------------


def _populated_grids(profile: Profile) -> dict[int, int]:
    """Households to build per level-3 grid id (the grids the profile populates)."""
    grids = Grid.objects.filter(level=3).order_by("code").values_list("id", "code", "households_estimate")
    community = code_length(2)
    communities = sorted({code[:community] for _pk, code, _n in grids})
    if profile.registry_communities is not None:
        communities = _first_communities(profile, communities)
    wanted = set(communities)
    return {
        pk: profile.registry_households or estimate or 400
        for pk, code, estimate in grids
        if code[:community] in wanted
    }


def _first_communities(profile: Profile, communities: list[str]) -> list[str]:
    """The first communities, starting with the profile's first streets (the demo accounts')."""
    street = code_length(1)
    first = [c for c in communities if c[:street] in profile.first_streets]
    rest = [c for c in communities if c[:street] not in profile.first_streets]
    return (first + rest)[: profile.registry_communities]


def expected_households(profile: Profile) -> int:
    return sum(_populated_grids(profile).values())


def populated_communities(profile: Profile) -> tuple[int, int]:
    """(populated communities, all communities) for the summary line."""
    community = code_length(2)
    every = Grid.objects.filter(level=3).values_list("code", flat=True)
    populated = Grid.objects.filter(pk__in=_populated_grids(profile)).values_list("code", flat=True)
    return len({c[:community] for c in populated}), len({c[:community] for c in every})


# --- the builder ---------------------------------------------------------------------------


class RegistryBuilder:
    def __init__(self, profile: Profile, *, today: date, seed: int):
        self.profile = profile
        self.today = today
        self.rng = random.Random(seed)
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.roads = list(dict.fromkeys(fake.street_name() for _ in range(120)))
        self.companies = list(dict.fromkeys(fake.company_prefix() for _ in range(300)))
        self.tables: dict[int, tuple] = {}
        self.surnames = tuple(NameProvider.last_names.items())
        self.given = {"1": NameProvider.first_names_male, "2": NameProvider.first_names_female}
        self.places = _places(profile.district_code)
        self.taken_ids: set[str] = set()
        self.taken_credit: set[str] = set()
        self.tag_types = dict(TagType.objects.values_list("code", "id"))
        self.rules = dict(
            VisitRule.objects.filter(tag_type__isnull=False).values_list("tag_type__code", "interval_days")
        )
        # Care levels have rules of their own (high every 7 days, medium 15): keyed "level:high".
        self.rules.update(
            {
                f"level:{level}": days
                for level, days in VisitRule.objects.exclude(care_level="").values_list(
                    "care_level", "interval_days"
                )
            }
        )
        self.workers = self._workers()
        self.counts: dict[str, int] = defaultdict(int)
        self.household_seq = 0
        # The hot draws call what `random.Random`'s own methods call, with the same arguments, so
        # the stream and every value drawn are those of `choice`, `randrange` and `choices`
        # (about a million people's and visits' draws, a call layer less each).
        self.below = self.rng._randbelow
        self.id_prefixes: dict[tuple[str, date], tuple[str, int]] = {}
        self.workdays: dict[date, date] = {}

    def _workers(self) -> dict[int, tuple[list[int], list[int]]]:
        """Per level-3 grid: (full-time grid workers, every grid worker)."""
        found: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for grid, user, full_time, post in (
            Assignment.objects.filter(role=Role.GRID_WORKER, is_active=True, grid__level=3)
            .values_list("grid", "user", "is_full_time", "post")
            .order_by("user")
        ):
            full, every = found[grid]
            every.append(user)
            if full_time and post != Post.POLICE_OFFICER:
                full.append(user)
        return found

    # --- small draws ---------------------------------------------------------------------

    def pick(self, pairs):
        """A value from ((value, weight), ...) pairs (their cumulative weights are cached): the
        draw of `rng.choices(values, cum_weights=…)[0]`, made directly."""
        table = self.tables.get(id(pairs))
        if table is None or table[0] is not pairs:
            values, weights = zip(*pairs, strict=True)
            cumulative = list(accumulate(weights))
            total, last = cumulative[-1] + 0.0, len(values) - 1
            table = self.tables[id(pairs)] = (pairs, values, cumulative, total, last)
        _pairs, values, cumulative, total, last = table
        return values[bisect(cumulative, self.rng.random() * total, 0, last)]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def round(self, x: float) -> int:
        """Stochastic rounding: shares stay right over many small micro-grids."""
        return int(x) + self.chance(x - int(x))

    def name(self, sex: str, surname: str | None = None) -> str:
        surname = surname or self.pick(self.surnames)
        given, below = self.given[sex], self.below
        if self.rng.random() < 0.65:
            return surname + given[below(len(given))] + given[below(len(given))]
        return surname + given[below(len(given))]

    def company_name(self) -> str:
        return f"{self.places.city}{self.rng.choice(self.companies)}{self.rng.choice(INDUSTRIES)}有限公司"

    def phone(self) -> str:
        below = self.below
        return f"1{'3456789'[below(7)]}{below(10**9):09d}"

    def birth_date(self, age: float) -> date:
        return self.today - timedelta(days=int(age * 365.25) + 1)

    def child_age(self, parent_age: float) -> float:
        # A parent too young for the drawn gap gets a small child of a random age, not one born
        # on one shared day (which would also use up that day's 500 ID sequences per sex).
        age = parent_age - self.rng.uniform(23, 36)
        return age if age > 0.1 else self.rng.uniform(0.1, 3.0)

    def id_number(self, area: str, birth: date, sex: str) -> str:
        # A county issues 500 sequence numbers per sex and birth date (GB 11643). The first 14
        # digits and their part of the check sum are worked out once per county and day.
        known = self.id_prefixes.get((area, birth))
        if known is None:
            prefix = f"{area}{birth:%Y%m%d}"
            known = self.id_prefixes[(area, birth)] = (prefix, _weighted(prefix))
        prefix, weighted = known
        # randrange(1, 1000, 2) / randrange(2, 1000, 2): the same draws.
        first, choices = (1, 500) if sex == "1" else (2, 499)
        below, taken = self.below, self.taken_ids
        for _try in range(5000):
            seq = first + 2 * below(choices)
            body = f"{prefix}{seq:03d}"
            if body not in taken:
                taken.add(body)
                return body + ID_CHECK[(weighted + SEQUENCE_WEIGHTS[seq]) % 11]
        raise RuntimeError(f"no ID sequence left for {area} {birth} sex {sex}: too many people born that day")

    def credit_code(self, kind: str, area: str) -> str:
        """GB 32100: registration office 9 (market regulation), 1 company / 2 individual business."""
        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        while True:
            if self.chance(0.7):
                body = "MA" + "".join(self.rng.choice(alphabet) for _ in range(6))
            else:
                body = f"{self.rng.randrange(10**8):08d}"
            org = body + codes._org_code_check(body)
            first17 = f"9{'2' if kind == Organization.Kind.SHOP else '1'}{area}{org}"
            code = first17 + codes.credit_check_char(first17)
            if code not in self.taken_credit:
                self.taken_credit.add(code)
                return code

    # --- places --------------------------------------------------------------------------

    def points_in(self, polygon, count: int, near=None, radius: float = 0.0012) -> list[tuple[float, float]]:
        """`count` random points strictly inside the polygon, around `near` when given."""
        minx, miny, maxx, maxy = polygon.bounds
        if near is not None:
            minx, miny = max(minx, near[0] - radius), max(miny, near[1] - radius)
            maxx, maxy = min(maxx, near[0] + radius), min(maxy, near[1] + radius)
        found: list[tuple[float, float]] = []
        for _attempt in range(30):
            xs = [self.rng.uniform(minx, maxx) for _ in range(count * 3 + 8)]
            ys = [self.rng.uniform(miny, maxy) for _ in range(count * 3 + 8)]
            inside = shapely.contains_xy(polygon, xs, ys)
            found.extend((x, y) for x, y, ok in zip(xs, ys, inside, strict=True) if ok)
            if len(found) >= count:
                return found[:count]
        if near is not None:
            return found + self.points_in(polygon, count - len(found))
        raise RuntimeError("no room for buildings in a micro-grid")

    def building_shape(self, apartments: bool, wanted: int) -> tuple[int, int, int]:
        """(floors, units, flats per floor and unit); the last block of a compound is lower."""
        if not apartments:
            return self.rng.choice((2, 3, 3, 4)), 0, 1
        floors = self.pick(((6, 55), (5, 10), (7, 5), (11, 15), (18, 10), (26, 5)))
        if floors <= 7:
            units, flats = self.rng.randint(2, 4), 2
        else:
            units, flats = self.rng.randint(1, 2), self.rng.choice((2, 4))
        return min(floors, max(2, math.ceil(wanted / (units * flats)))), units, flats

    def house_uses(self, count: int, occupied: int) -> list[str]:
        """Uses of `count` houses of which `occupied` are lived in (owner or tenant), shuffled."""
        rented = self.round(occupied * HOUSE_USES[1][1] / OCCUPIED_SHARE)
        business = self.round((count - occupied) * HOUSE_USES[3][1] / (1 - OCCUPIED_SHARE))
        uses = (
            [House.Use.OWNER_OCCUPIED] * (occupied - rented)
            + [House.Use.RENTED] * rented
            + [House.Use.BUSINESS] * business
            + [House.Use.VACANT] * (count - occupied - business)
        )
        self.rng.shuffle(uses)
        return uses

    def micro_grid(self, chunk: Chunk, micro: dict, households: int) -> None:
        """Compounds, buildings, units and houses for `households` in one micro-grid; then
        the households and their people in the occupied houses."""
        apartments = households >= APARTMENTS_FROM
        target = households + self.round(households * (1 - OCCUPIED_SHARE) / OCCUPIED_SHARE)
        houses: list[dict] = []
        compound, point, in_compound = None, None, 0
        per_compound = self.rng.randint(250, 600)
        while len(houses) < target:
            if compound is None or (apartments and in_compound >= per_compound):
                compound, point, in_compound = *self.compound(chunk, micro, apartments), 0
            built = self.building(
                chunk, micro, compound, point, self.building_shape(apartments, target - len(houses))
            )
            houses += built
            in_compound += len(built)
        for house, use in zip(houses, self.house_uses(len(houses), households), strict=True):
            house["use"] = use
            self.fill_house(house)
            if use in (House.Use.OWNER_OCCUPIED, House.Use.RENTED):
                self.household(chunk, house, micro)
            elif use == House.Use.BUSINESS:
                self.shop(chunk, house, micro)
        self.companies_in(chunk, micro, households)

    def compound(self, chunk: Chunk, micro: dict, apartments: bool):
        word = self.rng.choice(COMPOUND_WORDS)
        if apartments:
            name = f"{word}{self.rng.choice(COMPOUND_SUFFIXES)}"
            if self.chance(0.3):
                name += self.rng.choice(("一期", "二期", "三期", "东区", "西区"))
        else:
            name = f"{micro['name'].split('第')[0]}{self.rng.randint(1, 12)}组"  # a villagers' group
        road = self.rng.choice(self.roads)
        compound = Compound(
            name=name,
            grid_id=micro["id"],
            address=f"{road}{self.rng.randint(1, 400)}号",
            property_company=self.rng.choice(PROPERTY_COMPANIES).format(w=word) if apartments else "",
        )
        chunk.compounds.append(compound)
        point = self.points_in(micro["shape"], 1)[0]
        return compound, point

    def building(self, chunk: Chunk, micro: dict, compound, point, shape: tuple[int, int, int]) -> list[dict]:
        floors, units, flats = shape
        lon, lat = self.points_in(micro["shape"], 1, near=point)[0]
        compound.buildings_made = number = getattr(compound, "buildings_made", 0) + 1
        name = f"{number}幢" if units else f"{number}号"  # a block, or a self-built house
        street = compound.address if units else ""
        building = Building(
            compound=compound,
            grid_id=micro["id"],
            name=name,
            address=f"{street}{compound.name}{name}",
            lat=lat,
            lon=lon,
            floors=floors,
            use=Building.Use.RESIDENTIAL,
        )
        chunk.buildings.append(building)
        if not units:
            house = {
                "building": building,
                "unit": None,
                "grid_id": micro["id"],
                "floor": 1,
                "number": "1",
                "area_m2": self.rng.randint(90, 260),
            }
            chunk.houses.append(house)
            return [house]
        houses = []
        for u in range(1, units + 1):
            unit = Unit(building=building, number=str(u), grid_id=micro["id"])
            chunk.units.append(unit)
            for floor in range(1, floors + 1):
                for flat in range(1, flats + 1):
                    houses.append(
                        {
                            "building": building,
                            "unit": unit,
                            "grid_id": micro["id"],
                            "floor": floor,
                            "number": f"{floor}{flat:02d}",
                            "area_m2": self.rng.randint(45, 140),
                        }
                    )
        chunk.houses += houses
        return houses

    def fill_house(self, house: dict) -> None:
        if house["use"] == House.Use.RENTED:
            start = self.today - timedelta(days=self.rng.randint(10, 700))
            years = max(self.rng.choice((1, 1, 2, 3)), (self.today - start).days // 365 + 1)
            house.update(
                landlord_name=self.name(self.pick(SEXES)),
                landlord_phone=self.phone(),
                lease_start=start,
                lease_end=start + timedelta(days=365 * years),
            )
        elif house["use"] == House.Use.BUSINESS and house["building"].use == Building.Use.RESIDENTIAL:
            house["building"].use = Building.Use.MIXED

    def shop(self, chunk: Chunk, house: dict, micro: dict) -> None:
        building = house["building"]
        sex = self.pick(SEXES)
        owner = self.name(sex)
        chunk.organizations.append(
            Organization(
                name=f"{owner[0]}记{self.rng.choice(SHOPS)}",
                kind=Organization.Kind.SHOP,
                credit_code=self.credit_code(Organization.Kind.SHOP, self.profile.district_code),
                grid_id=micro["id"],
                building=building,
                address=f"{building.address}{house['number']}室",
                lat=building.lat,
                lon=building.lon,
                contact_name=owner,
                contact_phone=self.phone(),
                employee_count=self.rng.randint(1, 8),
            )
        )

    def companies_in(self, chunk: Chunk, micro: dict, households: int) -> None:
        count = self.round(households / HOUSEHOLDS_PER_COMPANY * self.rng.uniform(0.5, 1.5))
        if not count:
            return
        lon, lat = self.points_in(micro["shape"], 1)[0]
        address = f"{self.rng.choice(self.roads)}{self.rng.randint(1, 300)}号"
        building = Building(
            grid_id=micro["id"],
            name=address,
            address=address,
            lat=lat,
            lon=lon,
            floors=self.rng.randint(3, 20),
            use=Building.Use.COMMERCIAL,
        )
        chunk.buildings.append(building)
        for _ in range(count):
            chunk.organizations.append(
                Organization(
                    name=self.company_name(),
                    kind=Organization.Kind.COMPANY,
                    credit_code=self.credit_code(Organization.Kind.COMPANY, self.profile.district_code),
                    grid_id=micro["id"],
                    building=building,
                    address=f"{building.address}{self.rng.randint(1, 20)}楼",
                    lat=lat,
                    lon=lon,
                    contact_name=self.name(self.pick(SEXES)),
                    contact_phone=self.phone(),
                    employee_count=max(3, int(self.rng.lognormvariate(3.0, 1.0))),
                )
            )

    # --- households and people -----------------------------------------------------------

    def members(self, size: int, migrant: bool) -> list[Member]:
        """Who lives together: relations, sexes and ages consistent with each other."""
        head_sex = "1" if self.chance(0.8) else "2"
        other = "2" if head_sex == "1" else "1"
        if size == 1:
            return [self.single(head_sex, migrant)]
        if size == 2 and not migrant and self.chance(0.04):  # grandparent and grandchild
            age = self.rng.uniform(58, 75)
            return [Member("02", head_sex, age), Member("40", self.pick(SEXES), self.rng.uniform(3, 15))]
        if size == 2 and self.chance(0.12):  # single parent and child
            age = self.rng.uniform(32, 58)
            return [Member("02", head_sex, age), self.child(age)]
        if size == 2:
            age = self.rng.uniform(22, 40) if migrant else self.rng.uniform(*self.pick(COUPLE_AGES))
            return [Member("02", head_sex, age, True), self.spouse(other, age)]
        age = self.rng.uniform(27, 50) if migrant else self.rng.uniform(28, 72)
        people = [Member("02", head_sex, age, True), self.spouse(other, age), self.child(age)]
        if size >= 4:
            with_parent = not migrant and age <= 55 and self.chance(0.55)
            people.append(self.parent(age, None) if with_parent else self.child(age))
        if size == 5:
            parent = next((p for p in people if p.relation == "50"), None)
            people.append(self.parent(age, parent) if parent or not migrant else self.child(age))
        return people

    def single(self, sex: str, migrant: bool) -> Member:
        if not migrant and self.chance(ELDERLY_SINGLES):
            return Member("02", self.pick(OLD_SEXES), self.rng.uniform(60, 92))
        young = migrant or self.chance(0.6)
        return Member("02", sex, self.rng.uniform(20, 45) if young else self.rng.uniform(45, 60))

    def spouse(self, sex: str, head_age: float) -> Member:
        return Member("10", sex, max(20.0, head_age + self.rng.uniform(-5, 3)), True)

    def child(self, parent_age: float) -> Member:
        sex = self.pick(SEXES)
        return Member("20" if sex == "1" else "30", sex, self.child_age(parent_age))

    def parent(self, head_age: float, other: Member | None) -> Member:
        if other is not None:
            return Member("50", "1" if other.sex == "2" else "2", other.age + self.rng.uniform(-4, 4), True)
        return Member("50", self.pick(OLD_SEXES), min(97.0, head_age + self.rng.uniform(24, 34)))

    def household(self, chunk: Chunk, house: dict, micro: dict) -> None:
        rented = house["use"] == House.Use.RENTED
        migrant = self.chance(MIGRANT_TENANTS if rented else MIGRANT_OWNERS)
        size = self.pick(HOUSEHOLD_SIZES)
        if rented and size > 3 and self.chance(0.5):
            size = self.rng.randint(1, 3)
        members = self.members(size, migrant)
        self.household_seq += 1
        household = {
            "house": house,
            "grid_id": micro["id"],
            "number": f"{micro['code']}{self.household_seq:05d}",
            "kind": Household.Kind.RENTING if rented else Household.Kind.FAMILY,
        }
        origin = (
            self.pick(self.places.sources)
            if migrant
            else (
                self.rng.choice(self.places.home_city)
                if self.chance(LOCALS_FROM_ELSEWHERE)
                else self.profile.district_code
            )
        )
        arrived = self.today - timedelta(days=int(self.rng.expovariate(1 / 900)) + 5) if migrant else None
        surname = self.pick(self.surnames)
        people = [self.person(m, micro, household, origin, arrived, surname) for m in members]
        household["head_name"] = people[0]["name"]
        chunk.households.append(household)
        chunk.people += people
        tagged = self.tags(chunk, people, members, household)
        self.visits(chunk, household, micro, people[0]["name"], tagged)

    def person(
        self, member: Member, micro: dict, household: dict, origin: str, arrived: date | None, surname: str
    ) -> dict:
        birth = self.birth_date(member.age)
        family = member.relation in ("02", "20", "30", "40") or member.relation == "50" and member.sex == "1"
        name = self.name(member.sex, surname if family else None)
        migrant = arrived is not None
        # A child born here to migrants has the parents' registered residence all the same.
        person = {
            "household": household,
            "grid_id": micro["id"],
            "name": name,
            "id_number": self.id_number(origin, birth, member.sex),
            "birth_date": birth,
            "sex": member.sex,
            "phone": self.phone() if member.age >= 12 else "",
            "ethnicity": "01" if self.chance(0.95 if migrant else 0.993) else self.pick(MINORITIES),
            "relation": member.relation,
            "political_status": self.political(member.age),
            "education": self.education(member.age, migrant),
            "marital_status": self.marital(member),
            "registered_address": self.places.names.get(origin, ""),
            "is_migrant": migrant,
            "arrived_on": max(arrived, birth) if migrant else None,
            "permit_state": self.permit(arrived) if migrant else Person.PermitState.NONE,
        }
        if migrant and 18 <= member.age < 60 and self.chance(0.7):
            person["employer_name"] = (
                self.company_name()
                if self.chance(0.6)
                else self.rng.choice(("个体经营", "灵活就业", "外卖骑手"))
            )
        return person

    def political(self, age: float) -> str:
        if age < 14:
            return "13"
        if age >= 18 and self.chance(PARTY_MEMBERS * (1.2 if age >= 45 else 0.85)):
            return "01"
        if age >= 18 and self.chance(0.004):
            return "02"
        if age < 28 and self.chance(0.45):
            return "03"
        if age >= 30 and self.chance(0.004):
            return self.rng.choice(("04", "05", "06", "07", "08", "09", "10", "12"))
        return "13"

    def education(self, age: float, migrant: bool) -> str:
        if age < 6:
            return ""
        if age < 18:
            return "80" if age < 12 else "70" if age < 15 else "60"
        if migrant and self.chance(0.25):
            return self.pick(MIGRANT_EDUCATION)
        born = self.today.year - age
        return self.pick(next(table for year, table in EDUCATION_BY_BIRTH if born >= year))

    def marital(self, member: Member) -> str:
        if member.age < 20:
            return "10"
        if member.married:
            return "22" if self.chance(0.05) else "20"
        if member.age >= 60:
            return self.pick((("30", 80), ("40", 12), ("10", 8)))
        if member.relation in ("02", "50"):
            return self.pick((("10", 50), ("40", 35), ("30", 15))) if member.age >= 30 else "10"
        return "10" if member.age < 30 or self.chance(0.7) else "20"

    def permit(self, arrived: date) -> str:
        if (self.today - arrived).days < 180:
            return self.pick(((Person.PermitState.NONE, 60), (Person.PermitState.APPLIED, 40)))
        return self.pick(PERMITS)

    # --- tags ----------------------------------------------------------------------------

    def tags(self, chunk: Chunk, people: list[dict], members: list[Member], household: dict) -> set[str]:
        """Tags of the household's people; returns the tag codes and "level:<care level>" keys (for the
        visit interval)."""
        found: set[str] = set()

        def tag(person: dict, code: str, **extra) -> None:
            found.add(code)
            found.add(f"level:{str(extra.get('care_level', PersonTag.CareLevel.NORMAL))}")
            chunk.tags.append(
                {
                    "person": person,
                    "tag_type_id": self.tag_types[code],
                    "grid_id": person["grid_id"],
                    "since": self.since(person),
                    **extra,
                }
            )

        low_income = self.chance(LOW_INCOME_HOUSEHOLDS)
        elderly = [m.age >= 60 for m in members]
        for person, member, old in zip(people, members, elderly, strict=True):
            if low_income:
                tag(person, "low_income")
            if person["political_status"] == "01":
                tag(person, "party_member")
            if len(members) == 1 and old:
                tag(
                    person,
                    "elderly_alone",
                    care_level=PersonTag.CareLevel.HIGH if member.age >= 80 else PersonTag.CareLevel.MEDIUM,
                )
            if len(members) == 2 and all(elderly) and member.relation in ("02", "10"):
                tag(person, "empty_nest")
            if member.relation == "40" and member.age < 16:
                tag(person, "left_behind_child", care_level=PersonTag.CareLevel.MEDIUM)
            if self.chance(DISABLED[old]):
                grade = self.pick(DISABILITY_GRADES)
                tag(
                    person,
                    "disabled",
                    grade=grade,
                    care_level=PersonTag.CareLevel.HIGH if grade <= 2 else PersonTag.CareLevel.NORMAL,
                )
            self.sensitive(person, member, tag)
        if people[0]["political_status"] == "01" and self.chance(0.05):
            tag(people[0], "party_household")
        return found

    def sensitive(self, person: dict, member: Member, tag) -> None:
        for code, rate in SENSITIVE_RATES.items():
            eligible = 12 <= member.age < 26 if code == "key_youth" else member.age >= 18
            if eligible and self.chance(rate):
                tag(person, code, care_level=PersonTag.CareLevel.MEDIUM)

    def since(self, person: dict) -> date:
        earliest = max(person["birth_date"], self.today - timedelta(days=3650))
        span = (self.today - earliest).days
        return earliest + timedelta(days=self.rng.randint(0, max(0, span - 1)))

    # --- visits --------------------------------------------------------------------------

    def workday(self, day: date) -> date:
        """Weekends move to the Monday after, or to the Friday before when that is in the future."""
        known = self.workdays.get(day)
        if known is None:
            known = self.workdays[day] = self._workday(day)
        return known

    def _workday(self, day: date) -> date:
        if day.weekday() < 5:
            return day
        monday = day + timedelta(days=7 - day.weekday())
        return monday if monday <= self.today else day - timedelta(days=day.weekday() - 4)

    def visits(self, chunk: Chunk, household: dict, micro: dict, head: str, tagged: set[str]) -> None:
        full, every = self.workers.get(micro["parent"], ([], []))
        if not every:
            return
        interval = self.rng.randint(*DEFAULT_VISIT_DAYS)
        intervals = [self.rules[code] for code in tagged if self.rules.get(code)]
        if intervals:
            interval = min(interval, *intervals)
        start = self.today - timedelta(days=365)
        day = start + timedelta(days=self.rng.randint(0, interval - 1))
        stop = self.today - timedelta(days=int(interval * 1.3)) if self.chance(LATE_VISITS) else self.today
        last = None
        # The year's 580,000 visits: the draws of `chance`, `rng.choice` and `rng.uniform` made
        # directly (the same draws, in the same order: `seq[_randbelow(len(seq))]`,
        # `a + (b - a) * random()`), weekend days moved by a table, and who was met written out
        # once per household.
        below, draw, workdays, workday = self.below, self.rng.random, self.workdays, self.workday
        met, grid_id, append = [m.format(head=head) for m in MET], micro["id"], chunk.visits.append
        n_full, n_every, n_met = len(full), len(every), len(met)
        n_needs, n_notes = len(VISIT_NEEDS_TEXTS), len(VISIT_NOTES)
        while day <= stop:
            visit_day = workdays.get(day) or workday(day)
            worker = full[below(n_full)] if full and draw() < 0.85 else every[below(n_every)]
            needs = VISIT_NEEDS_TEXTS[below(n_needs)] if draw() < VISIT_NEEDS else ""
            append(
                {
                    "household": household,
                    "grid_id": grid_id,
                    "worker_id": worker,
                    "visited_on": visit_day,
                    "met": met[below(n_met)],
                    "notes": VISIT_NOTES[below(n_notes)],
                    "needs": needs,
                }
            )
            last = visit_day
            day += timedelta(days=max(1, round(interval * (0.8 + (1.1 - 0.8) * draw()))))
        household["last_visited_on"] = last


# --- writing -------------------------------------------------------------------------------


def _micro_grids(populated: dict[int, int]) -> dict[int, list[dict]]:
    """The micro-grids of each populated level-3 grid, with their shapes."""
    parents = dict(Grid.objects.filter(pk__in=populated).values_list("code", "id"))
    by_parent: dict[int, list[dict]] = defaultdict(list)
    for pk, code, name, boundary, estimate in (
        Grid.objects.filter(level=4)
        .order_by("code")
        .values_list("id", "code", "name", "boundary", "households_estimate")
    ):
        parent = parents.get(code[: code_length(3)])
        if parent is not None:
            by_parent[parent].append(
                {
                    "id": pk,
                    "code": code,
                    "name": name,
                    "parent": parent,
                    "shape": shapely.geometry.shape(boundary),
                    "estimate": estimate,
                }
            )
    return by_parent


def _split(total: int, micros: list[dict]) -> list[int]:
    """Share a grid's households among its micro-grids by their estimates."""
    weights = [max(1, m["estimate"]) for m in micros]
    exact = [total * w / sum(weights) for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: parts[i] - exact[i])
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _number(model, rows: list) -> None:
    """Give new rows (model instances or dicts) their primary keys before they are written,
    so the rows written after them can point at them."""
    for row, pk in zip(rows, bulk.reserve_ids(model, len(rows)), strict=True):
        if isinstance(row, dict):
            row["id"] = pk
        else:
            row.pk = pk


def _link(rows: list[dict], parents: tuple[str, ...]) -> None:
    """Each name in `parents` holds a numbered parent (a dict or a model instance, or None),
    whose id becomes the row's foreign key."""
    for row in rows:
        for name in parents:
            parent = row[name]
            row[f"{name}_id"] = (
                None if parent is None else parent["id"] if isinstance(parent, dict) else parent.pk
            )


def _write(chunk: Chunk) -> None:
    """Parents first, each numbered before it is written; tags and visits need no ids back.
    Model instances (the few places and organizations) get their foreign keys from their
    numbered parents in the writer."""
    for model, rows in (
        (Compound, chunk.compounds),
        (Building, chunk.buildings),
        (Unit, chunk.units),
        (Organization, chunk.organizations),
    ):
        _number(model, rows)
        bulk.insert_rows(model, rows, with_pk=True)
    for model, rows, parents, numbered in (
        (House, chunk.houses, ("building", "unit"), True),
        (Household, chunk.households, ("house",), True),
        (Person, chunk.people, ("household",), True),
        (PersonTag, chunk.tags, ("person",), False),
        (Visit, chunk.visits, ("household",), False),
    ):
        _link(rows, parents)
        if numbered:
            _number(model, rows)
        bulk.insert_rows(model, rows, with_pk=numbered)


def _place_building_head(profile: Profile) -> None:
    """The building head demo account sits on a micro-grid with buildings (same grid)."""
    assignment = (
        Assignment.objects.filter(user__username="buildinghead", role=Role.BUILDING_HEAD)
        .select_related("grid")
        .first()
    )
    if assignment is None or Building.objects.filter(grid=assignment.grid).exists():
        return
    micro = (
        Building.objects.filter(grid__code__startswith=assignment.grid.code[: code_length(3)])
        .values_list("grid", flat=True)
        .order_by("grid__code")
        .first()
    )
    if micro is not None:
        Assignment.objects.filter(pk=assignment.pk).update(grid_id=micro)


def build_registry(profile: Profile, progress=None, *, today: date | None = None, seed: int = 2026) -> dict:
    """Write the registry; `progress(n)` is called in households. Returns the counts."""
    if Person.objects.exists() or Building.objects.exists():
        raise RuntimeError("The registry is not empty; reset the demo first.")
    builder = RegistryBuilder(profile, today=today or timezone.localdate(), seed=seed)
    populated = _populated_grids(profile)
    micros = _micro_grids(populated)
    chunk, pending = Chunk(), 0
    with transaction.atomic(), bulk.indexes_deferred(*BIG_TABLES):
        for grid_id, households in populated.items():
            for micro, count in zip(micros[grid_id], _split(households, micros[grid_id]), strict=True):
                if count:
                    builder.micro_grid(chunk, micro, count)
            pending += households
            if len(chunk.households) >= CHUNK_HOUSEHOLDS:
                _flush(chunk, builder.counts)
                chunk = Chunk()
                if progress:
                    progress(pending)
                pending = 0
        _flush(chunk, builder.counts)
    if progress and pending:
        progress(pending)
    _place_building_head(profile)
    builder.counts["care_files"] = _care_files(builder)
    return dict(builder.counts)


def _flush(chunk: Chunk, counts: dict) -> None:
    _write(chunk)
    for name in (
        "compounds",
        "buildings",
        "units",
        "houses",
        "households",
        "people",
        "tags",
        "organizations",
        "visits",
    ):
        counts[name] += len(getattr(chunk, name))


# --- care files (一人一档) ------------------------------------------------------------------------

CARE_FILES = 24  # people given a care plan, notes and services: the first high-care ones by grid code
CARE_TASKS = (
    ("上门测量血压，提醒按时服药", 4),
    ("联系助餐点，落实每日送餐", 10),
    ("协助申请居家养老服务补贴", 20),
)
CARE_NOTES = (
    "老人独自居住，子女在外地，每周电话联系一次。",
    "行动不便，上下楼需要搀扶，已联系楼门长留意。",
    "患高血压，需定期提醒服药。",
    "性格开朗，愿意参加社区老年活动。",
)
CARE_SERVICES = (
    (CareService.Kind.MEALS, "社区长者食堂"),
    (CareService.Kind.DAILY_CARE, "居家养老服务中心"),
    (CareService.Kind.HEALTH, "社区卫生服务站"),
    (CareService.Kind.COMPANIONSHIP, "社工站"),
)


def _care_files(builder: RegistryBuilder) -> int:
    """A few care files with a plan (a task done, one open, every third one overdue), a note and a
    service, written by a grid worker of the person's grid; returns how many people got one."""
    level3 = code_length(3)
    workers = {
        code: builder.workers[pk][1]
        for pk, code in Grid.objects.filter(pk__in=list(builder.workers)).values_list("pk", "code")
    }
    chosen: dict[int, tuple[int, int]] = {}
    for person, grid, code in (
        PersonTag.objects.filter(care_level=PersonTag.CareLevel.HIGH, tag_type__is_sensitive=False)
        .order_by("grid__code", "person_id")
        .values_list("person_id", "grid_id", "grid__code")
    ):
        if len(chosen) >= CARE_FILES:
            break
        if workers.get(code[:level3]) and person not in chosen:
            chosen[person] = (grid, builder.rng.choice(workers[code[:level3]]))
    today, now = builder.today, timezone.now()
    notes, tasks, services = [], [], []
    for n, (person, (grid, worker)) in enumerate(chosen.items()):
        title, days = CARE_TASKS[n % len(CARE_TASKS)]
        base = {"person_id": person, "grid_id": grid}
        tasks.append(
            CareTask(
                **base,
                title="入户核实近况，更新联系方式",
                due_on=today - timedelta(days=12),
                created_by_id=worker,
                done_at=now - timedelta(days=13),
                done_by_id=worker,
                result="已核实，联系方式无变化。",
            )
        )
        # Every third plan has a task past due: the worker's "care files overdue" list is not empty.
        due = today - timedelta(days=3) if n % 3 == 0 else today + timedelta(days=days)
        tasks.append(CareTask(**base, title=title, due_on=due, assignee_id=worker, created_by_id=worker))
        notes.append(
            CareNote(
                **base,
                author_id=worker,
                text=CARE_NOTES[n % len(CARE_NOTES)],
                at=now - timedelta(days=builder.rng.randint(1, 60)),
            )
        )
        kind, provider = CARE_SERVICES[n % len(CARE_SERVICES)]
        services.append(
            CareService(
                **base,
                kind=kind,
                provider=provider,
                recorded_by_id=worker,
                served_on=today - timedelta(days=builder.rng.randint(1, 30)),
            )
        )
    CareTask.objects.bulk_create(tasks)
    CareNote.objects.bulk_create(notes)
    CareService.objects.bulk_create(services)
    return len(chosen)
