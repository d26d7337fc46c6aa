from gridgov.services.models import ProxyPoint, ServicePoint

A = (31.33, 120.51)  # inside grid A (district.grids[0]) of the test district
B = (31.31, 120.53)  # inside grid B (district.grids[3])


def point(grid, name, lat, lon, kind="meal", **fields) -> ServicePoint:
    return ServicePoint.objects.create(name=name, kind=kind, grid=grid, lat=lat, lon=lon, **fields)


def proxy_point(grid, name, *agents) -> ProxyPoint:
    found = ProxyPoint.objects.create(name=name, grid=grid, unified_sign=True, unified_agent=True)
    found.agents.set(agents)
    return found
