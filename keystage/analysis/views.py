"""The reports page: a dataset's measures by school or group, with the national figures."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from keystage.accounts import access
from keystage.analysis.forms import ReportForm
from keystage.analysis.queries import report_rows
from keystage.core.downloads import csv_response
from keystage.measures import primary


@login_required
def report(request):
    """The LA's report for a dataset and year, as the `keystage report` CSV has it."""
    la = access.access_user_la(request.user, "view-analysis")
    current = la.current_year.assessment_year if la.current_year else None
    form = ReportForm(request.GET or None, initial={"year": current})
    rows, counted = [], False
    if form.is_valid():
        data = form.cleaned_data
        rows, counted = report_rows(la, data["dataset"], data["year"], by=data["by"] or None,
                                    national=data["national"])
        if request.GET.get("format") == "csv":
            return csv_response(f"{la.code}_{data['dataset']}_{data['year']}_report",
                                primary.REPORT_COLUMNS, rows)
    labels = {(m.dataset, m.code): m.label for m in primary.MEASURES}
    shown = [{"label": labels.get((r[0], r[2]), r[2]), "row": r} for r in rows]
    return render(request, "analysis/report.html", {
        "form": form, "rows": shown, "counted": counted, "submitted": form.is_bound,
        "query": request.GET.urlencode()})
