"""Build a demo district sized like the seed articles, on real codes and a real outline.

Profiles:
- fengqiao: 虎丘区 (320505), Suzhou — 7 / 119 / 178 / 383 grids (seed 000);
- jinhua:   金东区 (330703), Jinhua — 8 / 168 / 300 / 7,349 grids (seed 004).
Street and community codes and names are the official ones where they exist; grid
polygons are a Voronoi partition of the real county outline (real-data.md: no open
package has street or community polygons).
"""

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import transaction
from faker import Faker

from gridgov.accounts.models import Assignment, Department, Post, Role, User
from gridgov.demo.partition import partition
from gridgov.grids import divisions, geometry
from gridgov.grids.importer import import_feature_collection
from gridgov.grids.models import Grid

DEMO_PASSWORD = "gridgov-demo-2026"


@dataclass(frozen=True)
class Profile:
    name: str
    district_code: str
    district_name: str
    counts: tuple[int, int, int, int]
    first_streets: tuple[str, ...] = ()
    households_per_grid: tuple[int, int] = (320, 480)
    # The population registry (demo/registry.py): households per level-3 grid (None: the
    # grid's households_estimate) and how many communities get them (None: all).
    registry_households: int | None = None
    registry_communities: int | None = None


PROFILES = {
    "fengqiao": Profile(
        "fengqiao",
        "320505",
        "虎丘区",
        (7, 119, 178, 383),
        first_streets=("320505003",),
        registry_communities=None,
    ),
    "jinhua": Profile(
        "jinhua",
        "330703",
        "金东区",
        (8, 168, 300, 7349),
        households_per_grid=(250, 400),
        registry_households=60,
        registry_communities=40,
    ),
}


@dataclass
class Node:
    code: str
    name: str
    level: int
    geom: object
    households: int = 0
    children: list = field(default_factory=list)


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split `total` into len(weights) parts of at least 1, proportional to weights."""
    n = len(weights)
    share = np.asarray(weights) / sum(weights) * (total - n)
    parts = np.floor(share).astype(int) + 1
    remainder = total - parts.sum()
    for index in np.argsort(-(share - np.floor(share)))[:remainder]:
        parts[index] += 1
    return parts.tolist()


def _pick_streets(profile: Profile) -> list[tuple[str, str]]:
    # Streets and townships only: statistical units such as bonded zones or business
    # incubators have street-level codes but no residents' grids.
    real = [
        s
        for s in divisions.streets(profile.district_code)
        if any(word in s[1] for word in ("街道", "镇", "乡"))
    ]
    real = [s for s in real if s[0] in profile.first_streets] + [
        s for s in real if s[0] not in profile.first_streets
    ]
    names = real[: profile.counts[0]]
    taken = {code[-3:] for code, _name in divisions.streets(profile.district_code)}
    for seq in _free_sequences(taken, STREET_OFFICES, profile.counts[0] - len(names)):
        names.append((f"{profile.district_code}{seq:03d}", f"第{seq}街道"))
    return names


# GB/T 10114 and the statistical division codes give each kind of unit its own range of
# sequence numbers; an invented unit takes a free number in its kind's range, so a made-up
# 社区 never carries a village's code (200–399).
STREET_OFFICES = range(1, 100)  # 街道 001–099 (镇 100–199, 乡 200–399)
RESIDENTS_COMMITTEES = range(1, 200)  # 居民委员会 001–199 (村民委员会 200–399)


def _free_sequences(taken: set[str], kind: range, count: int) -> list[int]:
    free = [seq for seq in kind if f"{seq:03d}" not in taken][:count]
    if len(free) < count:
        raise ValueError(f"only {len(free)} free codes in {kind.start:03d}–{kind.stop - 1:03d}")
    return free


@cache
def _official_communities(district_code: str) -> dict[str, list[tuple[str, str]]]:
    """The district's official communities by street code: one pass over the national list of
    villages (some 600,000 lines) instead of one per street."""
    by_street: dict[str, list[tuple[str, str]]] = {}
    for code, name in divisions.communities(district_code):
        by_street.setdefault(code[: len(district_code) + 3], []).append((code, name))
    return by_street


def _community_names(street_code: str, count: int) -> list[tuple[str, str]]:
    official = _official_communities(street_code[:-3]).get(street_code, [])
    real = official[:count]
    taken = {code[-3:] for code, _name in official}
    for seq in _free_sequences(taken, RESIDENTS_COMMITTEES, count - len(real)):
        real.append((f"{street_code}{seq:03d}", f"新建第{seq}社区"))
    return real


def build_tree(profile: Profile, seed: int = 2026) -> list[Node]:
    rng = np.random.default_rng(seed)
    outline = divisions.county_outline(profile.district_code)
    streets = _pick_streets(profile)
    street_cells = partition(outline, len(streets), rng)
    roots = [Node(code, name, 1, cell) for (code, name), cell in zip(streets, street_cells, strict=True)]
    lat0 = outline.centroid.y
    _split(roots, profile.counts[1], rng, lat0, _community_children)
    communities = [c for s in roots for c in s.children]
    _split(
        communities,
        profile.counts[2],
        rng,
        lat0,
        lambda parent, cells: [
            Node(f"{parent.code}{i:03d}", f"{parent.name}第{i}网格", 3, cell)
            for i, cell in enumerate(cells, 1)
        ],
    )
    grids = [g for c in communities for g in c.children]
    _split(
        grids,
        profile.counts[3],
        rng,
        lat0,
        lambda parent, cells: [
            Node(f"{parent.code}{i:03d}", f"{parent.name}{i}号微网格", 4, cell)
            for i, cell in enumerate(cells, 1)
        ],
    )
    low, high = profile.households_per_grid
    for grid in grids:
        grid.households = int(rng.integers(low, high + 1))
        parts = _allocate(grid.households, [1.0] * len(grid.children))
        for micro, households in zip(grid.children, parts, strict=True):
            micro.households = households
    for community in communities:
        community.households = sum(g.households for g in community.children)
    for street in roots:
        street.households = sum(c.households for c in street.children)
    return roots


def _community_children(parent: Node, cells) -> list[Node]:
    names = _community_names(parent.code, len(cells))
    return [Node(code, name, 2, cell) for (code, name), cell in zip(names, cells, strict=True)]


def _split(parents: list[Node], total: int, rng, lat0: float, make_children) -> None:
    areas = [geometry.area_m2(p.geom, lat0) for p in parents]
    for parent, count in zip(parents, _allocate(total, areas), strict=True):
        parent.children = make_children(parent, partition(parent.geom, count, rng))


def _walk(nodes):
    for node in nodes:
        yield node
        yield from _walk(node.children)


def feature_collection(roots: list[Node]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": geometry.to_geojson(n.geom),
                "properties": {"code": n.code, "name": n.name, "households_estimate": n.households},
            }
            for n in _walk(roots)
        ],
    }


# --- people -------------------------------------------------------------------------------

DEPARTMENTS_PER_STREET = [
    ("环卫所", "Street sanitation office: cleaning, rubbish, public toilets"),
    ("城管中队", "City management squad: street order, illegal building, advertising"),
    ("派出所", "Police station: public security hazards"),
    ("司法所", "Judicial office: disputes and mediation"),
    ("市场监管所", "Market supervision: shops, food safety"),
]
DEPARTMENTS_DISTRICT = [
    ("区住房和城乡建设局", "Housing and construction: building sites, roads"),
    ("区人力资源和社会保障局", "Labour inspection: wage arrears, social security"),
    ("区民政局", "Civil affairs: low-income support, elderly care"),
    ("区水务局", "Water supply and drainage"),
    ("供电公司", "Power supply"),
    ("燃气公司", "Gas supply"),
]


@dataclass
class DemoAccount:
    username: str
    role: str
    where: str


class PeopleBuilder:
    """Creates staff for every grid with one password hash, in bulk."""

    def __init__(self, profile: Profile, seed: int = 2026):
        self.profile = profile
        self.fake = Faker("zh_CN")
        Faker.seed(seed)
        self.password = make_password(DEMO_PASSWORD)
        self.users: list[User] = []
        self.assignments: list[tuple[int, str, str | None, int | None, str, bool]] = []
        self.accounts: list[DemoAccount] = []

    def _user(self, username: str, **extra) -> int:
        self.users.append(
            User(
                username=username,
                name=self.fake.name(),
                password=self.password,
                phone=self.fake.phone_number(),
                **extra,
            )
        )
        return len(self.users) - 1

    def _assign(
        self,
        user: int,
        role: str,
        grid: str | None = None,
        department: int | None = None,
        post: str = "",
        full_time: bool = True,
    ) -> None:
        self.assignments.append((user, role, grid, department, post, full_time))

    def build(self) -> list[DemoAccount]:
        grids = {g.code: g for g in Grid.objects.all().only("id", "code", "name", "level")}
        departments = self._departments(grids)
        by_level = {n: sorted(c for c, g in grids.items() if g.level == n) for n in range(1, 5)}
        # The demo account "gridleader" leads the first grid, so that grid gets no other leader:
        # a grid has one active grid leader (accounts.roles.validate_assignment, a unique index).
        self._staff(by_level, departments, led_by_demo=self._demo_places(by_level, departments, grids)[2])
        self._demo_accounts(by_level, departments, grids)
        User.objects.bulk_create(self.users, batch_size=500)
        ids = dict(
            User.objects.filter(username__in=[u.username for u in self.users]).values_list("username", "id")
        )
        Assignment.objects.bulk_create(
            [
                Assignment(
                    user_id=ids[self.users[u].username],
                    role=role,
                    grid_id=grids[grid].id if grid else None,
                    department_id=department,
                    post=post,
                    is_full_time=full_time,
                )
                for u, role, grid, department, post, full_time in self.assignments
            ],
            batch_size=1000,
        )
        return self.accounts

    def _departments(self, grids) -> list[tuple[Department, str | None]]:
        made = []
        for name, duty in DEPARTMENTS_DISTRICT:
            made.append((Department(name=name, duty=duty), None))
        for code in sorted(c for c, g in grids.items() if g.level == 1):
            for suffix, duty in DEPARTMENTS_PER_STREET:
                made.append(
                    (Department(name=f"{grids[code].name}{suffix}", duty=duty, area_id=grids[code].id), code)
                )
        Department.objects.bulk_create([d for d, _ in made])
        return [(d, street) for d, street in made]

    def _staff(self, by_level, departments, led_by_demo: str = "") -> None:
        seq = iter(range(1, 10**7))
        for code in by_level[1]:
            self._assign(self._user(f"s{next(seq):05d}"), Role.LEADER, code)
            self._assign(self._user(f"s{next(seq):05d}"), Role.DISPATCHER, code)
        for code in by_level[2]:
            self._assign(self._user(f"s{next(seq):05d}"), Role.LEADER, code, post=Post.PARTY_SECRETARY)
        for code in by_level[3]:
            if code != led_by_demo:
                self._assign(self._user(f"s{next(seq):05d}"), Role.GRID_LEADER, code, post=Post.MANAGER)
            self._assign(self._user(f"s{next(seq):05d}"), Role.GRID_WORKER, code, post=Post.ASSISTANT)
            self._assign(
                self._user(f"s{next(seq):05d}"),
                Role.GRID_WORKER,
                code,
                post=Post.POLICE_OFFICER,
                full_time=False,
            )
        for code in by_level[4]:
            self._assign(self._user(f"s{next(seq):05d}"), Role.BUILDING_HEAD, code, full_time=False)
        for department, _street in departments:
            self._assign(self._user(f"s{next(seq):05d}"), Role.HANDLER, department=department.id)

    def _demo_places(self, by_level, departments, grids) -> tuple:
        """Where the demo accounts work: street, community, grid, micro-grid, department."""
        preferred = [c for c in self.profile.first_streets if c in grids]
        street = (preferred or by_level[1])[0]
        community = next(c for c in by_level[2] if c.startswith(street))
        grid = next(c for c in by_level[3] if c.startswith(community))
        micro = next(c for c in by_level[4] if c.startswith(grid))
        handler_dept = next(d for d, s in departments if s == street)
        return street, community, grid, micro, handler_dept

    def _demo_accounts(self, by_level, departments, grids) -> None:
        street, community, grid, micro, handler_dept = self._demo_places(by_level, departments, grids)
        plan = [
            ("admin", Role.ADMIN, None, None, {"is_superuser": True, "is_staff": True}),
            ("leader", Role.LEADER, street, None, {"is_staff": True}),
            ("community", Role.LEADER, community, None, {"is_staff": True}),
            ("dispatcher", Role.DISPATCHER, street, None, {"is_staff": True}),
            ("handler", Role.HANDLER, None, handler_dept, {}),
            ("gridleader", Role.GRID_LEADER, grid, None, {}),
            ("worker", Role.GRID_WORKER, grid, None, {}),
            ("buildinghead", Role.BUILDING_HEAD, micro, None, {}),
            ("auditor", Role.AUDITOR, None, None, {"is_staff": True}),
            ("resident", Role.RESIDENT, grid, None, {}),
        ]
        for username, role, code, department, flags in plan:
            user = self._user(username, **flags)
            post = Post.MANAGER if role == Role.GRID_LEADER else ""
            self._assign(user, role, code, department.id if department else None, post=post)
            where = grids[code].name if code else (department.name if department else "全区")
            self.accounts.append(DemoAccount(username, role, where))


def demo_exists() -> bool:
    return Grid.objects.exists()


def reset_registry() -> None:
    """Delete the population registry, the rows that point at others first. Volunteer teams
    are registry organizations (a protected link): they go with them, their members stay; the
    services' orders, errands and jobs point at its people and organizations: they go first."""
    from gridgov.population import models as registry
    from gridgov.volunteers.models import Team

    reset_services()
    reset_migrants(grids=False)
    Team.objects.only("id").delete()
    for model in (
        registry.ImportJob,
        registry.Visit,
        registry.SurveyItem,
        registry.BuildingSurvey,
        registry.PersonTag,
        registry.Person,
        registry.Household,
        registry.House,
        registry.Unit,
        registry.Organization,
        registry.Building,
        registry.Compound,
    ):
        model.objects.only("id").delete()


def reset_volunteers() -> None:
    """Delete the volunteers and all that hangs on them, the rows that point at others first."""
    from gridgov.volunteers import models as volunteers

    volunteers.Certificate.objects.all().delete()
    volunteers.ExpiryPolicy.objects.all().delete()
    for model in (volunteers.GroupNotice, volunteers.GroupMember, volunteers.InterestGroup):
        model.objects.only("id").delete()
    # The points ledger is append-only: its manager's delete() raises, so that no code path
    # takes points away by deleting entries. Wiping the whole demo is not such a path; the
    # queryset's private _raw_delete sends one DELETE without going through that guard (or
    # loading the rows), and the guard stays in place for everything else.
    entries = volunteers.PointEntry.objects.all()
    entries._raw_delete(entries.db)
    for model in (
        volunteers.Order,
        volunteers.ShopItem,
        volunteers.ActivityLog,
        volunteers.Attendance,
        volunteers.Signup,
        volunteers.Activity,
        volunteers.Team,
        volunteers.VolunteerLog,
        volunteers.Volunteer,
    ):
        model.objects.only("id").delete()


def reset_mediation() -> None:
    """Delete the mediation centre's rows (they point at cases, users, grids and departments)."""
    from gridgov.mediation import models as mediation

    for model in (
        mediation.DisputeLog,
        mediation.ReturnVisit,
        mediation.Referral,
        mediation.Agreement,
        mediation.SessionAttachment,
        mediation.Session,
        mediation.Party,
        mediation.Dispute,
        mediation.Visit,
        mediation.Visitor,
        mediation.Window,
        mediation.Centre,
    ):
        model.objects.only("id").delete()


def reset_services() -> None:
    """Delete the services' rows (they point at grids, users, people and organizations); the
    errand catalogue stays (it comes with the migrations). Every process reloads its index."""
    from gridgov.services import models as services
    from gridgov.services.points import bump_version

    for model in (
        services.JobMatch,
        services.JobOpening,
        services.JobWish,
        services.ErrandLog,
        services.Errand,
        services.ProxyPoint,
        services.Rating,
        services.Order,
        services.ServicePoint,
    ):
        model.objects.only("id").delete()
    bump_version()


def reset_migrants(*, grids: bool = True) -> None:
    """Delete the migrants' rows (they point at the registry's people, organizations, buildings and
    houses, at grids and users), the people and buildings of the dormitories' grids, the employers
    housed there and the two demo accounts of the section. With `grids`, the dormitories' dedicated
    grids go too (`reset` leaves them to its own sweep of the grids, after the cases that may lie in
    them)."""
    from gridgov.migrants import models as migrants
    from gridgov.population.models import Building, Organization, Person

    dormitories = Grid.objects.filter(special_type=Grid.SpecialType.DORMITORY)
    dormitory_grids = list(dormitories.values_list("pk", flat=True))
    employers = list(migrants.Lessee.objects.values_list("organization_id", flat=True))
    for model in (
        migrants.Finding,
        migrants.Inspection,
        migrants.Rental,
        migrants.MigrantEstimate,
        migrants.PermitReminder,
        migrants.Permit,
        migrants.CardEvent,
        migrants.AccessCard,
        migrants.Stay,
        migrants.Employment,
        migrants.Bed,
        migrants.Room,
        migrants.Lessee,
        migrants.Dormitory,
    ):
        model.objects.only("id").delete()
    Assignment.objects.filter(organization__isnull=False).delete()
    Assignment.objects.filter(role=Role.DORM_MANAGER).delete()
    User.objects.filter(username__in=("dormmanager", "employer"), assignments__isnull=True).delete()
    Person.objects.filter(grid__in=dormitory_grids).only("id").delete()
    Organization.objects.filter(pk__in=employers).update(building=None)
    Organization.objects.filter(pk__in=employers).delete()
    Building.objects.filter(grid__in=dormitory_grids).delete()
    workshops = Building.objects.filter(use=Building.Use.COMMERCIAL, name="木桥工业坊")
    workshops.filter(organizations__isnull=True).delete()
    if grids:
        Grid.objects.filter(pk__in=dormitory_grids).delete()


DEMO_OPEN311_KEY = "gg311_demo_fengqiao"


def open_to_the_public() -> int:
    """The city-management categories of the national standard become Open311 services (their
    reports on the public map: components exactly, matters to about 100 m); the local
    social-governance ones (disputes, special groups) stay internal. A demo client gets a known
    key. Returns the number of public categories."""
    from gridgov.cases.categories import STANDARD
    from gridgov.cases.models import Category, PublicLocation
    from gridgov.open311 import services

    public = Category.objects.filter(standard_ref=STANDARD, is_active=True)
    public.filter(kind=Category.Kind.COMPONENT).update(is_public=True, public_location=PublicLocation.EXACT)
    public.exclude(kind=Category.Kind.COMPONENT).update(is_public=True)
    services.create_client("演示App", contact="demo@gridgov.example", key=DEMO_OPEN311_KEY)
    return public.count()


def reset_outward() -> None:
    """Open311 links, calls and clients (their service accounts go with the users), the public
    categories, the webhook subscriptions with their events and deliveries, and the message
    board."""
    from gridgov.open311.models import ApiClient, CallLog, ServiceRequest
    from gridgov.participation.models import Election, FollowUp, Post, Proposal, Representative
    from gridgov.webhooks.models import Delivery, Event, Subscription

    for model in (
        ServiceRequest,
        CallLog,
        ApiClient,
        Delivery,
        Event,
        Subscription,
        FollowUp,
        Proposal,
        Representative,
        Election,
        Post,
    ):
        model.objects.all().delete()
    from gridgov.cases.models import Category, PublicLocation

    # The categories stay (they come with the migrations), closed to the public again.
    Category.objects.filter(is_public=True).update(is_public=False, public_location=PublicLocation.ROUNDED)


@transaction.atomic
def reset() -> None:
    """Delete the whole district: the services, the mediation centre, the volunteers, the registry,
    then cases and what hangs on them, then people, grids."""
    from gridgov.cases.models import Attachment, Case, CaseLog, CategoryRoute, Notification

    reset_services()
    reset_migrants(grids=False)
    reset_mediation()
    reset_volunteers()
    reset_outward()
    reset_registry()
    Notification.objects.all().delete()
    Attachment.objects.all().delete()
    # only("id"): the deletion collector loads every row it deletes; a year of history is
    # 150,000 log rows, and their texts are not needed to delete them.
    CaseLog.objects.only("id").delete()
    Case.objects.exclude(merged_into=None).update(merged_into=None)
    Case.objects.only("id").delete()
    CategoryRoute.objects.all().delete()
    Assignment.objects.all().delete()
    User.objects.all().delete()
    Department.objects.all().delete()
    for level in range(6, 0, -1):
        Grid.objects.filter(level=level).delete()


def build(profile: Profile, progress=None) -> tuple[object, list[DemoAccount]]:
    """Lay out the grids, import them through the normal importer, then add people."""
    roots = build_tree(profile)
    collection = feature_collection(roots)
    with transaction.atomic():
        report = import_feature_collection(collection, progress=progress)
        if not report.ok:
            raise RuntimeError("\n".join(str(e) for e in report.errors[:20]))
        accounts = PeopleBuilder(profile).build()
    return report, accounts


def demo_accounts() -> list[DemoAccount]:
    names = [
        "admin",
        "leader",
        "community",
        "dispatcher",
        "handler",
        "gridleader",
        "worker",
        "buildinghead",
        "auditor",
        "resident",
        "dormmanager",
        "employer",
    ]
    found = {
        u.username: u
        for u in User.objects.filter(username__in=names).prefetch_related(
            "assignments__grid", "assignments__department", "assignments__organization"
        )
    }
    accounts = []
    for username in names:
        user = found.get(username)
        if user is None:
            continue
        assignment = user.assignments.all()[0] if user.assignments.all() else None
        where = "全区"
        if assignment and assignment.grid:
            where = assignment.grid.name
        elif assignment and assignment.department:
            where = assignment.department.name
        elif assignment and assignment.organization:
            where = assignment.organization.name
        accounts.append(DemoAccount(username, assignment.role if assignment else "", where))
    return accounts
