"""Security events the audit trail records from signals: Django's, django-axes' and org's."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db import router, transaction
from django.dispatch import receiver
from django.http import HttpRequest

from audit.codes import EventCode
from audit.models import AuditEvent
from audit.services import ANONYMOUS_LABEL, record_event
from org.signals import api_token_issued, api_token_refused, api_token_revoked


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
def record_api_token_issued(
    sender: Any, user: Any, rotated: bool, token: Any, actor: Any = None, **kwargs: Any
) -> None:
    """Record WDG-302 in the issuing transaction; the key itself never is."""
    record_event(
        code=EventCode.API_TOKEN_ISSUED,
        actor=actor or user,
        data={
            "user": user.username,
            "rotated": rotated,
            "token": token.pk,
            "name": token.name,
            "scopes": list(token.scopes),
            "subsystems": list(kwargs.get("subsystems", [])),
            "expires_at": token.expires_at,
        },
    )


@receiver(api_token_revoked, dispatch_uid="audit.record_api_token_revoked")
def record_api_token_revoked(
    sender: Any, token: Any, actor: Any, reason: str, **kwargs: Any
) -> None:
    """Record WDG-303 in the revoking transaction."""
    record_event(
        code=EventCode.API_TOKEN_REVOKED,
        actor=actor,
        reason=reason,
        data={"user": token.owner.username, "token": token.pk, "name": token.name},
    )


@receiver(api_token_refused, dispatch_uid="audit.record_api_token_refused")
def record_api_token_refused(
    sender: Any, token: Any, reason: str, remote_addr: str, **kwargs: Any
) -> None:
    """Record WDG-304: whoever holds the key is not known to be its owner."""
    record_event(
        code=EventCode.API_TOKEN_REFUSED,
        actor_label=ANONYMOUS_LABEL,
        reason=reason,
        data={
            "user": token.owner.username,
            "token": token.pk,
            "name": token.name,
            "remote_addr": remote_addr,
        },
    )


@receiver(user_locked_out, dispatch_uid="audit.record_sign_in_locked_out")
def record_sign_in_locked_out(
    sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any
) -> None:
    """Record WDG-305 once, when the failure that reaches the limit locks sign-in.

    django-axes sends its signal again for every attempt refused while locked;
    only the attempt that was counted (``axes_failures_since_start`` set) locks.
    """
    failures = getattr(request, "axes_failures_since_start", None)
    if request is None or failures is None:
        return
    data: dict[str, Any] = {
        "username": str(username or "").replace("\x00", "")[:150],
        "path": request.path[:500],
        "remote_addr": request.META.get("REMOTE_ADDR", ""),
        "failures": failures,
    }
    with transaction.atomic(using=router.db_for_write(AuditEvent)):
        record_event(code=EventCode.SIGN_IN_LOCKED_OUT, actor_label=ANONYMOUS_LABEL, data=data)
