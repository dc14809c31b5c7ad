"""REST API for incidents: record one against a proposal, list and read them.

Thin: parse the body, call ``governance.services.incident_record``, render.
Refusals map to 403 (``NotAllowed``) and 400 (``IncidentInvalid``), in the
API's one error shape.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.schema import error_responses
from config.ids import object_id
from governance import rules, selectors, services
from governance.filters import IncidentFilter
from governance.models import Incident
from governance.serializers import (
    IncidentInputSerializer,
    IncidentSerializer,
    IncidentUpsertSerializer,
)
from org import scopes
from org.access import signed_in_user
from wedges.models import ChangeProposal
from wedges.selectors import readable_proposals

VISIBILITY = (
    "Operators, section leads, reviewers and auditors see every incident; others see the "
    "incidents of the proposals they authored."
)


@extend_schema_view(
    get=extend_schema(
        summary="List a proposal's incidents",
        description=VISIBILITY,
        responses={200: IncidentSerializer(many=True), **error_responses(404)},
    ),
    post=extend_schema(
        summary="Record an incident against a proposal",
        description="Operators, and leads of the section owning the proposal's subsystem. "
        "A proposal the caller may not read is a 404. Audited as WDG-501.",
        request=IncidentInputSerializer,
        responses={201: IncidentSerializer, **error_responses(400, 403, 404)},
    ),
)
class ProposalIncidents(generics.ListCreateAPIView[Incident]):
    serializer_class = IncidentSerializer

    def proposal(self) -> ChangeProposal:
        """The proposal, if the caller may read it: a 404 otherwise, as on its page.

        Recording is not reading, but whoever may record may read; for everyone
        else an unreadable proposal is one that does not exist.
        """
        pk = str(self.kwargs["pk"])
        readable = scopes.within_token_subsystems(
            self.request,
            readable_proposals(
                self.request.user,
                ChangeProposal.objects.select_related("subsystem__section", "rollout_wedge"),
            ),
        )
        number = object_id(pk)
        proposal = readable.filter(pk=number).first() if number is not None else None
        if proposal is None:
            raise NotFound("No such proposal.")
        return proposal

    def get_queryset(self) -> QuerySet[Incident]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular's schema generation
            return Incident.objects.none()
        return selectors.visible_incidents(self.request.user).filter(proposal=self.proposal())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        proposal = self.proposal()
        user = signed_in_user(request)
        # Before the body: who may not record learns that, whatever they sent.
        if not rules.may_record_incident(user, proposal.subsystem):
            raise PermissionDenied(
                "Only operators, and leads of the section owning the subsystem, may record "
                "incidents.",
                code="not_allowed_to_record",
            )
        body = IncidentInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The service's refusals become 400/403 in config.api.errors.
        incident = services.incident_record(
            proposal=proposal, reported_by=user, **body.validated_data
        )
        fresh = selectors.incidents().get(pk=incident.pk)
        return Response(
            self.get_serializer(fresh).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/incidents/{incident.pk}/"},
        )


@extend_schema_view(
    list=extend_schema(
        summary="List incidents",
        description=f"Newest first. {VISIBILITY} `?quarter=2026Q4` keeps the incidents that "
        "occurred in that quarter (UTC); a malformed quarter is a 400.",
        parameters=[
            OpenApiParameter(
                "quarter",
                OpenApiTypes.STR,
                description="Incidents that occurred in this quarter (UTC), written YYYYQn: "
                "2026Q4.",
            )
        ],
        responses={200: IncidentSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="Read an incident",
        responses={200: IncidentSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Create or update an incident from an incident tool",
        description="Keyed by `source` and `external_id`: sending the same pair again updates "
        "the incident (200) instead of adding one (201). Without `proposal`, the incident is "
        "linked to the proposal that was rolling out (ACTIVE or PAUSED) on `subsystem` when "
        "it started. Operators, and leads of the section owning the subsystem. A proposal the "
        "caller may not read is an unknown id (400 `does_not_exist`). Audited as WDG-501 "
        "(recorded) or WDG-502 (updated).",
        request=IncidentUpsertSerializer,
        responses={
            201: IncidentSerializer,
            200: IncidentSerializer,
            **error_responses(400, 403),
        },
    ),
)
class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Incident],
):
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Incident]:
        return scopes.within_token_subsystems(
            self.request, selectors.visible_incidents(self.request.user), via="proposal__"
        )

    def get_object(self) -> Incident:
        if object_id(self.kwargs.get("pk", "")) is None:
            raise NotFound()
        return super().get_object()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = IncidentUpsertSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        readable = scopes.within_token_subsystems(
            request, readable_proposals(request.user, ChangeProposal.objects.all())
        )
        # The service's refusals become 400/403 in config.api.errors.
        done = services.incident_upsert(
            data=data,
            source=data.pop("source", "api"),
            actor=signed_in_user(request),
            readable=readable,
        )
        fresh = selectors.incidents().get(pk=done.incident.pk)
        return Response(
            self.get_serializer(fresh).data,
            status=status.HTTP_201_CREATED if done.created else status.HTTP_200_OK,
            headers={"Location": f"/api/v1/incidents/{fresh.pk}/"},
        )
