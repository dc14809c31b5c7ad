"""OpenAPI pieces every app's API shares: the error shape and its responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[Any]):
    field = serializers.CharField(allow_null=True, help_text="JSON path of the field, or null.")
    code = serializers.CharField(help_text="Stable machine code.")
    message = serializers.CharField(help_text="Human-readable explanation.")


class ErrorsSerializer(serializers.Serializer[Any]):
    # The contract's key; shadows Serializer.errors on this schema-only serializer.
    errors = ErrorSerializer(many=True)  # type: ignore[assignment]


_DESCRIPTIONS = {
    400: "Invalid request: every problem, each with its field path and code.",
    401: "Missing or invalid credentials.",
    403: "Authenticated, but not allowed.",
    404: "No such object, or not visible to you.",
    409: "Refused by the current state or a rule.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """``responses=`` entries for the given error statuses (401 is always included)."""
    return {
        status: OpenApiResponse(ErrorsSerializer, description=_DESCRIPTIONS[status])
        for status in sorted({401, *statuses})
    }
