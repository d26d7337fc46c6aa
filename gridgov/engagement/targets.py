"""A notice's target rules: checked when it is published, resolved once when it is sent.

Rules, combined as a union and always inside the notice's grid subtree:

  roles      users with an active assignment of one of these roles in the subtree
  tags       registry people with one of these tags (sensitive tags only for publishers
             holding Perm.VIEW_SENSITIVE_TAGS on the grid)
  buildings  the building's heads (building-head assignments on the building's grid or a
             grid above it, as `population.survey.may_survey` reads them, inside the subtree)
             and the registry people living there (an active household in one of its houses)
  people     named registry people (living in the subtree)
  users      named users holding an active assignment in the subtree

Registry people are matched to accounts by phone hash (Person.phone_hash == User.phone_hash):
a person with an account is reached in the app; one without an account but with a phone by
text message (one text per phone: two people sharing a phone get it once); one with neither
is recorded as unreachable. The author is never their own recipient.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext as _

from gridgov.accounts.models import Assignment, Role
from gridgov.accounts.roles import Perm, has_perm
from gridgov.grids.models import Grid
from gridgov.population.models import Building, Person, TagType

# Roles held on a grid: the ones a notice can reach (the audiences' roles).
TARGET_ROLES = (Role.LEADER, Role.DISPATCHER, Role.GRID_LEADER, Role.GRID_WORKER, Role.BUILDING_HEAD,
                Role.RESIDENT)
MAX_IDS = 500  # per rule: a notice to more people names a role, a tag or a grid instead


@dataclass
class Targets:
    roles: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # TagType codes
    building_ids: list[int] = field(default_factory=list)
    person_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)

    def __post_init__(self):
        self.roles = sorted({str(r).strip() for r in self.roles or [] if str(r).strip()})
        self.tags = sorted({str(t).strip() for t in self.tags or [] if str(t).strip()})
        self.building_ids = sorted(set(self.building_ids or []))
        self.person_ids = sorted(set(self.person_ids or []))
        self.user_ids = sorted(set(self.user_ids or []))

    def __bool__(self) -> bool:
        return bool(self.roles or self.tags or self.building_ids or self.person_ids or self.user_ids)


def of_notice(notice) -> Targets:
    if notice.pk is None:  # a new draft: no many-to-many rows yet
        return Targets(roles=list(notice.target_roles or []))
    return Targets(
        roles=list(notice.target_roles or []),
        tags=list(notice.target_tags.values_list("code", flat=True)),
        building_ids=list(notice.target_buildings.values_list("pk", flat=True)),
        person_ids=list(notice.target_people.values_list("pk", flat=True)),
        user_ids=list(notice.target_users.values_list("pk", flat=True)),
    )


def _outside(ids: list[int], inside: set[int]) -> str:
    return ", ".join(str(i) for i in ids if i not in inside)


def errors_of(author, targets: Targets, grid: Grid) -> dict[str, str]:
    """Per-field messages for rules the author may not use or that leave the grid's subtree.

    Called only for a grid in the author's publishing area, so a refusal says nothing about
    other areas: an id that does not exist and one of another grid get the same message."""
    errors: dict[str, str] = {}
    code, where = grid.code, grid.name
    too_many = _("At most %d at once.") % MAX_IDS
    unknown = [r for r in targets.roles if r not in TARGET_ROLES]
    if unknown:
        errors["target_roles"] = _("These roles cannot be chosen: %s.") % ", ".join(unknown)
    if targets.tags:
        found = {t.code: t for t in TagType.objects.filter(code__in=targets.tags, is_active=True)}
        missing = [c for c in targets.tags if c not in found]
        hidden = [c for c, t in found.items() if t.is_sensitive]
        if missing:
            errors["target_tags"] = _("No tag %s.") % ", ".join(missing)
        elif hidden and not has_perm(author, Perm.VIEW_SENSITIVE_TAGS, grid):
            errors["target_tags"] = _("You may not address people by a special-population tag (%s).") % (
                ", ".join(str(found[c]) for c in hidden))
    checks = (
        ("target_building_ids", targets.building_ids,
         Building.objects.filter(grid__code__startswith=code),
         _("Buildings %(ids)s are not in %(grid)s or below it.")),
        ("target_person_ids", targets.person_ids,
         Person.objects.filter(grid__code__startswith=code, is_active=True),
         _("People %(ids)s are not registered in %(grid)s or below it.")),
        ("target_user_ids", targets.user_ids,
         get_user_model().objects.filter(is_active=True, assignments__is_active=True,
                                         assignments__grid__code__startswith=code),
         _("Users %(ids)s hold no role in %(grid)s or below it.")),
    )
    for name, ids, inside, message in checks:
        if len(ids) > MAX_IDS:
            errors[name] = too_many
            continue
        outside = _outside(ids, set(inside.filter(pk__in=ids).values_list("pk", flat=True))) if ids else ""
        if outside:
            errors[name] = message % {"ids": outside, "grid": where}
    return errors


def save(notice, targets: Targets) -> None:
    """Store the rules of a saved notice (after `errors_of` found none)."""
    notice.target_tags.set(TagType.objects.filter(code__in=targets.tags))
    notice.target_buildings.set(targets.building_ids)
    notice.target_people.set(targets.person_ids)
    notice.target_users.set(targets.user_ids)


def sensitive(notice) -> bool:
    return notice.is_targeted and notice.target_tags.filter(is_sensitive=True).exists()


def names_visible(viewer, notice) -> bool:
    """Who received a notice sent by a special-population tag says who carries the tag: the
    names are shown only to those who may see such tags on the notice's grid."""
    return viewer is None or not sensitive(notice) or has_perm(viewer, Perm.VIEW_SENSITIVE_TAGS, notice.grid)


# --- resolution -------------------------------------------------------------------------------


@dataclass
class Resolution:
    user_ids: set[int]  # reached in the app
    text_person_ids: list[int]  # registry people without an account: one text per phone
    unreachable_person_ids: list[int]  # neither an account nor a phone


def _prefixes(code: str) -> list[str]:
    return [code[:n] for n in range(1, len(code) + 1)]


def _users(notice, subtree: Q) -> set[int]:
    users: set[int] = set()
    active = Assignment.objects.filter(subtree, is_active=True, user__is_active=True)
    if notice.target_roles:
        users |= set(active.filter(role__in=notice.target_roles).values_list("user_id", flat=True))
    users |= set(active.filter(user__in=notice.target_users.all()).values_list("user_id", flat=True))
    buildings = notice.target_buildings.filter(grid__code__startswith=notice.grid.code)
    for grid_code in buildings.order_by().values_list("grid__code", flat=True).distinct():
        heads = active.filter(role=Role.BUILDING_HEAD, grid__code__in=_prefixes(grid_code))
        users |= set(heads.values_list("user_id", flat=True))
    return users


def _people(notice):
    buildings = notice.target_buildings.all()
    chosen = (
        Q(tags__tag_type__in=notice.target_tags.all())
        | Q(household__house__building__in=buildings, household__is_active=True)
        | Q(pk__in=notice.target_people.values("pk"))
    )
    return Person.objects.filter(chosen, is_active=True, grid__code__startswith=notice.grid.code)


def resolve(notice) -> Resolution:
    """Who a targeted notice reaches, on which channel (see the module docstring)."""
    subtree = Q(grid__code__startswith=notice.grid.code)
    users = _users(notice, subtree)
    people = _people(notice)
    # Subqueries, not lists: a tag may name thousands of people (SQLite caps bound parameters).
    accounts = get_user_model().objects.filter(
        is_active=True, phone_hash__in=people.exclude(phone_hash="").values("phone_hash")
    )
    with_account: set[str] = set()
    for user_id, phone_hash in accounts.values_list("pk", "phone_hash"):
        users.add(user_id)
        with_account.add(phone_hash)
    texts, unreachable, phones = [], [], set()
    for person_id, phone_hash in people.values_list("pk", "phone_hash").distinct().order_by("pk"):
        if phone_hash in with_account or phone_hash in phones:
            continue
        if not phone_hash:
            unreachable.append(person_id)
            continue
        phones.add(phone_hash)
        texts.append(person_id)
    users.discard(notice.author_id)
    return Resolution(users, texts, unreachable)
