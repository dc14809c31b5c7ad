"""Subscriptions, writing to the outbox, fanning events out and delivering them.

A delivery attempt never holds a database lock while it talks to a receiver:
the row is claimed with a lease (compare-and-set on ``lease_until``) in a
short transaction, posted with no transaction open, and the outcome recorded
in another short one. A receiver that is slow or down costs a bounded number
of delivery workers (``WEDGE_WEBHOOK_MAX_IN_FLIGHT`` per subscription) and,
once it has failed ``WEDGE_WEBHOOK_CIRCUIT_FAILURES`` times in a row, none at
all while its circuit is open.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from audit.codes import EventCode
from audit.models import AuditEvent
from audit.services import record_event
from org.models import Section, User
from webhooks import destinations, errors, events, facts, formats
from webhooks.dispatch import FAN_OUT, publish_on_commit
from webhooks.errors import FieldError, NotAllowed, SubscriptionInvalid, SubscriptionRefused
from webhooks.models import Delivery, DeliveryStatus, OutboxEvent, Subscription
from webhooks.selectors import manages_every_section, may_manage_section

log = logging.getLogger(__name__)

# Beyond the two timeouts of an attempt (connect, then the answer's headers):
# time to record the outcome before anyone else may claim the row.
LEASE_MARGIN = timedelta(seconds=5)


# --- Subscriptions -------------------------------------------------------------------------


def redacted_url(url: str) -> str:
    """The URL without user or password, for lists and the audit trail."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_url(url: str) -> None:
    """Refuse what a subscription URL must not carry or point at; the secret is the credential."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise SubscriptionInvalid(
            [FieldError("url", errors.INVALID_URL, f"Not a usable URL: {exc}.")]
        ) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubscriptionInvalid(
            [FieldError("url", errors.INVALID_URL, "Use an http:// or https:// URL with a host.")]
        )
    if "@" in parts.netloc:
        raise SubscriptionInvalid(
            [
                FieldError(
                    "url",
                    errors.CREDENTIALS_IN_URL,
                    "Put no user name or password in the URL: deliveries are signed with "
                    "the subscription's secret, which is the credential.",
                )
            ]
        )
    try:
        destinations.check_registration(url)
    except destinations.DestinationRefused as refused:
        raise SubscriptionInvalid([FieldError("url", refused.code, refused.message)]) from None


def _owning_section(actor: User, requested: Section | None) -> Section | None:
    if requested is not None:
        if not may_manage_section(actor, requested):
            raise NotAllowed(
                errors.NOT_SECTION_LEAD,
                f"Only a lead of {requested.slug}, an operator or an admin subscribes for it.",
            )
        return requested
    if manages_every_section(actor):
        return None  # organisation-wide
    led = list(actor.led_sections.all()[:2])
    if len(led) == 1 and may_manage_section(actor, led[0]):
        return led[0]
    if not led:
        raise NotAllowed(errors.NOT_SECTION_LEAD, "Only section leads and operators subscribe.")
    raise SubscriptionInvalid(
        [FieldError("section", errors.SECTION_REQUIRED, "You lead several sections: name one.")]
    )


def _live(section: Section | None) -> QuerySet[Subscription]:
    return Subscription.objects.filter(deleted_at__isnull=True, section=section)


def check_events(codes: list[str], fmt: str) -> list[str]:
    """The codes, sorted and unique, if every one can be delivered in format ``fmt``."""
    wanted = sorted(set(codes))
    never = [code for code in wanted if code not in events.DELIVERABLE]
    if never:
        raise SubscriptionInvalid(
            [
                FieldError(
                    "events",
                    errors.NOT_DELIVERED,
                    f"{', '.join(never)} {'is' if len(never) == 1 else 'are'} never delivered; "
                    f"subscribe to some of {', '.join(sorted(events.DELIVERABLE))}.",
                )
            ]
        )
    carried = formats.CARRIES[formats.Format(fmt)]
    beyond = [code for code in wanted if carried is not None and code not in carried]
    if beyond:
        raise SubscriptionInvalid(
            [
                FieldError(
                    "events",
                    errors.NOT_IN_FORMAT,
                    f"The {fmt} format carries only {', '.join(sorted(carried or ()))}; "
                    f"not {', '.join(beyond)}.",
                )
            ]
        )
    return wanted


def check_secret(secret: str, fmt: str) -> str:
    if fmt in formats.CHAT_FORMATS:
        return secret  # the URL is the credential; a secret is not used
    if len(secret) < 16:
        raise SubscriptionInvalid(
            [
                FieldError(
                    "secret",
                    errors.SECRET_REQUIRED,
                    f"The {fmt} format signs every delivery: give a secret of at least 16 "
                    "characters.",
                )
            ]
        )
    return secret


def subscription_create(
    *,
    actor: User,
    url: str,
    events: list[str],
    secret: str = "",
    section: Section | None = None,
    format: str = formats.Format.JSON,
) -> Subscription:
    """Subscribe ``url`` to event codes for a section (by default the one the actor leads).

    ``format`` says what each delivery looks like (``webhooks.formats``); chat
    formats need no secret.
    """
    check_url(url)
    codes = check_events(events, format)
    secret = check_secret(secret, format)
    owner = _owning_section(actor, section)
    cap = settings.WEDGE_WEBHOOK_MAX_SUBSCRIPTIONS_PER_SECTION
    with transaction.atomic():
        if owner is not None:
            # Serialises concurrent creations in a section, so the cap holds.
            Section.objects.select_for_update().get(pk=owner.pk)
        if _live(owner).count() >= cap:
            where = owner.slug if owner else "the organisation-wide list"
            raise SubscriptionRefused(
                errors.SUBSCRIPTION_LIMIT,
                f"{where} already has {cap} subscriptions; delete one first.",
            )
        subscription = Subscription.objects.create(
            url=url,
            secret=secret,
            format=format,
            events=codes,
            section=owner,
            created_by=actor,
        )
        record_event(
            code=EventCode.WEBHOOK_CHANGED,
            actor=actor,
            data={
                "subscription": subscription.pk,
                "url": redacted_url(url),
                "format": format,
                "events": subscription.events,
                "section": owner.slug if owner else None,
            },
        )
    return subscription


def _lock_live(subscription: Subscription) -> Subscription:
    try:
        return Subscription.objects.select_for_update().get(
            pk=subscription.pk, deleted_at__isnull=True
        )
    except Subscription.DoesNotExist:
        raise SubscriptionRefused(
            errors.SUBSCRIPTION_DELETED, "This subscription has been deleted."
        ) from None


def _cancel_pending(subscription: Subscription) -> int:
    return Delivery.objects.filter(subscription=subscription, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, lease_until=None
    )


def subscription_update(
    *,
    actor: User,
    subscription: Subscription,
    active: bool | None = None,
    events: list[str] | None = None,
) -> Subscription:
    """Deactivate or reactivate a subscription, or change its events.

    Deactivating cancels what is still waiting for it; reactivating closes its
    circuit, so it starts afresh.
    """
    with transaction.atomic():
        locked = _lock_live(subscription)
        changes: dict[str, Any] = {}
        if events is not None and sorted(set(events)) != locked.events:
            locked.events = changes["events"] = check_events(events, locked.format)
        if active is not None and active != locked.active:
            locked.active = changes["active"] = active
            if active:
                locked.consecutive_failures = 0
                locked.circuit_open_until = None
            else:
                _cancel_pending(locked)
        if changes:
            locked.save()
            record_event(
                code=EventCode.WEBHOOK_CHANGED,
                actor=actor,
                data={"subscription": locked.pk, **changes},
            )
    return locked


def subscription_delete(*, actor: User, subscription: Subscription) -> None:
    """Soft delete: it gets nothing more and leaves the lists; its delivery log stays."""
    with transaction.atomic():
        locked = _lock_live(subscription)
        locked.deleted_at = timezone.now()
        locked.active = False
        locked.save(update_fields=["deleted_at", "active"])
        _cancel_pending(locked)
        record_event(
            code=EventCode.WEBHOOK_CHANGED,
            actor=actor,
            data={"subscription": locked.pk, "deleted": True},
        )


# --- The outbox ----------------------------------------------------------------------------


def enqueue(
    *, event_code: str, proposal_id: int | None, payload: dict[str, Any], now: datetime
) -> OutboxEvent:
    """Write the event's outbox row; a worker fans it out once the transaction commits.

    Call inside the transaction of the change the event announces. It costs
    one INSERT whatever the number of subscribers, plus the look-ups of the
    facts about the proposal the payload does not carry yet (``webhooks.facts``).
    """
    payload = {**facts.about_proposal(proposal_id, payload), **payload}
    event = OutboxEvent.objects.create(
        event_code=event_code, proposal_id=proposal_id, payload=payload, created_at=now
    )
    publish_on_commit(FAN_OUT, [str(event.pk)])
    return event


def announce_recorded(event: AuditEvent) -> None:
    """Audit listener: the outbox row of an event announced from the audit trail.

    Registered in ``WebhooksConfig.ready``; runs in the event's transaction.
    """
    if event.code in events.AUDIT_ANNOUNCED:
        enqueue(
            event_code=event.code,
            proposal_id=event.proposal_id,
            payload=events.audit_payload(event),
            now=event.occurred_at,
        )


def fan_out(event_id: str | int) -> list[str]:
    """One delivery per live subscription to the event's code; ids of the new rows.

    Claimed by compare-and-set on ``fanned_out_at``, so a re-drive racing the
    first task adds nothing. The caller queues the returned ids.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = OutboxEvent.objects.filter(pk=event_id, fanned_out_at__isnull=True).update(
            fanned_out_at=now
        )
        if claimed != 1:
            return []
        event = OutboxEvent.objects.get(pk=event_id)
        live = Subscription.objects.filter(active=True, deleted_at__isnull=True).only("events")
        deliveries = Delivery.objects.bulk_create(
            Delivery(
                subscription=subscription,
                event=event,
                event_code=event.event_code,
                proposal_id=event.proposal_id,
                payload=event.payload,
                created_at=event.created_at,
                next_attempt_at=event.created_at,
            )
            for subscription in live
            if event.event_code in subscription.events
        )
    return [str(delivery.pk) for delivery in deliveries]


# --- Delivering ----------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """Capped exponential backoff: 1 s, 2 s, 4 s ... at most the configured cap."""
    seconds = min(settings.WEDGE_WEBHOOK_BACKOFF_CAP_SECONDS, 2 ** max(attempts - 1, 0))
    return timedelta(seconds=seconds)


def circuit_cooldown(consecutive_failures: int) -> timedelta:
    """How long a circuit stays open: the cooldown, doubled for each failed trial attempt."""
    beyond = max(consecutive_failures - settings.WEDGE_WEBHOOK_CIRCUIT_FAILURES, 0)
    seconds = settings.WEDGE_WEBHOOK_CIRCUIT_COOLDOWN_SECONDS * 2 ** min(beyond, 16)
    return timedelta(seconds=min(seconds, settings.WEDGE_WEBHOOK_BACKOFF_CAP_SECONDS))


def lease_duration() -> timedelta:
    return 2 * timedelta(seconds=settings.WEDGE_WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN


@dataclass(frozen=True)
class Claim:
    """One attempt, claimed: everything needed to post it without the database."""

    delivery_id: str
    subscription_id: int
    url: str
    secret: str
    format: str
    event_code: str
    payload: dict[str, Any]
    attempt: int
    lease_until: datetime
    trial: bool  # the one attempt a half-open circuit lets through


@dataclass(frozen=True)
class Result:
    delivery_id: str
    status: str
    retry_at: datetime | None  # when this delivery's next attempt may run
    next_ids: list[str]  # deliveries of the same subscription that may go now


def _unleased(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lte=now)


def claim(delivery_id: str, *, now: datetime) -> Claim | None:
    """Take the next attempt of a pending delivery, or ``None`` if it may not go now.

    It may not while its backoff runs, while someone else holds its lease,
    while its subscription's circuit is open (the row then waits for the
    circuit) or has as many attempts in flight as it may.
    """
    with transaction.atomic():
        row = (
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .values("subscription_id", "next_attempt_at", "lease_until")
            .first()
        )
        if row is None or row["next_attempt_at"] > now:
            return None
        if row["lease_until"] is not None and row["lease_until"] > now:
            return None
        # A short lock on the subscription serialises claims for it, so the
        # in-flight count and the half-open trial cannot be raced.
        subscription = Subscription.objects.select_for_update().get(pk=row["subscription_id"])
        if not subscription.active or subscription.deleted_at is not None:
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.CANCELLED
            )
            return None
        open_until = subscription.circuit_open_until
        if open_until is not None and open_until > now:
            Delivery.objects.filter(
                pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lt=open_until
            ).update(next_attempt_at=open_until)
            return None
        trial = open_until is not None
        allowed = 1 if trial else settings.WEDGE_WEBHOOK_MAX_IN_FLIGHT
        in_flight = Delivery.objects.filter(
            subscription=subscription, status=DeliveryStatus.PENDING, lease_until__gt=now
        ).count()
        if in_flight >= allowed:
            return None
        lease_until = now + lease_duration()
        claimed = (
            Delivery.objects.filter(
                _unleased(now),
                pk=delivery_id,
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
            ).update(lease_until=lease_until, attempts=F("attempts") + 1, last_attempt_at=now)
            == 1
        )
        if not claimed:
            return None
        if trial:
            # The others wait while the trial is out (or its lease runs, if it dies).
            Subscription.objects.filter(pk=subscription.pk).update(circuit_open_until=lease_until)
        delivery = Delivery.objects.only("attempts", "event_code", "payload").get(pk=delivery_id)
    return Claim(
        delivery_id=str(delivery_id),
        subscription_id=subscription.pk,
        url=subscription.url,
        secret=subscription.secret,
        format=subscription.format,
        event_code=delivery.event_code,
        payload=delivery.payload,
        attempt=delivery.attempts,
        lease_until=lease_until,
        trial=trial,
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every error urllib3 and requests wrapped in it."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(current.args)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(current, kind) for current in _chain(exc))


# Connection failures that come back at once and before anything was sent:
# the next address may still be tried within the attempt's lease.
_AT_ONCE = frozenset(
    {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}
)


def _failed_at_once(exc: requests.RequestException) -> bool:
    if not isinstance(exc, requests.ConnectionError) or isinstance(
        exc, requests.Timeout | requests.exceptions.SSLError
    ):
        return False
    return any(
        isinstance(current, OSError) and current.errno in _AT_ONCE for current in _chain(exc)
    )


def _failure(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.ConnectionError):
        if _caused_by(exc, ConnectionRefusedError):
            return "connection refused"
        if _caused_by(exc, TimeoutError):
            return "timeout"
        return "connection failed"
    return "request failed"


def _send(
    destination: destinations.Destination,
    address: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
) -> int:
    timeout = settings.WEDGE_WEBHOOK_TIMEOUT_SECONDS
    # stream=True: only the status line and headers are read, never the body.
    with (
        destinations.pinned_session(destination, address) as session,
        session.post(
            url,
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        ) as response,
    ):
        return response.status_code


def post(claim: Claim) -> tuple[bool, int | None, str]:
    """POST the claimed delivery in its format. Returns (delivered, status code, short error).

    The error is our own few words, never the receiver's reply: a
    subscription aimed at an internal service must not read its answers back.
    The destination is resolved and checked here, for every attempt, and the
    POST goes to an address that was checked.
    """
    try:
        destination = destinations.resolve(claim.url)
    except destinations.DestinationRefused as refused:
        log.warning("webhook subscription %s: %s", claim.subscription_id, refused.short)
        return False, None, refused.short
    try:
        rendered = formats.render(
            claim.format,
            claim.payload,
            formats.Delivery(
                delivery_id=claim.delivery_id,
                event_code=claim.event_code,
                secret=claim.secret,
                timestamp=int(timezone.now().timestamp()),
                site_url=settings.WEDGE_SITE_URL,
            ),
        )
    except Exception:
        # A payload its format cannot carry (a row written before a rule
        # changed, say) fails like any attempt: logged, retried, never lost.
        log.exception("webhook delivery %s could not be rendered", claim.delivery_id)
        return False, None, "could not render"
    body, headers = rendered.body, rendered.headers
    error = "connection failed"
    for address in destination.addresses:
        try:
            code = _send(destination, address, claim.url, body, headers)
        except requests.RequestException as exc:
            error = _failure(exc)
            if _failed_at_once(exc):
                continue
            return False, None, error
        if 200 <= code < 300:
            return True, code, ""
        if 300 <= code < 400:
            return False, code, f"redirect not followed: HTTP {code}"
        return False, code, f"HTTP {code}"
    return False, None, error


# Called in the transaction of every successful delivery with (delivery id, event
# code, time): the apps above learn when a receiver had an event (the rollback
# SLO as measured, ``wedges.services.timing``). Filled in their ``ready``.
DeliveredListener = Callable[[str, str, datetime], None]
DELIVERED_LISTENERS: list[DeliveredListener] = []


def register_delivered_listener(listener: DeliveredListener) -> None:
    """Have ``record`` call ``listener(delivery_id, event_code, now)`` on every delivery."""
    if listener not in DELIVERED_LISTENERS:
        DELIVERED_LISTENERS.append(listener)


def record(
    claim: Claim, *, delivered: bool, status_code: int | None, error: str, now: datetime
) -> Result:
    """Write an attempt's outcome, move the subscription's circuit, name what may go next."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=claim.subscription_id)
        retry_at: datetime | None = None
        if delivered:
            # Delivered even if cancelled meanwhile: the receiver has it.
            changed = Delivery.objects.filter(
                pk=claim.delivery_id,
                status__in=(DeliveryStatus.PENDING, DeliveryStatus.CANCELLED),
            ).update(
                status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                last_status_code=status_code,
                last_error="",
                lease_until=None,
            )
            if changed:
                for listener in DELIVERED_LISTENERS:
                    listener(claim.delivery_id, claim.event_code, now)
            status = DeliveryStatus.DELIVERED
            subscription.consecutive_failures = 0
            subscription.circuit_open_until = None
            if claim.trial:
                # The rows that waited for this trial may go at once.
                Delivery.objects.filter(
                    subscription=subscription,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=claim.lease_until,
                ).update(next_attempt_at=now)
        else:
            fields: dict[str, Any] = {
                "last_status_code": status_code,
                "last_error": error,
                "lease_until": None,
            }
            if claim.attempt >= settings.WEDGE_WEBHOOK_MAX_ATTEMPTS:
                fields["status"] = status = DeliveryStatus.FAILED
            else:
                status = DeliveryStatus.PENDING
                # From the end of the attempt: a retry never comes sooner than its backoff.
                fields["next_attempt_at"] = retry_at = now + backoff(claim.attempt)
            # Only the claim that is still current writes (``attempts`` is its version).
            Delivery.objects.filter(
                pk=claim.delivery_id, status=DeliveryStatus.PENDING, attempts=claim.attempt
            ).update(**fields)
            subscription.consecutive_failures += 1
            if subscription.consecutive_failures >= settings.WEDGE_WEBHOOK_CIRCUIT_FAILURES:
                subscription.circuit_open_until = now + circuit_cooldown(
                    subscription.consecutive_failures
                )
                log.warning(
                    "webhook subscription %s: circuit open until %s after %d failures",
                    subscription.pk,
                    subscription.circuit_open_until.isoformat(),
                    subscription.consecutive_failures,
                )
        subscription.save(update_fields=["consecutive_failures", "circuit_open_until"])
        next_ids = _ready_for(subscription, now=now, exclude=claim.delivery_id)
    return Result(claim.delivery_id, status, retry_at, next_ids)


def _ready_for(subscription: Subscription, *, now: datetime, exclude: str) -> list[str]:
    """Due deliveries of a subscription that may take its free in-flight places."""
    if subscription.circuit_open_until is not None or not subscription.active:
        return []
    pending = Delivery.objects.filter(subscription=subscription, status=DeliveryStatus.PENDING)
    free = settings.WEDGE_WEBHOOK_MAX_IN_FLIGHT - pending.filter(lease_until__gt=now).count()
    if free <= 0:
        return []
    ready = (
        pending.filter(_unleased(now), next_attempt_at__lte=now)
        .exclude(pk=exclude)
        .order_by("next_attempt_at", "created_at")
        .values_list("pk", flat=True)[:free]
    )
    return [str(pk) for pk in ready]


def post_and_record(claim: Claim) -> Result:
    delivered, status_code, error = post(claim)
    return record(
        claim, delivered=delivered, status_code=status_code, error=error, now=timezone.now()
    )


def deliver(delivery_id: str) -> Result | None:
    """One attempt at a pending delivery if it may go now; ``None`` if it may not.

    At least once: a worker that dies mid-POST leaves its lease to run out, and
    the re-drive posts again with the same ``X-Wedge-Delivery`` id, which
    receivers de-duplicate on.
    """
    claimed = claim(delivery_id, now=timezone.now())
    if claimed is None:
        return None
    return post_and_record(claimed)


def due_deliveries(now: datetime, limit: int = 500) -> list[str]:
    """Ids of pending deliveries whose next attempt is due and that nobody holds."""
    return [
        str(pk)
        for pk in Delivery.objects.filter(
            _unleased(now), status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]


def waiting_events(limit: int = 500) -> list[str]:
    """Ids of outbox events no worker has fanned out yet (the broker was down, say)."""
    return [
        str(pk)
        for pk in OutboxEvent.objects.filter(fanned_out_at__isnull=True)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    ]
