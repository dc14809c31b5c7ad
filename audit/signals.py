"""Security events the audit trail records by listening to signals (Django's and org's)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db import router, transaction
from django.dispatch import receiver
from django.http import HttpRequest

from audit.codes import EventCode
from audit.models import AuditEvent
from audit.services import ANONYMOUS_LABEL, record_event
from org.signals import api_token_issued


@receiver(user_login_failed, dispatch_uid="audit.record_sign_in_failure")
def record_sign_in_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Record WDG-301 with the attempted username — never the password."""
    username_field = get_user_model().USERNAME_FIELD
    attempted = str(credentials.get(username_field) or credentials.get("username") or "")
    data: dict[str, Any] = {"username": attempted.replace("\x00", "")[:150]}
    if request is not None:
        data["path"] = request.path[:500]
        data["remote_addr"] = request.META.get("REMOTE_ADDR", "")
    # Its own transaction (a savepoint if the caller has one): a sign-in
    # failure is recorded whatever the request does next.
    with transaction.atomic(using=router.db_for_write(AuditEvent)):
        record_event(code=EventCode.SIGN_IN_FAILED, actor_label=ANONYMOUS_LABEL, data=data)


@receiver(api_token_issued, dispatch_uid="audit.record_api_token_issued")
def record_api_token_issued(sender: Any, user: Any, rotated: bool, **kwargs: Any) -> None:
    """Record WDG-302 in the issuing transaction; the key itself never is."""
    record_event(
        code=EventCode.API_TOKEN_ISSUED,
        actor=user,
        data={"user": user.username, "rotated": rotated},
    )
