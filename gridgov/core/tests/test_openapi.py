"""What the OpenAPI document promises: one schema per name, and every error a route can give."""

from collections import Counter

import ninja

from gridgov.api import api


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_two_api_schemas_share_a_name():
    """OpenAPI names a schema by its class: a second class of one name would be documented as
    the first (the locate endpoint once showed the patrol's track point, with a required time)."""
    names = Counter(c.__name__ for c in set(_subclasses(ninja.Schema)) if c.__module__.startswith("gridgov.")
                    and not c.__module__.endswith(("tests", "conftest")) and ".tests." not in c.__module__)
    assert [name for name, count in names.items() if count > 1] == []


def test_errors_are_documented_where_they_can_happen():
    paths = api.get_openapi_schema()["paths"]
    register = paths["/api/v1/registry/people"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "413", "415"} <= set(register)
    assert register["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    act = paths["/api/v1/cases/{case_id}/actions/{action}"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409"} <= set(act)
    assert set(paths["/api/v1/health"]["get"]["responses"]) == {"200"}
    listing = paths["/api/v1/cases"]["get"]["responses"]
    assert {"400", "401", "403"} <= set(listing) and "404" not in listing
