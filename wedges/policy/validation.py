"""Validation of a submitted ``rollout_wedge`` document (SPEC "Validation", rules 1-10).

``validate(document, context)`` never raises on any JSON value and reports every
problem at once, each with a JSON path rooted at ``rollout_wedge``, a stable code
from ``wedges.policy.codes``, a human message and the rule number it enforces.

Decisions the spec leaves open:

* ``wedge_state`` may be omitted on submission (it defaults to ``PENDING``);
  outside submission (re-validating a stored wedge) it is required.
* Numbers are JSON numbers: ``int``/``float`` but never ``bool`` or numeric
  strings; NaN, infinities and integers beyond float range are ``not_finite``.
* Cross-field rules (3, 4, 5, 6) only use values that passed their own checks,
  so one bad value is reported once, not again by every rule that reads it.
  Rule 3 compares each target with the nearest earlier stage whose target is valid.
* An empty ``wedge_stages`` is ``stages_empty`` and not waivable: a waiver lifts
  the two-stage minimum, but the engine cannot run a wedge without stages.
* ``stage_id`` ``"initial"`` is reserved for the engine's implicit initial hold.
* ``initial_percentage`` must lie in (0, 100] and ``max_blast_radius`` must also
  cover it, since ``start`` exposes the initial percentage.
* ``duration_hours`` and ``observation_window_hours`` are at most
  ``context.max_stage_hours`` (a year unless the deployment says less): the
  engine's gates are dates, and a plan must fit the calendar.
* Text that holds a NUL character or an unpaired surrogate is
  ``invalid_characters`` wherever it appears (``stage_id``, expressions, choices,
  numbers typed as text): no UTF-8 text can carry it, so it could never be stored.
* ``metric_queries`` (rule 11) is optional. Provider names are checked only
  when the context knows them (``providers``); the offline CLI passes ``None``.
  A metric a criterion or trigger names without a query is a warning, and only
  when the wedge has queries at all: it can still be pushed. The reserved
  ``exposure_percentage`` may be queried like any metric.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from . import codes, queries
from .expressions import ExpressionError, is_metric_name, parse
from .ladder import follows_policy, generate_ladder, planned_total_hours
from .thresholds import FLOOR, Thresholds

ROOT: Final = "rollout_wedge"
STAGE_FIELDS: Final = (
    "stage_id",
    "target_percentage",
    "duration_hours",
    "success_criteria",
    "rollback_trigger",
)
# Mandatory top-level fields with the SPEC rule each belongs to. wedge_state is
# optional on submission only (see the module docstring).
FIELD_RULES: Final[dict[str, int]] = {
    "wedge_stages": 1,
    "initial_percentage": 5,
    "increment_policy": 8,
    "max_blast_radius": 6,
    "observation_window_hours": 7,
    "wedge_state": 9,
}
# Optional top-level fields, with their rule.
OPTIONAL_FIELD_RULES: Final[dict[str, int]] = {"metric_queries": 11}
TOP_LEVEL_FIELDS: Final = (*FIELD_RULES, *OPTIONAL_FIELD_RULES)
QUERY_FIELDS: Final = ("provider", "query")
_MISSING: Final = object()
_PLAIN_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_SHOWN_TEXT: Final = 40
# NUL, and the UTF-16 surrogates: a Python string can hold a lone one (JSON's
# "\ud800" escape decodes to it), but UTF-8, and so PostgreSQL, cannot.
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs to know beyond the document itself.

    ``max_stage_hours`` bounds ``duration_hours`` and ``observation_window_hours``;
    a deployment may lower it from the policy core's year, never raise it.
    ``providers`` names the metric providers a query may use; ``None`` does not
    check the names (offline, where the deployment's providers are unknown).
    ``thresholds`` are the policy version's in force (version 1 unless given).
    """

    subsystem_critical: bool = False
    on_submission: bool = True
    max_stage_hours: float = codes.MAX_STAGE_HOURS
    providers: frozenset[str] | None = None
    thresholds: Thresholds = FLOOR

    def __post_init__(self) -> None:
        if self.providers is not None:
            object.__setattr__(self, "providers", frozenset(self.providers))  # frozen
        if not (
            self.thresholds.min_observation_window_hours
            <= self.max_stage_hours
            <= codes.MAX_STAGE_HOURS
        ):
            raise ValueError(
                f"max_stage_hours must lie in "
                f"[{_fmt(self.thresholds.min_observation_window_hours)}, "
                f"{_fmt(codes.MAX_STAGE_HOURS)}], got {self.max_stage_hours!r}"
            )
        object.__setattr__(self, "max_stage_hours", float(self.max_stage_hours))  # frozen


@dataclass(frozen=True)
class Issue:
    """One error or warning. ``path`` is ``None`` only for problems with no field.

    ``message`` speaks the API's language (JSON field names), for pipelines and
    the CLI; ``text`` says the same in plain words for a person looking at the
    field in question (no JSON names, paths or codes), for the web form.
    """

    path: str | None
    code: str
    message: str
    rule: int | None
    waivable: bool = False
    text: str = ""

    @property
    def human(self) -> str:
        """The plain-words message (``text``), or ``message`` when there is none."""
        return self.text or self.message

    def to_dict(self) -> dict[str, object]:
        """The API's error shape, ``{"field", "code", "message"}``, plus rule and waivable."""
        return {
            "field": self.path,
            "code": self.code,
            "message": self.message,
            "rule": self.rule,
            "waivable": self.waivable,
        }


@dataclass(frozen=True)
class Report:
    """The outcome of a validation; warnings never make a document invalid."""

    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    total_duration_hours: float | None

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def waiver_required(self) -> bool:
        """Invalid only through waivable rules: storable, but not startable without a waiver."""
        return bool(self.errors) and all(issue.waivable for issue in self.errors)

    @property
    def waivable_codes(self) -> tuple[str, ...]:
        """The distinct waivable error codes, sorted: what a waiver would have to lift."""
        return tuple(sorted({issue.code for issue in self.errors if issue.waivable}))

    def to_dict(self) -> dict[str, object]:
        """The dry-run response body (plus ``waiver_required``), ready for JSON."""
        return {
            "valid": self.valid,
            "errors": [issue.to_dict() for issue in self.errors],
            "warnings": [issue.to_dict() for issue in self.warnings],
            "total_duration_hours": self.total_duration_hours,
            "waiver_required": self.waiver_required,
        }


def validate(document: object, context: ValidationContext | None = None) -> Report:
    """Check a ``rollout_wedge`` document against the policy; see the module docstring."""
    return _Validator(context or ValidationContext()).run(document)


def unstorable_character(text: str) -> str | None:
    """What makes ``text`` impossible to store as UTF-8 (a NUL or a surrogate), or ``None``.

    The answer names the character by its code point and position, never by
    itself, so a message quoting it is always printable.
    """
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    char = match.group()
    what = "a NUL character" if char == "\x00" else f"an unpaired surrogate U+{ord(char):04X}"
    return f"{what} at position {match.start()}"


# --- Internals --------------------------------------------------------------------------------


@dataclass
class _Stage:
    """What later rules need from one stage: its values that passed their own checks."""

    index: int
    target: float | None = None
    duration: float | None = None
    raw_duration: float | None = None  # finite but possibly not positive, for the total


@dataclass
class _Validator:
    context: ValidationContext
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    # Each metric a valid criterion or trigger names, with the path of its first use.
    named_metrics: dict[str, str] = field(default_factory=dict)

    def run(self, document: object) -> Report:
        if not isinstance(document, Mapping):
            self._error(
                ROOT,
                codes.NOT_AN_OBJECT,
                f"rollout_wedge must be an object, not {_json_type(document)}",
                None,
            )
            return self._report(None)
        self._check_keys(document, ROOT, TOP_LEVEL_FIELDS)
        self._check_required(document)
        stages = self._check_stages(document.get("wedge_stages", _MISSING))
        initial = self._number(document, "initial_percentage")
        blast = self._number(document, "max_blast_radius")
        window = self._number(document, "observation_window_hours")
        policy = self._check_policy(document.get("increment_policy", _MISSING))
        self._check_state(document.get("wedge_state", _MISSING))
        if stages is not None:
            self._check_ladder_order(stages)
        self._check_initial(initial, stages)
        self._check_blast_radius(blast, initial, stages)
        self._check_window(window)
        self._warn_ladder_shape(stages, policy)
        if window is not None and window <= self.context.max_stage_hours:
            self._warn_short_stages(stages, window)
        self._check_queries(document.get("metric_queries", _MISSING))
        return self._report(_total_hours(stages, window))

    def _report(self, total: float | None) -> Report:
        return Report(tuple(self.errors), tuple(self.warnings), total)

    def _error(
        self, path: str | None, code: str, message: str, rule: int | None, text: str = ""
    ) -> None:
        waivable = code in codes.WAIVABLE_CODES
        self.errors.append(Issue(path, code, message, rule, waivable, text))

    def _warn(self, path: str | None, code: str, message: str, text: str = "") -> None:
        self.warnings.append(Issue(path, code, message, None, False, text))

    def _storable(self, path: str, name: str, text: str, rule: int | None) -> bool:
        """Whether ``text`` can be stored at all; reports ``invalid_characters`` if not."""
        problem = unstorable_character(text)
        if problem is not None:
            self._error(
                path,
                codes.INVALID_CHARACTERS,
                f"{name} contains {problem}, which no text can hold",
                rule,
                f"Remove {problem}: no text can hold it.",
            )
        return problem is None

    # -- Shape: keys, required fields, types (rules 2 and 10) --

    def _check_keys(self, obj: Mapping[object, object], path: str, known: tuple[str, ...]) -> None:
        for key in obj:
            if key in known:
                continue
            message = f"unknown field {_show(key)}"
            text = f"{_show(key)} is not a field here"
            if isinstance(key, str) and (match := _closest(key, known)):
                message += f"; did you mean {match!r}?"
                text += f"; did you mean {match!r}?"
            self._error(child_path(path, key), codes.UNKNOWN_KEY, message, 10, text + ".")

    def _check_required(self, document: Mapping[object, object]) -> None:
        for name, rule in FIELD_RULES.items():
            if name in document:
                continue
            if name == "wedge_state" and self.context.on_submission:
                continue  # defaults to PENDING
            self._error(
                child_path(ROOT, name),
                codes.REQUIRED,
                f"{name} is required",
                rule,
                self._enter(name),
            )

    def _enter(self, name: str) -> str:
        """What to ask for when ``name`` is missing; the stage minimum is the version's."""
        if name == "wedge_stages":
            return f"Add the stages of the rollout: at least {self.context.thresholds.min_stages}."
        return _ENTER[name]

    def _number(self, obj: Mapping[object, object], name: str, base: str = ROOT) -> float | None:
        """The field as a finite float, or ``None`` (reporting why, unless it is absent)."""
        value = obj.get(name, _MISSING)
        if value is _MISSING:
            return None
        rule = FIELD_RULES.get(name, 2)
        path = child_path(base, name)
        if isinstance(value, str) and not self._storable(path, name, value, rule):
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._error(
                path,
                codes.WRONG_TYPE,
                f"{name} must be a number, not {_json_type(value)}",
                rule,
                _ENTER.get(name, "Enter a number.")
                if value is None
                else f"Enter a number, such as 5 or 12.5, not {_typed(value)}.",
            )
            return None
        number = _finite(value)
        if number is None:
            self._error(
                path,
                codes.NOT_FINITE,
                f"{name} must be a finite number",
                rule,
                "Enter an ordinary number, such as 5 or 12.5.",
            )
        return number

    # -- Rules 1 and 2: the stages themselves --

    def _check_stages(self, value: object) -> list[_Stage] | None:
        path = child_path(ROOT, "wedge_stages")
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self._error(
                path,
                codes.WRONG_TYPE,
                f"wedge_stages must be a list of stages, not {_json_type(value)}",
                1,
                "The stages must be a list.",
            )
            return None
        minimum = self.context.thresholds.min_stages
        if not value:
            self._error(
                path,
                codes.STAGES_EMPTY,
                f"wedge_stages is empty; a rollout needs stages (at least {minimum})",
                1,
                f"Add the stages of the rollout: at least {minimum}.",
            )
        elif len(value) < minimum:
            count = f"{len(value)} stage" + ("" if len(value) == 1 else "s")
            self._error(
                path,
                codes.STAGES_TOO_FEW,
                f"wedge_stages has {count}; the policy requires at least {minimum} (waivable)",
                1,
                f"The policy asks for at least {minimum} stages. With {_number_word(len(value))}, "
                "the proposal can be stored, but it needs a waiver before it can start.",
            )
        seen_ids: dict[str, int] = {}
        return [self._check_stage(index, entry, seen_ids) for index, entry in enumerate(value)]

    def _check_stage(self, index: int, entry: object, seen_ids: dict[str, int]) -> _Stage:
        path = f"{ROOT}.wedge_stages[{index}]"
        stage = _Stage(index)
        if not isinstance(entry, Mapping):
            self._error(
                path,
                codes.NOT_AN_OBJECT,
                f"each stage must be an object with {', '.join(STAGE_FIELDS)}, "
                f"not {_json_type(entry)}",
                2,
                "Each stage needs an id, a target, a duration, success criteria and a "
                "rollback trigger.",
            )
            return stage
        self._check_keys(entry, path, STAGE_FIELDS)
        for name in STAGE_FIELDS:
            if name not in entry:
                self._error(
                    child_path(path, name),
                    codes.STAGE_FIELD_MISSING,
                    f"stage is missing {name}",
                    2,
                    _ENTER[name],
                )
        self._check_stage_id(path, entry.get("stage_id", _MISSING), index, seen_ids)
        stage.target = self._check_target(entry, path)
        stage.raw_duration = self._number(entry, "duration_hours", path)
        if stage.raw_duration is not None and stage.raw_duration <= 0:
            self._error(
                child_path(path, "duration_hours"),
                codes.DURATION_NOT_POSITIVE,
                f"duration_hours must be greater than 0, got {_fmt(stage.raw_duration)}",
                2,
                "Enter a duration longer than 0 hours.",
            )
        elif stage.raw_duration is not None and stage.raw_duration > self.context.max_stage_hours:
            self._error(
                child_path(path, "duration_hours"),
                codes.DURATION_TOO_LONG,
                f"duration_hours must be at most {_fmt(self.context.max_stage_hours)}, "
                f"got {_fmt(stage.raw_duration)}",
                2,
                f"Enter at most {_fmt(self.context.max_stage_hours)} hours.",
            )
        elif stage.raw_duration is not None:
            stage.duration = stage.raw_duration
        self._check_criteria(path, entry.get("success_criteria", _MISSING))
        trigger = entry.get("rollback_trigger", _MISSING)
        if trigger is not _MISSING:
            self._check_expression(child_path(path, "rollback_trigger"), trigger)
        return stage

    def _check_stage_id(
        self, path: str, value: object, index: int, seen_ids: dict[str, int]
    ) -> None:
        path = child_path(path, "stage_id")
        if value is _MISSING:
            return
        if not isinstance(value, str):
            self._error(
                path,
                codes.WRONG_TYPE,
                f"stage_id must be a string, not {_json_type(value)}",
                2,
                "Enter a stage id in letters and digits, such as canary.",
            )
            return
        if not self._storable(path, "stage_id", value, 2):
            return
        if not value.strip():
            self._error(
                path, codes.STAGE_ID_EMPTY, "stage_id must not be empty", 2, _ENTER["stage_id"]
            )
        elif len(value) > codes.MAX_STAGE_ID_LENGTH:
            self._error(
                path,
                codes.STAGE_ID_TOO_LONG,
                f"stage_id must be at most {codes.MAX_STAGE_ID_LENGTH} characters",
                2,
                f"Use at most {codes.MAX_STAGE_ID_LENGTH} characters.",
            )
        elif value == codes.INITIAL_STAGE_ID:
            self._error(
                path,
                codes.STAGE_ID_RESERVED,
                f"stage_id {value!r} is reserved for the implicit initial hold",
                2,
                f"{value!r} names the hold at the initial percentage before the first "
                "stage; choose another id.",
            )
        elif value in seen_ids:
            self._error(
                path,
                codes.STAGE_ID_DUPLICATE,
                f"stage_id {_show(value)} is already used by wedge_stages[{seen_ids[value]}]",
                2,
                f"Stage {seen_ids[value] + 1} already has the id {_show(value)}; "
                "each stage needs its own.",
            )
        else:
            seen_ids[value] = index

    def _check_target(self, entry: Mapping[object, object], path: str) -> float | None:
        target = self._number(entry, "target_percentage", path)
        if target is not None and not 0 <= target <= 100:
            self._error(
                child_path(path, "target_percentage"),
                codes.PERCENTAGE_OUT_OF_RANGE,
                f"target_percentage must be between 0 and 100, got {_fmt(target)}",
                2,
                f"Enter a percentage from 0 to 100 (not {_fmt(target)}).",
            )
            return None
        return target

    def _check_criteria(self, path: str, value: object) -> None:
        path = child_path(path, "success_criteria")
        if value is _MISSING:
            return
        if not isinstance(value, list):
            self._error(
                path,
                codes.WRONG_TYPE,
                f"success_criteria must be a list of expressions, not {_json_type(value)}",
                2,
                "Enter the success criteria, one expression per line.",
            )
        elif not value:
            self._error(
                path,
                codes.CRITERIA_EMPTY,
                "success_criteria must list at least one expression",
                2,
                _ENTER["success_criteria"],
            )
        for index, expression in enumerate(value if isinstance(value, list) else ()):
            self._check_expression(f"{path}[{index}]", expression)

    def _check_expression(self, path: str, value: object) -> None:
        name = path.rsplit(".", 1)[-1]
        line = _LIST_INDEX.search(name)
        where = f"Line {int(line.group(1)) + 1}: " if line else ""
        if not isinstance(value, str):
            self._error(
                path,
                codes.WRONG_TYPE,
                f"{name} must be a string, not {_json_type(value)}",
                2,
                f"{where}Enter an expression such as error_rate < 0.01.",
            )
            return
        if not self._storable(path, name, value, 2):
            return
        try:
            parsed = parse(value)
        except ExpressionError as error:
            self._error(
                path,
                codes.EXPRESSION_INVALID,
                f"{name}: {error.message}",
                2,
                where + expression_problem(value, error),
            )
            return
        for metric in sorted(parsed.metrics()):
            self.named_metrics.setdefault(metric, path)

    # -- Rules 3 and 4: the ladder --

    def _check_ladder_order(self, stages: list[_Stage]) -> None:
        previous: tuple[int, float] | None = None  # (index, target) of the last valid target
        for stage in stages:
            if stage.target is None:
                continue
            if previous is not None and stage.target <= previous[1]:
                self._error(
                    f"{ROOT}.wedge_stages[{stage.index}].target_percentage",
                    codes.TARGETS_NOT_INCREASING,
                    f"target_percentage ({_fmt(stage.target)}) must be greater than the "
                    f"previous stage's (wedge_stages[{previous[0]}]: {_fmt(previous[1])})",
                    3,
                    f"Targets rise from stage to stage: enter more than stage "
                    f"{previous[0] + 1}'s {_fmt(previous[1])} %.",
                )
            previous = (stage.index, stage.target)
        first = stages[0].target if stages else None
        cap = self.context.thresholds.first_stage_cap
        if first is not None and first > cap:
            self._error(
                f"{ROOT}.wedge_stages[0].target_percentage",
                codes.FIRST_STAGE_TOO_LARGE,
                f"the first stage's target_percentage ({_fmt(first)}) must be at most "
                f"{_fmt(cap)} (waivable)",
                4,
                f"The first stage may expose at most {_fmt(cap)} %. With "
                f"{_fmt(first)} % the proposal needs a waiver before it can start.",
            )

    # -- Rules 5 to 9: the scalar fields --

    def _check_initial(self, initial: float | None, stages: list[_Stage] | None) -> None:
        if initial is None:
            return
        path = child_path(ROOT, "initial_percentage")
        if initial <= 0:
            self._error(
                path,
                codes.INITIAL_NOT_POSITIVE,
                f"initial_percentage must be greater than 0, got {_fmt(initial)}",
                5,
                "Enter a percentage greater than 0.",
            )
            return
        if initial > 100:
            self._error(
                path,
                codes.PERCENTAGE_OUT_OF_RANGE,
                f"initial_percentage must be at most 100, got {_fmt(initial)}",
                5,
                "Enter at most 100 %.",
            )
            return
        first = stages[0].target if stages else None
        if first is not None and initial > first:
            self._error(
                path,
                codes.INITIAL_ABOVE_FIRST_STAGE,
                f"initial_percentage ({_fmt(initial)}) must not exceed the first stage's "
                f"target_percentage ({_fmt(first)}) (waivable)",
                5,
                f"The initial exposure may not be above the first stage's target "
                f"({_fmt(first)} %); otherwise the proposal needs a waiver before it can start.",
            )
        critical_cap = self.context.thresholds.critical_initial_cap
        if self.context.subsystem_critical and initial > critical_cap:
            self._error(
                path,
                codes.INITIAL_ABOVE_CRITICAL_CAP,
                f"initial_percentage ({_fmt(initial)}) must be at most "
                f"{_fmt(critical_cap)} for a critical subsystem (waivable)",
                5,
                f"On a critical subsystem the initial exposure may be at most "
                f"{_fmt(critical_cap)} %. With {_fmt(initial)} % the proposal "
                "needs a waiver before it can start.",
            )

    def _check_blast_radius(
        self, blast: float | None, initial: float | None, stages: list[_Stage] | None
    ) -> None:
        if blast is None:
            return
        path = child_path(ROOT, "max_blast_radius")
        if not 0 < blast <= 100:
            self._error(
                path,
                codes.BLAST_RADIUS_OUT_OF_RANGE,
                f"max_blast_radius must be greater than 0 and at most 100, got {_fmt(blast)}",
                6,
                "Enter a percentage greater than 0 and at most 100.",
            )
            return
        above = [
            stage for stage in stages or () if stage.target is not None and stage.target > blast
        ]
        if above:
            worst = max(above, key=lambda stage: stage.target or 0.0)
            self._error(
                path,
                codes.BLAST_RADIUS_BELOW_STAGE,
                f"max_blast_radius ({_fmt(blast)}) is below the target_percentage of "
                f"{len(above)} stage(s), up to {_fmt(worst.target or 0.0)} at "
                f"wedge_stages[{worst.index}]",
                6,
                f"The rollout may never expose more than this: enter at least the highest "
                f"stage target ({_fmt(worst.target or 0.0)} %, stage {worst.index + 1}).",
            )
        if initial is not None and 0 < initial <= 100 and initial > blast:
            self._error(
                path,
                codes.BLAST_RADIUS_BELOW_STAGE,
                f"max_blast_radius ({_fmt(blast)}) is below initial_percentage ({_fmt(initial)})",
                6,
                f"Enter at least the initial percentage ({_fmt(initial)} %).",
            )

    def _check_window(self, window: float | None) -> None:
        if window is None:
            return
        path = child_path(ROOT, "observation_window_hours")
        shortest = self.context.thresholds.min_observation_window_hours
        if window < shortest:
            self._error(
                path,
                codes.OBSERVATION_WINDOW_TOO_SHORT,
                f"observation_window_hours must be at least {float(shortest)}, got {_fmt(window)}",
                7,
                f"The policy observes every stage for at least {_fmt(shortest)} "
                f"{'hour' if shortest == 1 else 'hours'}.",
            )
        elif window > self.context.max_stage_hours:
            self._error(
                path,
                codes.OBSERVATION_WINDOW_TOO_LONG,
                f"observation_window_hours must be at most "
                f"{_fmt(self.context.max_stage_hours)}, got {_fmt(window)}",
                7,
                f"Enter at most {_fmt(self.context.max_stage_hours)} hours.",
            )

    def _check_policy(self, value: object) -> str | None:
        return self._check_choice(
            "increment_policy", value, codes.INCREMENT_POLICIES, codes.INCREMENT_POLICY_INVALID
        )

    def _check_state(self, value: object) -> None:
        state = self._check_choice(
            "wedge_state", value, codes.WEDGE_STATES, codes.WEDGE_STATE_INVALID
        )
        if state is not None and self.context.on_submission and state != codes.WedgeState.PENDING:
            self._error(
                child_path(ROOT, "wedge_state"),
                codes.WEDGE_STATE_NOT_PENDING,
                f"a submitted wedge must be PENDING, not {state}; the server owns the state",
                9,
                "A new rollout always starts as pending; Wedge moves it from there.",
            )

    def _check_choice(
        self, name: str, value: object, choices: tuple[str, ...], code: str
    ) -> str | None:
        """``value`` when it is one of ``choices``; otherwise report and return ``None``."""
        if value is _MISSING:
            return None
        path, rule = child_path(ROOT, name), FIELD_RULES[name]
        if not isinstance(value, str):
            self._error(
                path,
                codes.WRONG_TYPE,
                f"{name} must be a string, not {_json_type(value)}",
                rule,
                f"Choose one of {_or(choices)}.",
            )
            return None
        if not self._storable(path, name, value, rule):
            return None
        if value in choices:
            return value
        message = f"{name} must be one of {', '.join(choices)}, not {_show(value)}"
        text = f"Choose one of {_or(choices)}"
        if match := _closest(value, choices):
            message += f"; did you mean {match!r}?"
            text += f"; did you mean {match!r}?"
        self._error(path, code, message, rule, text if match else text + ".")
        return None

    # -- Rule 11: metric queries --

    def _check_queries(self, value: object) -> None:
        """``metric_queries``: metric name -> ``{"provider", "query"}`` (see ``queries``)."""
        if value is _MISSING:
            return
        path = child_path(ROOT, "metric_queries")
        if not isinstance(value, Mapping):
            self._error(
                path,
                codes.WRONG_TYPE,
                "metric_queries must be an object of metric name: "
                f'{{"provider", "query"}}, not {_json_type(value)}',
                11,
            )
            return
        if len(value) > queries.MAX_QUERIES:
            self._error(
                path,
                codes.TOO_MANY_QUERIES,
                f"metric_queries may hold at most {queries.MAX_QUERIES} queries, not {len(value)}",
                11,
            )
            return
        for name, entry in value.items():
            self._check_query(child_path(path, name), name, entry)
        if value:
            self._warn_unqueried(set(value))

    def _check_query(self, path: str, name: object, entry: object) -> None:
        if not isinstance(name, str) or not self._storable(path, "metric name", name, 11):
            return
        if not is_metric_name(name):
            self._error(
                path,
                codes.METRIC_NAME_INVALID,
                f"{_show(name)} is not a metric name a criterion can use: an ASCII letter or "
                "'_', then letters, digits, '_' and '.', and not 'and' or 'or'",
                11,
            )
        if not isinstance(entry, Mapping):
            self._error(
                path,
                codes.NOT_AN_OBJECT,
                f'each query must be an object {{"provider", "query"}}, not {_json_type(entry)}',
                11,
            )
            return
        self._check_keys(entry, path, QUERY_FIELDS)
        for key in QUERY_FIELDS:
            if key not in entry:
                self._error(child_path(path, key), codes.REQUIRED, f"{key} is required", 11)
        if "provider" in entry:
            self._check_provider(child_path(path, "provider"), entry["provider"])
        if "query" in entry:
            self._check_query_text(child_path(path, "query"), entry["query"])

    def _check_provider(self, path: str, value: object) -> None:
        if not isinstance(value, str):
            self._error(
                path, codes.WRONG_TYPE, f"provider must be a string, not {_json_type(value)}", 11
            )
            return
        if not self._storable(path, "provider", value, 11):
            return
        known = self.context.providers
        if not value.strip():
            self._error(path, codes.UNKNOWN_PROVIDER, "provider must name a metric provider", 11)
        elif len(value) > queries.MAX_PROVIDER_NAME_LENGTH or (
            known is not None and value not in known
        ):
            message = f"no metric provider {_show(value)}"
            if known is not None:
                match = _closest(value, sorted(known))
                message += (
                    f"; did you mean {match!r}?"
                    if match
                    else f"; known: {', '.join(sorted(known)) or 'none is configured'}"
                )
            self._error(path, codes.UNKNOWN_PROVIDER, message, 11)

    def _check_query_text(self, path: str, value: object) -> None:
        if not isinstance(value, str):
            self._error(
                path, codes.WRONG_TYPE, f"query must be a string, not {_json_type(value)}", 11
            )
            return
        if not self._storable(path, "query", value, 11):
            return
        if not value.strip():
            self._error(path, codes.QUERY_EMPTY, "query must not be empty", 11)
            return
        if len(value) > queries.MAX_QUERY_LENGTH:
            self._error(
                path,
                codes.QUERY_TOO_LONG,
                f"query must be at most {queries.MAX_QUERY_LENGTH} characters, not {len(value)}",
                11,
            )
            return
        for placeholder in queries.placeholders(value):
            shown = "{{" + placeholder.name[:_MAX_SHOWN_TEXT] + "}}"
            if not placeholder.known:
                message = f"unknown variable {shown} at position {placeholder.start}"
                match = _closest(placeholder.name, queries.VARIABLES)
                message += (
                    f"; did you mean {{{{{match}}}}}?"
                    if match
                    else f"; known: {', '.join(queries.VARIABLES)}"
                )
                self._error(path, codes.UNKNOWN_QUERY_VARIABLE, message, 11)
            elif placeholder.quote == "`":
                self._error(
                    path,
                    codes.QUERY_VARIABLE_IN_RAW_STRING,
                    f"variable {shown} at position {placeholder.start} stands in a raw "
                    "`...` string, which cannot escape a value; use double quotes",
                    11,
                )

    def _warn_unqueried(self, queried: set[object]) -> None:
        for metric, path in self.named_metrics.items():
            if metric in queried or metric == codes.EXPOSURE_METRIC:
                continue
            self._warn(
                path,
                codes.METRIC_NOT_QUERIED,
                f"metric {metric!r} has no query in metric_queries; it must be pushed, or the "
                "criteria that name it stay unmet",
            )

    # -- Warnings --

    def _warn_ladder_shape(self, stages: list[_Stage] | None, policy: str | None) -> None:
        if not stages or policy is None or policy == codes.Increment.MANUAL:
            return
        targets = [stage.target for stage in stages]
        if any(t is None for t in targets) or any(
            issue.code == codes.TARGETS_NOT_INCREASING for issue in self.errors
        ):
            return  # the ladder's shape is meaningless until its values are valid
        known = [t for t in targets if t is not None]
        if follows_policy(known, policy):
            return
        code, shape = (
            (codes.LADDER_NOT_LINEAR, "rise in equal steps")
            if policy == codes.Increment.LINEAR
            else (codes.LADDER_NOT_EXPONENTIAL, "grow by a constant ratio")
        )
        message = f"the stage targets do not {shape} as the {policy!r} increment policy declares"
        text = f"The stage targets do not {shape}, as the {policy} increment policy promises"
        suggestion = _suggest_ladder(policy, known)
        if suggestion:
            message += f"; for example {suggestion}"
            text += f"; for example {suggestion.replace(', ', ' %, ')} %"
        self._warn(child_path(ROOT, "wedge_stages"), code, message, text + ".")

    def _warn_short_stages(self, stages: list[_Stage] | None, window: float) -> None:
        for stage in stages or ():
            if stage.duration is not None and stage.duration < window:
                self._warn(
                    f"{ROOT}.wedge_stages[{stage.index}].duration_hours",
                    codes.STAGE_SHORTER_THAN_WINDOW,
                    f"duration_hours ({_fmt(stage.duration)}) is shorter than "
                    f"observation_window_hours ({_fmt(window)}); the stage cannot advance "
                    f"before its window has passed",
                    f"Shorter than the observation window ({_fmt(window)} h): the stage "
                    "cannot advance before its window has passed.",
                )


def _suggest_ladder(policy: str, targets: list[float]) -> str | None:
    try:
        ladder = generate_ladder(policy, targets[0], targets[-1], len(targets))
    except ValueError:
        return None
    return ", ".join(_fmt(value) for value in ladder)


def _total_hours(stages: list[_Stage] | None, window: float | None) -> float | None:
    if not stages or window is None:
        return None
    durations = [stage.raw_duration for stage in stages]
    known = [d for d in durations if d is not None]
    if len(known) != len(durations):
        return None
    total = planned_total_hours(known, window)
    return total if math.isfinite(total) else None


# --- Plain words for the form -------------------------------------------------------------------

# What to ask for when a field is missing, in the form's words.
_ENTER: Final[dict[str, str]] = {
    "wedge_stages": f"Add the stages of the rollout: at least {codes.MIN_STAGES}.",
    "initial_percentage": "Enter the initial percentage: the exposure the rollout starts at.",
    "increment_policy": "Choose an increment policy.",
    "max_blast_radius": "Enter the max blast radius: the most the rollout may ever expose.",
    "observation_window_hours": "Enter the observation window in hours.",
    "wedge_state": "Give the wedge state (a new rollout is pending).",
    "stage_id": "Enter a stage id, such as canary.",
    "target_percentage": "Enter the stage's target percentage.",
    "duration_hours": "Enter the stage's planned duration in hours.",
    "success_criteria": "Enter at least one success criterion, such as error_rate < 0.01.",
    "rollback_trigger": "Enter the rollback trigger, such as error_rate > 0.05.",
}
_LIST_INDEX: Final = re.compile(r"\[(\d+)\]$")
_AT_POSITION: Final = re.compile(r" \(?at position \d+\)?")
_SHOWN_BEFORE_ERROR: Final = 24


def _waived_rules(thresholds: Thresholds) -> dict[str, str]:
    """What a waiver lifts, rule by rule, in plain words (the waivable codes)."""
    return {
        codes.STAGES_TOO_FEW: f"fewer than {thresholds.min_stages} stages",
        codes.FIRST_STAGE_TOO_LARGE: f"a first stage above {thresholds.first_stage_cap:g} %",
        codes.INITIAL_ABOVE_FIRST_STAGE: "an initial exposure above the first stage's target",
        codes.INITIAL_ABOVE_CRITICAL_CAP: (
            f"an initial exposure above {thresholds.critical_initial_cap:g} % on a critical "
            "subsystem"
        ),
    }


WAIVED_RULES: Final[dict[str, str]] = _waived_rules(FLOOR)


def waived_rules(waivable_codes: Iterable[str], thresholds: Thresholds = FLOOR) -> str:
    """ "a first stage above 25 % and fewer than 2 stages": what a waiver lifts, in words."""
    rules = WAIVED_RULES if thresholds == FLOOR else _waived_rules(thresholds)
    items = [rules.get(code, code) for code in waivable_codes]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def limits(context: ValidationContext, subsystem: str | None = None) -> dict[str, str]:
    """The policy's limits in the form's words, field by field, for the chosen subsystem.

    ``subsystem`` names it ("Control plane"); ``context.subsystem_critical``
    says whether the critical cap applies. Waivable limits say so.
    """
    policy = context.thresholds
    cap = _fmt(policy.critical_initial_cap)
    hours = _fmt(context.max_stage_hours)
    if subsystem is None:
        initial = (
            f"Above 0 and at most the first stage's target; at most {cap} % on a critical "
            "subsystem. Above these needs a waiver."
        )
    elif context.subsystem_critical:
        initial = (
            f"{subsystem} is critical: at most {cap} %, and at most the first stage's "
            "target. Above these needs a waiver."
        )
    else:
        initial = (
            f"Above 0 and at most the first stage's target ({subsystem} is not critical, "
            f"so the {cap} % cap does not apply). Above it needs a waiver."
        )
    return {
        "initial_percentage": initial,
        "max_blast_radius": (
            "The most the rollout may ever expose, up to 100 %: at least every stage's target."
        ),
        "observation_window_hours": (
            f"How long each stage is observed before it may advance: at least "
            f"{_fmt(policy.min_observation_window_hours)} "
            f"{'hour' if policy.min_observation_window_hours == 1 else 'hours'}, "
            f"at most {hours} hours."
        ),
        "stages": (
            f"At least {policy.min_stages} stages, targets rising from stage to stage, the "
            f"first at most {_fmt(policy.first_stage_cap)} % (fewer stages or a larger first "
            "stage needs a waiver)."
        ),
        "duration_hours": f"Above 0, at most {hours} hours.",
    }


def expression_problem(text: str, error: ExpressionError) -> str:
    """An expression's syntax error in plain words: where it is shown by the text before it.

    ``error.message`` names a 0-based position, which means nothing to a
    person typing; the text up to the problem does.
    """
    what = _AT_POSITION.sub("", error.message)
    what = what[:1].upper() + what[1:]
    before = text[: error.position].rstrip()
    if not before:
        return f"{what}." if error.position == 0 else f"{what} (at the start)."
    if len(before) > _SHOWN_BEFORE_ERROR:
        before = "…" + before[-_SHOWN_BEFORE_ERROR:]
    return f"{what}: the problem is right after “{before}”."


def _or(choices: Iterable[str]) -> str:
    items = list(choices)
    return ", ".join(items[:-1]) + f" or {items[-1]}" if len(items) > 1 else "".join(items)


# --- Small helpers ----------------------------------------------------------------------------


def _number_word(count: int) -> str:
    """``one`` ... ``nine`` in words, larger counts as digits."""
    words = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return words[count] if 0 <= count < len(words) else str(count)


def _finite(value: int | float) -> float | None:
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        return None
    return number if math.isfinite(number) else None


def child_path(path: str | None, key: object) -> str:
    """``path.key`` for plain keys, ``path["odd key"]`` for anything else.

    Odd keys are quoted as ASCII JSON, so a path is always printable, whatever
    the key holds. ``path`` is ``None`` (or empty) at the top of a document.
    """
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path or ''}[{json.dumps(key) if isinstance(key, str) else _show(key)}]"


def _closest(value: str, choices: Iterable[str]) -> str | None:
    if len(value) > 100:  # no near miss is that long; keep difflib cheap
        return None
    matches = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    lowered = [choice for choice in choices if choice.lower() == value.lower()]
    candidates = lowered or matches
    return candidates[0] if candidates else None


def _json_type(value: object) -> str:
    """The JSON name of a value's type, for "must be a number, not a string" messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _typed(value: object) -> str:
    """What was given, for "not ..." in plain words: the text itself, or its kind."""
    return _show(value) if isinstance(value, str) else _json_type(value)


def _show(value: object) -> str:
    """A short ``repr`` for messages: user strings can be arbitrarily long."""
    if isinstance(value, str) and len(value) > _MAX_SHOWN_TEXT:
        return repr(value[:_MAX_SHOWN_TEXT] + "...")
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN_TEXT + 2 else text[:_MAX_SHOWN_TEXT] + "..."


def _fmt(number: float) -> str:
    """``10`` rather than ``10.0``; ``10.01`` stays exact (never ``%g``-rounded)."""
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)
