# The cases app's district with people in every role, for the API-wide tests here.
from gridgov.cases.tests.conftest import report, world  # noqa: F401
