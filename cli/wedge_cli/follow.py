"""``wedge status`` and ``wedge watch``: a rollout as the server's engine sees it now.

Both read ``GET /api/v1/proposals/{id}/`` (the plan: title, stages) and
``GET /api/v1/proposals/{id}/status/`` (state, open stage, criteria with the
latest snapshot's values, the earliest moment the stage may advance). Times
are counted on the server's clock (``as_of``), so a skewed runner clock does
not skew "may advance in".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from wedge_policy import codes

from .api import Client
from .errors import CliError, Exit

FINAL: dict[str, Exit] = {
    codes.WedgeState.COMPLETE: Exit.OK,
    codes.WedgeState.ROLLED_BACK: Exit.ROLLED_BACK,
    codes.WedgeState.PAUSED: Exit.PAUSED,
}


@dataclass(frozen=True)
class Reading:
    """One look at a rollout: the proposal, its status, and when (locally) it was read."""

    proposal: dict[str, Any]
    status: dict[str, Any]
    read_at: float  # time.monotonic()

    @property
    def state(self) -> str:
        return str(self.status["wedge_state"])

    def server_now(self, monotonic: float) -> datetime:
        """The server's clock now: ``as_of`` plus the time since it was read."""
        return _time(self.status["as_of"]) + timedelta(seconds=monotonic - self.read_at)

    def rows(self) -> list[tuple[str, float]]:
        """(stage id, exposure) of every stage the rollout passes, the implicit hold first."""
        wedge = self.proposal["rollout_wedge"]
        stages = [(s["stage_id"], float(s["target_percentage"])) for s in wedge["wedge_stages"]]
        initial = float(wedge["initial_percentage"])
        if stages and initial < stages[0][1]:
            stages.insert(0, (codes.INITIAL_STAGE_ID, initial))
        return stages

    def key(self) -> tuple[Any, ...]:
        """What, when it changes, is worth a new line in a log."""
        status = self.status
        criteria = tuple((c["expression"], c["met"]) for c in status["criteria"])
        return (
            status["wedge_state"],
            status["stage_id"],
            status["exposure_percentage"],
            status["eligible"],
            status["awaiting_approval"],
            criteria,
        )


def read(client: Client, proposal_id: int, proposal: dict[str, Any] | None = None) -> Reading:
    if proposal is None:
        proposal = client.get(f"proposals/{proposal_id}/")
    status = client.get(f"proposals/{proposal_id}/status/")
    return Reading(proposal, status, time.monotonic())


# --- Rendering ----------------------------------------------------------------------------------


def render(reading: Reading, monotonic: float) -> RenderableType:
    """The full view: heading, one progress bar per stage, criteria, what it waits for."""
    status, proposal = reading.status, reading.proposal
    now = reading.server_now(monotonic)
    heading = Text.assemble(
        (f"Proposal {proposal['id']}", "bold"),
        f" · {proposal['title']} · {proposal['subsystem']} · "
        f"{proposal['rollout_wedge']['increment_policy']}",
    )
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for name, justify in (("stage", "left"), ("exposure", "right"), ("progress", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("")
    current = _current_row(reading)
    for index, (stage_id, exposure) in enumerate(reading.rows()):
        fraction, note = _progress(reading, index, current, now)
        table.add_row(
            stage_id,
            f"{exposure:g} %",
            ProgressBar(total=1.0, completed=fraction, width=30),
            note,
        )
    parts: list[RenderableType] = [heading, Text(state_line(reading)), Text(), table]
    criteria = criteria_table(status)
    if criteria is not None:
        parts += [Text(), Text(snapshot_line(status, now)), criteria]
    if status["waiting_for"]:
        parts += [Text(), Text(f"Waiting for: {status['waiting_for']}")]
    return Group(*parts)


def state_line(reading: Reading) -> str:
    status = reading.status
    stage = ""
    if status["stage_id"]:
        stage = (
            f" · stage {status['stage_number']} of {status['stage_count']} ({status['stage_id']})"
        )
    return (
        f"{status['wedge_state']}{stage} · exposure {status['exposure_percentage']:g} % "
        f"(max {status['max_blast_radius']:g} %)"
    )


def log_line(reading: Reading, monotonic: float) -> str:
    """One line for logs (no terminal): state, stage, exposure, criteria, next moment."""
    status = reading.status
    parts = [state_line(reading)]
    if status["criteria"]:
        met = sum(1 for c in status["criteria"] if c["met"])
        parts.append(f"criteria {met}/{len(status['criteria'])} met")
    if status["wedge_state"] == codes.WedgeState.ACTIVE:
        parts.append(_next_moment(status, reading.server_now(monotonic)))
    stamp = reading.server_now(monotonic).strftime("%H:%M:%S")
    return f"[{stamp}] " + " · ".join(parts)


def criteria_table(status: dict[str, Any]) -> Table | None:
    if not status["criteria"]:
        return None
    table = Table(box=None, pad_edge=False, show_edge=False, show_header=False)
    table.add_column()
    table.add_column()
    table.add_column()
    for criterion in status["criteria"]:
        values = ", ".join(f"{name} = {value}" for name, value in criterion["values"].items())
        table.add_row(
            Text("✓", style="green") if criterion["met"] else Text("✗", style="red"),
            criterion["expression"],
            values or "no value reported",
        )
    return table


def snapshot_line(status: dict[str, Any], now: datetime) -> str:
    snapshot = status["latest_snapshot"]
    if snapshot is None:
        return "Criteria (no metrics reported yet):"
    age = now - _time(snapshot["received_at"])
    return f"Criteria (latest snapshot {_span(age)} ago):"


def _current_row(reading: Reading) -> int | None:
    state = reading.state
    if state == codes.WedgeState.PENDING:
        return None
    ids = [stage_id for stage_id, _ in reading.rows()]
    if state == codes.WedgeState.COMPLETE:
        return len(ids)
    stage_id = reading.status["stage_id"]
    return ids.index(stage_id) if stage_id in ids else None


def _progress(
    reading: Reading, index: int, current: int | None, now: datetime
) -> tuple[float, str]:
    status = reading.status
    if current is None or index > current:
        return 0.0, ""
    if index < current:
        return 1.0, "done"
    if reading.state == codes.WedgeState.ROLLED_BACK:
        return 0.0, "rolled back here"
    opened, advance = status["stage_opened_at"], status["advance_at"]
    fraction = 0.0
    if opened and advance:
        start, end = _time(opened), _time(advance)
        span = (end - start).total_seconds()
        fraction = 1.0 if span <= 0 else min(1.0, max(0.0, (now - start).total_seconds() / span))
    if reading.state == codes.WedgeState.PAUSED:
        return fraction, "paused"
    return fraction, _next_moment(status, now)


def _next_moment(status: dict[str, Any], now: datetime) -> str:
    if status["awaiting_approval"]:
        return "eligible: waiting for an operator to approve"
    advance = _parse(status["advance_at"])
    if advance is None:
        return "no advance scheduled"
    left = advance - now
    if left.total_seconds() <= 0:
        return "may advance now" if status["eligible"] else "window passed; criteria not met"
    return f"may advance in {_span(left, round_up=True)}"


def _span(delta: timedelta, *, round_up: bool = False) -> str:
    """``40 min``, ``2 h 5 min``: whole units, rounded down (``ago``) or up (``in``)."""
    total = max(0.0, delta.total_seconds())
    seconds = math.ceil(total) if round_up else int(total)
    if round_up and seconds >= 60:
        seconds = math.ceil(seconds / 60) * 60
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _parse(text: str | None) -> datetime | None:
    return _time(text) if text else None


# --- Watching -----------------------------------------------------------------------------------


@dataclass
class Watch:
    client: Client
    proposal_id: int
    console: Console
    interval: float = 5.0
    timeout: float | None = None
    max_failures: int = 5
    sleep: Callable[[float], None] = time.sleep

    def run(self) -> Exit:
        """Follow the rollout until it completes, rolls back or pauses (or time runs out)."""
        first = read(self.client, self.proposal_id)  # a 404 or bad token fails at once
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        if self.console.is_terminal:
            view = render(first, time.monotonic())
            with Live(view, console=self.console, auto_refresh=False) as live:

                def redraw(reading: Reading) -> None:
                    live.update(render(reading, time.monotonic()), refresh=True)

                return self._loop(first, deadline, redraw)
        last_key: list[tuple[Any, ...]] = []  # what the log shows now

        def log(reading: Reading) -> None:
            if last_key != [reading.key()]:
                last_key[:] = [reading.key()]
                line = log_line(reading, time.monotonic())
                self.console.print(line, highlight=False, soft_wrap=True)

        log(first)
        return self._loop(first, deadline, log)

    def _loop(
        self, reading: Reading, deadline: float | None, show: Callable[[Reading], None]
    ) -> Exit:
        failures = 0
        while reading.state not in FINAL:
            pause = min(self.interval * 2**failures, 60.0)  # longer while the server fails
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.console.print(
                        f"still {reading.state} after {self.timeout:g} s; giving up",
                        highlight=False,
                    )
                    return Exit.TIMED_OUT
                pause = min(pause, remaining)
            self.sleep(pause)
            try:
                reading = read(self.client, self.proposal_id, reading.proposal)
            except CliError as error:
                if error.exit_code != Exit.UNREACHABLE:
                    raise
                failures += 1
                if failures >= self.max_failures:
                    raise
                self.console.print(f"{error.message}; retrying", highlight=False)
                continue
            failures = 0
            show(reading)
        return FINAL[reading.state]
