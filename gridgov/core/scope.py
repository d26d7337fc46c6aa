"""Data scope: the one mechanism that decides which grid-bound rows a user may see.

A user's scope is the set of grid subtrees named by their assignments (a grid worker:
their grid; a community leader: their community; a handler: their department's area),
or everything for system administrators and auditors. Every query that returns
grid-bound data goes through `QuerySet.visible_to(user)`; nothing filters by hand.
"""

from dataclasses import dataclass

from django.db import models
from django.db.models import Q


@dataclass(frozen=True)
class Scope:
    everything: bool
    roots: tuple[str, ...]  # codes of the visible subtrees, none inside another

    @classmethod
    def nothing(cls) -> "Scope":
        return cls(False, ())

    @classmethod
    def of_codes(cls, codes) -> "Scope":
        kept: list[str] = []
        for code in sorted(set(codes)):
            if not kept or not code.startswith(kept[-1]):
                kept.append(code)
        return cls(False, tuple(kept))

    def covers(self, code: str) -> bool:
        return self.everything or any(code.startswith(root) for root in self.roots)

    def code_q(self, field: str = "code") -> Q:
        if self.everything:
            return Q()
        if not self.roots:
            return Q(pk__in=[])
        query = Q()
        for root in self.roots:
            query |= Q(**{f"{field}__startswith": root})
        return query


def _once_per_user(user, attribute: str, compute) -> Scope:
    """Compute a scope once per user object (i.e. once per request) and keep it on the user."""
    cached = getattr(user, attribute, None)
    if cached is None:
        cached = compute(user)
        if user is not None and getattr(user, "pk", None):
            setattr(user, attribute, cached)
    return cached


def scope_of(user) -> Scope:
    """The user's scope of grid-bound data."""
    from gridgov.accounts.roles import compute_scope

    return _once_per_user(user, "_gridgov_scope", compute_scope)


def registry_scope_of(user) -> Scope:
    """The scope of the population registry: only the roles that keep it (PIPL Art. 34)."""
    from gridgov.accounts.roles import compute_registry_scope

    return _once_per_user(user, "_gridgov_registry_scope", compute_registry_scope)


RULES = {"grid": scope_of, "registry": registry_scope_of}


class ScopedQuerySet(models.QuerySet):
    """Base queryset for every grid-bound model.

    Subclasses name the path to the row's grid in `scope_grid_field` (e.g. "grid" or
    "case__grid"); the Grid model itself sets it to None and is scoped by its code.
    `scope_rule` picks whose assignments count: every grid role, or (for the population
    registry) only the roles that keep it.
    """

    scope_grid_field: str | None = "grid"
    # A copy of the grid's code on the row itself (the rollups keep one): tested without a join.
    scope_code_field: str | None = None
    scope_rule = "grid"  # or "registry": personal data is seen by fewer roles
    # The path to the row's organization, for rows an employer's account also sees: those of the
    # organizations it speaks for (`roles.organizations_of`; a migrant worker's employment, bed, …).
    scope_org_field: str | None = None

    def visible_to(self, user):
        scope = RULES[self.scope_rule](user)
        if scope.everything:
            return self
        query = self._grid_q(scope)
        if self.scope_org_field is not None:
            from gridgov.accounts.roles import organizations_of

            organizations = organizations_of(user)
            if organizations:
                query |= Q(**{f"{self.scope_org_field}__in": sorted(organizations)})
        return self.filter(query)

    def _grid_q(self, scope: Scope) -> Q:
        if self.scope_code_field is not None:
            return scope.code_q(self.scope_code_field)
        if self.scope_grid_field is None:
            return scope.code_q("code")
        return scope.code_q(f"{self.scope_grid_field}__code")
