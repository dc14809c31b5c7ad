"""Gates for the deployers teams already run: Flagger's webhooks, Argo Rollouts' web metric.

Thin adapters: parse the tool's payload (``gates.calls``), find the proposal
its canary gates (``gates.selectors``), ask the engine through the rollout
services and say what that means for the step asked about
(``gates.answers``), record the call (``gates.services``), and answer in the
tool's terms:

* Flagger counts any status above 202 as "not passed" and retries 5xx, so a
  hold is a ``403`` with the reason (never a 5xx); its ``rollback`` hook rolls
  back on a 2xx;
* Argo counts a non-2xx as an Error, so its metric always answers ``200``
  with ``decision`` approved, pending or rejected.

A call a gate cannot answer at all — malformed JSON, no or a bad token, no
proposal for the canary — gets the API's error shape (``400``/``401``/``403``
/``404``), never a 500, and is audited (WDG-704). Nothing here waits on
anything but a few indexed queries: answers come well inside Flagger's 10 s.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.auth import ApiTokenAuthentication, acting_user
from config.api.errors import error
from config.api.schema import error_responses
from config.ids import object_id
from gates import answers, calls, errors, selectors, services
from gates.answers import Answer, WedgeFacts
from gates.auth import token_without_header
from gates.calls import CanaryCall
from gates.models import Tool
from gates.serializers import (
    ArgoReportSerializer,
    FlaggerPayloadSerializer,
    GateAnswerSerializer,
    GateHoldSerializer,
    ReportAnswerSerializer,
)
from org import scopes
from org.clients import client_ip
from org.models import User
from wedges.models import ChangeProposal

FLAGGER_EXAMPLE = OpenApiExample(
    "Flagger's webhook payload (its Webhooks document), with Wedge's metadata",
    request_only=True,
    value={
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": "85d557f47b",
        "metadata": {"cluster": "eu-west-1", "proposal": "42", "token": "wdg_…"},
    },
)
FLAGGER_EVENT_EXAMPLE = OpenApiExample(
    "Flagger's event payload",
    request_only=True,
    value={
        "name": "podinfo",
        "namespace": "test",
        "phase": "Failed",
        "checksum": "85d557f47b",
        "metadata": {
            "eventMessage": "Canary failed! Scaling down podinfo.test",
            "eventType": "Warning",
            "timestamp": "1700000000000",
            "cluster": "eu-west-1",
        },
    },
)


PROPOSAL_ID = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The id of the proposal the Rollout rolls out."
)


class _GateView(APIView):
    """What every gate shares: the token wherever it travels, and audited refusals."""

    # The API's token authentication only: no session, so no CSRF either.
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    tool: str = ""
    _call: CanaryCall | None = None
    _proposal_id: int | None = None

    def gate_name(self) -> str:
        return str(self.kwargs.get("gate") or calls.ARGO_GATE)

    def token_without_header(self, request: Request) -> str | None:
        """Flagger sends no headers: its key is in ``metadata.token`` or ``?token=``."""
        return token_without_header(request)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if response.status_code in (400, 401, 403, 404):
            self._audit_refusal(response)
        return response

    def _audit_refusal(self, response: Response) -> None:
        problems = (response.data or {}).get("errors") or [{}]
        user = getattr(self.request, "user", None)
        services.gate_refused(
            tool=self.tool,
            gate=self.gate_name(),
            status=response.status_code,
            code=str(problems[0].get("code") or ""),
            message="; ".join(str(p.get("message") or "") for p in problems)[:500],
            actor=user if isinstance(user, User) else None,
            remote_addr=client_ip(self.request._request),
            call=self._call,
            proposal_id=self._proposal_id,
            asked_for=str(self.kwargs.get("id") or ""),
        )

    def _found(self, proposal: ChangeProposal | None, code: str, message: str) -> ChangeProposal:
        if proposal is None:
            raise exceptions.NotFound(message, code=code)
        self._proposal_id = proposal.pk
        return proposal


def answer_body(proposal: ChangeProposal, facts: WedgeFacts, answer: Answer) -> dict[str, Any]:
    return {
        "decision": answer.decision,
        "allowed": answer.allowed,
        "wedge_state": facts.state,
        "stage_id": facts.stage_id,
        "exposure_percentage": facts.exposure,
        "reason": answer.reason,
        "code": answer.code,
        "proposal_id": proposal.pk,
    }


def flagger_response(proposal: ChangeProposal, facts: WedgeFacts, answer: Answer) -> Response:
    """200 when the step may happen; 403 in the error shape, with the reason, when held."""
    body = answer_body(proposal, facts, answer)
    if answer.allowed:
        return Response(body)
    extra = {key: value for key, value in body.items() if key not in ("allowed", "reason", "code")}
    problem = {**error(None, answer.code, answer.reason), **extra}
    return Response({"errors": [problem]}, status=status.HTTP_403_FORBIDDEN)


def _unknown_canary(call: CanaryCall) -> str:
    if call.proposal_id is not None:
        return f"No proposal #{call.proposal_id} that this token may read."
    return (
        f"No proposal for canary {call.label}: name one in the webhook's metadata.proposal, or "
        f"submit it with external_reference {call.canary!r}."
    )


@extend_schema(
    summary="Flagger gate: may the canary take this step?",
    description="Flagger's `confirm-rollout`, `pre-rollout`, `rollout`, "
    "`confirm-traffic-increase`, `confirm-promotion` and `rollback` webhooks. 200 when the "
    "policy allows the step (for `rollback`: when Wedge has rolled the rollout back, so "
    "Flagger rolls back too); 403 with the reason when it holds. The token comes in "
    "`metadata.token` or `?token=` (Flagger sends no headers) and needs `desired-state:read`.",
    request=FlaggerPayloadSerializer,
    examples=[FLAGGER_EXAMPLE],
    parameters=[OpenApiParameter("token", str, OpenApiParameter.QUERY, required=False)],
    responses={
        200: GateAnswerSerializer,
        403: OpenApiResponse(GateHoldSerializer, description="Held by the policy, or refused."),
        **error_responses(400, 404),
    },
)
class FlaggerGateView(_GateView):
    tool = Tool.FLAGGER

    def post(self, request: Request, gate: str) -> Response:
        now = timezone.now()
        call = self._call = calls.parse_flagger(gate, request.data)
        proposal = self._found(
            selectors.proposal_for(selectors.gateable_proposals(request), call),
            errors.UNKNOWN_CANARY,
            _unknown_canary(call),
        )
        facts = selectors.wedge_facts(proposal, now, calling=call)
        binding = selectors.binding_of(proposal.pk, call)
        granted = binding.granted_stage if binding is not None else None
        answer = answers.flagger(gate, facts, granted)
        answer = services.canary_called(
            proposal=proposal,
            call=call,
            answer=answer,
            status=200 if answer.allowed else 403,
            granted_before=granted,
            actor=acting_user(request),
            now=now,
        )
        return flagger_response(proposal, facts, answer)


@extend_schema(
    summary="Flagger report: an event, or the end of a canary",
    description="Flagger's `event` and `post-rollout` webhooks. Each new event message goes "
    "into the audit trail (WDG-702). A canary in phase `Failed` rolls the wedge back (RWG-003, "
    "with the cluster as evidence), and every other cluster's `rollback` gate then answers 200. "
    "Needs `metrics:write`.",
    request=FlaggerPayloadSerializer,
    examples=[FLAGGER_EVENT_EXAMPLE],
    parameters=[OpenApiParameter("token", str, OpenApiParameter.QUERY, required=False)],
    responses={200: ReportAnswerSerializer, **error_responses(400, 403, 404)},
)
class FlaggerReportView(_GateView):
    tool = Tool.FLAGGER

    def post(self, request: Request, gate: str) -> Response:
        now = timezone.now()
        call = self._call = calls.parse_flagger(gate, request.data)
        proposal = self._found(
            selectors.proposal_for(selectors.gateable_proposals(request), call),
            errors.UNKNOWN_CANARY,
            _unknown_canary(call),
        )
        return report_response(request, proposal, call, now)


def report_response(
    request: Request, proposal: ChangeProposal, call: CanaryCall, now: Any
) -> Response:
    if not scopes.may_report_metrics(request, proposal):
        raise exceptions.PermissionDenied(
            "Reports are taken from the proposal's author, its operators or a fleet agent.",
            code=errors.NOT_ALLOWED_TO_REPORT,
        )
    report = services.canary_report(
        proposal=proposal, call=call, actor=acting_user(request), now=now
    )
    proposal.rollout_wedge.refresh_from_db(fields=["wedge_state"])
    return Response(
        {
            "recorded": report.recorded,
            "failed": report.failed,
            "rolled_back": report.rolled_back,
            "wedge_state": proposal.rollout_wedge.wedge_state,
            "proposal_id": proposal.pk,
        }
    )


def _proposal_id(raw: str) -> int | None:
    return object_id(raw)


@extend_schema(
    summary="Argo Rollouts web metric: may the Rollout take its next step?",
    description='For an AnalysisTemplate\'s `web` provider (`jsonPath: "{$.decision}"`, '
    '`successCondition: result == "approved"`, `failureCondition: result == "rejected"`). '
    "Always 200 for a proposal the token may read: `approved` when the step may happen, "
    "`pending` while the policy holds it, `rejected` once Wedge rolled the rollout back. Pass "
    "`cluster`, `namespace` and `rollout` so each step is counted and the Rollout holds the "
    "wedge until it reports; `watch=true` for a background analysis that never takes a step. "
    "Needs `desired-state:read`.",
    parameters=[
        PROPOSAL_ID,
        OpenApiParameter("cluster", str, OpenApiParameter.QUERY, required=False),
        OpenApiParameter("namespace", str, OpenApiParameter.QUERY, required=False),
        OpenApiParameter("rollout", str, OpenApiParameter.QUERY, required=False),
        OpenApiParameter("watch", bool, OpenApiParameter.QUERY, required=False),
    ],
    responses={200: GateAnswerSerializer, **error_responses(400, 403, 404)},
)
class ArgoGateView(_GateView):
    tool = Tool.ARGO

    def get(self, request: Request, id: str) -> Response:
        now = timezone.now()
        pk = _proposal_id(id)
        call = self._call = calls.parse_argo_query(pk or 0, request.query_params)
        proposal = self._found(
            selectors.gateable_proposals(request).filter(pk=pk).first() if pk else None,
            errors.UNKNOWN_PROPOSAL,
            f"No proposal {id[:40]!r} that this token may read.",
        )
        facts = selectors.wedge_facts(proposal, now, calling=call)
        watching = request.query_params.get("watch", "").lower() in ("1", "true", "yes")
        if call is None or watching:
            # A background watch never takes a step; it keeps its Rollout known.
            answer = answers.argo(facts, None, anonymous=True)
            if call is not None:
                answer = services.canary_called(
                    proposal=proposal,
                    call=call,
                    answer=answer,
                    status=200,
                    granted_before=None,
                    actor=acting_user(request),
                    now=now,
                )
        else:
            binding = selectors.binding_of(proposal.pk, call)
            granted = binding.granted_stage if binding is not None else None
            answer = services.canary_called(
                proposal=proposal,
                call=call,
                answer=answers.argo(facts, granted, anonymous=False),
                status=200,
                granted_before=granted,
                actor=acting_user(request),
                now=now,
            )
        return Response(answer_body(proposal, facts, answer))


@extend_schema(
    summary="Argo Rollouts report: a Rollout's phase, from Argo's notifications",
    description="For Argo Rollouts' notifications `webhook` service (trigger "
    "`on-rollout-aborted`, and `on-rollout-completed`): phase `Degraded` rolls the wedge back "
    "(RWG-003 with the cluster as evidence), so every other cluster's metric answers "
    "`rejected`. Needs `metrics:write`.",
    request=ArgoReportSerializer,
    parameters=[PROPOSAL_ID],
    responses={200: ReportAnswerSerializer, **error_responses(400, 403, 404)},
)
class ArgoReportView(_GateView):
    tool = Tool.ARGO

    def gate_name(self) -> str:
        return calls.ARGO_REPORT

    def post(self, request: Request, id: str) -> Response:
        now = timezone.now()
        pk = _proposal_id(id)
        call = self._call = calls.parse_argo_report(pk or 0, request.data)
        proposal = self._found(
            selectors.gateable_proposals(request).filter(pk=pk).first() if pk else None,
            errors.UNKNOWN_PROPOSAL,
            f"No proposal {id[:40]!r} that this token may read.",
        )
        return report_response(request, proposal, call, now)
