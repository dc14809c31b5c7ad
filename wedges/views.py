"""Pages for proposals: list, detail, and the submission form with live validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.codes import EventCode
from org import access
from org.access import signed_in_user
from org.humane import percent
from org.models import Subsystem
from webhooks.selectors import announcement
from wedges import narrative, selectors
from wedges.charts import chart_data
from wedges.filters import ProposalFilter
from wedges.forms import (
    LadderForm,
    OperatorActionForm,
    ProposalForm,
    StageForm,
    StageFormSet,
    build_document,
    error_summary,
    errors_by_field,
    mark_invalid,
    number_or_text,
    typed,
)
from wedges.models import ChangeProposal, IncrementPolicy, RolloutWedge, State
from wedges.policy import generate_ladder
from wedges.policy.engine import Action, held_exposure, initial_stage_index
from wedges.services import proposal_submit, rollout
from wedges.services.rollout import decide
from wedges.status import (
    RolloutStatus,
    headline,
    last_state_event,
    rollout_status,
    stage_steps,
)
from wedges.submission import SubmissionCheck, check_submission

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
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "subsystems": Subsystem.objects.order_by("name"),
            "now": timezone.now(),
        },
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
        return {"check": None, "placed": {}, "unplaced": [], "document": None, "summary": []}
    document, rows = build_document(form, formset)
    check = check_submission(document)
    placed, unplaced = errors_by_field(check, rows, STAGE_PREFIX)
    return {
        "check": check,
        "placed": placed,
        "unplaced": unplaced,
        "document": document,
        "summary": error_summary(placed, unplaced, form, formset, STAGE_PREFIX),
        "plan": planned_total(document, check),
    }


def planned_total(document: dict[str, Any], check: SubmissionCheck) -> dict[str, Any] | None:
    """The planned total, taken apart: stage durations plus one window per stage.

    Also the earliest the engine can finish: each stage advances once its window
    and (for automatic wedges) its planned duration have both passed.
    """
    if check.total_duration_hours is None:
        return None
    wedge = document.get("rollout_wedge") or {}
    stages = wedge.get("wedge_stages") or []
    durations = [stage.get("duration_hours") for stage in stages]
    window = wedge.get("observation_window_hours")
    if not isinstance(window, float) or not all(isinstance(d, float) for d in durations):
        return None
    automatic = wedge.get("increment_policy") in ("linear", "exponential")
    earliest = sum(max(window, d) if automatic else window for d in durations)
    return {
        "total": check.total_duration_hours,
        "durations": sum(durations),
        "count": len(durations),
        "window": window,
        "windows": window * len(durations),
        "earliest": earliest,
        "automatic": automatic,
    }


def _field_names(form: ProposalForm, formset: Any) -> list[str]:
    names = [field.html_name for field in form]
    for stage_form in formset.forms:
        names += [stage_form[name].html_name for name in stage_form.fields if name != "DELETE"]
    return [*names, "stages"]


def _form_page(
    request: HttpRequest, form: ProposalForm, formset: Any, judged: dict[str, Any], status: int
) -> HttpResponse:
    return render(
        request,
        "wedges/proposal_form.html",
        {"form": form, "formset": formset, "ladder": LadderForm(), **judged},
        status=status,
    )


@login_required
def proposal_create(request: HttpRequest) -> HttpResponse:
    _require_submitter(request)
    if request.method != "POST":
        form = ProposalForm(initial={"increment_policy": "linear", "observation_window_hours": "1"})
        formset = StageFormSet(prefix=STAGE_PREFIX, initial=[{}, {}])
        return _form_page(request, form, formset, {"placed": {}, "summary": []}, 200)
    form, formset = _bound(request)
    judged = _judge(form, formset)
    check = judged["check"]
    if check is not None and check.storable:
        submitted = proposal_submit(check=check, author=signed_in_user(request))
        proposal = submitted.proposal
        if proposal.waiver_required:
            messages.warning(
                request,
                f"Proposal #{proposal.pk} was stored, but it needs a waiver before it can "
                "start: ask for one below.",
            )
        else:
            messages.success(request, f"Proposal #{proposal.pk} was submitted.")
        return redirect("proposals:detail", pk=proposal.pk)
    # Submitted: every error shows at once, at its field and in the summary.
    mark_invalid(judged["placed"], form, formset)
    return _form_page(request, form, formset, {**judged, "submitted": True}, 400)


@login_required
@require_POST
def proposal_validate(request: HttpRequest) -> HttpResponse:
    """HTMX: the verdict on the form as typed so far, with errors and limits placed out of band.

    Every field's errors are sent; the page shows those of the fields the
    person has touched (``static/js/proposal_form.js``).
    """
    form, formset = _bound(request)
    judged = _judge(form, formset)
    return render(
        request,
        "wedges/_validation.html",
        {**judged, "form": form, "field_names": _field_names(form, formset)},
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
    kept = _rows_typed(request)
    # Every generated stage gets the first stage's criteria and trigger: the
    # first row that has them, as typed.
    criteria = next((row["success_criteria"] for row in kept if row["success_criteria"]), "")
    trigger = next((row["rollback_trigger"] for row in kept if row["rollback_trigger"]), "")
    ids = [row["stage_id"] for row in kept if row["stage_id"]]
    formset = StageFormSet(
        prefix=STAGE_PREFIX,
        initial=[
            {
                "stage_id": ids[number - 1] if number <= len(ids) else f"stage-{number}",
                "target_percentage": f"{target:g}",
                "duration_hours": window,
                "success_criteria": criteria,
                "rollback_trigger": trigger,
            }
            for number, target in enumerate(targets, start=1)
        ],
    )
    if error is not None:
        # Nothing generated: the rows stay as they were, with the reason above them.
        formset = StageFormSet(request.POST, prefix=STAGE_PREFIX)
        formset.is_valid()
    return render(request, "wedges/_stage_rows.html", {"formset": formset, "ladder_error": error})


def _rows_typed(request: HttpRequest) -> list[dict[str, str]]:
    """The stage rows as typed and not removed, in page order."""
    formset = StageFormSet(request.POST, prefix=STAGE_PREFIX)
    if not formset.is_valid() and formset.management_form.errors:
        return []
    rows = []
    for stage_form in formset.forms:
        if getattr(stage_form, "cleaned_data", {}).get("DELETE"):
            continue
        rows.append({name: typed(stage_form, name).strip() for name in StageForm.base_fields})
    return rows


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
    wedges = list(page)
    pauses = selectors.latest_events(
        [w.proposal_id for w in wedges if w.wedge_state == State.PAUSED], EventCode.PAUSED
    )
    rows = [
        {
            "status": rollout_status(wedge, now),
            "headline": headline(wedge, [pauses[wedge.proposal_id]])
            if wedge.proposal_id in pauses
            else None,
        }
        for wedge in wedges
    ]
    partial = request.headers.get("HX-Request") == "true"
    template = "wedges/_dashboard_rows.html" if partial else "wedges/dashboard.html"
    return render(request, template, {"page": page, "rows": rows, "wedges": wedges, "now": now})


def _detail_context(request: HttpRequest, proposal: ChangeProposal) -> dict[str, Any]:
    wedge = proposal.rollout_wedge
    now = timezone.now()
    events = list(selectors.proposal_events(request.user, proposal.pk))
    snapshots = selectors.snapshots_of(wedge)
    status = rollout_status(wedge, now)
    actions = available_actions(request, proposal, status, now)
    told = None
    state_event = last_state_event(wedge, events)
    if state_event is not None:
        told = announcement(
            proposal_id=proposal.pk, event_code=state_event.code, at=state_event.occurred_at
        )
    return {
        "proposal": proposal,
        "wedge": wedge,
        "status": status,
        "headline": headline(wedge, events, told),
        "steps": stage_steps(wedge, events, status, now),
        "events": events,
        "trail": [
            {
                "event": event,
                "summary": narrative.event_summary(
                    event,
                    max_blast_radius=wedge.max_blast_radius,
                    window_hours=wedge.observation_window_hours,
                ),
            }
            for event in reversed(events)
        ],
        "chart": chart_data(wedge, events, snapshots, now),
        "actions": actions,
        "actions_key": ",".join(action.name for action in actions),
        "startable": startable(proposal, now),
        "now": now,
    }


@dataclass(frozen=True)
class OperatorAction:
    """An operator action the page offers: its button, and the dialog that confirms it."""

    name: str
    label: str
    question: str  # the dialog's heading
    explanation: str
    confirm: str  # the confirming button
    danger: bool = False
    primary: bool = False


def startable(proposal: ChangeProposal, now: datetime) -> bool:
    """Whether the waiver rules let the proposal start now (the start check's condition)."""
    if not proposal.waiver_required:
        return True
    cover = proposal.waiver_cover
    return (
        cover is not None
        and cover.state == "APPROVED"
        and (cover.expires_at is None or cover.expires_at > now)
    )


def available_actions(
    request: HttpRequest, proposal: ChangeProposal, status: RolloutStatus, now: datetime
) -> list[OperatorAction]:
    """The operator actions this user may take now: the state machine allows them, and the
    policy would accept them (no button that can only be refused)."""
    if not access.can_operate(request.user, proposal.subsystem):
        return []
    wedge = proposal.rollout_wedge
    # The state machine says which transitions its state allows; "complete" is
    # the engine's own and no operator action.
    allowed = {
        transition.name
        for transition in wedge.get_available_wedge_state_transitions()  # type: ignore[attr-defined]
    }
    exposure = percent(wedge.exposure_percentage)
    actions: list[OperatorAction] = []
    if "start" in allowed and startable(proposal, now):
        first = percent(
            held_exposure(wedge.policy_view(), initial_stage_index(wedge.policy_view()))
        )
        actions.append(
            OperatorAction(
                "start",
                "Start the rollout",
                "Start the rollout?",
                f"Deployers will be told to expose {first} of {proposal.subsystem.name}, and "
                "Wedge drives the stages from there.",
                f"Start at {first}",
                primary=True,
            )
        )
    if "advance" in allowed and _approvable(wedge, now):
        manual = wedge.increment_policy == IncrementPolicy.MANUAL
        target = _next_stage_label(status)
        actions.append(
            OperatorAction(
                "advance",
                "Approve the advance" if manual else "Advance now",
                f"Advance to {target}?",
                (
                    "The stage is eligible: its window has passed and its criteria are met."
                    if manual
                    else "The stage is eligible; without you it advances by itself once its "
                    "planned duration has passed."
                ),
                f"Advance to {target}",
                primary=True,
            )
        )
    if "resume" in allowed:
        actions.append(
            OperatorAction(
                "resume",
                "Resume",
                "Resume the rollout?",
                f"The stage reopens with a fresh observation window, holding {exposure}.",
                "Resume",
                primary=True,
            )
        )
    if "pause" in allowed:
        actions.append(
            OperatorAction(
                "pause",
                "Pause",
                "Put the rollout on hold?",
                f"Exposure stays at {exposure}; nothing advances until someone resumes it.",
                f"Hold at {exposure}",
            )
        )
    if "rollback" in allowed:
        actions.append(
            OperatorAction(
                "rollback",
                "Roll back",
                "Roll the rollout back?",
                f"Deployers will be told to go from {exposure} back to 0 %. A rolled-back "
                "rollout cannot be restarted: trying again takes a new proposal.",
                "Roll back to 0 %",
                danger=True,
            )
        )
    return actions


def _approvable(wedge: RolloutWedge, now: datetime) -> bool:
    """Whether the policy would advance the wedge on an operator's approval right now."""
    return decide(wedge, now, operator_approval=True).action in (Action.ADVANCE, Action.COMPLETE)


def _next_stage_label(status: RolloutStatus) -> str:
    decision = status.decision
    if decision is None or decision.target_index is None:
        return "completion"
    view = status.wedge.policy_view()
    if decision.action == Action.COMPLETE or decision.target_index >= len(view.stages):
        return "completion"
    index = status.wedge.current_stage_index
    following = (index if index is not None else -1) + 1
    if following >= len(view.stages):
        return "completion"
    stage = view.stages[following]
    return f"stage {stage.stage_id} ({percent(stage.target_percentage)})"


@login_required
def proposal_live(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX: the live part of a proposal page, and out of band what else changed.

    The controls are replaced only when the actions on offer changed (an open
    confirmation dialog survives the polls), and messages left by the last
    action are cleared once the state has moved on.
    """
    proposal = _readable(request, pk)
    context = _detail_context(request, proposal)
    context["live_update"] = True
    context["state_changed"] = request.GET.get("state") != proposal.rollout_wedge.wedge_state
    context["controls_changed"] = request.GET.get("actions", "") != context["actions_key"]
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
