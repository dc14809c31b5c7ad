"""REST API for policy versions: list and read them, propose one, approve, reject, withdraw.

Thin: parse the body, call ``policies.services``, render. Refusals map to
400 (``PolicyVersionInvalid``), 403 (``NotAllowed``) and 409
(``PolicyVersionRefused``) in the API's one error shape. A version is
addressed by its number (``/api/v1/policy-versions/2/``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.schema import error_responses
from config.ids import object_id
from org.access import signed_in_user
from policies import selectors, services
from policies.models import PolicyVersion
from policies.serializers import DecisionSerializer, PolicyVersionSerializer, ProposeSerializer
from wedges.policy.thresholds import FIELDS

DECISION_ERRORS = error_responses(400, 403, 404, 409)


@extend_schema_view(
    list=extend_schema(
        summary="List policy versions",
        description="Newest first, with each version's thresholds, what it changed against "
        "the approved version before it, and whether it is in force now.",
        responses={200: PolicyVersionSerializer(many=True), **error_responses(404)},
    ),
    retrieve=extend_schema(
        summary="Read a policy version, by its number",
        responses={200: PolicyVersionSerializer, **error_responses(404)},
    ),
)
class PolicyVersionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[PolicyVersion]
):
    serializer_class = PolicyVersionSerializer
    lookup_field = "number"
    lookup_url_kwarg = "pk"  # /api/v1/policy-versions/<number>/
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[PolicyVersion]:
        return selectors.versions()

    def get_object(self) -> PolicyVersion:
        number = object_id(self.kwargs.get("pk", ""))
        version = self.get_queryset().filter(number=number).first() if number is not None else None
        if version is None:
            raise NotFound("No such policy version.")
        return version

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        current = selectors.in_force(timezone.now())
        context["in_force"] = current.number if current is not None else None
        context["versions"] = list(selectors.versions())
        return context

    def _respond(self, version: PolicyVersion, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.versions().get(pk=version.pk)
        headers = {"Location": f"/api/v1/policy-versions/{fresh.number}/"} if code == 201 else None
        return Response(self.get_serializer(fresh).data, status=code, headers=headers)

    @extend_schema(
        summary="Propose a policy version",
        description="Section leads only. The body names the thresholds that change ("
        + ", ".join(f"`{name}`" for name in FIELDS)
        + "), a `rationale` and an `effective_at`; the others stay as the latest approved "
        "version has them. A threshold looser than version 1 is a 400 `loosens_policy` on its "
        "field. Audited as WDG-511.",
        request=ProposeSerializer,
        responses={201: PolicyVersionSerializer, **error_responses(400, 403, 409)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        body = ProposeSerializer(data=data)
        body.is_valid(raise_exception=True)
        values = {key: value for key, value in data.items() if key not in body.fields}
        version = services.policy_version_propose(
            actor=signed_in_user(request),
            values=values,
            rationale=body.validated_data["rationale"],
            effective_at=body.validated_data["effective_at"],
        )
        return self._respond(version, status.HTTP_201_CREATED)

    def _decide(self, request: Request, act: Callable[[PolicyVersion, str], Any]) -> Response:
        version = self.get_object()
        body = DecisionSerializer(data=request.data if request.body else {})
        body.is_valid(raise_exception=True)
        return self._respond(act(version, body.validated_data["reason"]))

    @extend_schema(
        summary="Approve a policy version",
        description="A section lead other than the proposer (409 `self_approval`). The "
        "version is in force from its effective time, or from now if that has passed. "
        "Audited as WDG-512.",
        request=DecisionSerializer,
        responses={200: PolicyVersionSerializer, **DECISION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        user = signed_in_user(request)
        return self._decide(
            request,
            lambda version, reason: services.policy_version_approve(
                version=version, actor=user, reason=reason
            ),
        )

    @extend_schema(
        summary="Reject a policy version, with a reason",
        description="A section lead other than the proposer. Audited as WDG-513.",
        request=DecisionSerializer,
        responses={200: PolicyVersionSerializer, **DECISION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        user = signed_in_user(request)
        return self._decide(
            request,
            lambda version, reason: services.policy_version_reject(
                version=version, actor=user, reason=reason
            ),
        )
