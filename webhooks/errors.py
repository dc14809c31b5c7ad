"""The typed refusals of the webhook services, each with a stable code.

The API maps them to HTTP statuses (``SubscriptionInvalid`` 400,
``NotAllowed`` 403, ``SubscriptionRefused`` 409); the codes are part of the API
contract.
"""

from __future__ import annotations

from typing import Final

from config.refusals import FieldError, InvalidInput, NotAllowed, Refused

__all__ = ["FieldError", "NotAllowed", "SubscriptionInvalid", "SubscriptionRefused"]

# --- 400 ------------------------------------------------------------------------------------
CREDENTIALS_IN_URL: Final = "credentials_in_url"
DESTINATION_NOT_ALLOWED: Final = "destination_not_allowed"
HTTPS_REQUIRED: Final = "https_required"
INVALID_URL: Final = "invalid_url"
NOT_DELIVERED: Final = "not_delivered"
NOT_IN_FORMAT: Final = "not_in_format"
SECRET_REQUIRED: Final = "secret_required"
SECTION_REQUIRED: Final = "required"
UNRESOLVABLE_HOST: Final = "unresolvable_host"

# --- 403 ------------------------------------------------------------------------------------
NOT_SECTION_LEAD: Final = "not_section_lead"

# --- 409 ------------------------------------------------------------------------------------
SUBSCRIPTION_LIMIT: Final = "subscription_limit"
SUBSCRIPTION_DELETED: Final = "subscription_deleted"


class SubscriptionInvalid(InvalidInput):
    """A subscription's fields are wrong (HTTP 400)."""


class SubscriptionRefused(Refused):
    """The rules refuse an otherwise valid subscription (HTTP 409)."""
