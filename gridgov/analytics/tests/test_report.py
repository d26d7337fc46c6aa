"""The period report's mediation section: the mediation centre's figures of the period
(`mediation.figures.build`, the dashboard's section) in the workbook and the PDF."""

import io

import pytest
from openpyxl import load_workbook

from gridgov.analytics import report
from gridgov.core.testing import staff
from gridgov.mediation.tests.conftest import town  # noqa: F401
from gridgov.mediation.tests.test_figures import year  # noqa: F401

pytestmark = pytest.mark.django_db
SHEET = "矛盾调解"


def _sheet(client) -> list[tuple]:
    response = client.get("/analytics/report.xlsx?period=month")
    assert response.status_code == 200, response.content[:500]
    book = load_workbook(io.BytesIO(response.content))
    return [row for row in book[SHEET].iter_rows(values_only=True)]


def test_the_workbook_has_the_mediation_section_with_the_periods_figures(town, year, client_for):  # noqa: F811
    # Four disputes (one agreed in time, one referred to arbitration, one reopened after its agreement
    # broke, one waiting) and three visits, all this month.
    rows = _sheet(client_for(town.leader))
    figures = {row[0]: row[1] for row in rows if row and row[0]}
    assert figures["接待群众（人次）"] == "3" and figures["受理纠纷"] == "4"
    assert figures["化解率"] == "25.0%" and figures["按期化解率"] == "25.0%" and figures["移交"] == "1"
    header = next(i for i, row in enumerate(rows) if row and row[0] == "移交去向")
    referrals = rows[header + 1 :]
    assert ("仲裁", "1", "0") in referrals and ("诉讼", "0", "0") in referrals
    assert len(referrals) == 5  # every kind, referred to or not


def test_the_section_follows_the_readers_area(town, year, client_for):  # noqa: F811
    # The other community's leader sees none of these disputes.
    other = staff("leader", town.district.communities[1])
    figures = {row[0]: row[1] for row in _sheet(client_for(other)) if row and row[0]}
    assert figures["受理纠纷"] == "0" and figures["化解率"] == "—"


def test_the_pdf_carries_the_mediation_section(town, year, client_for):  # noqa: F811
    from pypdf import PdfReader

    try:
        report.font_path()
    except report.ReportUnavailable:
        pytest.skip("no Chinese font on this machine (./dev.sh test installs fonts-wqy-microhei)")
    response = client_for(town.leader).get("/analytics/report.pdf?period=month")
    assert response.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "矛盾调解" in text and "化解率" in text and "25.0%" in text and "仲裁" in text
