"""The typed refusals of the freeze services, each with a stable code.

The API maps them to HTTP statuses (``FreezeInvalid`` 400, ``NotAllowed``
403, ``Refused`` 409) and the pages show their messages.
"""

from __future__ import annotations

from typing import Final

from config.refusals import FieldError, InvalidInput, NotAllowed, Refused

__all__ = ["FieldError", "FreezeInvalid", "NotAllowed", "Refused"]

BLANK: Final = "blank"
TOO_LONG: Final = "too_long"
NOT_AWARE: Final = "timezone_required"
ENDS_BEFORE_START: Final = "ends_before_start"
IN_PAST: Final = "in_past"
TOO_LONG_WINDOW: Final = "window_too_long"
NO_SCOPE: Final = "no_scope"
BOTH_SCOPES: Final = "both_scopes"
UNKNOWN_SUBSYSTEM: Final = "unknown_subsystem"
NOT_A_LEAD: Final = "not_a_lead"
ALREADY_ENDED: Final = "already_ended"
# The hold's rule, as the operator's refusal and the audit trail name it.
FROZEN: Final = "change_freeze"


class FreezeInvalid(InvalidInput):
    """The freeze's input is wrong (HTTP 400)."""
