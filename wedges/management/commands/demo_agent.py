"""A stand-in deployment agent for `make run`: reports healthy metrics for the
demo rollouts every few seconds, so they keep moving on the dashboard."""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from org.models import User
from wedges.demo import DEMO_REFERENCE, healthy_metrics
from wedges.models import RolloutWedge, State
from wedges.services import RolloutRefused, wedge_record_snapshot


class Command(BaseCommand):
    help = "Report healthy demo metrics for the running demo rollouts (used by make run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=20.0)

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random()
        while True:
            close_old_connections()
            agent = User.objects.filter(username="pipeline").first()
            if agent is not None:
                self.report(agent, rng)
            time.sleep(options["interval"])

    def report(self, agent: User, rng: random.Random) -> None:
        running = RolloutWedge.objects.filter(
            wedge_state=State.ACTIVE,
            proposal__external_reference__startswith=DEMO_REFERENCE,
        ).values_list("proposal_id", "exposure_percentage")
        for proposal_id, exposure in running:
            # It may stop running between the read and the report.
            with contextlib.suppress(RolloutRefused):
                wedge_record_snapshot(
                    proposal_id=proposal_id,
                    metrics=healthy_metrics(rng, timezone.now(), exposure),
                    actor=agent,
                )
