"""How API calls authenticate: ``Authorization: Token <key>`` or a browser session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.request import Request

from config import permissions
from config.api.throttling import FailedTokenThrottle
from org import scopes
from org.clients import client_ip
from org.models import ApiToken, Subsystem, User
from org.tokens import find_token, note_refusal, note_use


class InsufficientScope(exceptions.PermissionDenied):
    default_detail = "This token's scopes do not allow this call."
    default_code = "insufficient_scope"


class TokenThrottled(exceptions.Throttled):
    default_detail = "Too many failed token attempts from this address."
    extra_detail_plural = "Retry in {wait} seconds."
    extra_detail_singular = "Retry in {wait} second."


class ApiTokenAuthentication(TokenAuthentication):
    """``org.ApiToken`` keys, throttled when they fail, and the scope check of every view.

    The scope each endpoint needs is the permission table's
    (``config.permissions``), looked up by the URL's name and the method. It
    is checked here rather than in a permission class: views and actions set
    their own ``permission_classes``, but every API view authenticates
    through this class, so none can leave the check out. A subclass of DRF's
    ``TokenAuthentication`` so the OpenAPI document keeps its ``tokenAuth``.
    """

    model = ApiToken

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            # A view for callers that cannot send a header says where else the
            # key travels (``token_without_header``: Flagger's webhooks put it
            # in their payload, ``gates``); every other view takes the header only.
            view = request.parser_context.get("view")
            elsewhere = getattr(view, "token_without_header", None)
            key = elsewhere(request) if elsewhere is not None else None
            if key is None:
                return None
            found: str = key
            return self.authenticate_key(request, lambda: found)
        return self.authenticate_key(request, lambda: self._key(header))

    def authenticate_key(self, request: Request, key: Callable[[], str]) -> tuple[User, ApiToken]:
        """Authenticate the key ``key()`` gives: throttled, audited when stale, scope-checked.

        The same checks wherever the key travelled (the header, or where the
        view's ``token_without_header`` found it).
        """
        throttle = FailedTokenThrottle()
        if throttle.blocked(request):
            wait = throttle.wait()
            raise TokenThrottled(wait=None if wait is None else max(1.0, wait))
        try:
            token = self._token(key(), request)
        except exceptions.AuthenticationFailed:
            throttle.record_failure(request)
            raise
        reason = _refusal(token, request)
        if reason is not None:
            raise InsufficientScope(reason)
        return token.owner, token

    @staticmethod
    def _key(header: list[bytes]) -> str:
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: send 'Authorization: Token <key>'."
            )
        try:
            return header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None

    def _token(self, key: str, request: Request) -> ApiToken:
        token = find_token(key)
        now = timezone.now()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        stale = _stale(token, now)
        if stale is not None:
            note_refusal(token, now, remote_addr=client_ip(request._request), reason=stale)
            raise exceptions.AuthenticationFailed(
                f"This token has {'been revoked' if stale == 'revoked' else 'expired'}.",
                code=f"token_{stale}",
            )
        if not token.owner.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        note_use(token, now)
        return token


def _refusal(token: ApiToken, request: Request) -> str | None:
    match = getattr(request._request, "resolver_match", None)
    endpoint = permissions.api_endpoint(request.method or "", match.view_name if match else None)
    if endpoint is None:
        # Not in the table (the table's test fails for it): full-rights tokens only.
        return scopes.unlisted_refusal(token)
    return scopes.scope_refusal(
        token, endpoint.scope, unlimited_only=endpoint.reach is permissions.Reach.UNLIMITED
    )


def require_token_subsystem(request: Request, scope: scopes.Scope, subsystem: Subsystem) -> None:
    """Refuse (403 ``insufficient_scope``) a token that may not act on ``subsystem``.

    For calls that name the subsystem they act on in their body (a
    submission, a standing waiver); objects named in the URL are instead
    narrowed away (404) by ``org.scopes.within_token_subsystems``.
    """
    if not scopes.token_allows(request, scope, subsystem):
        raise InsufficientScope(
            f"This token may not act on the subsystem {subsystem.slug!r}.",
            code="insufficient_scope",
        )


def _stale(token: ApiToken, now: dt.datetime) -> str | None:
    if token.revoked_at is not None:
        return "revoked"
    if token.is_expired(now):
        return "expired"
    return None


def acting_user(request: Request) -> User:
    """The authenticated user of an API request (views require authentication)."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user
