"""Who answers for a grid: its grid leader and the seven posts, each filled or vacant.

A post (`accounts.Post`, the seven of a Beijing social grid) is held by an active staff
assignment on the grid carrying that post, whatever the role beside it; a grid's leader is its
active grid-leader assignment (one per grid: `accounts.roles.validate_assignment`). Everything
is read through `visible_to`, so callers pass grids the viewer may see (they 404 first) and
never get another area's people.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from gridgov.accounts.models import Assignment, Post, Role
from gridgov.accounts.services import staff_of_grid
from gridgov.grids.models import Grid

# The seven posts in their official order (Post.NONE is "no post").
POSTS = tuple(p for p in Post if p != Post.NONE)
# A resident's assignment names a home grid; it never holds a post.
NOT_STAFF = (Role.RESIDENT,)


@dataclass
class PostHolders:
    post: str
    label: str
    holders: list = field(default_factory=list)  # active Assignments, with their user

    @property
    def vacant(self) -> bool:
        return not self.holders


@dataclass
class GridStaffing:
    grid: Grid
    leader: Assignment | None
    posts: list[PostHolders]

    @property
    def filled(self) -> int:
        return sum(not p.vacant for p in self.posts)

    @property
    def total(self) -> int:
        return len(self.posts)

    def post(self, post: str) -> PostHolders:
        return next(p for p in self.posts if p.post == post)


def grid_staffing(grid: Grid, viewer) -> GridStaffing:
    """The grid's leader and its seven posts with the people holding them."""
    staff = [a for a in staff_of_grid(grid, viewer) if a.role not in NOT_STAFF]
    leader = next((a for a in staff if a.role == Role.GRID_LEADER), None)
    posts = [PostHolders(p.value, str(p.label), [a for a in staff if a.post == p]) for p in POSTS]
    return GridStaffing(grid, leader, posts)


def subtree_grids(viewer, grid: Grid, depth: int):
    """The visible grids below `grid`, down to `depth` levels, in code order."""
    return (Grid.objects.visible_to(viewer).subtree(grid.code)
            .filter(level__gt=grid.level, level__lte=grid.level + depth)
            .only("id", "code", "name", "level").order_by("code"))


def filled_counts(viewer, grids) -> list[dict]:
    """For each grid: how many of the seven posts are filled, which are vacant, and its
    leader's name; one query for the whole list."""
    grids = list(grids)
    held, leaders = defaultdict(set), {}
    rows = (Assignment.objects.visible_to(viewer).active().filter(grid__in=grids)
            .exclude(role__in=NOT_STAFF)
            .values_list("grid_id", "role", "post", "user__name", "user__username"))
    for grid_id, role, post, name, username in rows:
        if post:
            held[grid_id].add(post)
        if role == Role.GRID_LEADER:
            leaders[grid_id] = name or username
    return [{
        "code": g.code, "name": g.name, "level": g.level,
        "filled": sum(p in held[g.id] for p in POSTS), "total": len(POSTS),
        "leader": leaders.get(g.id, ""),
        "vacant": [p.value for p in POSTS if p not in held[g.id]],
        "vacant_labels": [str(p.label) for p in POSTS if p not in held[g.id]],
    } for g in grids]
