"""The API's single error shape.

Every 4xx body is ``{"errors": [{"field", "code", "message"}]}`` (README.md,
"Using the API from a pipeline"). DRF's nested ``ValidationError`` details are flattened into
JSON paths such as ``rollout_wedge.wedge_stages[1].target_percentage``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.refusals import InvalidInput, NotAllowed, ServiceError


def error(field: str | None, code: str, message: str) -> dict[str, str | None]:
    return {"field": printable(field), "code": printable(code), "message": printable(message)}


def printable(text: str | None) -> str | None:
    """``text`` with every lone surrogate written as its escape (``\\ud800``).

    Messages may quote what a client sent; a lone surrogate cannot be encoded
    as UTF-8, so the error could not be rendered at all.
    """
    if text is None:
        return None
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class Conflict(exceptions.APIException):
    """409: the state machine or a rule refuses an otherwise valid request."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def _join(prefix: str | None, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix or ''}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


def flatten(detail: Any, prefix: str | None = None) -> Iterator[dict[str, Any]]:
    """Walk DRF's error detail tree, yielding one error per leaf."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            field = prefix if key in ("non_field_errors", "detail") else _join(prefix, key)
            yield from flatten(value, field)
    elif isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            for item in detail:
                yield from flatten(item, prefix)
        else:
            for index, item in enumerate(detail):
                if item:
                    yield from flatten(item, _join(prefix, index))
    else:
        code = getattr(detail, "code", None) or "invalid"
        yield error(prefix, str(code), str(detail))


class ServiceUnavailable(exceptions.APIException):
    """503: the database went away mid-request; nothing was half-written."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable right now; nothing was changed. Retry shortly."
    default_code = "unavailable"


@csrf_exempt  # like every API view: a token-authenticated POST carries no CSRF token
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs under /api/v1/ answer in the API's error shape, whatever the method."""
    return JsonResponse(
        {"errors": [error(None, "not_found", f"No API endpoint at {request.path}.")]},
        status=404,
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: a request Django refuses before any view runs (a Host header that is
    missing or not allowed, too many fields): the API's error shape under /api/, the
    plain page elsewhere. The refused value is not echoed."""
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    if isinstance(exception, DisallowedHost):
        message = "The Host header is missing or names a host this server does not answer to."
    else:
        message = "The request was refused before it reached the API."
    return JsonResponse({"errors": [error(None, "bad_request", message)]}, status=400)


def _from_refusal(refusal: ServiceError) -> exceptions.APIException:
    """The API exception for a service's typed refusal (one mapping for every app)."""
    if isinstance(refusal, InvalidInput):
        detail: dict[str, list[exceptions.ErrorDetail]] = {}
        for problem in refusal.errors:
            detail.setdefault(problem.field or "non_field_errors", []).append(
                exceptions.ErrorDetail(problem.message, code=problem.code)
            )
        return exceptions.ValidationError(detail)
    if isinstance(refusal, NotAllowed):
        return exceptions.PermissionDenied(refusal.message, code=refusal.code)
    return Conflict(refusal.message, code=refusal.code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # An InvalidInput already names each field by its JSON path: keep them as
    # they are rather than re-parse them from DRF's nested detail.
    invalid = exc.errors if isinstance(exc, InvalidInput) else None
    if isinstance(exc, ServiceError):
        exc = _from_refusal(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        # A lost connection rolls the request's transactions back; deployers
        # should retry rather than read an HTML error page.
        response = exception_handler(ServiceUnavailable(), context)
        if response is not None:
            response["Retry-After"] = "5"
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = exceptions.ParseError(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            code="body_too_large",
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if invalid is not None:
        errors: list[dict[str, Any]] = [
            {**error(problem.field, problem.code, problem.message), **problem.details}
            for problem in invalid
        ]
    elif isinstance(exc, exceptions.ValidationError):
        errors = list(flatten(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        errors = [error(None, str(code), str(detail))]
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # The API speaks JSON (and YAML for submitted documents); a body in
        # another type is a bad request like any other malformed body: 400,
        # in the one shape.
        response.status_code = status.HTTP_400_BAD_REQUEST
    response.data = {"errors": errors}
    # Errors are JSON whatever the view renders on success (OpenAPI YAML, CSV).
    request = context.get("request")
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = "application/json"
    return response
