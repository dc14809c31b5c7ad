"""``wedge plan``: the timeline a wedge promises, before it is submitted.

Two figures, both honest about what they are:

* the **earliest** timeline, by the engine's own rules: a stage may advance
  once its observation window has passed and, for ``linear`` and
  ``exponential`` wedges, its planned ``duration_hours`` too (``manual``
  wedges wait for the window, then for an operator). When
  ``initial_percentage`` is below stage 1's target the rollout first holds
  there (the implicit ``initial`` stage, gated by stage 1). Every stage is
  assumed to meet its criteria the moment it may;
* the **planned total duration**, the dry run's figure: the stage durations
  plus one observation window per stage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from wedge_policy import codes

from .output import hours

BAR_WIDTH = 50  # characters for 0..100 %
_EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass(frozen=True)
class PlannedStage:
    stage_id: str
    exposure_percentage: float
    earliest_start_hours: float
    earliest_end_hours: float  # the earliest moment it may advance (or complete)
    duration_hours: float
    implicit: bool = False  # the engine's initial hold


@dataclass(frozen=True)
class Plan:
    stages: tuple[PlannedStage, ...]
    increment_policy: str
    observation_window_hours: float
    max_blast_radius: float
    earliest_completion_hours: float
    planned_total_hours: float

    def to_dict(self, start: datetime | None) -> dict[str, Any]:
        body: dict[str, Any] = asdict(self)
        if start is not None:
            body["start"] = start.isoformat()
            for stage in body["stages"]:
                stage["earliest_start"] = at(start, stage["earliest_start_hours"]).isoformat()
                stage["earliest_end"] = at(start, stage["earliest_end_hours"]).isoformat()
        return body


def make_plan(wedge: dict[str, Any], planned_total_hours: float) -> Plan:
    """The plan of a wedge that passed validation (or fails only waivable rules)."""
    window = float(wedge["observation_window_hours"])
    policy = str(wedge["increment_policy"])
    stages = wedge["wedge_stages"]
    automatic = policy in codes.AUTOMATIC_POLICIES

    def hold(duration: float) -> float:
        return max(window, duration) if automatic else window

    rows: list[PlannedStage] = []
    clock = 0.0
    first = stages[0]
    initial = float(wedge["initial_percentage"])
    if initial < float(first["target_percentage"]):
        gate = float(first["duration_hours"])
        rows.append(
            PlannedStage(codes.INITIAL_STAGE_ID, initial, clock, clock + hold(gate), gate, True)
        )
        clock += hold(gate)
    for stage in stages:
        duration = float(stage["duration_hours"])
        end = clock + hold(duration)
        rows.append(
            PlannedStage(
                str(stage["stage_id"]), float(stage["target_percentage"]), clock, end, duration
            )
        )
        clock = end
    return Plan(
        stages=tuple(rows),
        increment_policy=policy,
        observation_window_hours=window,
        max_blast_radius=float(wedge["max_blast_radius"]),
        earliest_completion_hours=clock,
        planned_total_hours=planned_total_hours,
    )


def at(start: datetime, offset_hours: float) -> datetime:
    return start + timedelta(hours=offset_hours)


def render_plan(plan: Plan, title: str, start: datetime | None) -> RenderableType:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("exposure", justify="right", no_wrap=True)
    table.add_column("earliest start", justify="right", no_wrap=True)
    table.add_column("earliest end", justify="right", no_wrap=True)
    table.add_column("")
    for number, stage in enumerate(plan.stages, start=0 if plan.stages[0].implicit else 1):
        note = "implicit hold, gated by stage 1" if stage.implicit else ""
        if plan.increment_policy == codes.Increment.MANUAL:
            note = (note + "; " if note else "") + "then an operator approves"
        table.add_row(
            str(number),
            stage.stage_id,
            f"{stage.exposure_percentage:g} %",
            _when(start, stage.earliest_start_hours),
            _when(start, stage.earliest_end_hours),
            note,
        )
    heading = Text(
        f"Plan: {title} — {plan.increment_policy}, observation window "
        f"{hours(plan.observation_window_hours)}, max blast radius {plan.max_blast_radius:g} %",
        style="bold",
    )
    after = f"{hours(plan.earliest_completion_hours)} after start"
    when = f"{_when(start, plan.earliest_completion_hours)} ({after})" if start else after
    completion = (
        f"Earliest completion: {when}, if every stage meets its criteria as soon as it may advance."
    )
    stage_count = sum(1 for stage in plan.stages if not stage.implicit)
    durations = plan.planned_total_hours - plan.observation_window_hours * stage_count
    total = (
        f"Planned total duration: {hours(plan.planned_total_hours)} (stage durations "
        f"{hours(durations)} + observation window {hours(plan.observation_window_hours)} "
        f"x {stage_count} stages, as the server's dry run counts it)."
    )
    return Group(
        heading, Text(), table, Text(), ladder(plan), Text(), Text(completion), Text(total)
    )


def ladder(plan: Plan) -> Text:
    """The exposure ladder: one bar per stage on a 0-100 % scale, the blast radius marked."""
    width = max(len(stage.stage_id) for stage in plan.stages)
    marker = round(plan.max_blast_radius / 100 * BAR_WIDTH)
    lines = [f"Exposure ladder (| marks the max blast radius, {plan.max_blast_radius:g} %)"]
    for stage in plan.stages:
        bar = list(_bar(stage.exposure_percentage).ljust(BAR_WIDTH + 1))
        if bar[marker] == " ":
            bar[marker] = "|"
        label = f"  {stage.stage_id.ljust(width)} {stage.exposure_percentage:>6g} % "
        lines.append(label + "".join(bar))
    axis = [" "] * (BAR_WIDTH + 2)
    for value, text in ((0, "0"), (50, "50"), (100, "100")):
        at_ = round(value / 100 * BAR_WIDTH) - len(text) // 2
        axis[at_ : at_ + len(text)] = text
    lines.append(" " * (width + 12) + "".join(axis))
    return Text("\n".join(line.rstrip() for line in lines))


def _bar(percentage: float) -> str:
    cells = max(0.0, min(percentage, 100.0)) / 100 * BAR_WIDTH
    full = int(cells)
    rest = int((cells - full) * 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def _when(start: datetime | None, offset_hours: float) -> str:
    if start is None:
        return "+" + _offset(offset_hours)
    return at(start, offset_hours).strftime("%Y-%m-%d %H:%M %Z").replace("+00:00", "UTC").strip()


def _offset(value: float) -> str:
    minutes = round(value * 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours_, minutes = divmod(minutes, 60)
    clock = f"{hours_}:{minutes:02d}"
    return f"{days}d {clock}" if days else clock


def print_plan(console: Console, plan: Plan, title: str, start: datetime | None) -> None:
    # A terminal wraps long lines at words; a log keeps each line whole.
    console.print(
        render_plan(plan, title, start), highlight=False, soft_wrap=not console.is_terminal
    )
