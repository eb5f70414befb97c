"""A school's report as a PDF an LA can send (issue 12), drawn with ReportLab (pinned; see
docs/adr/0008-school-report-pdfs-with-reportlab.md): the school's figure of every measure of a
dataset and year beside the LA's, the emerging national and the published national figures."""

from __future__ import annotations

import io

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from keystage import datasets, years
from keystage.measures import primary

HEADER = ("Measure", "School pupils", "School", "95% interval", "Against national", "LA",
          "Emerging national", "Published national")


def _cell(row: list | None) -> str:
    if row is None:
        return ""
    return "suppressed" if row[11] == "Y" else str(row[10])


def school_report_pdf(school, dataset: str, year: int, rows: list[list], *,
                      shared: bool = True) -> bytes:
    """The PDF of a school's rows (and, when `shared`, the LA and national 'all' rows)."""
    styles = getSampleStyleSheet()
    published = primary.published_national(dataset, year)
    own = school.report_code
    table = [list(HEADER)]
    for measure in primary.measures_of(dataset):
        mine = next((r for r in rows if r[2] == measure.code and r[3] == "school"
                     and r[5] == own), None)
        if mine is None:
            continue
        la_row = next((r for r in rows if r[2] == measure.code and r[3] == "la"
                       and r[6] == "all"), None)
        nat_row = next((r for r in rows if r[2] == measure.code and r[3] == "national"
                        and r[6] == "all"), None)
        figure = published.get(measure.code)
        table.append([
            Paragraph(measure.label, styles["BodyText"]), str(mine[8]), _cell(mine),
            f"{mine[12]} to {mine[13]}" if mine[12] != "" else "", mine[14],
            _cell(la_row) if shared else "", _cell(nat_row) if shared else "",
            f"{figure.value:g}" if figure else ""])
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=15 * mm,
                                 rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                                 title=f"{school.name}: {dataset} {year}", author="Keystage")
    label = datasets.dataset(dataset).label
    story = [
        Paragraph(f"{school.name} ({school.laestab or school.urn})", styles["Title"]),
        Paragraph(f"{label}, {years.academic_year_label(year)}: the school against its LA "
                  f"({school.la.name}) and the emerging national figures", styles["Heading2"]),
        Spacer(1, 4 * mm),
    ]
    if len(table) == 1:
        story.append(Paragraph("No results of this school are loaded for this dataset and year.",
                               styles["BodyText"]))
    else:
        grid = Table(table, repeatRows=1, colWidths=[70 * mm, 22 * mm, 20 * mm, 30 * mm,
                                                     28 * mm, 20 * mm, 30 * mm, 30 * mm])
        grid.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f2f1")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b1b4b6")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story.append(grid)
    story += [Spacer(1, 5 * mm), Paragraph(
        "Percentages have a 95% Wilson interval and are marked above or below the emerging "
        "national figure when the gap is beyond 1.96 standard errors; progress scores have the "
        "DfE's interval and band. Emerging national figures are every LA in this Keystage with "
        "data; cells of fewer than five pupils are suppressed outside the LA. Definitions: "
        "Keystage methods, section 11. " + (
            "" if shared else "The LA has not shared its LA and national figures yet. ")
        + f"Made {timezone.localtime():%d %B %Y at %H:%M} by Keystage.", styles["BodyText"])]
    document.build(story)
    return buffer.getvalue()
