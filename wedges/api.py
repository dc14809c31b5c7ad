"""REST API for proposals: dry run, submit, list and read."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.auth import acting_user, require_token_subsystem
from config.api.parsers import DOCUMENT_PARSERS
from config.api.schema import error_responses
from config.ids import object_id
from org import access, scopes
from org.scopes import Scope
from wedges import selectors
from wedges.errors import SubmissionRejected
from wedges.filters import ProposalFilter
from wedges.metrics import validate_metrics
from wedges.models import ChangeProposal, RolloutWedge, ToldVia
from wedges.policy.engine import Decision
from wedges.serializers import (
    DesiredStateSerializer,
    DryRunSerializer,
    MetricsInputSerializer,
    ProposalInputSerializer,
    ProposalSerializer,
    ReasonSerializer,
    RolloutStatusSerializer,
    SnapshotOutcomeSerializer,
)
from wedges.services import proposal_submit, rollout, timing
from wedges.status import rollout_status
from wedges.submission import check_submission

# Request examples for the docs (and for schemathesis, which sends them first).
PROPOSAL_EXAMPLE = OpenApiExample(
    "A three-stage connector rollout",
    request_only=True,
    value={
        "title": "Roll out connector runtime 2.4",
        "description": "New connection pooling.",
        "change_type": "connector_deployment",
        "subsystem": "connector-runtime",
        "external_reference": "ci/run/1234",
        "rollout_wedge": {
            "wedge_stages": [
                {
                    "stage_id": stage_id,
                    "target_percentage": target,
                    "duration_hours": 1,
                    "success_criteria": ["error_rate < 0.01", "p99 <= 200ms"],
                    "rollback_trigger": "error_rate > 0.05 or p99 > 500ms",
                }
                for stage_id, target in (("canary", 10), ("half", 50), ("full", 90))
            ],
            "initial_percentage": 5,
            "increment_policy": "linear",
            "max_blast_radius": 90,
            "observation_window_hours": 1.0,
            "wedge_state": "PENDING",
        },
    },
)
METRICS_EXAMPLE = OpenApiExample(
    "A healthy snapshot",
    request_only=True,
    value={"metrics": {"error_rate": 0.004, "p99": "180ms", "exposure_percentage": 10}},
)


class CanSubmit(permissions.BasePermission):
    message = "Only engineers (and pipelines acting as engineers) may submit proposals."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return access.can_submit(request.user)


@extend_schema_view(
    list=extend_schema(
        summary="List proposals",
        description="Operators, section leads, reviewers and auditors read every proposal; "
        "engineers and pipelines the proposals they authored. A proposal one may not read "
        "is answered 404, here, in `desired-state/` and on its page alike.",
        # 404: a page number past the end (DRF's page-number pagination).
        responses={200: ProposalSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="Read a proposal with its wedge",
        responses={200: ProposalSerializer, **error_responses(404)},
    ),
)
class ProposalViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ChangeProposal]
):
    serializer_class = ProposalSerializer
    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    filterset_class = ProposalFilter
    # Any id segment reaches the view, so a malformed id ("1.5") is the API's
    # JSON 404 rather than Django's HTML page for an unmatched URL.
    lookup_value_regex = "[^/]+"
    # What an API token needs for each call is the permission table's
    # (config/permissions.py), checked by the token authentication.

    def get_parsers(self) -> list[Any]:
        # Submitting and the dry run take YAML documents too (config.api.parsers).
        action = getattr(self, "action", None) or self.action_map.get(
            (self.request.method or "").lower()
        )
        if action in ("create", "validate"):
            return [parser() for parser in DOCUMENT_PARSERS]
        return super().get_parsers()

    def get_queryset(self) -> Any:
        visible = selectors.visible_proposals(self.request.user)
        return scopes.within_token_subsystems(self.request, visible)

    @extend_schema(
        summary="Submit a proposal",
        request=ProposalInputSerializer,
        examples=[PROPOSAL_EXAMPLE],
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                description="Retries with the same key and body return the first proposal; "
                "the same key with another body is a 409.",
            )
        ],
        responses={
            201: ProposalSerializer,
            200: ProposalSerializer,
            **error_responses(400, 403, 409),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check = check_submission(request.data)
        if not check.storable:
            raise SubmissionRejected(check.errors)
        assert check.subsystem is not None  # storable: the subsystem was found
        require_token_subsystem(request, Scope.PROPOSALS_WRITE, check.subsystem)
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key is not None and len(key) > 200:
            raise ValidationError({"Idempotency-Key": ["must be at most 200 characters"]})
        # SubmissionRejected (400) and IdempotencyConflict (409) map in config.api.errors.
        submitted = proposal_submit(
            check=check, author=acting_user(request), idempotency_key=key, raw=request.data
        )
        proposal = selectors.proposals().get(pk=submitted.proposal.pk)
        headers = {"Location": f"/api/v1/proposals/{proposal.pk}/"}
        if submitted.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(
            self.get_serializer(proposal).data, status=status.HTTP_201_CREATED, headers=headers
        )

    @extend_schema(
        summary="Dry run: validate a submission without storing it",
        request=ProposalInputSerializer,
        examples=[PROPOSAL_EXAMPLE],
        responses={200: DryRunSerializer, **error_responses(400)},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="validate",
        permission_classes=[permissions.IsAuthenticated],
    )
    def validate(self, request: Request) -> Response:
        return Response(check_submission(request.data).to_dict())

    # --- The rollout: operator actions, metrics and the desired state ---------------

    def _proposal(self, request: Request, pk: str) -> ChangeProposal:
        """The proposal if the caller may act on it (404 otherwise, as in ``retrieve``).

        Acting is not reading, but whoever may act on a proposal may read it; one
        the caller may not read is answered as if it did not exist, whatever
        the call.
        """
        reach = selectors.reachable(request, selectors.operable_proposals())
        return get_object_or_404(reach, pk=pk)

    def _operate(self, request: Request, pk: str, service: Any) -> Response:
        proposal = self._proposal(request, pk)
        if not access.can_operate(request.user, proposal.subsystem):
            raise PermissionDenied(
                "Only operators, and leads of the owning section, may operate this rollout."
            )
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        # A refusal (RolloutRefused) becomes a 409 in config.api.errors.
        service(
            proposal_id=proposal.pk,
            actor=acting_user(request),
            reason=reason.validated_data.get("reason", ""),
        )
        return Response(self.get_serializer(selectors.proposals().get(pk=proposal.pk)).data)

    @extend_schema(
        summary="Start the rollout (PENDING -> ACTIVE)",
        request=ReasonSerializer,
        responses={200: ProposalSerializer, **error_responses(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def start(self, request: Request, pk: str) -> Response:
        return self._operate(request, pk, rollout.wedge_start)

    @extend_schema(
        summary="Approve advancing an eligible stage",
        description="The only way a manual wedge advances; refused (409) unless the stage "
        "is eligible: its observation window elapsed and a fresh snapshot meets every criterion.",
        request=ReasonSerializer,
        responses={200: ProposalSerializer, **error_responses(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def advance(self, request: Request, pk: str) -> Response:
        return self._operate(request, pk, rollout.wedge_approve_advance)

    @extend_schema(
        summary="Hold the rollout (ACTIVE -> PAUSED)",
        request=ReasonSerializer,
        responses={200: ProposalSerializer, **error_responses(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def pause(self, request: Request, pk: str) -> Response:
        return self._operate(request, pk, rollout.wedge_pause)

    @extend_schema(
        summary="Resume a paused rollout with a fresh observation window",
        request=ReasonSerializer,
        responses={200: ProposalSerializer, **error_responses(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def resume(self, request: Request, pk: str) -> Response:
        return self._operate(request, pk, rollout.wedge_resume)

    @extend_schema(
        summary="Roll back (exposure to 0)",
        request=ReasonSerializer,
        responses={200: ProposalSerializer, **error_responses(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def rollback(self, request: Request, pk: str) -> Response:
        return self._operate(request, pk, rollout.wedge_rollback)

    @extend_schema(
        summary="Report a metric snapshot; it is evaluated at once",
        request=MetricsInputSerializer,
        examples=[METRICS_EXAMPLE],
        responses={200: SnapshotOutcomeSerializer, **error_responses(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def metrics(self, request: Request, pk: str) -> Response:
        # The body first: a malformed one is refused (400, MetricsInvalid) before
        # any read. The wedge is then read once, under its lock, within what the
        # caller may read (404 otherwise, as in ``retrieve``) and checked there
        # (403); RolloutRefused (409) maps in config.api.errors.
        values = validate_metrics(request.data)
        reach = selectors.reachable(request, RolloutWedge.objects.all(), via="proposal__")

        def admit(proposal: ChangeProposal) -> None:
            if not scopes.may_report_metrics(request, proposal):
                raise PermissionDenied(
                    "Metrics are reported by the proposal's author or by operators of its section."
                )

        try:
            outcome = rollout.wedge_record_snapshot(
                proposal_id=_proposal_id(pk),
                metrics=values,
                actor=acting_user(request),
                among=reach,
                admit=admit,
            )
        except RolloutWedge.DoesNotExist:
            raise Http404 from None
        return Response(snapshot_outcome_body(outcome.wedge, outcome.decision, acted=outcome.acted))

    @extend_schema(
        summary="The rollout's status now: stage, window, criteria, next advance",
        description="What the proposal page shows live, for pipelines and the `wedge` CLI: "
        "the engine's decision for the wedge at this moment, each success criterion with "
        "the latest snapshot's values, and when the open stage may advance at the earliest. "
        "Readable by whoever may read the proposal.",
        responses={200: RolloutStatusSerializer, **error_responses(404)},
    )
    @action(detail=True, methods=["get"], url_path="status")
    def status(self, request: Request, pk: str) -> Response:
        proposal = get_object_or_404(
            self.get_queryset().select_related("rollout_wedge__latest_snapshot"), pk=pk
        )
        now = timezone.now()
        body = rollout_status(proposal.rollout_wedge, now)
        return Response(RolloutStatusSerializer(body, context={"as_of": now}).data)

    @extend_schema(
        summary="The exposure deployers must apply (poll with If-None-Match)",
        responses={200: DesiredStateSerializer, 304: None, **error_responses(404)},
    )
    @action(detail=True, methods=["get"], url_path="desired-state")
    def desired_state(self, request: Request, pk: str) -> Response:
        reach = selectors.reachable(request, selectors.desired_states(), via="proposal__")
        wedge = get_object_or_404(reach, proposal_id=pk)
        if getattr(wedge, "rollback_untold", False):  # selectors.desired_states
            # The first read after a rollback tells its deployer (INV-RWG-ROLLBACK).
            timing.rollback_told(wedge_id=wedge.pk, via=ToldVia.DESIRED_STATE, now=timezone.now())
        body = desired_state_body(wedge)
        etag = desired_state_etag(body)
        if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(body, headers={"ETag": etag, "Cache-Control": "no-cache"})


def desired_state_body(wedge: RolloutWedge) -> dict[str, Any]:
    """What a deployment agent must apply now."""
    return {
        "wedge_state": wedge.wedge_state,
        "stage_id": wedge.current_stage_id,
        "exposure_percentage": wedge.exposure_percentage,
        "max_blast_radius": wedge.max_blast_radius,
    }


def _proposal_id(pk: str) -> int:
    """The URL's proposal id; one that is not an id names no proposal (404)."""
    number = object_id(pk)
    if number is None:
        raise Http404
    return number


_TIME = serializers.DateTimeField()


def snapshot_outcome_body(
    wedge: RolloutWedge, decision: Decision | None, *, acted: bool
) -> dict[str, Any]:
    """The answer to a snapshot, as ``SnapshotOutcomeSerializer`` declares it, built directly.

    On the ingest path DRF's field machinery cost more than evaluating the
    snapshot (``bench/ingest-profile.md``); the serializer stays the schema's
    declaration, and a test holds the two to the same output.
    """
    body = {**desired_state_body(wedge), "acted": acted, "decision": None}
    if decision is not None:
        body["decision"] = {
            "action": decision.action.value,
            "rule": decision.rule,
            "reason": decision.reason,
            "eligible": decision.eligible,
            "eligible_at": (
                _TIME.to_representation(decision.eligible_at) if decision.eligible_at else None
            ),
            "criteria": [
                {"expression": c.expression, "met": c.met, "values": c.values_dict()}
                for c in decision.criteria
            ],
        }
    return body


def desired_state_etag(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'
