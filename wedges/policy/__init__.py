"""The policy core: pure Python, no Django imports, unit-tested alone.

* ``validation``: ``validate(document, context) -> Report`` (rules 1-11 of docs/policy.md);
* ``queries``: the grammar of ``metric_queries`` (variables, PromQL quoting);
* ``expressions``: criteria expressions, ``parse(text) -> Expr``;
* ``ladder``: stage ladders for the increment policies;
* ``engine``: ``decide(view, snapshot, now, freshness=...) -> Decision``, and
  ``merge_evidence`` (the latest value of each metric received during the stage);
* ``codes``: every stable code and threshold, defined once.
"""

from .engine import (
    Action,
    CriterionResult,
    Decision,
    Snapshot,
    StageView,
    WedgeView,
    decide,
)
from .expressions import Expr, ExpressionError, parse
from .ladder import follows_policy, generate_ladder, planned_total_hours
from .validation import (
    Issue,
    Report,
    ValidationContext,
    child_path,
    unstorable_character,
    validate,
)

__all__ = [
    "Action",
    "CriterionResult",
    "Decision",
    "Expr",
    "ExpressionError",
    "Issue",
    "Report",
    "Snapshot",
    "StageView",
    "ValidationContext",
    "WedgeView",
    "child_path",
    "decide",
    "follows_policy",
    "generate_ladder",
    "parse",
    "planned_total_hours",
    "unstorable_character",
    "validate",
]
