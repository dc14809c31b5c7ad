"""The floor the stack benchmark measures Wedge against: the cheapest version of the same work.

* ``insert_one``: a bare Django view (every middleware, no DRF, no token, no
  engine) that inserts one row in one transaction and returns;
* ``signed_post``: a Celery task that signs a small JSON body the way webhook
  deliveries are signed and POSTs it once, on the webhooks queue.

Served only by the benchmark's own URL configuration (``bench.settings``), never
by the application's.
"""

from __future__ import annotations

import json
import time
import uuid

import requests
from celery import shared_task
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from config.signing import signature

TABLE = "bench_floor"


def create_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id bigserial PRIMARY KEY, received_at timestamptz NOT NULL, body jsonb NOT NULL)"
        )


@csrf_exempt
def insert_one(request: HttpRequest) -> HttpResponse:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (received_at, body) VALUES (now(), %s)",
            [request.body.decode() or "{}"],
        )
    return HttpResponse(b'{"ok": true}', content_type="application/json")


@shared_task(name="bench.floor.signed_post", ignore_result=True)
def signed_post(url: str, secret: str, number: int) -> None:
    body = json.dumps({"event": "FLOOR", "proposal_id": number}).encode()
    timestamp = int(time.time())
    requests.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Wedge-Event": "FLOOR",
            "X-Wedge-Delivery": str(uuid.uuid4()),
            "X-Wedge-Timestamp": str(timestamp),
            "X-Wedge-Signature": signature(secret, timestamp, body),
        },
        timeout=10,
        allow_redirects=False,
    )
