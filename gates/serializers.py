"""The shapes of the gates' requests and answers, for the OpenAPI document and the views."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from gates import answers
from gates.calls import ARGO_PHASES

DECISIONS = [answers.APPROVED, answers.PENDING, answers.REJECTED]


class FlaggerPayloadSerializer(serializers.Serializer[Any]):
    """What Flagger POSTs to every webhook (its "Webhooks" document)."""

    name = serializers.CharField(help_text="The Canary's name.")
    namespace = serializers.CharField(help_text="The Canary's namespace.")
    phase = serializers.CharField(
        required=False,
        help_text="Initializing, Initialized, Waiting, Progressing, WaitingPromotion, Promoting, "
        "Finalising, Succeeded or Failed.",
    )
    checksum = serializers.CharField(
        required=False, help_text="Flagger's hash of the canary's tracked configuration."
    )
    metadata = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="The webhook's metadata: `token` (the API key: Flagger sends no headers), "
        "`proposal` (an id; otherwise the proposal whose external_reference is "
        "`<namespace>/<name>`), `cluster`; for event hooks Flagger adds `eventMessage`, "
        "`eventType` and `timestamp`.",
    )


class GateAnswerSerializer(serializers.Serializer[Any]):
    """A gate's answer: what the policy says of the step the tool asks about."""

    decision = serializers.ChoiceField(
        choices=DECISIONS,
        help_text="approved: the step may happen; pending: not yet; rejected: Wedge rolled "
        "the rollout back.",
    )
    allowed = serializers.BooleanField(help_text="Whether the step the tool asks about may happen.")
    wedge_state = serializers.CharField()
    stage_id = serializers.CharField(allow_null=True)
    exposure_percentage = serializers.FloatField()
    reason = serializers.CharField()
    code = serializers.CharField(help_text="`allowed`, or why not (a stable code).")
    proposal_id = serializers.IntegerField()


class HoldErrorSerializer(serializers.Serializer[Any]):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField(help_text="Why the step may not happen (a stable code).")
    message = serializers.CharField()
    decision = serializers.ChoiceField(choices=DECISIONS, required=False)
    wedge_state = serializers.CharField(required=False)
    stage_id = serializers.CharField(allow_null=True, required=False)
    exposure_percentage = serializers.FloatField(required=False)
    proposal_id = serializers.IntegerField(required=False)


class GateHoldSerializer(serializers.Serializer[Any]):
    """403: the policy holds the step (Flagger: "not passed"), or the token may not ask."""

    errors = HoldErrorSerializer(many=True)  # type: ignore[assignment]


class ReportAnswerSerializer(serializers.Serializer[Any]):
    recorded = serializers.BooleanField(help_text="An event went into the audit trail.")
    failed = serializers.BooleanField(help_text="The report marked the canary failed.")
    rolled_back = serializers.BooleanField(help_text="And Wedge rolled the rollout back.")
    wedge_state = serializers.CharField()
    proposal_id = serializers.IntegerField()


class ArgoReportSerializer(serializers.Serializer[Any]):
    """What Argo Rollouts' notifications POST (the template in docs/integrations/)."""

    rollout = serializers.CharField(help_text="The Rollout's name.")
    namespace = serializers.CharField()
    cluster = serializers.CharField(required=False)
    phase = serializers.ChoiceField(
        choices=list(ARGO_PHASES), help_text="`Degraded` (an aborted rollout) rolls Wedge back."
    )
    message = serializers.CharField(required=False)
