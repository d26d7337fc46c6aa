from gridgov.cases.tests.conftest import POINT, report, world  # noqa: F401  (fixtures and the point they use)
