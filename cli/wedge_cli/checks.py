"""The offline verdict on a document: the server's rules, run here.

A file holds a whole proposal (any envelope field: ``title``, ``rollout_wedge``...)
or just the wedge, as for ``manage.py validate_wedge``. A proposal's envelope is checked as the
server checks it (``wedge_policy.envelope``), except whether its subsystem
exists and is critical: only the server knows the organisation, so criticality
is the ``--subsystem-critical`` flag here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from wedge_policy import Report, ValidationContext, validate
from wedge_policy.documents import unstorable_strings
from wedge_policy.envelope import check_envelope, is_proposal
from wedge_policy.thresholds import FLOOR, Thresholds, from_mapping

from .errors import CliError


def validation_context(
    *,
    subsystem_critical: bool,
    providers: Iterable[str] = (),
    thresholds: Thresholds | None = None,
) -> ValidationContext:
    """The policy's context for an offline check: the one place the CLI builds it.

    Whatever the server's context learns later (from its settings or its
    organisation) is added here, so every command that judges a document
    passes it the same way. The metric providers the server has configured
    are known offline only when named (``--provider``); without them the
    names in ``metric_queries`` are not checked (everything else is).
    """
    names = frozenset(providers)
    return ValidationContext(
        subsystem_critical=subsystem_critical,
        providers=names or None,
        thresholds=thresholds or FLOOR,
    )


def load_policy(path: str) -> Thresholds:
    """A policy version's thresholds from a JSON file (``--policy``); exit 2 if unreadable.

    The file holds the thresholds themselves, or a version as the API answers it
    (with a ``thresholds`` member). Thresholds looser than version 1 are refused:
    no version the server accepts has them.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CliError(f"{path}: not a readable JSON policy file: {error}", file=path) from None
    if isinstance(data, Mapping) and isinstance(data.get("thresholds"), Mapping):
        data = data["thresholds"]
    if not isinstance(data, Mapping):
        raise CliError(f"{path}: a policy file holds an object of thresholds", file=path)
    try:
        return from_mapping(data)
    except ValueError as error:
        raise CliError(f"{path}: {error}", file=path) from None


def check(document: Any, context: ValidationContext) -> Report:
    """The server's verdict on ``document``, as its dry run would give it.

    Text no UTF-8 column can hold (a NUL, a lone surrogate) is refused before
    any rule, as the server's parser refuses such a body, with every path.
    """
    unstorable = unstorable_strings(document)
    if unstorable:
        return Report(tuple(unstorable), (), None)
    if isinstance(document, Mapping) and not is_proposal(document):
        return validate(document, context)  # just the wedge
    envelope = check_envelope(document)  # a list or a scalar is refused here, as by the server
    if not isinstance(document, Mapping) or "rollout_wedge" not in document:
        return Report(tuple(envelope.errors), (), None)
    report = validate(document["rollout_wedge"], context)
    return Report(
        tuple(envelope.errors) + report.errors, report.warnings, report.total_duration_hours
    )


def wedge_of(document: Any) -> Any:
    """The ``rollout_wedge`` of a proposal file, or the file itself when it is just the wedge."""
    return document["rollout_wedge"] if is_proposal(document) else document
