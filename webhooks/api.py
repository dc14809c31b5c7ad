"""Webhook subscriptions and their delivery log, scoped to the sections one manages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.auth import acting_user
from config.api.pagination import PageNumberPagination
from config.api.schema import error_responses
from org import access
from webhooks.models import Subscription
from webhooks.selectors import subscriptions_for
from webhooks.serializers import (
    DeliverySerializer,
    SubscriptionChangeSerializer,
    SubscriptionSerializer,
)
from webhooks.services import subscription_create, subscription_delete, subscription_update


class CanManageWebhooks(permissions.BasePermission):
    message = "Only operators and section leads manage webhooks."

    def has_permission(self, request: Request, view: Any) -> bool:
        return access.can_operate_anything(request.user) or bool(request.user.is_superuser)


@extend_schema_view(
    list=extend_schema(
        summary="List the webhook subscriptions of the sections you manage",
        # 404: a page number past the end (DRF's page-number pagination).
        responses={200: SubscriptionSerializer(many=True), **error_responses(403, 404)},
    ),
    retrieve=extend_schema(
        summary="Read a subscription",
        responses={200: SubscriptionSerializer, **error_responses(403, 404)},
    ),
    create=extend_schema(
        summary="Subscribe a URL to event codes",
        responses={201: SubscriptionSerializer, **error_responses(400, 403, 409)},
    ),
    partial_update=extend_schema(
        summary="Deactivate (active: false), reactivate or change the events",
        request=SubscriptionChangeSerializer,
        responses={200: SubscriptionSerializer, **error_responses(400, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a subscription; its delivery log is kept",
        responses={204: None, **error_responses(403, 404)},
    ),
)
class SubscriptionViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Subscription],
):
    serializer_class = SubscriptionSerializer
    permission_classes = [permissions.IsAuthenticated, CanManageWebhooks]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # Any id segment reaches the view, so a malformed id ("1.5") is the API's
    # JSON 404 rather than Django's HTML page for an unmatched URL.
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Subscription]:
        # Another section's subscription is a 404: not even its existence shows.
        return subscriptions_for(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = subscription_create(actor=acting_user(request), **serializer.validated_data)
        return Response(self.get_serializer(subscription).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        change = SubscriptionChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        updated = subscription_update(
            actor=acting_user(request), subscription=subscription, **change.validated_data
        )
        return Response(self.get_serializer(updated).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription_delete(actor=acting_user(request), subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

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
