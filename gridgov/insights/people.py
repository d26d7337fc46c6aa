"""研判 across the registry and the other domains: people in care living next to an open hazard, and
households whose members keep coming to the mediation centre. Both are registry warnings (the
registry's scope; sensitive when a tag behind them is)."""

from collections import defaultdict
from datetime import date, timedelta

import numpy as np
from django.db.models import Q
from django.utils.translation import gettext as _

from gridgov.cases.models import Case
from gridgov.core import bulk
from gridgov.insights import conf
from gridgov.insights.analysis import Found, classes, project
from gridgov.insights.models import EarlyWarning

Kind, Source, Severity = EarlyWarning.Kind, EarlyWarning.Source, EarlyWarning.Severity
OPEN = ~Q(state__in=(Case.State.CLOSED, Case.State.REJECTED, Case.State.MERGED))


def _cared_homes() -> dict[int, list[tuple]]:
    """Households of people in care: {household: [(person, tag name, sensitive, lat, lon, grid)]}, at the
    point of their building."""
    from gridgov.population.models import PersonTag

    cared = PersonTag.objects.filter(
        person__is_active=True,
        tag_type__is_active=True,
        person__household__is_active=True,
        person__household__house__building__lat__isnull=False,
    ).filter(~Q(care_level="") | Q(tag_type__visit_rule__isnull=False))
    homes = defaultdict(list)
    for row in cared.values_list(
        "person__household_id",
        "person_id",
        "tag_type__name",
        "tag_type__is_sensitive",
        "person__household__house__building__lat",
        "person__household__house__building__lon",
        "person__household__grid_id",
    ):
        homes[row[0]].append(row[1:])
    return homes


def care_hazards(today: date) -> list[Found]:
    """A household in care within `hazard_radius_m` of an open case of a hazard class (安全隐患,
    公用设施: `GRIDGOV_INSIGHTS_HAZARD_CLASSES`)."""
    from scipy.spatial import cKDTree

    wanted = set(conf.hazard_classes())
    hazard_categories = [pk for pk, top in classes().items() if top.code in wanted]
    hazards = list(
        Case.objects.filter(
            OPEN, category_id__in=hazard_categories, lat__isnull=False, lon__isnull=False
        ).values_list("pk", "lat", "lon")
    )
    homes = _cared_homes()
    if not hazards or not homes:
        return []
    lat0, lon0 = float(np.mean([h[1] for h in hazards])), float(np.mean([h[2] for h in hazards]))
    tree = cKDTree(project(np.array([h[1] for h in hazards]), np.array([h[2] for h in hazards]), lat0, lon0))
    keys = sorted(homes)
    points = project(
        np.array([homes[k][0][3] for k in keys]), np.array([homes[k][0][4] for k in keys]), lat0, lon0
    )
    found = []
    for household, near in zip(keys, tree.query_ball_point(points, r=conf.hazard_radius_m()), strict=True):
        if not near:
            continue
        tagged = homes[household]
        names = "、".join(sorted({name for _p, name, *_rest in tagged}))
        title = _("People in care (%(tags)s) live within %(radius)d m of %(count)d open hazard cases") % {
            "tags": names,
            "radius": conf.hazard_radius_m(),
            "count": len(near),
        }
        found.append(
            Found(
                Kind.CARE_HAZARD,
                f"household:{household}",
                Source.REGISTRY,
                tagged[0][5],
                title[:200],
                Severity.HIGH,
                {
                    "household": household,
                    "people": sorted({p for p, *_r in tagged}),
                    "cases": sorted(int(hazards[i][0]) for i in near),
                },
                lat=tagged[0][3],
                lon=tagged[0][4],
                is_sensitive=any(t[2] for t in tagged),
            )
        )
    return found


def repeated_disputes(today: date) -> list[Found]:
    """Households two of whose members' disputes (or one member's two) came to the mediation centre within
    `dispute_days`: parties matched to registry people by their ID numbers' keyed hashes."""
    from gridgov.mediation.models import Party
    from gridgov.population.models import Person

    since = today - timedelta(days=conf.dispute_days())
    parties = (
        Party.objects.filter(dispute__created_at__date__gte=since)
        .exclude(id_number_hash="")
        .values_list("id_number_hash", "dispute_id")
    )
    disputes_of = defaultdict(set)
    for digest, dispute in parties:
        disputes_of[digest].add(dispute)
    households = defaultdict(lambda: {"people": set(), "disputes": set(), "grid": None})
    for chunk in bulk.chunks(sorted(disputes_of), 900):
        for digest, person, household, grid in Person.objects.filter(
            id_number_hash__in=chunk, is_active=True, household__isnull=False
        ).values_list("id_number_hash", "pk", "household_id", "grid_id"):
            home = households[household]
            home["people"].add(person)
            home["disputes"] |= disputes_of[digest]
            home["grid"] = grid
    found = []
    for household, home in households.items():
        count = len(home["disputes"])
        if count < 2:
            continue
        title = _("A household party to %(count)d disputes since %(since)s") % {
            "count": count,
            "since": since,
        }
        found.append(
            Found(
                Kind.REPEATED_DISPUTES,
                f"household:{household}",
                Source.REGISTRY,
                home["grid"],
                title,
                Severity.HIGH if count >= 3 else Severity.MEDIUM,
                {"household": household, "people": sorted(home["people"]), "disputes": count},
            )
        )
    return found
