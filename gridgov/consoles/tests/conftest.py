# The cases app's little world (a street, its command centre, a sanitation office, people in every role).
from gridgov.cases.tests.conftest import report, world  # noqa: F401
