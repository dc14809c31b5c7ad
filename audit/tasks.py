from __future__ import annotations

from typing import Any

import requests
from celery import shared_task

from audit.anchors import AnchorSinkError, record_anchor
from audit.checkpoint import full_check


@shared_task(
    name="audit.tasks.anchor_head",
    ignore_result=True,
    autoretry_for=(requests.RequestException, AnchorSinkError),
    retry_backoff=True,
    max_retries=3,
)
def anchor_head() -> dict[str, Any] | None:
    """Record the audit chain's head outside the database (``audit.anchors``)."""
    anchor = record_anchor()
    return anchor.to_json() if anchor is not None else None


@shared_task(name="audit.tasks.verify_chain", ignore_result=True)
def verify_chain() -> bool:
    """Re-verify the whole chain and reset the audit page's checkpoint; whether it holds."""
    return full_check().ok
