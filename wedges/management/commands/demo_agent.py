"""A stand-in deployment agent for `make run`: reports healthy metrics for the
demo rollouts every few seconds, so they keep moving on the dashboard.

It acts as a real agent would: through the API, with a token of the
``pipeline`` service account that carries only ``metrics:write`` and
``desired-state:read``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from org.models import Scope, User
from org.tokens import token_issue
from wedges.demo import DEMO_REFERENCE, healthy_metrics
from wedges.models import RolloutWedge, State

TOKEN_NAME = "demo agent"


class Command(BaseCommand):
    help = "Report healthy demo metrics for the running demo rollouts (used by make run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=20.0)
        parser.add_argument(
            "--api",
            default=f"http://127.0.0.1:{os.environ.get('WEDGE_PORT', '8000')}/api/v1",
            help="The API to report to (default: this machine's `make run`).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random()
        key: str | None = None
        while True:
            close_old_connections()
            agent = User.objects.filter(username="pipeline").first()
            if agent is not None:
                key = key or self.agent_key(agent)
                if not self.report(options["api"].rstrip("/"), key, rng):
                    key = None  # refused (expired or revoked): the next round issues another
            time.sleep(options["interval"])

    def agent_key(self, agent: User) -> str:
        """A fresh agent token each start; the previous one is revoked (rotated)."""
        return token_issue(
            owner=agent,
            actor=agent,
            name=TOKEN_NAME,
            scopes=[Scope.METRICS_WRITE, Scope.DESIRED_STATE_READ],
            expires_at=timezone.now() + dt.timedelta(days=7),
            rotate=True,
        ).key

    def report(self, api: str, key: str, rng: random.Random) -> bool:
        """Report for every running demo rollout; False when the key was refused."""
        running = RolloutWedge.objects.filter(
            wedge_state=State.ACTIVE,
            proposal__external_reference__startswith=DEMO_REFERENCE,
        ).values_list("proposal_id", flat=True)
        for proposal_id in running:
            try:
                desired = _call(f"{api}/proposals/{proposal_id}/desired-state/", key)
                if desired.get("wedge_state") != State.ACTIVE:
                    continue
                metrics = healthy_metrics(rng, timezone.now(), desired["exposure_percentage"])
                _call(f"{api}/proposals/{proposal_id}/metrics/", key, {"metrics": metrics})
            except urllib.error.HTTPError as error:
                if error.code == 401:
                    return False
                self.stderr.write(f"demo agent: proposal {proposal_id}: {error}")
            except (urllib.error.URLError, OSError, ValueError) as error:
                # The web server may still be starting, or the rollout just stopped.
                self.stderr.write(f"demo agent: proposal {proposal_id}: {error}")
        return True


def _call(url: str, key: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read() or b"{}")
        return answer
