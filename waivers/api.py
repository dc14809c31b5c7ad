"""REST API for waivers: request, list, read, approve, reject, revoke.

Thin: each endpoint parses its body, calls one service and renders the
waiver. The services decide who may do what; their refusals map to
403 (``NotAllowed``), 409 (``WaiverRuleError``) and 400 (``WaiverInvalid``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.auth import require_token_subsystem
from config.api.schema import error_responses
from org import scopes
from org.access import signed_in_user
from org.models import Scope
from waivers import rules, selectors, services
from waivers.filters import WaiverFilter
from waivers.models import WaiverRequest
from waivers.serializers import (
    WaiverCommentSerializer,
    WaiverInputSerializer,
    WaiverReasonSerializer,
    WaiverSerializer,
)

DECISION_ERRORS = error_responses(400, 403, 404, 409)


@extend_schema_view(
    list=extend_schema(
        summary="List waivers",
        description="Engineers see the waivers they requested or that concern their "
        "proposals; operators, leads, reviewers and auditors see all.",
        parameters=[
            OpenApiParameter(
                "awaiting_me",
                OpenApiTypes.BOOL,
                description="Only the open waivers you could approve now.",
            )
        ],
        responses={200: WaiverSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="Read a waiver with its approvals",
        responses={200: WaiverSerializer, **error_responses(404)},
    ),
)
class WaiverViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[WaiverRequest]
):
    serializer_class = WaiverSerializer
    filterset_class = WaiverFilter
    # Any id reaches the view, so a malformed one gets the API's JSON 404.
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> Any:
        return scopes.within_token_subsystems(
            self.request, selectors.visible_waivers(self.request.user)
        )

    def _respond(self, waiver: WaiverRequest, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.visible_waivers(self.request.user).get(pk=waiver.pk)
        headers = {"Location": f"/api/v1/waivers/{fresh.pk}/"} if code == 201 else None
        return Response(self.get_serializer(fresh).data, status=code, headers=headers)

    @extend_schema(
        summary="Request a waiver",
        description='Scope: `{"proposal": <id>}` for one proposal, or `{"subsystem": '
        f'"<slug>", "change_type": "..."}}` for a standing waiver. `duration_days` 1 to '
        f"{rules.MAX_WAIVER_DAYS}.",
        request=WaiverInputSerializer,
        responses={201: WaiverSerializer, **error_responses(400, 403, 409)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = WaiverInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        proposal, subsystem = data.get("proposal"), data.get("subsystem")
        if proposal is not None and not scopes.token_allows(
            request, Scope.PROPOSALS_WRITE, proposal.subsystem
        ):
            # Outside the token's subsystems: an unknown id, as for a proposal the
            # caller may not read (the service answers those the same way).
            raise ValidationError(
                {
                    "proposal": [
                        ErrorDetail(services.unknown_proposal(proposal.pk), code="does_not_exist")
                    ]
                }
            )
        if subsystem is not None:
            require_token_subsystem(request, Scope.PROPOSALS_WRITE, subsystem)
        # The services' refusals become 400/403/409 in config.api.errors.
        waiver = services.waiver_request(
            requester=signed_in_user(request),
            rationale=data["rationale"],
            duration_days=data["duration_days"],
            proposal=data.get("proposal"),
            subsystem=data.get("subsystem"),
            change_type=data.get("change_type") or None,
        )
        return self._respond(waiver, status.HTTP_201_CREATED)

    def _decide(self, request: Request, body: type[Any], act: Callable[..., Any]) -> Response:
        waiver = self.get_object()  # 404 for what the user may not see
        parsed = body(data=request.data if request.body else {})
        parsed.is_valid(raise_exception=True)
        act(waiver, **parsed.validated_data)
        return self._respond(waiver)

    @extend_schema(
        summary="Approve a waiver",
        description="The first approval fills the lead's slot when you lead the owning "
        "section, the reviewer's slot otherwise; the second approval makes the waiver "
        "APPROVED and active. 409 for your own request, a second vote, a closed waiver, or "
        "when only the lead's approval is missing and you are not a lead of the section.",
        request=WaiverCommentSerializer,
        responses={200: WaiverSerializer, **DECISION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._decide(
            request,
            WaiverCommentSerializer,
            lambda waiver, comment: services.waiver_approve(
                waiver=waiver, approver=signed_in_user(request), comment=comment
            ),
        )

    @extend_schema(
        summary="Reject a waiver, with a reason",
        request=WaiverReasonSerializer,
        responses={200: WaiverSerializer, **DECISION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        return self._decide(
            request,
            WaiverReasonSerializer,
            lambda waiver, reason: services.waiver_reject(
                waiver=waiver, approver=signed_in_user(request), reason=reason
            ),
        )

    @extend_schema(
        summary="Revoke a waiver, with a reason",
        description="A lead of the owning section or an administrator. A revoked waiver "
        "covers nothing new, and a proposal it covered that has not started cannot start.",
        request=WaiverReasonSerializer,
        responses={200: WaiverSerializer, **DECISION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        return self._decide(
            request,
            WaiverReasonSerializer,
            lambda waiver, reason: services.waiver_revoke(
                waiver=waiver, actor=signed_in_user(request), reason=reason
            ),
        )
