"""Reads of the gates: which proposal a canary gates, the wedge as a gate sees it.

Every read here is a few indexed queries and no lock: a gate answers within a
deployer's timeout (Flagger's default is 10 s) however busy the engine is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, F, IntegerField, QuerySet, Value, When

from audit.codes import EventCode
from audit.models import AuditEvent
from gates.answers import WedgeFacts
from gates.calls import CanaryCall
from gates.models import CanaryBinding, Health
from wedges import selectors as wedge_selectors
from wedges.hooks import AdvanceHold
from wedges.models import ChangeProposal, RolloutWedge, State
from wedges.policy import codes
from wedges.policy.engine import initial_stage_index
from wedges.services import rollout

RUNNING = (State.ACTIVE, State.PAUSED)
HOLD_RULE = "canaries_unhealthy"


def gateable_proposals(request: Any) -> QuerySet[ChangeProposal]:
    """The proposals the request's token may ask this gate about, or report on.

    As for ``desired-state/`` and ``metrics/`` (``wedges.selectors.reachable``).
    """
    proposals = ChangeProposal.objects.select_related("rollout_wedge", "subsystem__section")
    return wedge_selectors.reachable(request, proposals)


def proposal_for(proposals: QuerySet[ChangeProposal], call: CanaryCall) -> ChangeProposal | None:
    """The proposal a canary's call is about, or ``None``.

    By the id the call names (Flagger's ``metadata.proposal``); otherwise the
    running proposal the canary is bound to; otherwise by reference: the
    proposals whose ``external_reference`` is ``<namespace>/<name>``, a
    running one first, then the newest. So a rollout's gates keep answering
    for it while the next release's proposal waits, and the next release
    takes over once it ends.
    """
    if call.proposal_id is not None:
        return proposals.filter(pk=call.proposal_id).first()
    bound = (
        proposals.filter(
            canaries__namespace=call.namespace,
            canaries__name=call.name,
            canaries__cluster=call.cluster,
            rollout_wedge__wedge_state__in=RUNNING,
        )
        .order_by("-pk")
        .first()
    )
    if bound is not None:
        return bound
    return (
        proposals.filter(external_reference=call.canary)
        .annotate(
            running=Case(
                When(rollout_wedge__wedge_state__in=RUNNING, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-running", "-pk")
        .first()
    )


def binding_of(proposal_id: int, call: CanaryCall | None) -> CanaryBinding | None:
    if call is None:
        return None
    return CanaryBinding.objects.filter(
        proposal_id=proposal_id, cluster=call.cluster, namespace=call.namespace, name=call.name
    ).first()


def canaries_hold(
    proposal_id: int, now: datetime, freshness: timedelta, *, calling: CanaryCall | None = None
) -> AdvanceHold | None:
    """What keeps a wedge from advancing among its canaries, or ``None``.

    Every attached canary must report healthy: none may have failed, and each
    that has not been promoted must have called within ``freshness`` (the
    caller, ``calling``, is calling now). One query.
    """
    failed: list[str] = []
    silent: list[str] = []
    for binding in CanaryBinding.objects.filter(proposal_id=proposal_id, detached_at__isnull=True):
        is_caller = calling is not None and (
            binding.cluster,
            binding.namespace,
            binding.name,
        ) == (calling.cluster, calling.namespace, calling.name)
        if binding.health == Health.FAILED:
            failed.append(f"{binding.label} reported failure ({binding.failure or 'failed'})")
        elif not is_caller and binding.is_silent(now, freshness):
            silent.append(
                f"{binding.label} has not called since {binding.last_call_at:%Y-%m-%d %H:%M:%S} UTC"
            )
    if failed:
        return AdvanceHold(HOLD_RULE, "a canary failed: " + "; ".join(failed))
    if silent:
        return AdvanceHold(
            HOLD_RULE,
            "waiting for every canary to report healthy: "
            + "; ".join(silent)
            + f" (more than {int(freshness.total_seconds())} s ago)",
        )
    return None


def advance_check(wedge: RolloutWedge, now: datetime) -> AdvanceHold | None:
    """The wedges advance check (``wedges.hooks``): hold while a canary is unhealthy."""
    return canaries_hold(wedge.proposal_id, now, rollout.freshness())


def wedge_facts(
    proposal: ChangeProposal, now: datetime, *, calling: CanaryCall | None
) -> WedgeFacts:
    """The wedge of ``proposal`` as its gates see it now: the engine's decision and holds."""
    wedge = (
        RolloutWedge.objects.select_related("latest_snapshot")
        .prefetch_related(wedge_selectors.stages_in_order())
        .get(proposal_id=proposal.pk)
    )
    view = wedge.policy_view()
    running = wedge.wedge_state in RUNNING
    decision = rollout.decide(wedge, now) if running else None
    hold = None
    if decision is not None and decision.eligible:
        hold = canaries_hold(proposal.pk, now, rollout.freshness(), calling=calling)
    return WedgeFacts(
        state=wedge.wedge_state,
        manual=wedge.increment_policy not in codes.AUTOMATIC_POLICIES,
        stage_ids=tuple(stage.stage_id for stage in view.stages),
        stage_index=wedge.current_stage_index,
        first_index=initial_stage_index(view),
        exposure=wedge.exposure_percentage,
        decision=decision,
        hold=hold,
        rollback_reason=_rollback_reason(proposal.pk)
        if wedge.wedge_state == State.ROLLED_BACK
        else "",
    )


def _rollback_reason(proposal_id: int) -> str:
    reason = (
        AuditEvent.objects.filter(proposal_id=proposal_id, code=EventCode.ROLLED_BACK)
        .order_by("-id")
        .values_list("reason", flat=True)
        .first()
    )
    return (reason or "")[:300]


def cluster_facts(proposal_id: int) -> dict[str, Any]:
    """The clusters an announced event names (``webhooks.facts``); one query."""
    clusters = sorted(
        {
            binding.cluster or binding.label
            for binding in CanaryBinding.objects.filter(
                proposal_id=proposal_id, detached_at__isnull=True
            ).only("cluster", "namespace", "name")
        }
    )
    return {"clusters": clusters}


def canaries_of(proposal: ChangeProposal) -> list[CanaryBinding]:
    """The proposal page's list: every canary ever bound, attached first."""
    return list(
        CanaryBinding.objects.filter(proposal=proposal).order_by(
            F("detached_at").asc(nulls_first=True), "cluster", "namespace", "name"
        )
    )
