"""What one delivery looks like on the wire, per subscription format.

Every format renders the same outbox payload; retries, leases, the circuit
breaker and the destination checks are the outbox's, whatever the format.

* ``json``: the signed JSON webhook of the API contract (``X-Wedge-*``
  headers, HMAC-SHA256 over ``"<timestamp>.<body>"``).
* ``slack``: a Slack incoming-webhook message, ``{"text", "blocks"}``
  (Mattermost and Rocket.Chat accept the same body).
* ``teams``: a Microsoft Teams message carrying one Adaptive Card, as a
  Workflows ("Post to a channel when a webhook request is received") or an
  incoming webhook takes it.
* ``cdevents``: a CDEvent (spec v0.5.1) as a CloudEvent in the HTTP binary
  binding: ``ce-*`` headers and the CDEvent as the JSON body; only RWG-004
  (``service.deployed``) and RWG-003 (``service.rolledback``).

Rendering is pure: the payload and a few delivery facts in, headers and body
out. Each message says what happened, to which proposal, stage and
cluster, why, and links to the page (``WEDGE_SITE_URL``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cloudevents.core.bindings.http import to_binary_event
from cloudevents.core.v1.event import CloudEvent
from django.db import models

from audit.codes import EventCode, describe
from config.signing import signature


class Format(models.TextChoices):
    JSON = "json", "Signed JSON webhook"
    SLACK = "slack", "Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat)"
    TEAMS = "teams", "Microsoft Teams Adaptive Card (Workflows or incoming webhook)"
    CDEVENTS = "cdevents", "CDEvents over CloudEvents (binary HTTP binding)"


CDEVENTS_SPEC_VERSION: Final = "0.5.1"
CDEVENT_TYPES: Final = {
    EventCode.COMPLETED.value: "dev.cdevents.service.deployed.0.3.0",
    EventCode.ROLLED_BACK.value: "dev.cdevents.service.rolledback.0.3.0",
}
# The codes each format can carry; ``None``: every deliverable code.
CARRIES: Final[Mapping[str, frozenset[str] | None]] = {
    Format.JSON: None,
    Format.SLACK: None,
    Format.TEAMS: None,
    Format.CDEVENTS: frozenset(CDEVENT_TYPES),
}
# Formats whose receiver authenticates by its secret URL: no shared secret.
CHAT_FORMATS: Final = frozenset({Format.SLACK.value, Format.TEAMS.value})

USER_AGENT: Final = "Wedge-Webhooks/1"
# Slack refuses a header block over 150 characters, a section's text over
# 3,000 and a field over 2,000; Teams has no such limits but long cards help no one.
_HEADER_MAX: Final = 150
_TEXT_MAX: Final = 2900
_FIELD_MAX: Final = 1900

# How each event should look: Teams' semantic colours, Slack's emoji.
_TONES: Final[Mapping[str, tuple[str, str]]] = {
    EventCode.ROLLED_BACK.value: ("Attention", ":rotating_light:"),
    EventCode.CANARY_FAILED.value: ("Attention", ":rotating_light:"),
    EventCode.PAUSED.value: ("Warning", ":double_vertical_bar:"),
    EventCode.AWAITING_APPROVAL.value: ("Warning", ":raised_hand:"),
    EventCode.WAIVER_REQUESTED.value: ("Warning", ":raised_hand:"),
    EventCode.WAIVER_REJECTED.value: ("Attention", ":no_entry:"),
    EventCode.WAIVER_REVOKED.value: ("Attention", ":no_entry:"),
    EventCode.COMPLETED.value: ("Good", ":white_check_mark:"),
    EventCode.WAIVER_APPROVED.value: ("Good", ":white_check_mark:"),
}
_DEFAULT_TONE: Final = ("Accent", ":large_blue_circle:")


@dataclass(frozen=True)
class Rendered:
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Delivery:
    """What rendering needs besides the payload."""

    delivery_id: str
    event_code: str
    secret: str
    timestamp: int  # unix seconds, the moment of the attempt
    site_url: str  # WEDGE_SITE_URL, "" when not configured


def render(fmt: str, payload: Mapping[str, Any], delivery: Delivery) -> Rendered:
    """Headers and body of one delivery attempt in format ``fmt``."""
    if fmt == Format.SLACK:
        return _chat(slack_message(payload, delivery), delivery)
    if fmt == Format.TEAMS:
        return _chat(teams_message(payload, delivery), delivery)
    if fmt == Format.CDEVENTS:
        return cdevent_request(payload, delivery)
    return _signed_json(payload, delivery)


def _wedge_headers(delivery: Delivery) -> dict[str, str]:
    return {
        "User-Agent": USER_AGENT,
        "X-Wedge-Event": delivery.event_code,
        "X-Wedge-Delivery": delivery.delivery_id,
    }


def _signed(delivery: Delivery, body: bytes) -> dict[str, str]:
    return {
        "X-Wedge-Timestamp": str(delivery.timestamp),
        "X-Wedge-Signature": signature(delivery.secret, delivery.timestamp, body),
    }


def _signed_json(payload: Mapping[str, Any], delivery: Delivery) -> Rendered:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        **_wedge_headers(delivery),
        **_signed(delivery, body),
    }
    return Rendered(headers, body)


def _chat(message: Mapping[str, Any], delivery: Delivery) -> Rendered:
    # The receiver's URL is its credential; no signature for it to check.
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return Rendered({"Content-Type": "application/json", **_wedge_headers(delivery)}, body)


# --- What every message says ----------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """An event told for people: a headline, why, the facts and a link."""

    headline: str
    why: str
    facts: tuple[tuple[str, str], ...]
    link: str | None
    link_label: str
    tone: tuple[str, str]


def summarise(payload: Mapping[str, Any], delivery: Delivery) -> Summary:
    """What a chat message says about any event, whatever its code."""
    code = delivery.event_code
    proposal_id = payload.get("proposal_id")
    title = _text(payload.get("title"))
    what = describe(code)
    about = f"#{proposal_id} {title}".strip() if proposal_id is not None else ""
    waiver_id = payload.get("waiver_id")
    if not about and waiver_id is not None:
        about = f"waiver #{waiver_id}"
    headline = f"{what}: {about}" if about else what
    facts: list[tuple[str, str]] = []
    if proposal_id is not None:
        facts.append(("Proposal", about))
    if payload.get("subsystem"):
        facts.append(("Subsystem", _text(payload["subsystem"])))
    if payload.get("stage_id"):
        stage = _text(payload["stage_id"])
        exposure = payload.get("exposure_percentage")
        if isinstance(exposure, int | float) and not isinstance(exposure, bool):
            stage += f" (exposure {exposure:g}%)"
        facts.append(("Stage", stage))
    if payload.get("wedge_state"):
        facts.append(("State", _text(payload["wedge_state"])))
    cluster = _text(payload.get("cluster"))
    clusters = [_text(name) for name in payload.get("clusters") or [] if name]
    if cluster:
        facts.append(("Cluster", cluster))
    elif clusters:
        facts.append(("Clusters", ", ".join(clusters)))
    if waiver_id is not None and proposal_id is not None:
        facts.append(("Waiver", f"#{waiver_id}"))
    if payload.get("actor"):
        facts.append(("By", _text(payload["actor"])))
    facts.append(("Event", code))
    why = _text(payload.get("reason")) or what
    link, label = _link(payload, delivery.site_url)
    return Summary(
        headline=_cut(headline, _HEADER_MAX),
        why=_cut(why, _TEXT_MAX),
        facts=tuple((name, _cut(value, _FIELD_MAX)) for name, value in facts),
        link=link,
        link_label=label,
        tone=_TONES.get(code, _DEFAULT_TONE),
    )


def _link(payload: Mapping[str, Any], site_url: str) -> tuple[str | None, str]:
    if not site_url:
        return None, ""
    base = site_url.rstrip("/")
    if payload.get("proposal_id") is not None:
        return f"{base}/proposals/{payload['proposal_id']}/", "Open the proposal"
    if payload.get("waiver_id") is not None:
        return f"{base}/waivers/{payload['waiver_id']}/", "Open the waiver"
    return None, ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Slack ----------------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Slack's three control characters, escaped (its "Formatting text" rules)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(payload: Mapping[str, Any], delivery: Delivery) -> dict[str, Any]:
    """``{"text", "blocks"}``: ``text`` is the notification's fallback, blocks the message."""
    summary = summarise(payload, delivery)
    emoji = summary.tone[1]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary.headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(summary.why)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{name}*\n{_mrkdwn(value)}"}
                for name, value in summary.facts[:10]  # Slack takes at most ten fields
            ],
        },
    ]
    if summary.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": summary.link_label},
                        "url": summary.link,
                    }
                ],
            }
        )
    fallback = f"{emoji} {summary.headline}: {summary.why}"
    if summary.link:
        fallback += f" <{summary.link}|{summary.link_label}>"
    return {"text": fallback, "blocks": blocks}


# --- Microsoft Teams ------------------------------------------------------------------------


def teams_message(payload: Mapping[str, Any], delivery: Delivery) -> dict[str, Any]:
    """A ``message`` with one Adaptive Card attachment (schema 1.4)."""
    summary = summarise(payload, delivery)
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": summary.headline,
                "size": "Large",
                "weight": "Bolder",
                "color": summary.tone[0],
                "wrap": True,
            },
            {"type": "TextBlock", "text": summary.why, "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": name, "value": value} for name, value in summary.facts],
            },
        ],
    }
    if summary.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": summary.link_label, "url": summary.link}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


# --- CDEvents -------------------------------------------------------------------------------


def cdevent(payload: Mapping[str, Any], delivery: Delivery) -> dict[str, Any]:
    """The CDEvent (context, subject, customData) for a completed or rolled-back wedge."""
    cdevent_type = CDEVENT_TYPES[delivery.event_code]
    source = _source(delivery.site_url)
    subsystem = _text(payload.get("subsystem")) or f"proposal-{payload.get('proposal_id')}"
    clusters = [_text(name) for name in payload.get("clusters") or [] if name]
    environment = _text(payload.get("cluster")) or ",".join(clusters) or subsystem
    reference = _text(payload.get("reference"))
    artifact = (
        reference
        if reference.startswith("pkg:")
        else f"pkg:generic/{subsystem}@proposal-{payload.get('proposal_id')}"
    )
    link, _ = _link(payload, delivery.site_url)
    return {
        "context": {
            "specversion": CDEVENTS_SPEC_VERSION,
            # Stable across retries: receivers de-duplicate on it.
            "id": delivery.delivery_id,
            "source": source,
            "type": cdevent_type,
            "timestamp": _timestamp(payload.get("occurred_at")).isoformat().replace("+00:00", "Z"),
        },
        "subject": {
            "id": subsystem,
            "source": source,
            "content": {
                "environment": {"id": environment, "source": source},
                "artifactId": artifact,
            },
        },
        "customDataContentType": "application/json",
        "customData": {
            "wedge": {
                "event": delivery.event_code,
                "proposal_id": payload.get("proposal_id"),
                "title": payload.get("title"),
                "stage_id": payload.get("stage_id"),
                "exposure_percentage": payload.get("exposure_percentage"),
                "clusters": clusters,
                "reason": payload.get("reason"),
                "url": link,
            }
        },
    }


def cdevent_request(payload: Mapping[str, Any], delivery: Delivery) -> Rendered:
    """The CDEvent as a CloudEvent in the HTTP binary binding, built by the ``cloudevents`` SDK.

    The CloudEvent's id, source, type, subject and time are the CDEvent's
    (the CDEvents CloudEvents binding); the body is the whole CDEvent.
    """
    document = cdevent(payload, delivery)
    context = document["context"]
    event = CloudEvent(
        {
            "specversion": "1.0",
            "id": context["id"],
            "source": context["source"],
            "type": context["type"],
            "subject": document["subject"]["id"],
            "time": _timestamp(payload.get("occurred_at")),
            "datacontenttype": "application/json",
        },
        document,
    )
    message = to_binary_event(event)
    # The SDK writes "content-type"; one spelling for every format.
    ce_headers = {
        ("Content-Type" if name.lower() == "content-type" else name): value
        for name, value in message.headers.items()
    }
    headers = {**ce_headers, **_wedge_headers(delivery), **_signed(delivery, message.body)}
    return Rendered(headers, message.body)


def _source(site_url: str) -> str:
    return site_url.rstrip("/") + "/" if site_url else "/wedge"


def _timestamp(value: object) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)
