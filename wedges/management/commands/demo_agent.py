"""A stand-in deployment agent for `make run`: reports metrics for every running
rollout every few seconds, so what anyone starts moves on the dashboard.

It reads which rollouts run from the database, then acts as a real agent would:
through the API, with a token of the ``pipeline`` service account that carries
only ``metrics:write`` and ``desired-state:read``. It reads the desired state,
"applies" it, and reports the exposure with metrics that meet the current
stage's success criteria and stay clear of its rollback trigger: healthy,
unless a line of the proposal's description says otherwise (``wedges.demo``):

    demo-agent: breach            the rollback trigger fires: Wedge rolls back
    demo-agent: breach at half    the same, from stage "half" on
    demo-agent: unhealthy         a criterion is missed: the stage stalls, then pauses
    demo-agent: silent            nothing is reported: "no data yet", then a pause
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
from wedges.demo import Behaviour, behaviour_for, healthy_metrics, metrics_for
from wedges.models import RolloutWedge, State
from wedges.policy.codes import INITIAL_STAGE_ID, INITIAL_STAGE_INDEX
from wedges.policy.engine import gating_stage, initial_stage_index
from wedges.policy.expressions import parse
from wedges.selectors import stages_in_order

TOKEN_NAME = "demo agent"


class Command(BaseCommand):
    help = "Report demo metrics for every running rollout (used by make run)."

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
        """Report for every running rollout; False when the key was refused."""
        running = (
            RolloutWedge.objects.filter(wedge_state__in=[State.ACTIVE, State.PAUSED])
            .select_related("proposal")
            .prefetch_related(stages_in_order())
            .order_by("proposal_id")
        )
        for wedge in running:
            proposal_id = wedge.proposal_id
            try:
                desired = _call(f"{api}/proposals/{proposal_id}/desired-state/", key)
                if desired.get("wedge_state") not in (State.ACTIVE, State.PAUSED):
                    continue
                metrics = self.metrics(wedge, desired, rng)
                if metrics is None:
                    continue  # told to stay silent
                _call(f"{api}/proposals/{proposal_id}/metrics/", key, {"metrics": metrics})
            except urllib.error.HTTPError as error:
                if error.code == 401:
                    return False
                self.stderr.write(f"demo agent: proposal {proposal_id}: {error}")
            except (urllib.error.URLError, OSError, ValueError) as error:
                # The web server may still be starting, or the rollout just stopped.
                self.stderr.write(f"demo agent: proposal {proposal_id}: {error}")
        return True

    def metrics(
        self, wedge: RolloutWedge, desired: dict[str, Any], rng: random.Random
    ) -> dict[str, Any] | None:
        """What the pretend deployment reports at the desired exposure."""
        view = wedge.policy_view()
        stage_ids = [stage.stage_id for stage in view.stages]
        if initial_stage_index(view) == INITIAL_STAGE_INDEX:
            stage_ids.insert(0, INITIAL_STAGE_ID)
        current = desired.get("stage_id") or stage_ids[0]
        behaviour = behaviour_for(wedge.proposal.description, stage_ids, current)
        exposure = desired["exposure_percentage"]
        gate = gating_stage(view)
        if behaviour == Behaviour.HEALTHY:
            # The demo's usual numbers when they suit the stage; made to measure if not.
            usual = healthy_metrics(rng, timezone.now(), exposure)
            if all(parse(c).evaluate(usual) for c in gate.success_criteria) and not parse(
                gate.rollback_trigger
            ).evaluate(usual):
                return usual
        found = metrics_for(gate, behaviour, rng, exposure)
        if found is None and behaviour != Behaviour.SILENT:
            self.stderr.write(
                f"demo agent: proposal {wedge.proposal_id}: no {behaviour} metrics fit stage "
                f"{current}"
            )
        return found


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
