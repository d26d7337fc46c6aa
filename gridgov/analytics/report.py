"""The monthly report of an area: the dashboard's figures and the rankings, as an Excel workbook
and as a PDF with the Chinese font embedded (a report is mailed and printed; the reader's
machine may have no Chinese font).

`gather` collects the figures once (through `dashboard.build`, `kpis.ranking`, the mediation
centre's `mediation.figures.build` and 研判's `insights.figures.build`, so scope and definitions are
the dashboard's); `workbook` and
`pdf` only lay them out. Any period works,
the month is the usual one.
"""

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from gridgov.analytics import dashboard, kpis
from gridgov.analytics.periods import Period
from gridgov.core.pdf import ReportUnavailable, font_path  # noqa: F401 (callers read them here)
from gridgov.core.pdf import register_font as _register_font
from gridgov.insights import figures as insight_figures
from gridgov.mediation import figures as mediation_figures

RANKED = ("areas", "workers", "departments")


@dataclass
class Report:
    title: str
    scope: str
    period: Period
    made_by: str
    made_at: datetime
    board: dict
    rankings: dict  # what → ranked rows
    mediation: dict | None = None  # `mediation.figures.build`; None: the user sees no mediation data
    insights: dict | None = None  # `insights.figures.build`; None: the user does not read warnings


def gather(user, period: Period, grid_code: str = "") -> Report:
    board = dashboard.build(user, period, grid_code)
    rankings = {what: kpis.ranking(user, what, period, grid_code)[0] for what in RANKED}
    scope = board["grid"]["name"] if board["grid"] else "、".join(g.name for g in kpis.top_grids(user)[:6])
    title = _("Grid governance report %(period)s") % {"period": period.label}
    return Report(
        title,
        scope or _("my whole area"),
        period,
        str(user),
        timezone.localtime(),
        board,
        rankings,
        mediation_figures.build(user, period, grid_code),
        insight_figures.build(user, period, grid_code),
    )


def _rate(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def summary_rows(report: Report) -> list[tuple[str, str]]:
    t, r, now = report.board["totals"], report.board["rates"], report.board["open_now"]
    return [
        (pgettext("count", "reported"), str(t["reported"])),
        (pgettext("count", "registered"), str(t["registered"])),
        (_("due to close"), str(t["due"])),
        (pgettext("count", "closed"), str(t["closed"])),
        (_("closure rate"), _rate(r["closure"])),
        (_("on-time closure rate"), _rate(r["on_time"])),
        (_("solved on the spot"), _rate(r["self_resolved"])),
        (_("satisfaction"), _rate(r["satisfaction"])),
        (_("open cases"), str(now["open"])),
        (_("overdue"), str(now["overdue"])),
    ]


def mediation_rows(report: Report) -> list[tuple[str, str]]:
    """The mediation centre's totals of the period (the dashboard's section)."""
    t = report.mediation["totals"]
    return [
        (_("visitors received"), str(t["visits"])),
        (_("disputes accepted"), str(t["accepted"])),
        (pgettext("count", "resolved"), str(t["resolved"])),
        (_("resolution rate"), _rate(t["resolved_share"])),
        (_("resolved in time"), _rate(t["on_time_share"])),
        (_("referred on"), str(t["referred"])),
    ]


def referral_table(report: Report) -> list[list[str]]:
    """Header and one row per kind of body the disputes were referred to."""
    rows = [[_("Referred to"), pgettext("count", "referrals"), pgettext("count", "concluded")]]
    for entry in report.mediation["referrals"]:
        rows.append([entry["label"], str(entry["referrals"]), str(entry["concluded"])])
    return rows


def insight_title() -> str:
    return pgettext("insights", "Analysis")


def insight_rows(report: Report) -> list[tuple[str, str]]:
    """研判's totals: open warnings now, and those found, resolved and dismissed in the period."""
    t = report.insights["totals"]
    return [
        (_("open warnings"), str(t["open"])),
        (_("of high severity"), str(t["high"])),
        (_("warnings of the period"), str(t["found"])),
        (_("new this period"), str(t["new"])),
        (_("resolved this period"), str(t["resolved"])),
        (_("dismissed this period"), str(t["dismissed"])),
    ]


def insight_kind_table(report: Report) -> list[list[str]]:
    """Header and one row per kind found in the period: its warnings by state."""
    rows = [[_("kind"), *report.insights["states"], pgettext("insights", "total")]]
    for kind in report.insights["kinds"]:
        if kind["found"]:
            rows.append([kind["label"], *[str(n) for n in kind["states"]], str(kind["found"])])
    return rows


def hotspot_table(report: Report) -> list[list[str]]:
    """Header and the period's largest hotspots with their case counts."""
    rows = [[_("rank"), _("hotspot"), _("grid"), pgettext("insights", "cases"), _("severity"), _("state")]]
    for rank, spot in enumerate(report.insights["hotspots"], 1):
        rows.append(
            [
                str(rank),
                spot["title"],
                spot["grid"],
                str(spot["cases"]),
                spot["severity_label"],
                spot["state_label"],
            ]
        )
    return rows


def recurrence_table(report: Report) -> list[list[str]]:
    """Header and the period's recurring places, most recurrences first."""
    rows = [
        [
            _("recurring problem"),
            _("grid"),
            _("times it came back"),
            pgettext("insights", "cases"),
            _("state"),
        ]
    ]
    for place in report.insights["recurrences"]:
        rows.append(
            [place["title"], place["grid"], str(place["recurred"]), str(place["cases"]), place["state_label"]]
        )
    return rows


def ranking_table(report: Report, what: str) -> list[list[str]]:
    """Header and rows: rank, movement, name, score, grade and the row's key rates."""
    rates = {
        "areas": [
            ("closure", _("closure rate")),
            ("on_time", _("on-time closure rate")),
            ("satisfaction", _("satisfaction")),
        ],
        "workers": [
            ("valid", _("valid-report rate")),
            ("verified_on_time", _("on-time verification rate")),
            ("visits", _("visits done")),
        ],
        "departments": [
            ("on_time", _("on-time rate")),
            ("closure", _("closure rate")),
            ("rework", _("rework rate")),
        ],
    }[what]
    header = [_("rank"), _("movement"), _("name"), *[label for _key, label in rates], _("score"), _("grade")]
    rows = [header]
    for row in report.rankings[what]:
        movement = "—" if row.movement is None else f"{row.movement:+d}"
        rows.append(
            [
                str(row.rank or "—"),
                movement,
                row.name,
                *[_rate(row.rates.get(k)) for k, _l in rates],
                "—" if row.score is None else f"{row.score:.1f}",
                row.grade or "—",
            ]
        )
    return rows


def ranking_titles() -> dict[str, str]:
    return {"areas": _("Areas"), "workers": _("Grid workers"), "departments": _("Departments")}


def labelled(label: str, value: str) -> str:
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


def period_text(period: Period) -> str:
    last = period.end - timedelta(days=1)
    return _("%(first)s to %(last)s") % {"first": f"{period.start:%Y-%m-%d}", "last": f"{last:%Y-%m-%d}"}


def filename(report: Report, extension: str) -> str:
    return f"gridgov-report-{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}.{extension}"


# --- Excel -----------------------------------------------------------------------------------


def workbook(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Summary")[:31]
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([pgettext("report", "Area"), report.scope])
    sheet.append([_("Period"), period_text(report.period)])
    sheet.append([_("Made by"), f"{report.made_by} {report.made_at:%Y-%m-%d %H:%M}"])
    sheet.append([])
    for label, value in summary_rows(report):
        sheet.append([label, value])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 40

    trend = book.create_sheet(_("Trend")[:31])
    trend.append(
        [
            pgettext("report", "date"),
            pgettext("count", "reported"),
            pgettext("count", "registered"),
            _("closed (by registration day)"),
            pgettext("count", "closed on time"),
        ]
    )
    for point in report.board["trend"]["points"]:
        trend.append(
            [point["label"], point["reported"], point["registered"], point["closed"], point["closed_on_time"]]
        )
    if trend.max_row > 1:
        chart = LineChart()
        chart.title = _("Reports and closures")
        chart.add_data(
            Reference(trend, min_col=2, max_col=5, min_row=1, max_row=trend.max_row), titles_from_data=True
        )
        chart.set_categories(Reference(trend, min_col=1, min_row=2, max_row=trend.max_row))
        chart.width, chart.height = 24, 10
        trend.add_chart(chart, "G2")

    problems = book.create_sheet(_("Categories")[:31])
    problems.append([_("category"), pgettext("count", "reported")])
    for entry in report.board["categories"]:
        problems.append([entry["name"], entry["reported"]])
    if problems.max_row > 1:
        chart = BarChart()
        chart.title = _("Categories")
        chart.add_data(
            Reference(problems, min_col=2, min_row=1, max_row=problems.max_row), titles_from_data=True
        )
        chart.set_categories(Reference(problems, min_col=1, min_row=2, max_row=problems.max_row))
        problems.add_chart(chart, "D2")
    problems.append([])
    problems.append([_("Top problems"), pgettext("count", "reported")])
    for entry in report.board["top_problems"]:
        problems.append([entry["name"], entry["reported"]])
    problems.column_dimensions["A"].width = 28

    for what, title in ranking_titles().items():
        ranked = book.create_sheet(title[:31])
        for line in ranking_table(report, what):
            ranked.append(line)
        ranked.column_dimensions["C"].width = 28
    if report.mediation is not None:
        mediation = book.create_sheet(_("Dispute mediation")[:31])
        for label, value in mediation_rows(report):
            mediation.append([label, value])
        mediation.append([])
        for line in referral_table(report):
            mediation.append(line)
        mediation.column_dimensions["A"].width = 24
    if report.insights is not None:
        insights = book.create_sheet(insight_title()[:31])
        for label, value in insight_rows(report):
            insights.append([label, value])
        for table in (insight_kind_table(report), hotspot_table(report), recurrence_table(report)):
            insights.append([])
            for line in table:
                insights.append(line)
        insights.column_dimensions["A"].width = 24
        insights.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------


def _trend_chart(points: list[dict], font: str):
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    drawing = Drawing(480, 200)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 36, 40, 430, 140
    keys = ("reported", "registered", "closed")
    chart.data = [[p[k] for p in points] for k in keys]
    step = max(1, len(points) // 8)
    chart.categoryAxis.categoryNames = [
        p["label"][-5:] if i % step == 0 else "" for i, p in enumerate(points)
    ]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    palette = (colors.HexColor("#2e86c1"), colors.HexColor("#27ae60"), colors.HexColor("#e67e22"))
    for index, colour in enumerate(palette):
        chart.lines[index].strokeColor = colour
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y, legend.fontName, legend.fontSize = 40, 12, font, 8
    legend.alignment, legend.columnMaximum = "right", 1
    legend.colorNamePairs = list(
        zip(
            palette,
            [
                pgettext("count", "reported"),
                pgettext("count", "registered"),
                _("closed (by registration day)"),
            ],
            strict=True,
        )
    )
    drawing.add(legend)
    return drawing


def _bar_chart(entries: list[dict], font: str):
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    entries = list(reversed(entries[:10]))
    drawing = Drawing(480, 20 + 18 * max(1, len(entries)))
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 130, 10, 330, 18 * max(1, len(entries))
    chart.data = [[e["reported"] for e in entries] or [0]]
    chart.categoryAxis.categoryNames = [e["name"][:12] for e in entries] or [""]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#2e86c1")
    drawing.add(chart)
    return drawing


def pdf(report: Report) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _register_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=font, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    grid = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3f8")),
        ]
    )
    story = [
        Paragraph(report.title, title),
        Paragraph(labelled(pgettext("report", "Area"), report.scope), body),
        Paragraph(labelled(_("Period"), period_text(report.period)), body),
        Paragraph(labelled(_("Made by"), f"{report.made_by} {report.made_at:%Y-%m-%d %H:%M}"), body),
        Paragraph(_("Key figures"), heading),
        Table(
            [[label, value] for label, value in summary_rows(report)],
            colWidths=[60 * mm, 40 * mm],
            style=grid,
        ),
    ]
    if report.board["trend"]["points"]:
        story += [
            Paragraph(_("Reports and closures"), heading),
            _trend_chart(report.board["trend"]["points"], font),
        ]
    story += [Paragraph(_("Top problems"), heading), _bar_chart(report.board["top_problems"], font)]
    for what, heading_text in ranking_titles().items():
        rows = ranking_table(report, what)
        story += [
            Paragraph(_("Rankings") + " · " + heading_text, heading),
            Table(rows, repeatRows=1, style=grid) if len(rows) > 1 else Paragraph(_("None."), body),
        ]
    if report.mediation is not None:
        story += [
            Paragraph(_("Dispute mediation"), heading),
            Table([list(row) for row in mediation_rows(report)], colWidths=[60 * mm, 40 * mm], style=grid),
            Spacer(1, 3 * mm),
            Table(referral_table(report), repeatRows=1, style=grid),
        ]
    if report.insights is not None:
        cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)
        story += [
            Paragraph(insight_title(), heading),
            Table([list(row) for row in insight_rows(report)], colWidths=[60 * mm, 40 * mm], style=grid),
        ]
        widths = (
            (insight_kind_table(report), [45, 22, 22, 22, 22, 22, 22]),
            (hotspot_table(report), [12, 70, 40, 18, 20, 20]),
            (recurrence_table(report), [75, 40, 25, 18, 22]),
        )
        for table, columns in widths:
            if len(table) > 1:
                wrapped = [[Paragraph(escape(text), cell) for text in line] for line in table]
                story += [
                    Spacer(1, 3 * mm),
                    Table(wrapped, colWidths=[w * mm for w in columns], repeatRows=1, style=grid),
                ]
    story += [Spacer(1, 6 * mm), Paragraph(str(kpis.CAVEAT), body)]
    out = io.BytesIO()

    def footer(canvas, doc):
        canvas.setFont(font, 7)
        canvas.drawString(15 * mm, 10 * mm, f"gridgov · {report.title} · {doc.page}")

    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=report.title,
        author=report.made_by,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
