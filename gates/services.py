"""The gates' writes: a canary's calls, its reports, its detachment, refused calls.

Each is one short transaction. A gate call updates its canary's row (and,
for its first call, binds it: WDG-701); it never locks the wedge, so it
answers at once however busy the engine is. A reported failure marks the
canary (WDG-703) and rolls the wedge back through the rollout services'
``wedge_rollback`` (RWG-003 with the cluster in its evidence), so every other
cluster's ``rollback`` gate answers 200 on its next call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.codes import EventCode
from audit.services import ANONYMOUS_LABEL, record_event
from config.refusals import NotAllowed, Refused
from gates import answers, errors
from gates.answers import Answer
from gates.calls import CanaryCall
from gates.models import CanaryBinding, Health
from org import access
from org.models import User
from wedges.errors import RolloutRefused
from wedges.models import ChangeProposal
from wedges.services import wedge_rollback

# The rule an RWG-003 records when a deployer's canary failed.
RULE_CANARY_FAILED: Final = "canary_failed"
# Phases in which a tool says its canary failed (Flagger; Argo Rollouts).
FAILED_PHASES: Final = frozenset({"Failed", "Degraded"})
# Phases in which it says its canary was promoted.
PROMOTED_PHASES: Final = frozenset({"Succeeded", "Healthy"})
# The same refusal from the same place is audited once in this long.
REFUSAL_AUDIT_INTERVAL: Final = timedelta(minutes=10)


# --- A gate call ---------------------------------------------------------------------------


def canary_called(
    *,
    proposal: ChangeProposal,
    call: CanaryCall,
    answer: Answer,
    status: int,
    granted_before: int | None,
    actor: User,
    now: datetime,
) -> Answer:
    """Record a gate call and the answer it gets; the answer as it stands after recording.

    The first call of a canary for a proposal binds them (WDG-701), as does
    the first call after an operator detached it. A step the answer allows is
    taken by compare-and-set on ``granted_stage`` (``granted_before``, what
    the answer was computed from): of two racing calls one takes it, the
    other is answered that the step was taken.
    """
    with transaction.atomic():
        binding, _ = _bind(proposal, call, actor=actor, now=now)
        fields: dict[str, Any] = {
            "asks_gates": True,
            "last_call_at": now,
            "last_gate": call.gate,
            "last_status": status,
            "last_decision": answer.decision,
            "last_reason": answer.reason[:500],
        }
        if call.phase:
            fields["last_phase"] = call.phase
        if call.checksum:
            fields["checksum"] = call.checksum
        rows = CanaryBinding.objects.filter(pk=binding.pk)
        if answer.grant is not None:
            fields["granted_stage"] = answer.grant
            rows = (
                rows.filter(granted_stage__isnull=True)
                if granted_before is None
                else rows.filter(granted_stage=granted_before)
            )
        if rows.update(**fields) == 0:
            answer = replace(
                answer,
                allowed=False,
                decision=answers.PENDING,
                code=errors.HOLD_STEP_TAKEN,
                reason="another call from this canary took this step just now",
                grant=None,
            )
            CanaryBinding.objects.filter(pk=binding.pk).update(last_call_at=now)
    return answer


def _bind(
    proposal: ChangeProposal, call: CanaryCall, *, actor: User, now: datetime
) -> tuple[CanaryBinding, bool]:
    """The canary's row for the proposal, created (and audited) on its first call."""
    identity = {"cluster": call.cluster, "namespace": call.namespace, "name": call.name}
    binding = CanaryBinding.objects.filter(proposal=proposal, **identity).first()
    if binding is not None and binding.detached_at is None:
        return binding, False
    if binding is None:
        try:
            with transaction.atomic():
                binding = CanaryBinding.objects.create(
                    proposal=proposal,
                    tool=call.tool,
                    bound_at=now,
                    last_call_at=now,
                    last_gate=call.gate,
                    last_status=0,
                    **identity,
                )
        except IntegrityError:
            # A concurrent first call bound it; that call records the binding.
            return CanaryBinding.objects.get(proposal=proposal, **identity), False
        again = False
    else:
        CanaryBinding.objects.filter(pk=binding.pk).update(detached_at=None)
        binding.detached_at = None
        again = True
    record_event(
        code=EventCode.CANARY_BOUND,
        actor=actor,
        proposal_id=proposal.pk,
        reason=f"{call.label} {'is back' if again else 'now gates'} proposal #{proposal.pk}",
        data={**call.facts(), "reattached": again, **_details(call)},
        occurred_at=now,
    )
    return binding, True


def _details(call: CanaryCall) -> dict[str, Any]:
    return {"metadata": dict(call.details)} if call.details else {}


# --- A report: an event, the end of a canary, an aborted Rollout -------------------------


@dataclass(frozen=True)
class Report:
    recorded: bool  # an event went into the audit trail
    failed: bool  # the report marked the canary failed
    rolled_back: bool  # and that rolled the wedge back


def canary_report(
    *, proposal: ChangeProposal, call: CanaryCall, actor: User, now: datetime
) -> Report:
    """Take in what a canary reports about itself; a failure rolls the wedge back.

    A Flagger event (``event`` hook) goes into the audit trail (WDG-702) unless
    it repeats the canary's previous one word for word. A canary in phase
    ``Failed`` (Flagger) or ``Degraded`` (Argo: aborted) marks its row failed
    (WDG-703) and rolls the wedge back (RWG-003, automatic, with the cluster
    as evidence) — if the report is about this rollout: the canary called a
    gate for this proposal before (or the report names the proposal), and
    its revision (Flagger's checksum) is the one that did.
    """
    if not access.can_report_metrics(actor, proposal) and not _fleet_agent(actor):
        raise NotAllowed(
            errors.NOT_ALLOWED_TO_REPORT,
            "Only the proposal's author, its operators or a fleet agent may report for it.",
        )
    failing = call.phase in FAILED_PHASES
    with transaction.atomic():
        known = CanaryBinding.objects.filter(
            proposal=proposal, cluster=call.cluster, namespace=call.namespace, name=call.name
        ).first()
        binding, _ = _bind(proposal, call, actor=actor, now=now)
        binding = CanaryBinding.objects.select_for_update().get(pk=binding.pk)
        recorded = _record_event(proposal, binding, call, actor, now)
        about_this_rollout = (
            known is not None or call.proposal_id is not None
        ) and not _other_revision(binding, call)
        fields: dict[str, Any] = {
            "last_call_at": now,
            "last_gate": call.gate,
            "last_status": 200,
            "last_decision": "",
            "last_reason": "report recorded",
        }
        if call.phase:
            fields["last_phase"] = call.phase
        failed = failing and about_this_rollout and binding.health != Health.FAILED
        if failed:
            fields.update(
                health=Health.FAILED,
                failed_at=now,
                failure=(call.event_message or f"phase {call.phase}")[:500],
            )
        elif call.phase in PROMOTED_PHASES and binding.health == Health.HEALTHY:
            fields["health"] = Health.SUCCEEDED
        CanaryBinding.objects.filter(pk=binding.pk).update(**fields)
        rolled_back = False
        if failed:
            rolled_back = _fail(proposal, call, actor, now)
    return Report(recorded=recorded, failed=failed, rolled_back=rolled_back)


def _fleet_agent(actor: User) -> bool:
    # The token's subsystems were checked when the proposal was found
    # (``gates.selectors.gateable_proposals``); the rest of the fleet rule:
    return actor.is_service_account and actor.is_active and actor.has_perm("org.act_as_engineer")


def _other_revision(binding: CanaryBinding, call: CanaryCall) -> bool:
    return bool(binding.checksum and call.checksum and binding.checksum != call.checksum)


def _record_event(
    proposal: ChangeProposal, binding: CanaryBinding, call: CanaryCall, actor: User, now: datetime
) -> bool:
    """WDG-702 for an event the canary had not just reported; whether it was recorded."""
    if not call.event_message:
        return False
    if (call.event_type, call.event_message) == (
        binding.last_event_type,
        binding.last_event_message,
    ):
        return False
    CanaryBinding.objects.filter(pk=binding.pk).update(
        last_event_type=call.event_type, last_event_message=call.event_message
    )
    record_event(
        code=EventCode.CANARY_EVENT,
        actor=actor,
        proposal_id=proposal.pk,
        reason=f"{call.label}: {call.event_message}",
        data={
            **call.facts(),
            "event_type": call.event_type,
            "message": call.event_message,
            **_details(call),
        },
        occurred_at=now,
    )
    return True


def _fail(proposal: ChangeProposal, call: CanaryCall, actor: User, now: datetime) -> bool:
    """WDG-703 for the canary, then the wedge's rollback; whether the wedge rolled back."""
    wedge_state = proposal.rollout_wedge.wedge_state
    why = f"canary {call.canary} in cluster {call.cluster or '(unnamed)'} reported {call.phase}"
    if call.event_message:
        why += f": {call.event_message}"
    record_event(
        code=EventCode.CANARY_FAILED,
        actor=actor,
        proposal_id=proposal.pk,
        reason=why,
        data={**call.facts(), "wedge_state": wedge_state, "message": call.event_message},
        occurred_at=now,
    )
    try:
        wedge_rollback(
            proposal_id=proposal.pk,
            actor=None,
            reason=why,
            now=now,
            evidence={
                "rule": RULE_CANARY_FAILED,
                "cluster": call.cluster,
                "canary": call.canary,
                "tool": call.tool,
                "phase": call.phase,
                "reported_by": actor.username,
                # The report is the trigger: the governance report times from it.
                "trigger_received_at": now.isoformat(),
            },
        )
    except RolloutRefused:
        return False  # not running: rolled back already, complete, or not started
    return True


# --- An operator detaches a canary ---------------------------------------------------------


def canary_detach(*, binding_id: int, actor: User, reason: str) -> CanaryBinding:
    """Stop waiting for a canary (a cluster taken out of the rollout): WDG-705.

    Operators and leads of the owning section only. A detached canary no
    longer holds the wedge's advance; if it calls again, it is bound again.
    """
    now = timezone.now()
    with transaction.atomic():
        binding = (
            CanaryBinding.objects.select_for_update(of=("self",))
            .select_related("proposal__subsystem__section")
            .filter(pk=binding_id)
            .first()
        )
        if binding is None:
            raise Refused("not_found", "There is no such canary.")
        if not access.can_operate(actor, binding.proposal.subsystem):
            raise NotAllowed(
                "not_operator", "Only operators, and leads of the owning section, detach canaries."
            )
        if binding.detached_at is not None:
            return binding
        binding.detached_at = now
        binding.save(update_fields=["detached_at"])
        record_event(
            code=EventCode.CANARY_DETACHED,
            actor=actor,
            proposal_id=binding.proposal_id,
            reason=reason,
            data={
                "tool": binding.tool,
                "cluster": binding.cluster,
                "canary": f"{binding.namespace}/{binding.name}",
                "health": binding.health,
            },
            occurred_at=now,
        )
    return binding


# --- Refused calls -------------------------------------------------------------------------


def gate_refused(
    *,
    tool: str,
    gate: str,
    status: int,
    code: str,
    message: str,
    actor: User | None,
    remote_addr: str,
    call: CanaryCall | None = None,
    proposal_id: int | None = None,
    asked_for: str = "",
) -> bool:
    """Audit a call a gate could not answer (WDG-704); whether it was recorded.

    The same refusal from the same address is recorded once per
    ``REFUSAL_AUDIT_INTERVAL``, so a misconfigured canary that calls every
    interval (or anyone posting junk) cannot flood the audit trail. The
    token is never recorded, nor anything the caller sent beyond the
    canary's identity (or the proposal id ``asked_for`` in the URL), and
    that only for an authenticated caller.
    """
    who = actor.username if actor is not None else ANONYMOUS_LABEL
    identity = call.label if (call is not None and actor is not None) else ""
    if actor is not None and asked_for:
        identity += f" #{asked_for[:40]}"
    what = f"{remote_addr}\0{who}\0{tool}\0{gate}\0{status}\0{code}\0{identity}"
    key = "wedge:gate-refused:" + hashlib.sha256(what.encode()).hexdigest()
    if not cache.add(key, 1, int(REFUSAL_AUDIT_INTERVAL.total_seconds())):
        return False
    data: dict[str, Any] = {
        "tool": tool,
        "gate": gate,
        "status": status,
        "code": code,
        "remote_addr": remote_addr,
    }
    if actor is not None and call is not None:
        data.update(cluster=call.cluster, canary=call.canary)
    if actor is not None and asked_for:
        data["asked_for"] = asked_for[:40]
    with transaction.atomic():
        record_event(
            code=EventCode.GATE_REFUSED,
            actor=actor,
            actor_label=None if actor is not None else ANONYMOUS_LABEL,
            proposal_id=proposal_id,
            reason=message[:500],
            data=data,
        )
    return True
