"""What an API token may do: the checks the API views call.

A request signed in with a session carries no token: the user's roles alone
decide, as ``org.access`` says. A token can only narrow that:

- its **scopes** name the kinds of call it may make (``Scope``); ``admin``
  stands for all of them;
- its **subsystems**, when it has any, are the only ones it may act on or
  read (no subsystems: all of them);
- whatever the token says, the view still asks the owner's roles
  (``org.access``), so a token never does more than its owner may.

One exception, on purpose: the *agent scopes* (``metrics:write`` and
``desired-state:read``) of a **service account's** token reach every
proposal of the token's subsystems, not only those its owner authored. That
is what a deployment agent is: it reports for the whole fleet of a subsystem
and needs no operator rights for it. The owner must still hold the engineer
permission (``org.act_as_engineer``: engineers, operators, leads); a human
engineer's token gets no such reach, so signing in to create a token never
lets an engineer report metrics for a colleague's rollout.

Which scope each API endpoint needs, and whether a token limited to
subsystems may call it at all, is a column of the permission table
(``config/permissions.py``); the token authentication (``config.api.auth``)
checks it once, for every API view, before the view runs. The views narrow
what they read and act on to the token's subsystems with the helpers below.
An endpoint the table does not name is open to tokens with ``admin`` and
no subsystem limit only (``unlisted_refusal``); the table's test fails for
every such endpoint.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from django.db.models import Model, QuerySet

from org import access
from org.access import AnyUser, ChangeProposalLike
from org.models import ApiToken, Scope, Subsystem, User

__all__ = [
    "AGENT_SCOPES",
    "Scope",
    "acts_for_fleet",
    "has_scope",
    "may_report_metrics",
    "scope_refusal",
    "scopes_allowed_for",
    "subsystem_ids",
    "token_allows",
    "token_of",
    "token_subsystem_ids",
    "unlisted_refusal",
    "within_token_subsystems",
]

# What a view declares when every token may call it: reads that go no further
# than the owner may read, limited to the token's subsystems.

AGENT_SCOPES: Final = frozenset({Scope.METRICS_WRITE, Scope.DESIRED_STATE_READ})

_M = TypeVar("_M", bound=Model)


def token_of(request: Any) -> ApiToken | None:
    """The API token the request authenticated with; ``None`` for a session."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def has_scope(token: ApiToken, scope: Scope) -> bool:
    return scope in token.scopes or Scope.ADMIN in token.scopes


def subsystem_ids(token: ApiToken) -> frozenset[int] | None:
    """The ids of the subsystems ``token`` is limited to; ``None`` when it reaches all.

    Read once per request. The authentication's lookup annotates
    ``limited_to_subsystems``, so a token without limits costs no query here.
    """
    cache = token.__dict__
    if "_subsystem_ids" not in cache:
        if getattr(token, "limited_to_subsystems", True) is False:
            cache["_subsystem_ids"] = None
        else:
            ids = frozenset(token.subsystems.values_list("pk", flat=True))
            cache["_subsystem_ids"] = ids or None
    result: frozenset[int] | None = cache["_subsystem_ids"]
    return result


def token_subsystem_ids(request: Any) -> frozenset[int] | None:
    """The subsystems the request's token is limited to; ``None`` for a session or no limit."""
    token = token_of(request)
    return None if token is None else subsystem_ids(token)


def token_allows(request: Any, scope: Scope, subsystem: Subsystem | None = None) -> bool:
    """Whether the request's credentials allow ``scope`` (on ``subsystem``, when given).

    True for a session: the roles decide. For a token: it holds the scope
    (or ``admin``) and, when ``subsystem`` is given, reaches it. Without a
    subsystem the answer means "on some subsystem": narrow what the view
    reads with ``within_token_subsystems``. The owner's roles are checked by
    the view as for any request; this only ever takes away.
    """
    token = token_of(request)
    if token is None:
        return True
    if not has_scope(token, scope):
        return False
    if subsystem is None:
        return True
    ids = subsystem_ids(token)
    return ids is None or subsystem.pk in ids


def within_token_subsystems(request: Any, queryset: QuerySet[_M], *, via: str = "") -> QuerySet[_M]:
    """The rows of ``queryset`` whose proposal belongs to the token's subsystems.

    ``via`` is the lookup from the rows to the proposal (``"proposal__"`` for
    wedges); the rows themselves are proposals by default.
    """
    token = token_of(request)
    if token is None:
        return queryset
    ids = subsystem_ids(token)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{via}subsystem_id__in": ids})


def acts_for_fleet(request: Any, scope: Scope) -> bool:
    """Whether the request's token reaches every proposal of its subsystems for ``scope``.

    Only the agent scopes, held by name (``admin`` does not count: it is the
    owner's own rights), on a token of an active service account that holds
    the engineer permission. See the module's docstring.
    """
    token = token_of(request)
    if token is None or scope not in AGENT_SCOPES or scope not in token.scopes:
        return False
    owner = token.owner
    return owner.is_service_account and owner.is_active and owner.has_perm("org.act_as_engineer")


def may_report_metrics(request: Any, proposal: ChangeProposalLike) -> bool:
    """Metrics for ``proposal``: by role (author or operator), or by a fleet agent's token."""
    if not token_allows(request, Scope.METRICS_WRITE, proposal.subsystem):
        return False
    return access.can_report_metrics(request.user, proposal) or acts_for_fleet(
        request, Scope.METRICS_WRITE
    )


def scope_refusal(token: ApiToken, needed: Scope | None, *, unlimited_only: bool) -> str | None:
    """Why ``token`` may not make a call that needs ``needed`` (``None``: any scope).

    ``unlimited_only``: the call is open only to tokens without a subsystem limit.
    """
    if needed is not None and not has_scope(token, needed):
        return f"This token lacks the {needed} scope this call needs."
    if unlimited_only and subsystem_ids(token) is not None:
        return "This call needs a token without a subsystem limit."
    return None


def unlisted_refusal(token: ApiToken) -> str | None:
    """Why ``token`` may not call an endpoint the permission table does not name."""
    if Scope.ADMIN in token.scopes and subsystem_ids(token) is None:
        return None
    return "This call needs a token with the admin scope and no subsystem limit."


def scopes_allowed_for(user: AnyUser) -> list[Scope]:
    """The scopes ``user``'s roles can make use of: what a token of theirs may carry."""
    if not isinstance(user, User) or not user.is_active:
        return []
    allowed = []
    for scope in Scope:
        if scope is Scope.PROPOSALS_WRITE:
            usable = access.can_submit(user)
        elif scope is Scope.METRICS_WRITE:
            usable = access.can_submit(user) or access.can_operate_anything(user)
        elif scope is Scope.OPERATE:
            usable = access.can_operate_anything(user)
        else:
            usable = True  # reading and ``admin`` go exactly as far as the roles do
        if usable:
            allowed.append(scope)
    return allowed
