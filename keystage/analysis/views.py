"""The reports page: a dataset's measures by school or group, with the national figures."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from keystage.accounts import access
from keystage.accounts.models import Role
from keystage.accounts.permissions import has_permission
from keystage.analysis.actions import do_set_report_sharing
from keystage.analysis.charts import (
    disadvantage_chart,
    ks4_scatter,
    ks5_scatter,
    report_bars,
    trend_line,
)
from keystage.analysis.forms import ReportForm
from keystage.analysis.queries import (
    disadvantage_scatter,
    report_coverage,
    report_gaps,
    report_rows,
    school_ranks,
    trend_rows,
)
from keystage.analysis.stored import report_inputs, stored_report
from keystage.core.downloads import csv_response, xlsx_response
from keystage.measures import primary


def _for_school(rows: list[list], school, shared: bool) -> list[list]:
    """A school user's rows: their own school's, and the LA's and national 'all' rows when the
    LA shares them; never another school's."""
    own = school.report_code
    kept = []
    for row in rows:
        level = row[3]
        if level == "school" and row[5] == own:
            kept.append(row)
        elif shared and level in ("la", "national") and row[6] == "all":
            kept.append(row)
    return kept


@login_required
@require_http_methods(["GET", "POST"])
def report(request):
    """The report for a dataset and year, as the `keystage report` CSV has it."""
    la = access.access_user_la(request.user, "view-analysis")
    school = request.user.school if request.user.role == Role.SCHOOL_USER else None
    sharing = {s.dataset: s.share_with_schools
               for s in access.access_report_sharing(request.user)}
    if request.method == "POST":
        access.require_permission(request.user, "share-analysis")
        dataset = request.POST.get("dataset", "")
        if dataset in primary.DATASETS:
            share = request.POST.get("share") == "yes"
            do_set_report_sharing(la, dataset, share, acting_user=request.user)
            messages.success(request, f"Schools {'now see' if share else 'no longer see'} the "
                             f"emerging LA and national {dataset} figures.")
        return redirect(f"{request.path}?{request.POST.get('query', '')}")
    current = la.current_year.assessment_year if la.current_year else None
    form = ReportForm(request.GET or None, initial={"year": current})
    rows, counted, dataset, provenance, inputs = [], False, None, None, None
    page = {"form": form, "submitted": form.is_bound, "school": school,
            "query": request.GET.urlencode(),
            "can_share": has_permission(request.user, "share-analysis")}
    key = None
    if form.is_valid() and request.GET.get("format") not in ("csv", "xlsx"):
        dataset = form.cleaned_data["dataset"]
        page.update(dataset=dataset, shared=sharing.get(dataset, False))
        key = _page_key(request, la, school)
        cached = cache.get(key)
        if cached is not None:
            form_html, body, charts = cached
            return render(request, "analysis/report.html",
                          {**page, "form_html": form_html, "body": body, **charts})
    if form.is_valid():
        data = form.cleaned_data
        dataset = data["dataset"]
        # The fingerprint of the figures' files, once for every stored read of this page.
        inputs = report_inputs(dataset, data["year"])
        if school is not None:
            shared = sharing.get(dataset, False)
            rows, counted, provenance = stored_report(la, dataset, data["year"], by="school",
                                                      national=shared, inputs=inputs)
            rows = _for_school(rows, school, shared)
        elif data["by"] == "group" and (data["cross"] or data["extra"]):
            # Crossed groups and extra fields are worked out when asked for, not stored.
            rows, counted = report_rows(la, dataset, data["year"], by="group",
                                        national=data["national"],
                                        cross=data["cross"] or None, extra_fields=data["extra"])
            provenance = None
        else:
            rows, counted, provenance = stored_report(la, dataset, data["year"],
                                                      by=data["by"] or None,
                                                      national=data["national"], inputs=inputs)
        name = f"{la.code}_{dataset}_{data['year']}_report"
        if request.GET.get("format") == "csv":
            return csv_response(name, primary.REPORT_COLUMNS, rows)
        if request.GET.get("format") == "xlsx":
            return xlsx_response(name, "Report", primary.REPORT_COLUMNS, rows)
    labels = {(m.dataset, m.code): m.label for m in primary.MEASURES}
    shown = [{"label": labels.get((r[0], r[2]), r[2]), "row": r} for r in rows]
    measures = [m for m in primary.measures_of(dataset)] if dataset else []
    chosen = request.GET.get("measure", "")
    if chosen not in {m.code for m in measures}:
        chosen = next((m.code for m in measures if any(r[2] == m.code for r in rows)), "")
    chart = report_bars(rows, chosen) if rows and chosen else None
    trend, trend_chart, published = [], None, {}
    if form.is_valid() and dataset:
        year = form.cleaned_data["year"]
        published = primary.published_national(dataset, year)
        if school is None:
            trend = trend_rows(la, dataset, year, inputs)
            trend_chart = trend_line(trend, chosen) if chosen else None
    ranks = (school_ranks(dataset, form.cleaned_data["year"], inputs)
             if dataset and form.is_valid() and any(i["row"][3] == "school" for i in shown)
             else {})
    urns = dict(access.access_schools(request.user, "view-analysis").exclude(
        laestab__isnull=True).values_list("laestab", "urn")) if shown else {}
    for item in shown:
        r = item["row"]
        item["urn"] = urns.get(r[5]) if r[3] == "school" else None
        item["rank"] = ranks.get((r[2], r[5])) if r[3] == "school" else None
        if r[6] == "all" and r[3] in ("la", "national") and r[2] in published:
            item["published"] = published[r[2]]
    gaps = report_gaps(rows) if rows and school is None else []
    scatter, scatter_rows = None, []
    if (request.GET.get("scatter") == "disadvantage" and school is None and chosen
            and form.is_valid()):
        scatter_rows = disadvantage_scatter(la, dataset, form.cleaned_data["year"], chosen)
        label = next((m.label for m in measures if m.code == chosen), chosen)
        scatter = disadvantage_chart(scatter_rows, label)
    coverage = (report_coverage(la, dataset, form.cleaned_data["year"])
                if form.is_valid() and school is None else None)
    context = {
        **page, "scatter": scatter, "scatter_rows": scatter_rows, "gaps": gaps,
        "coverage": coverage,
        "chart": chart, "measures": measures, "measure": chosen, "trend": trend,
        "provenance": provenance, "trend_chart": trend_chart, "published": published,
        "trend_years": [t["year"] for t in trend[0]["years"]] if trend else [],
        "rows": shown, "counted": counted,
        "ks2_progress": any(r[2].endswith("_prog") for r in rows),
        "dataset": dataset, "shared": sharing.get(dataset, False) if dataset else False,
        "year": form.cleaned_data["year"] if form.is_valid() else None}
    body = form_html = ""
    if form.is_valid():
        body = render_to_string("analysis/_report_body.html", context, request=request)
        if key is not None:
            # The form's widgets take a third of a page's rendering: kept with the body.
            form_html = render_to_string("analysis/_report_form.html", context, request=request)
            charts = {"chart": bool(chart), "trend_chart": bool(trend_chart),
                      "scatter": bool(scatter)}
            cache.set(key, (form_html, body, charts), PAGE_CACHE_SECONDS)
    return render(request, "analysis/report.html",
                  {**context, "body": body, "form_html": form_html})


# A rendered report body is kept for a few minutes under the deployment's data version: any
# audited write (a load, an edit, a sharing change) gives a new version, so it is never stale.
PAGE_CACHE_SECONDS = 300


def _page_key(request, la, school) -> str:
    """The cache key of a report page's data part: who may see what (LA, role, school), what
    was asked (the query) and the data version (the latest audit event)."""
    from keystage.audit.log import data_version

    version = data_version()
    query = hashlib.sha256(request.GET.urlencode().encode()).hexdigest()[:32]
    return (f"report-page:{la.pk}:{request.user.role}:{school.pk if school else ''}:"
            f"{version}:{query}")


@login_required
def ks4_school(request, urn: str):
    """A school's KS4 pupils: KS2 prior against Attainment 8 (a chart and a table), each
    pupil's A8 and P8, for the LA's users and the school's own."""
    from keystage.analysis.queries import ks4_school

    school = access.access_school_by_urn(request.user, urn, "view-analysis")
    year = request.GET.get("year", "")
    year = int(year) if year.isdigit() and 2000 <= int(year) <= 2099 else (
        school.la.current_year.assessment_year if school.la.current_year else None)
    links = has_permission(request.user, "view-pupils")
    pupils, subject_va = ks4_school(school, year) if year else ([], [])
    for p in pupils:
        p["url"] = f"/pupils/{p['pupil_id']}/" if links else ""
    return render(request, "analysis/ks4_school.html", {
        "school": school, "year": year, "pupils": pupils, "links": links,
        "subject_va": subject_va,
        "chart": ks4_scatter(pupils, links=links)})


@login_required
def ks5_school(request, urn: str):
    """A school's KS5 students: KS4 prior against A level points per entry (a chart and a
    table), its A level cohort and subject value added with intervals, for the LA's users and
    the school's own."""
    from keystage.analysis.queries import ks5_school

    school = access.access_school_by_urn(request.user, urn, "view-analysis")
    year = request.GET.get("year", "")
    year = int(year) if year.isdigit() and 2000 <= int(year) <= 2099 else (
        school.la.current_year.assessment_year if school.la.current_year else None)
    links = has_permission(request.user, "view-pupils")
    students, subjects, cohort = ks5_school(school, year) if year else ([], [], None)
    for s in students:
        s["url"] = f"/pupils/{s['pupil_id']}/" if links else ""
    return render(request, "analysis/ks5_school.html", {
        "school": school, "year": year, "students": students, "links": links,
        "subjects": subjects, "cohort": cohort,
        "chart": ks5_scatter(students, links=links)})


def _dataset_and_year(request) -> tuple[str | None, int | None]:
    """The page's `dataset` and `year` parameters, or (None, None) with a message to choose
    them on the reports page."""
    dataset = request.GET.get("dataset", "")
    year = request.GET.get("year", "")
    if dataset in primary.DATASETS and year.isdigit() and 2000 <= int(year) <= 2099:
        return dataset, int(year)
    messages.error(request, "Choose a dataset and year on the reports page first.")
    return None, None


def _figures_shared(user, dataset: str) -> bool:
    """Whether the user sees the LA and national figures of a dataset: LA users always, a
    school once its LA shares them."""
    if user.role != Role.SCHOOL_USER:
        return True
    return access.access_report_sharing(user).filter(dataset=dataset,
                                                     share_with_schools=True).exists()


@login_required
def school_pdf(request, urn: str):
    """One school's report for a dataset and year as a PDF: for the LA's users, and for the
    school's own users (with the LA and national figures once the LA shares them)."""
    from django.http import HttpResponse

    from keystage.analysis.pdf import school_report_pdf

    school = access.access_school_by_urn(request.user, urn, "view-analysis")
    dataset, year = _dataset_and_year(request)
    if dataset is None:
        return redirect("analysis:report")
    shared = _figures_shared(request.user, dataset)
    rows, _ = report_rows(school.la, dataset, year, by="school", national=shared)
    data = school_report_pdf(school, dataset, year, rows, shared=shared)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{school.laestab or school.urn}_{dataset}_{year}.pdf"')
    return response


@login_required
def national_report(request):
    """For national analysts: the emerging national figures by group and each LA's own figure,
    with small cells hidden, and how much of the national cohort is loaded."""
    from keystage.analysis.queries import national_report_rows
    from keystage.collection.indicators import national_indicators

    access.require_permission(request.user, "view-national-aggregates")
    form = ReportForm(request.GET or None)
    rows, coverage = [], None
    if form.is_valid():
        dataset, year = form.cleaned_data["dataset"], form.cleaned_data["year"]
        rows = national_report_rows(dataset, year)
        coverage = next((r for r in national_indicators(year=year)
                         if r["dataset"] == dataset), None)
        if request.GET.get("format") == "csv":
            return csv_response(f"national_{dataset}_{year}_report", primary.REPORT_COLUMNS,
                                rows)
    labels = {(m.dataset, m.code): m.label for m in primary.MEASURES}
    return render(request, "analysis/national.html", {
        "form": form, "coverage": coverage, "query": request.GET.urlencode(),
        "rows": [{"label": labels.get((r[0], r[2]), r[2]), "row": r} for r in rows]})


@login_required
def school_page(request, urn: str):
    """One school against its LA and the emerging nation, by group, with its pupils (each a
    link to the pupil for those who may open pupils); a school sees the LA and national
    columns once the LA shares them."""
    from keystage.analysis.queries import school_report

    school = access.access_school_by_urn(request.user, urn, "view-analysis")
    dataset, year = _dataset_and_year(request)
    if dataset is None:
        return redirect("analysis:report")
    compare = _figures_shared(request.user, dataset)
    figures, pupils, columns = school_report(school, dataset, year, compare=compare)
    return render(request, "analysis/school.html", {
        "school": school, "dataset": dataset, "year": year, "figures": figures,
        "pupils": pupils, "columns": columns, "compare": compare,
        "links": has_permission(request.user, "view-pupils")})


@login_required
def group_page(request):
    """One pupil group across the LA's schools, beside the group's emerging national figure."""
    from keystage.analysis.queries import group_report

    la = access.access_user_la(request.user, "view-analysis")
    if request.user.role == Role.SCHOOL_USER:
        raise PermissionDenied("The group page compares the LA's schools: it is for LA users.")
    dataset, year = _dataset_and_year(request)
    group = request.GET.get("group", "")
    value = request.GET.get("value", "")[:20]
    if dataset is None:
        return redirect("analysis:report")
    if group not in primary.GROUPS or not value:
        messages.error(request, "Choose a pupil group on the reports page.")
        return redirect("analysis:report")
    rows = group_report(la, dataset, year, group, value)
    measures = primary.measures_of(dataset)
    chosen = request.GET.get("measure", "")
    if chosen not in {m.code for m in measures}:
        chosen = next((m.code for m in measures if any(r[2] == m.code for r in rows)), "")
    labels = {m.code: m.label for m in measures}
    return render(request, "analysis/group.html", {
        "dataset": dataset, "year": year, "group": group, "value": value,
        "rows": [{"label": labels.get(r[2], r[2]), "row": r} for r in rows],
        "chart": report_bars(rows, chosen) if rows and chosen else None,
        "measures": measures, "measure": chosen})
