"""Handing outbox work to Celery by task name.

The services and the tasks both use this module and it imports neither, so
the service layer never reaches back into its own tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from django.db import transaction

from config.celery import app
from config.threads import background

log = logging.getLogger(__name__)

FAN_OUT: Final = "webhooks.tasks.fan_out"
DELIVER: Final = "webhooks.tasks.deliver"
REDRIVE: Final = "webhooks.tasks.redrive"

_THREAD = "wedge-outbox"


def publish(task: str, ids: Sequence[str], *, eta: datetime | None = None) -> int:
    """Queue ``task`` once per id; stop at the first broker error. Returns how many went.

    ``retry=False``: with the broker down the committed rows wait for the
    re-drive, so there is nothing to gain from blocking here.
    """
    for queued, row_id in enumerate(ids):
        try:
            app.send_task(task, args=(row_id,), eta=eta, retry=False, ignore_result=True)
        except Exception:
            log.warning("broker down: %d %s left to the re-drive", len(ids) - queued, task)
            return queued
    return len(ids)


def publish_on_commit(task: str, ids: Sequence[str]) -> None:
    """Queue ``task`` for each id once the current transaction commits, off the caller's thread.

    Publishing runs on one background thread: with the broker down, a publish
    blocks for seconds in redis-py's connection retries, and the transition's
    request (a rollback, say) must not. If publishing fails, or the process
    ends first, the committed rows wait for the beat re-drive.
    """
    ids = list(ids)
    if ids:
        transaction.on_commit(lambda: _hand_over(task, ids), robust=True)


# How long the committing thread waits for a publish it handed over: a healthy
# broker takes about a millisecond; a dead one is left to the background thread.
HAND_OVER_SECONDS = 0.05


def _hand_over(task: str, ids: list[str]) -> None:
    """Publish on the background thread and wait for it, at most ``HAND_OVER_SECONDS``.

    The wait is the point: a thread that went on with its own work (the rest
    of the request, an email to compose) would hold the GIL, and the
    publisher, which gives it up at every socket call, would wait up to
    Python's switch interval (5 ms) each time it wants it back. The
    notification of a rollback is on the clock; the request's tail is not.
    """
    published = background(_THREAD).submit(publish, task, ids)
    try:
        published.result(timeout=HAND_OVER_SECONDS)
    except TimeoutError:
        log.info("broker slow: %s for %d rows goes on in the background", task, len(ids))
