"""Engine work, metric polls and deliveries travel on separate queues, one copy each.

A worker pool that consumes only ``webhooks`` must never see the tick, and one
consuming only ``engine`` must never see a delivery or a poll round (which
waits on metric providers); nor may a message be copied into every queue (as
when queues share one routing key).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis
from django.conf import settings

from config.celery import app, beat_schedule

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
QUEUES = {queue.name for queue in settings.CELERY_TASK_QUEUES}

ROUTES = {
    "wedges.tasks.tick": "engine",
    "waivers.tasks.expire_waivers": "engine",
    "webhooks.tasks.fan_out": "webhooks",
    "webhooks.tasks.deliver": "webhooks",
    "webhooks.tasks.redrive": "webhooks",
    "providers.tasks.poll": "metrics",
    "providers.tasks.poll_batch": "metrics",
    "wedge.ping": "celery",
}


def lengths(client: redis.Redis) -> dict[str, int]:
    return {name: int(client.llen(name)) for name in sorted(QUEUES)}


@pytest.mark.parametrize(("task", "queue"), ROUTES.items())
def test_a_task_lands_in_its_own_queue_only(broker, task, queue):
    client = redis.Redis.from_url(broker.url)
    # Bound as the workers bind them when they start consuming.
    with app.connection_for_write() as connection:
        for declared in app.amqp.queues.values():
            declared(connection.default_channel).declare()
    app.send_task(
        task, args=["0"] if task.startswith("webhooks.tasks.") else [], ignore_result=True
    )
    expected = {name: int(name == queue) for name in sorted(QUEUES)}
    assert lengths(client) == expected


def test_every_beat_job_has_a_queue():
    for entry in beat_schedule(settings).values():
        route = app.amqp.router.route({}, str(entry["task"]), (), {})
        assert route["queue"].name in {"engine", "webhooks", "metrics"}, entry


def test_the_procfile_runs_one_worker_pool_per_queue():
    workers = [line for line in (ROOT / "Procfile").read_text().splitlines() if " worker " in line]
    consumed = []
    for line in workers:
        match = re.search(r"--queues (\S+)", line)
        assert match, f"a worker without --queues consumes everything: {line}"
        consumed.extend(match.group(1).split(","))
    assert len(workers) == 3
    assert sorted(consumed) == sorted(QUEUES)  # each queue once, none forgotten
