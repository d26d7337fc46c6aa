"""The whole OpenAPI, fuzzed by schemathesis as an administrator and as a grid worker.

Every operation gets a few generated requests (valid, boundary and invalid ones) against a
small district with cases, a household and a patrol; the checks that must hold are: no 5xx,
only documented statuses, responses and content types as documented, invalid input refused.
`positive_data_acceptance` is left out: rules such as ID-number check characters, a grid
code's parent or an object's existence cannot be said in JSON Schema, so schema-valid input
may rightly be refused with a 400. The longer run is `bench/fuzz.py`.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from gridgov.accounts.auth import issue_token
from gridgov.core.testing import admin_user
from gridgov.patrols import services as patrols
from gridgov.population import testing as registry

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
]
EXAMPLES = 6


@pytest.fixture
def fuzz_tokens(world, report):
    report()
    report(description="路灯不亮")
    home = registry.household(world.district.micro_grids[0])
    registry.person(home, "王建国")
    patrols.start(world.worker, client_key="fuzz")
    return [issue_token(admin_user(), "fuzz"), issue_token(world.worker, "fuzz")]


@pytest.fixture
def in_test_transaction():
    """Keep the test's connection open across requests, as Django's test client does: the WSGI
    handler would otherwise close it at the end of each request (and roll back the test)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _load_schema():
    # Loaded at collection from the API object (no request, no database); requests go to the
    # WSGI application in this process, so they see the test's database.
    from gridgov.api import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_keeps_its_documented_promises(case, fuzz_tokens, in_test_transaction):
    for token in fuzz_tokens:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

