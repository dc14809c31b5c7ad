"""The typed refusals every service raises, each with a stable code.

Services raise them; the API's exception handler (``config.api.errors``) turns
them into its error shape — ``InvalidInput`` 400, ``NotAllowed`` 403,
``Refused`` 409 — and pages show their messages. Apps subclass them to name
their own refusals, and keep their codes next to those subclasses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


class ServiceError(Exception):
    """Base class: ``code`` is stable, ``message`` is for people."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotAllowed(ServiceError):
    """The actor's role does not allow this action at all (HTTP 403)."""


class Refused(ServiceError):
    """The rules or the current state refuse an otherwise valid request (HTTP 409)."""


@dataclasses.dataclass(frozen=True)
class FieldError:
    field: str | None  # the request body's field path, or None for the body as a whole
    code: str
    message: str
    # Further members of the API's error object after field, code and message
    # (a validation rule's number, say); JSON values only.
    details: Mapping[str, object] = dataclasses.field(default_factory=dict)


class InvalidInput(ServiceError):
    """The input is wrong (HTTP 400); every problem at once, each with its field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].code, "; ".join(error.message for error in errors))
        self.errors = errors
