"""The metric providers (read only) and the Alertmanager receiver."""

from __future__ import annotations

from collections import Counter
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.auth import ApiTokenAuthentication, acting_user
from config.api.schema import error_responses
from org import scopes
from providers.config import ProviderConfig, configured
from providers.models import PolledWedge
from providers.serializers import (
    AlertmanagerSerializer,
    AlertsReceivedSerializer,
    MetricProviderSerializer,
)
from providers.services import Alert, alerts_receive
from wedges.models import State


def _shown(config: ProviderConfig, failing: Counter[str]) -> dict[str, Any]:
    return {
        "name": config.name,
        "kind": config.kind,
        "base_url": config.base_url,
        "auth_type": config.auth_type,
        "has_credentials": config.has_credentials,
        "timeout_seconds": config.timeout_seconds,
        "max_concurrency": config.max_concurrency,
        "source": config.source,
        "failing_wedges": failing[config.name],
    }


def _failing() -> Counter[str]:
    return Counter(
        provider
        for providers in PolledWedge.objects.filter(
            failing_since__isnull=False, wedge__wedge_state__in=[State.ACTIVE, State.PAUSED]
        ).values_list("failing_providers", flat=True)
        for provider in providers
    )


class MetricProviderViewSet(viewsets.ViewSet):
    """The providers a wedge's ``metric_queries`` may name; configured in the admin."""

    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        summary="List the metric providers",
        description="Names to use in `rollout_wedge.metric_queries`; credentials never shown.",
        responses={200: MetricProviderSerializer(many=True), **error_responses()},
    )
    def list(self, request: Request) -> Response:
        failing = _failing()
        body = [_shown(config, failing) for _, config in sorted(configured().items())]
        return Response(MetricProviderSerializer(body, many=True).data)

    @extend_schema(
        summary="Read a metric provider",
        responses={200: MetricProviderSerializer, **error_responses(404)},
    )
    def retrieve(self, request: Request, name: str) -> Response:
        config = configured().get(name)
        if config is None:
            raise NotFound(f"No metric provider {name!r}.")
        return Response(MetricProviderSerializer(_shown(config, _failing())).data)


ALERTMANAGER_EXAMPLE = OpenApiExample(
    "A firing alert for one proposal",
    request_only=True,
    value={
        "version": "4",
        "status": "firing",
        "receiver": "wedge",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighErrorRate", "wedge_proposal": "1"},
                "annotations": {"summary": "5xx above 5 % on the canary"},
                "startsAt": "2026-11-28T10:00:00Z",
                "fingerprint": "c4b1a1e0d2f3a4b5",
            }
        ],
    },
)


class AlertmanagerReceiver(APIView):
    """``POST /api/v1/alerts/alertmanager/``: Alertmanager's webhook (``webhook_configs``).

    A firing alert labelled ``wedge_proposal="<id>"`` rolls that proposal's
    wedge back; ``wedge_subsystem="<slug>"`` every running wedge of the
    subsystem. Resolved alerts do nothing; a replay (same ``fingerprint`` and
    ``startsAt``) acts no more. Always 200 for a well-formed body, so
    Alertmanager does not retry what was refused: each alert's outcome is in
    the answer.
    """

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Receive Alertmanager's webhook: firing alerts roll their wedges back",
        request=AlertmanagerSerializer,
        examples=[ALERTMANAGER_EXAMPLE],
        responses={200: AlertsReceivedSerializer, **error_responses(400, 403)},
    )
    def post(self, request: Request) -> Response:
        body = AlertmanagerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alerts = [
            Alert(
                status=item["status"],
                labels=dict(item["labels"]),
                annotations=dict(item["annotations"]),
                starts_at=item["startsAt"],
                fingerprint=item["fingerprint"],
            )
            for item in body.validated_data["alerts"]
        ]
        outcomes = alerts_receive(
            alerts=alerts,
            actor=acting_user(request),
            may_act=lambda proposal: scopes.may_report_metrics(request, proposal),
        )
        return Response({"alerts": [outcome.to_dict() for outcome in outcomes]})
