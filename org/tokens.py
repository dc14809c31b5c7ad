"""API tokens: issue, find, revoke. Keys are shown once and stored only as hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from config.refusals import FieldError, InvalidInput, NotAllowed, Refused
from org.models import ApiToken, Scope, Subsystem, User
from org.scopes import scopes_allowed_for
from org.signals import api_token_issued, api_token_refused, api_token_revoked

KEY_MARK: Final = "wdg_"
# A key longer than this is not one of ours; it is refused without a query.
MAX_KEY_LENGTH: Final = 200
# The name `create_api_token` and `api_token_for` give a token they issue.
DEFAULT_NAME: Final = "command line"
# How long after being written ``last_used_at`` is left alone.
LAST_USED_GRANULARITY: Final = dt.timedelta(minutes=1)
# How often a use of one revoked or expired token reaches the audit trail.
REFUSAL_AUDIT_INTERVAL: Final = dt.timedelta(hours=1)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the only time the key exists outside the client


class TokenNotFound(Refused):
    pass


def generate_key() -> str:
    return KEY_MARK + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _lookup() -> Exists:
    # Whether the token is limited to subsystems, in the lookup's own query:
    # a token without limits then costs no second query (org.scopes.subsystem_ids).
    through = ApiToken.subsystems.through
    return Exists(through.objects.filter(apitoken_id=OuterRef("pk")))


def find_token(key: str) -> ApiToken | None:
    """The token whose key is ``key`` (revoked and expired ones too), with its owner."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        return None
    wanted = hash_key(key)
    candidates = (
        ApiToken.objects.select_related("owner")
        .annotate(limited_to_subsystems=_lookup())
        .filter(key_prefix=key[: ApiToken.KEY_PREFIX_LENGTH])
    )
    for candidate in candidates:
        if hmac.compare_digest(candidate.key_hash, wanted):
            _load_permissions(candidate.owner)
            return candidate
    return None


def _load_permissions(user: User) -> None:
    """Read the owner's permissions in one query instead of ModelBackend's two.

    Every API call asks the owner's roles (``org.access``), and Django's
    ``ModelBackend`` reads a user's own and their groups' permissions in two
    queries the first time it is asked. This reads the union at once and
    fills the same per-user caches the backend would, so what ``has_perm``
    answers is unchanged. Superusers and inactive users are left to the
    backend: it answers for them without reading these rows.
    """
    if user.is_superuser or not user.is_active:
        return
    rows = (
        Permission.objects.filter(Q(user=user) | Q(group__user=user))
        .values_list("content_type__app_label", "codename")
        .distinct()
    )
    permissions = {f"{app_label}.{codename}" for app_label, codename in rows}
    # ModelBackend.get_all_permissions caches the union here; has_perm reads it.
    user._perm_cache = permissions  # type: ignore[attr-defined]


def _validated(
    owner: User, name: str, scopes: Iterable[str], expires_at: dt.datetime | None, now: dt.datetime
) -> list[Scope]:
    errors: list[FieldError] = []
    name = name.strip()
    if not name:
        errors.append(FieldError("name", "required", "Give the token a name."))
    elif len(name) > 100:
        errors.append(FieldError("name", "too_long", "The name is at most 100 characters."))
    wanted: list[Scope] = []
    for raw in scopes:
        try:
            scope = Scope(raw)
        except ValueError:
            known = ", ".join(Scope.values)
            errors.append(
                FieldError("scopes", "unknown_scope", f"Unknown scope {raw!r}; one of {known}.")
            )
            continue
        if scope not in wanted:
            wanted.append(scope)
    if not wanted and not errors:
        errors.append(FieldError("scopes", "required", "Choose at least one scope."))
    if expires_at is not None and expires_at <= now:
        errors.append(FieldError("expires_at", "in_the_past", "The expiry must be in the future."))
    if errors:
        raise InvalidInput(errors)
    beyond = [scope for scope in wanted if scope not in scopes_allowed_for(owner)]
    if beyond:
        raise NotAllowed(
            "scope_beyond_roles",
            f"{owner.username}'s roles do not allow {', '.join(beyond)}: "
            "a token never does more than its owner may.",
        )
    return wanted


@transaction.atomic
def token_issue(
    *,
    owner: User,
    actor: User,
    name: str = DEFAULT_NAME,
    scopes: Iterable[str] = (Scope.ADMIN,),
    subsystems: Iterable[Subsystem] = (),
    expires_at: dt.datetime | None = None,
    rotate: bool = False,
) -> IssuedToken:
    """A new token of ``owner``; ``rotate`` first revokes their active tokens of that name.

    Issued for the owner by themselves (the token page, the command) or by an
    administrator (the command). Audited as WDG-302, and each revocation that
    ``rotate`` causes as WDG-303; the key itself never is.
    """
    now = timezone.now()
    wanted = _validated(owner, name, scopes, expires_at, now)
    if not owner.is_active:
        raise NotAllowed("inactive_owner", f"User {owner.username!r} is inactive.")
    rotated = []
    if rotate:
        rotated = list(
            _active(now).select_for_update().filter(owner=owner, name=name.strip()).order_by("pk")
        )
        for old in rotated:
            _revoke(old, actor=actor, now=now, reason="rotated")
    key = generate_key()
    token = ApiToken.objects.create(
        name=name.strip(),
        owner=owner,
        key_prefix=key[: ApiToken.KEY_PREFIX_LENGTH],
        key_hash=hash_key(key),
        scopes=[scope.value for scope in wanted],
        created_at=now,
        expires_at=expires_at,
    )
    chosen = list(subsystems)
    if chosen:
        token.subsystems.set(chosen)
    api_token_issued.send(
        sender=ApiToken,
        user=owner,
        actor=actor,
        token=token,
        subsystems=sorted(subsystem.slug for subsystem in chosen),
        rotated=bool(rotated),
    )
    return IssuedToken(token=token, key=key)


def _active(now: dt.datetime) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def _revoke(token: ApiToken, *, actor: User, now: dt.datetime, reason: str) -> None:
    token.revoked_at = now
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    api_token_revoked.send(sender=ApiToken, token=token, actor=actor, reason=reason)


@transaction.atomic
def token_revoke(*, token_id: int, actor: User, as_administrator: bool = False) -> ApiToken:
    """Revoke a token (WDG-303): the owner's own, or anyone's ``as_administrator``.

    Revoking a revoked token changes nothing and records nothing.
    """
    tokens = ApiToken.objects.select_for_update(of=("self",)).select_related("owner")
    if not as_administrator:
        tokens = tokens.filter(owner=actor)
    token = tokens.filter(pk=token_id).first()
    if token is None:
        raise TokenNotFound("not_found", "There is no such token.")
    if token.revoked_at is None:
        by = "its owner" if token.owner_id == actor.pk else "an administrator"
        _revoke(token, actor=actor, now=timezone.now(), reason=f"revoked by {by}")
    return token


def note_use(token: ApiToken, now: dt.datetime) -> None:
    """Record that ``token`` was used, at most once per ``LAST_USED_GRANULARITY``."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_GRANULARITY:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_GRANULARITY)
    ).update(last_used_at=now)
    token.last_used_at = now


def note_refusal(token: ApiToken, now: dt.datetime, *, remote_addr: str, reason: str) -> None:
    """Audit a use of a revoked or expired token (WDG-304), at most once an hour per token."""
    with transaction.atomic():
        claimed = (
            ApiToken.objects.filter(pk=token.pk)
            .filter(
                Q(refused_audited_at__isnull=True)
                | Q(refused_audited_at__lte=now - REFUSAL_AUDIT_INTERVAL)
            )
            .update(refused_audited_at=now)
        )
        if claimed:
            api_token_refused.send(
                sender=ApiToken, token=token, reason=reason, remote_addr=remote_addr
            )


_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_LIFETIME = re.compile(r"([1-9][0-9]{0,5})([mhdw])")


def parse_lifetime(text: str) -> dt.timedelta:
    """``90d``, ``12h``, ``2w`` or ``30m`` as a duration (at most ten years)."""
    match = _LIFETIME.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"Not a lifetime: {text!r}; write it like 90d, 12h, 2w or 30m.")
    lifetime = dt.timedelta(**{_UNITS[match[2]]: int(match[1])})
    if lifetime > dt.timedelta(days=3653):
        raise ValueError(f"{text!r} is longer than ten years.")
    return lifetime


def api_token_for(*, user: User, rotate: bool = False) -> str:
    """A new key of a token with every right ``user``'s roles give (``admin``).

    Keys are stored hashed, so an earlier key cannot be shown again: each
    call issues another token. ``rotate`` first revokes the user's active
    tokens of the same name (``DEFAULT_NAME``).
    """
    return token_issue(owner=user, actor=user, rotate=rotate).key
