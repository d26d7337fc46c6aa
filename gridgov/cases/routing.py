"""Which department a case should go to: the most specific routing rule wins.

Areas are tried from the case's own grid up to the district default, and within each
area the category before its subclass and class — so a street's rule for a whole class
beats the district's rule for one leaf.
"""

from gridgov.cases.models import Case, CategoryRoute


def propose_department(case: Case):
    categories = [c.pk for c in case.category.lineage()]
    areas = [*reversed([*case.grid.ancestor_codes(), case.grid.code]), None]
    routes = list(CategoryRoute.objects.filter(category_id__in=categories, department__is_active=True)
                  .select_related("area", "department"))
    for area in areas:
        for category in categories:
            for route in routes:
                route_area = route.area.code if route.area_id else None
                if route.category_id == category and route_area == area:
                    return route.department
    return None
