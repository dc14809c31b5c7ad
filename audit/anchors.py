"""Anchors: the chain's head, recorded outside the database.

Recomputing the chain cannot tell a sound trail from one rewritten from some
row onwards with every later hash recomputed: both link up. An anchor is the
head (the newest row's id and hash) at a moment, kept where whoever can
rewrite the table cannot reach it: the log pipeline, a file on other storage,
a receiver behind a signed webhook. ``verify_audit --anchors FILE`` then
requires every anchored row to still be in the chain with the anchored hash.

Beat calls :func:`record_anchor` every ``WEDGE_AUDIT_ANCHOR_SECONDS``; the
sink is ``WEDGE_AUDIT_ANCHOR_SINK`` (``log``, ``file`` or ``webhook``). Every
sink writes the same JSON object, so a file of them, or of log lines carrying
them, is what ``--anchors`` reads::

    {"hash": "<64 hex>", "id": 1234, "recorded_at": "2026-11-28T09:30:00.000000+00:00"}
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests
from django.conf import settings
from django.utils import timezone

from audit.hashing import canonical_datetime
from audit.models import AuditEvent
from config.signing import signature

logger = logging.getLogger(__name__)

ANCHOR_EVENT: Final = "audit.anchor"
# The text a log line carries before the anchor's JSON.
LOG_PREFIX: Final = "audit anchor"
_HASH = re.compile(r"[0-9a-f]{64}")


class AnchorFileError(ValueError):
    """A line of an anchors file is not an anchor."""


class AnchorSinkError(RuntimeError):
    """The sink did not take the anchor."""


@dataclass(frozen=True)
class Anchor:
    id: int
    hash: str
    recorded_at: dt.datetime
    line: int | None = None  # where it was read from, for messages

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "id": self.id,
            "recorded_at": canonical_datetime(self.recorded_at),
        }

    def serialise(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    def describe(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        return (
            f"anchor id={self.id} hash={self.hash} recorded at "
            f"{canonical_datetime(self.recorded_at)}{where}"
        )


def current_anchor(*, using: str = "default", now: dt.datetime | None = None) -> Anchor | None:
    """The head as it is now; None while the trail is empty.

    No lock is needed: writers take their id and commit under the chain
    lock, so the newest committed row is always the head.
    """
    head = AuditEvent.objects.using(using).order_by("-id").values_list("id", "hash").first()
    if head is None:
        return None
    return Anchor(id=head[0], hash=head[1], recorded_at=now or timezone.now())


def record_anchor(*, now: dt.datetime | None = None) -> Anchor | None:
    """Take the head and hand it to the configured sink."""
    anchor = current_anchor(now=now)
    if anchor is None:
        logger.info("audit anchor skipped: the trail is empty")
        return None
    # The log gets every anchor, whatever the sink: a second copy, kept even
    # when the sink below fails.
    logger.info("%s %s", LOG_PREFIX, anchor.serialise())
    sink = settings.WEDGE_AUDIT_ANCHOR_SINK
    if sink == "file":
        append_to_file(anchor, Path(settings.WEDGE_AUDIT_ANCHOR_FILE))
    elif sink == "webhook":
        post_to_webhook(
            anchor,
            url=str(settings.WEDGE_AUDIT_ANCHOR_URL),
            secret=settings.WEDGE_AUDIT_ANCHOR_SECRET,
        )
    return anchor


def append_to_file(anchor: Anchor, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (anchor.serialise() + "\n").encode()
    # One write in append mode, flushed to disk: a crash leaves whole lines.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def post_to_webhook(anchor: Anchor, *, url: str, secret: str) -> None:
    """POST the anchor signed like a webhook delivery (``X-Wedge-Signature``)."""
    body = anchor.serialise().encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Wedge-Anchors/1",
        "X-Wedge-Event": ANCHOR_EVENT,
        # As for webhook deliveries: receivers de-duplicate by it.
        "X-Wedge-Delivery": f"audit-anchor-{anchor.id}-{int(anchor.recorded_at.timestamp())}",
        "X-Wedge-Timestamp": str(timestamp),
        "X-Wedge-Signature": signature(secret, timestamp, body),
    }
    response = requests.post(
        url,
        data=body,
        headers=headers,
        timeout=settings.WEDGE_WEBHOOK_TIMEOUT_SECONDS,
        allow_redirects=False,
    )
    if not 200 <= response.status_code < 300:
        raise AnchorSinkError(
            f"The anchor receiver answered {response.status_code}: {response.text[:200]}"
        )


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in ``path``: JSON lines, or log lines carrying one each.

    Blank lines are skipped; anything else that is not an anchor is an error
    naming its line, so a damaged file is never taken for a shorter one.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AnchorFileError(f"Cannot read the anchors file {path}: {exc.strerror}.") from exc
    anchors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            anchors.append(parse_anchor(line, number))
    return anchors


def parse_anchor(line: str, number: int) -> Anchor:
    def refuse(problem: str) -> AnchorFileError:
        return AnchorFileError(f"Anchors file, line {number}: {problem}.")

    start = line.find("{")
    if start < 0:
        raise refuse("no anchor (a JSON object) on it")
    try:
        value = json.loads(line[start:])
    except json.JSONDecodeError as exc:
        raise refuse(f"not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise refuse("not a JSON object")
    event_id, event_hash, recorded = value.get("id"), value.get("hash"), value.get("recorded_at")
    if isinstance(event_id, bool) or not isinstance(event_id, int) or event_id < 1:
        raise refuse('"id" must be a positive integer')
    if not isinstance(event_hash, str) or not _HASH.fullmatch(event_hash):
        raise refuse('"hash" must be 64 lower-case hex digits')
    try:
        recorded_at = dt.datetime.fromisoformat(recorded) if isinstance(recorded, str) else None
    except ValueError:
        recorded_at = None
    if recorded_at is None or recorded_at.utcoffset() is None:
        raise refuse('"recorded_at" must be an ISO 8601 time with its UTC offset')
    return Anchor(id=event_id, hash=event_hash, recorded_at=recorded_at, line=number)
