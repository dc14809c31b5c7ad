"""Webhook subscriptions and their delivery log."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audit.codes import EventCode
from config.api.auth import acting_user
from config.api.pagination import PageNumberPagination
from config.api.schema import error_responses
from org import access
from webhooks.models import Delivery, Subscription
from webhooks.services import subscription_create


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    secret = serializers.CharField(write_only=True, min_length=16, max_length=200)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventCode.choices), min_length=1
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Subscription
        fields = ["id", "url", "secret", "events", "active", "created_by", "created_at"]
        read_only_fields = ["active", "created_at"]

    def validate_url(self, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise serializers.ValidationError("Use an http:// or https:// URL.", code="invalid_url")
        return url


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_code",
            "proposal_id",
            "status",
            "attempts",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        ]


class CanManageWebhooks(permissions.BasePermission):
    message = "Only operators and section leads manage webhooks."

    def has_permission(self, request: Request, view: Any) -> bool:
        return access.can_operate_anything(request.user)


@extend_schema_view(
    list=extend_schema(
        summary="List webhook subscriptions",
        # 404: a page number past the end (DRF's page-number pagination).
        responses={200: SubscriptionSerializer(many=True), **error_responses(403, 404)},
    ),
    retrieve=extend_schema(
        summary="Read a subscription",
        responses={200: SubscriptionSerializer, **error_responses(403, 404)},
    ),
    create=extend_schema(
        summary="Subscribe a URL to event codes",
        responses={201: SubscriptionSerializer, **error_responses(400, 403)},
    ),
)
class SubscriptionViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Subscription],
):
    serializer_class = SubscriptionSerializer
    permission_classes = [permissions.IsAuthenticated, CanManageWebhooks]
    # Any id segment reaches the view, so a malformed id ("1.5") is the API's
    # JSON 404 rather than Django's HTML page for an unmatched URL.
    lookup_value_regex = "[^/]+"
    queryset = Subscription.objects.select_related("created_by")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = subscription_create(actor=acting_user(request), **serializer.validated_data)
        return Response(self.get_serializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The delivery log: attempts, status codes, next retry",
        responses={200: DeliverySerializer(many=True), **error_responses(403, 404)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        subscription = self.get_object()
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            subscription.deliveries.order_by("-created_at"), request, view=self
        )
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)
