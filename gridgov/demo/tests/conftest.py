"""The fengqiao district is built once and shared by the modules that ask for it.

Building it takes most of a minute, so `test_demo.py` and `test_registry.py` run one after
the other (see `pytest_collection_modifyitems`) and the second reuses the first's build;
the district is deleted after the last module that uses it, so the other demo tests start
from an empty database.
"""

from pathlib import Path

import pytest
from django.core.management import call_command

HERE = Path(__file__).resolve().parent
FIXTURE = "fengqiao"


def _uses_fengqiao(item) -> bool:
    return FIXTURE in getattr(item, "fixturenames", ()) and HERE in Path(item.path).parents


def pytest_collection_modifyitems(session, config, items):
    """Run this package's tests that use the shared district next to each other."""
    users = [item for item in items if _uses_fengqiao(item)]
    if not users:
        return
    first = items.index(users[0])
    chosen = set(map(id, users))
    others = [item for item in items if id(item) not in chosen]
    items[:] = others[:first] + users + others[first:]


def _next_module_uses_fengqiao(request) -> bool:
    items = request.session.items
    mine = [index for index, item in enumerate(items) if getattr(item, "module", None) is request.module]
    following = mine[-1] + 1 if mine else len(items)
    return following < len(items) and _uses_fengqiao(items[following])


TEST_COMMUNITIES = 7


@pytest.fixture(scope="module")
def fengqiao(request, django_db_setup, django_db_blocker):
    from gridgov.demo.builder import demo_exists, reset

    with django_db_blocker.unblock():
        if not demo_exists():
            # The demo accounts' street only (7 communities): the whole district's 180,000
            # people would add a minute per database to every run of the suite.
            call_command("demo", profile="fengqiao", registry_communities=TEST_COMMUNITIES, no_migrants=True,
                         verbosity=0)
        yield
        if not _next_module_uses_fengqiao(request):
            reset()
