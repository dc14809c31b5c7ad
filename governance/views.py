"""Pages: the quarterly governance report, and recording an incident.

Thin: parse the input, call the report or the service, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from governance import rules, services
from governance.csv_import import FileRefused, import_csv
from governance.effectiveness import trend, trend_charts
from governance.errors import IncidentInvalid, NotAllowed
from governance.exports import report_csv
from governance.forms import IncidentForm, IncidentImportForm
from governance.report import Quarter, QuarterError, Report, governance_report
from org import access
from org.access import signed_in_user
from wedges.models import ChangeProposal
from wedges.selectors import readable_proposals

PICKER_QUARTERS = 8  # the current quarter and the seven before it


@login_required
def report_page(request: HttpRequest) -> HttpResponse:
    """``/reports/governance/?quarter=2026Q4[&format=csv]``: the current quarter by default.

    Readers of everything (operators, leads, reviewers, auditors) only: the
    report spans every section's proposals and waivers, which engineers do
    not otherwise see.
    """
    if not access.can_view_all(request.user):
        raise PermissionDenied(
            "The governance report is for operators, leads, reviewers and auditors."
        )
    current = Quarter.containing(timezone.now())
    wanted = request.GET.get("quarter", "").strip()
    try:
        quarter = Quarter.parse(wanted) if wanted else current
    except QuarterError as bad:
        context = {"error": str(bad), "quarter": None, "picker": _picker(current, None)}
        return render(request, "governance/report.html", context, status=400)
    report = governance_report(quarter)
    if request.GET.get("format") == "csv":
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="governance-{quarter}.csv"'
        response["Cache-Control"] = "no-store"
        return response
    return render(
        request,
        "governance/report.html",
        {
            "report": report,
            "quarter": quarter,
            "picker": _picker(current, quarter),
            "charts": _charts(report),
            **_effectiveness(report),
            "can_import": access.can_operate_anything(request.user),
        },
    )


def _picker(current: Quarter, shown: Quarter | None) -> list[Quarter]:
    """Recent quarters, newest first, plus the one shown if it is older or in the future."""
    quarters: list[Quarter] = []
    quarter: Quarter | None = current
    while quarter is not None and len(quarters) < PICKER_QUARTERS:
        quarters.append(quarter)
        quarter = quarter.previous
    if shown is not None and shown not in quarters:
        quarters = sorted([*quarters, shown], reverse=True)
    return quarters


def _effectiveness(report: Report) -> dict[str, Any]:
    """The effectiveness section: the last four quarters and their trend charts."""
    figures = trend(report)
    return {"trend": figures, "trend_charts": trend_charts(figures)}


def _charts(report: Report) -> dict[str, Any]:
    """The data the page's two charts draw (json_script)."""
    return {
        "outcomes": {
            "labels": ["Completed", "Paused", "Rolled back"],
            "values": [report.wedges_completed, report.wedges_paused, report.wedges_rolled_back],
        },
        "exposure": {
            "labels": [bucket.label for bucket in report.exposure_histogram],
            "values": [bucket.count for bucket in report.exposure_histogram],
        },
    }


@login_required
def incident_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record an incident against proposal ``pk`` (the proposal page posts here)."""
    # One the user may not read is a 404, as on its page and in the API.
    proposal = get_object_or_404(
        readable_proposals(
            request.user,
            ChangeProposal.objects.select_related("subsystem__section", "rollout_wedge"),
        ),
        pk=pk,
    )
    if not rules.may_record_incident(request.user, proposal.subsystem):
        raise PermissionDenied(
            "Only operators, and leads of the section owning the subsystem, record incidents."
        )
    if request.method != "POST":
        return _form_page(request, proposal, IncidentForm())
    form = IncidentForm(request.POST)
    if form.is_valid():
        try:
            incident = services.incident_record(
                proposal=proposal, reported_by=signed_in_user(request), **form.cleaned_data
            )
        except NotAllowed as refused:
            raise PermissionDenied(refused.message) from None
        except IncidentInvalid as invalid:
            form.add_service_errors(invalid)
        else:
            messages.success(
                request, f"Incident #{incident.pk} ({incident.severity}) was recorded."
            )
            return redirect(reverse("proposals:detail", args=[proposal.pk]) + "#incidents")
    return _form_page(request, proposal, form, status=400)


def _form_page(
    request: HttpRequest, proposal: ChangeProposal, form: IncidentForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "governance/incident_form.html",
        {"proposal": proposal, "form": form},
        status=status,
    )


@login_required
def incident_import(request: HttpRequest) -> HttpResponse:
    """Import an incident tool's CSV export (``governance.csv_import``), or check it first.

    Operators and section leads; each row is still judged on its own subsystem.
    """
    if not access.can_operate_anything(request.user):
        raise PermissionDenied("Operators and section leads import incidents.")
    if request.method != "POST":
        return render(request, "governance/incident_import.html", {"form": IncidentImportForm()})
    form = IncidentImportForm(request.POST, request.FILES)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "governance/incident_import.html", context, status=400)
    dry_run = form.cleaned_data["dry_run"]
    try:
        result = import_csv(
            form.cleaned_data["text"],
            source=form.cleaned_data["source"],
            actor=signed_in_user(request),
            dry_run=dry_run,
        )
    except FileRefused as refused:
        form.add_error("file", f"This file cannot be imported: {refused}")
        return render(request, "governance/incident_import.html", context, status=400)
    # The file was read: refused rows are part of the answer, listed with their problems.
    context.update(result=result, summary=result.summary(dry_run=dry_run), dry_run=dry_run)
    return render(request, "governance/incident_import.html", context)
