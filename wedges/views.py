"""Pages for proposals: list, detail, and the submission form with live validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from org import access
from org.access import signed_in_user
from wedges import selectors
from wedges.charts import chart_data
from wedges.filters import ProposalFilter
from wedges.forms import (
    LadderForm,
    OperatorActionForm,
    ProposalForm,
    StageFormSet,
    build_document,
    errors_by_field,
    number_or_text,
)
from wedges.models import ChangeProposal, State
from wedges.policy import generate_ladder
from wedges.services import proposal_submit, rollout
from wedges.status import rollout_status
from wedges.submission import check_submission

STAGE_PREFIX = "stages"


@login_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    visible = selectors.visible_proposals(request.user)
    filters = ProposalFilter(request.GET, queryset=visible, request=request)
    queryset = filters.qs if filters.is_valid() else visible.none()
    page = Paginator(queryset, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "wedges/proposal_list.html",
        {"filters": filters, "page": page, "query": query.urlencode()},
    )


def _readable(request: HttpRequest, pk: int) -> ChangeProposal:
    """The proposal if the user may read it; 404 otherwise, as in the API."""
    proposal: ChangeProposal = get_object_or_404(
        selectors.visible_proposals(request.user).select_related("rollout_wedge__latest_snapshot"),
        pk=pk,
    )
    return proposal


@login_required
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _readable(request, pk)
    return render(request, "wedges/proposal_detail.html", _detail_context(request, proposal))


def _require_submitter(request: HttpRequest) -> None:
    if not access.can_submit(request.user):
        raise PermissionDenied("Only engineers may submit proposals.")


def _bound(request: HttpRequest) -> tuple[ProposalForm, Any]:
    form = ProposalForm(request.POST)
    formset = StageFormSet(request.POST, prefix=STAGE_PREFIX)
    # All inputs are optional text: the policy engine judges them, so these
    # only fail on a tampered management form.
    form.is_valid()
    formset.is_valid()
    return form, formset


def _judge(form: ProposalForm, formset: Any) -> dict[str, Any]:
    if formset.management_form.errors or not hasattr(form, "cleaned_data"):
        return {"check": None, "placed": {}, "unplaced": [], "document": None}
    document, rows = build_document(form, formset)
    check = check_submission(document)
    placed, unplaced = errors_by_field(check, rows, STAGE_PREFIX)
    return {
        "check": check,
        "placed": placed,
        "unplaced": unplaced,
        "document": document,
    }


def _field_names(form: ProposalForm, formset: Any) -> list[str]:
    names = [field.html_name for field in form]
    for stage_form in formset.forms:
        names += [stage_form[name].html_name for name in stage_form.fields if name != "DELETE"]
    return [*names, "stages"]


@login_required
def proposal_create(request: HttpRequest) -> HttpResponse:
    _require_submitter(request)
    if request.method != "POST":
        form = ProposalForm(initial={"increment_policy": "linear", "observation_window_hours": "1"})
        formset = StageFormSet(prefix=STAGE_PREFIX, initial=[{}, {}])
        return render(
            request,
            "wedges/proposal_form.html",
            {"form": form, "formset": formset, "ladder": LadderForm(), "placed": {}},
        )
    form, formset = _bound(request)
    judged = _judge(form, formset)
    check = judged["check"]
    if check is not None and check.storable:
        submitted = proposal_submit(check=check, author=signed_in_user(request))
        proposal = submitted.proposal
        if proposal.waiver_required:
            messages.warning(
                request,
                f"Proposal #{proposal.pk} was stored, but it needs a waiver before it can start "
                f"({', '.join(proposal.waivable_codes)}).",
            )
        else:
            messages.success(request, f"Proposal #{proposal.pk} was submitted.")
        return redirect("proposals:detail", pk=proposal.pk)
    return render(
        request,
        "wedges/proposal_form.html",
        {"form": form, "formset": formset, "ladder": LadderForm(), **judged},
        status=400,
    )


@login_required
@require_POST
def proposal_validate(request: HttpRequest) -> HttpResponse:
    """HTMX: the verdict on the form as typed so far, with errors placed out of band."""
    form, formset = _bound(request)
    judged = _judge(form, formset)
    return render(
        request,
        "wedges/_validation.html",
        {**judged, "field_names": _field_names(form, formset)},
    )


@login_required
@require_POST
def proposal_ladder(request: HttpRequest) -> HttpResponse:
    """HTMX: stage rows generated from the increment policy, initial and maximum."""
    ladder_form = LadderForm(request.POST)
    policy = request.POST.get("increment_policy") or "linear"
    initial = number_or_text(request.POST.get("initial_percentage", ""))
    maximum = number_or_text(request.POST.get("max_blast_radius", ""))
    window = request.POST.get("observation_window_hours", "").strip() or "1"
    error = None
    targets: list[float] = []
    if not ladder_form.is_valid():
        error = "Give the number of stages (1 to 100)."
    elif not isinstance(initial, float) or not isinstance(maximum, float):
        error = "Fill in the initial percentage and the max blast radius first."
    else:
        try:
            targets = generate_ladder(
                policy, initial, maximum, ladder_form.cleaned_data["stage_count"]
            )
        except ValueError as exc:
            error = str(exc)
    criteria = request.POST.get(f"{STAGE_PREFIX}-0-success_criteria", "")
    trigger = request.POST.get(f"{STAGE_PREFIX}-0-rollback_trigger", "")
    formset = StageFormSet(
        prefix=STAGE_PREFIX,
        initial=[
            {
                "stage_id": f"stage-{number}",
                "target_percentage": f"{target:g}",
                "duration_hours": window,
                "success_criteria": criteria,
                "rollback_trigger": trigger,
            }
            for number, target in enumerate(targets, start=1)
        ],
    )
    return render(request, "wedges/_stage_rows.html", {"formset": formset, "ladder_error": error})


# --- The rollout: dashboard, live proposal page and operator controls -----------------

DASHBOARD_PAGE_SIZE = 50
OPERATOR_ACTIONS: dict[str, tuple[Callable[..., Any], str]] = {
    "start": (rollout.wedge_start, "started"),
    "advance": (rollout.wedge_approve_advance, "advanced"),
    "pause": (rollout.wedge_pause, "paused"),
    "resume": (rollout.wedge_resume, "resumed"),
    "rollback": (rollout.wedge_rollback, "rolled back"),
}


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.running_wedges(request.user), DASHBOARD_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    statuses = [rollout_status(wedge, now) for wedge in page]
    partial = request.headers.get("HX-Request") == "true"
    template = "wedges/_dashboard_rows.html" if partial else "wedges/dashboard.html"
    return render(request, template, {"page": page, "statuses": statuses, "now": now})


def _detail_context(request: HttpRequest, proposal: ChangeProposal) -> dict[str, Any]:
    wedge = proposal.rollout_wedge
    now = timezone.now()
    events = list(selectors.proposal_events(request.user, proposal.pk))
    snapshots = selectors.snapshots_of(wedge)
    return {
        "proposal": proposal,
        "wedge": wedge,
        "status": rollout_status(wedge, now),
        "events": events,
        "chart": chart_data(wedge, events, snapshots, now),
        "actions": available_actions(request, proposal),
        "now": now,
    }


def available_actions(request: HttpRequest, proposal: ChangeProposal) -> list[str]:
    """The operator actions this user may try on this proposal in its current state."""
    if not access.can_operate(request.user, proposal.subsystem):
        return []
    # The state machine says which transitions its state allows; "complete" is
    # the engine's own and no operator action.
    wedge = proposal.rollout_wedge
    return [
        transition.name
        for transition in wedge.get_available_wedge_state_transitions()  # type: ignore[attr-defined]
        if transition.name in OPERATOR_ACTIONS
    ]


@login_required
def proposal_live(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX: the live part of a proposal page; controls too when the state changed."""
    proposal = _readable(request, pk)
    context = _detail_context(request, proposal)
    context["controls_changed"] = request.GET.get("state") != proposal.rollout_wedge.wedge_state
    return render(request, "wedges/_proposal_live.html", context)


@login_required
@require_POST
def proposal_operate(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in OPERATOR_ACTIONS:
        raise Http404("No such action.")
    # One the user may not read is a 404, as on its page and in the API.
    readable = selectors.readable_proposals(request.user, selectors.operable_proposals())
    proposal = get_object_or_404(readable, pk=pk)
    if not access.can_operate(request.user, proposal.subsystem):
        raise PermissionDenied("Only operators, and leads of the owning section, may do this.")
    form = OperatorActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason of at most 2,000 characters.")
        return redirect("proposals:detail", pk=pk)
    service, done = OPERATOR_ACTIONS[action]
    try:
        service(proposal_id=pk, actor=signed_in_user(request), reason=form.cleaned_data["reason"])
    except rollout.RolloutRefused as refused:
        messages.error(request, f"Refused: {refused.message}")
    else:
        messages.success(request, f"The rollout was {done}.")
    return redirect("proposals:detail", pk=pk)


@login_required
def approvals_inbox(request: HttpRequest) -> HttpResponse:
    """Manual wedges whose current stage is eligible and waits for this operator."""
    now = timezone.now()
    wedges = selectors.running_wedges(request.user).filter(
        access.operated_by(request.user, via="proposal__subsystem__"),
        increment_policy="manual",
        wedge_state=State.ACTIVE,
    )
    # Only whether a stage is eligible needs the engine; who may approve is SQL.
    statuses = [
        status
        for status in (rollout_status(wedge, now) for wedge in wedges)
        if status.awaiting_approval
    ]
    return render(request, "wedges/approvals.html", {"statuses": statuses, "now": now})
