"""``/api/v1/audit-events/``: the audit trail, filtered, paginated and exported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, mixins
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from audit import exports
from audit.filters import AuditEventFilter
from audit.models import AuditEvent
from audit.selectors import events_in_subsystems, visible_events
from audit.serializers import AuditEventSerializer
from config.api.schema import error_responses
from org import scopes


class AuditEventCursorPagination(CursorPagination):
    # Keyset on the primary key: constant cost per page however deep, and
    # stable while new events are appended.
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class CSVRenderer(BaseRenderer):
    """Selects CSV for ``?format=csv`` or ``Accept: text/csv``.

    The views stream CSV themselves; only bodies that are not CSV (errors)
    would reach ``render``, and the exception handler renders those as JSON.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return JSONRenderer().render(data)


# Errors are JSON whatever format was asked for (config.api.errors).
_ERRORS = {
    # 404: a cursor that is not one of ours.
    (status, "application/json"): response
    for status, response in error_responses(400, 404).items()
}
_FORMAT = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv"],
    description="`csv` streams every matching event as CSV (no pagination).",
)
_CSV = OpenApiResponse(OpenApiTypes.STR, description="CSV, one event per row, in id order.")


class _AuditEventsView(generics.GenericAPIView[AuditEvent]):
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    renderer_classes = [JSONRenderer, CSVRenderer]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return events_in_subsystems(
            visible_events(self.request.user), scopes.token_subsystem_ids(self.request)
        )

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            # DRF answers an unknown ?format= with 404; it is a bad request.
            raise exceptions.ValidationError(
                {"format": [exceptions.ErrorDetail("Use json or csv.", code="invalid_choice")]}
            ) from None

    def wants_csv(self) -> bool:
        return getattr(self.request.accepted_renderer, "format", None) == "csv"


class AuditEventList(mixins.ListModelMixin, _AuditEventsView):
    pagination_class = AuditEventCursorPagination

    @extend_schema(
        summary="List audit events",
        description=(
            "Newest first, cursor-paginated. Operators, section leads, reviewers and "
            "auditors see every event; others see every event of the proposals they "
            "authored, the events of the waivers they may read that name no proposal, "
            "and the events about neither that they caused. The proposal and waiver "
            "pages show exactly these. A token limited to subsystems reads only the events "
            "of their proposals and waivers. `?format=csv` streams all matching events."
        ),
        parameters=[_FORMAT],
        responses={
            (200, "application/json"): AuditEventSerializer(many=True),
            (200, "text/csv"): _CSV,
            **_ERRORS,
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response | StreamingHttpResponse:
        if self.wants_csv():
            return exports.csv_response(self.filter_queryset(self.get_queryset()))
        return self.list(request, *args, **kwargs)


class AuditEventExport(_AuditEventsView):
    pagination_class = None

    @extend_schema(
        summary="Export audit events",
        description=(
            "Streams every matching event in chain (id) order: a JSON array (default) "
            "or CSV with `?format=csv`. Same filters and visibility as the list."
        ),
        parameters=[_FORMAT],
        responses={
            (200, "application/json"): AuditEventSerializer(many=True),
            (200, "text/csv"): _CSV,
            **_ERRORS,
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> StreamingHttpResponse:
        events = self.filter_queryset(self.get_queryset())
        if self.wants_csv():
            return exports.csv_response(events)
        return exports.json_response(events)
