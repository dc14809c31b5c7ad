"""REST API for change freezes: list, read, declare, end early or cancel.

Thin: parse the body, call ``freezes.services``, render. Refusals map to 400
(``FreezeInvalid``), 403 (``NotAllowed``) and 409 (``Refused``) in the API's
one error shape.
"""

from __future__ import annotations

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
from freezes import selectors, services
from freezes.models import ChangeFreeze
from freezes.serializers import FreezeEndSerializer, FreezeInputSerializer, FreezeSerializer
from org.access import signed_in_user

WHO = (
    "A section lead freezes the subsystems of their sections; any section lead (or the "
    "administrator) may freeze the whole organisation. Ending takes whoever could have "
    "declared it."
)


@extend_schema_view(
    list=extend_schema(
        summary="List change freezes",
        description="Every freeze, newest start first; everyone signed in reads them. "
        "A page past the last is a 404.",
        responses={200: FreezeSerializer(many=True), **error_responses(404)},
    ),
    retrieve=extend_schema(
        summary="Read a change freeze",
        responses={200: FreezeSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Declare a change freeze",
        description=f"{WHO} While it is in force no wedge in its scope starts or advances "
        "unless an active waiver covers it; running wedges hold their stage and may still "
        "pause or roll back. Audited as WDG-521.",
        request=FreezeInputSerializer,
        responses={201: FreezeSerializer, **error_responses(400, 403)},
    ),
    end=extend_schema(
        summary="End a change freeze early, or cancel one not yet started",
        description=f"{WHO} Audited as WDG-522 (ended early) or WDG-523 (cancelled). Held "
        "wedges move again on the next tick.",
        request=FreezeEndSerializer,
        responses={200: FreezeSerializer, **error_responses(400, 403, 404, 409)},
    ),
)
class FreezeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[ChangeFreeze],
):
    serializer_class = FreezeSerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[ChangeFreeze]:
        return selectors.freezes().order_by("-starts_at", "-id")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_object(self) -> ChangeFreeze:
        if not str(self.kwargs.get("pk", "")).isdigit():
            raise NotFound()
        return super().get_object()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = FreezeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        freeze = services.freeze_declare(actor=signed_in_user(request), **body.validated_data)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=freeze.pk)).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/freezes/{freeze.pk}/"},
        )

    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        freeze = self.get_object()
        body = FreezeEndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.freeze_end(
            freeze_id=freeze.pk, actor=signed_in_user(request), reason=body.validated_data["reason"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=freeze.pk)).data)
