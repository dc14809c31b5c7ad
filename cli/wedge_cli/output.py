"""How a verdict is written: for people (``text``), programs (``json``) and GitHub (``github``).

``json`` is the server's dry-run body, so a script reads the offline and the
server's verdicts alike. ``github`` writes workflow commands
(``::error file=...,line=...,col=...::``) that GitHub Actions shows on the
line of the field in the pull request; every other line is plain text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Literal

from wedge_policy import Issue, Report
from wedge_policy.documents import Document, Position

Format = Literal["text", "json", "github"]
FORMATS: tuple[Format, ...] = ("text", "json", "github")
Echo = Callable[[str], None]


def write_report(echo: Echo, report: Report, document: Document, file: str, fmt: Format) -> None:
    if fmt == "json":
        echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    for severity, issues in (("error", report.errors), ("warning", report.warnings)):
        for issue in issues:
            position = document.position_of(issue.path)
            if fmt == "github":
                echo(annotation(severity, issue_text(issue), file, position, title=issue.code))
            else:
                echo(f"{located(file, position)}: {severity}: {issue_text(issue)} [{issue.code}]")
    echo(summary(report))


def issue_text(issue: Issue) -> str:
    waivable = " (waivable)" if issue.waivable else ""
    return f"{issue.path or '(document)'}: {issue.message}{waivable}"


def summary(report: Report) -> str:
    warnings = f", {_count(len(report.warnings), 'warning')}" if report.warnings else ""
    if report.valid:
        total = report.total_duration_hours
        planned = f"; planned total duration {hours(total)}" if total is not None else ""
        return f"valid{warnings}{planned}"
    waiver = "; a waiver could lift every one of them" if report.waiver_required else ""
    return f"invalid: {_count(len(report.errors), 'error')}{warnings}{waiver}"


def located(file: str, position: Position | None) -> str:
    return f"{file}:{position.line}:{position.column}" if position else file


def annotation(
    severity: str, message: str, file: str, position: Position | None, *, title: str = ""
) -> str:
    """A GitHub Actions workflow command (``::error file=...,line=...,col=...,title=...::msg``)."""
    properties = [f"file={_escape_property(file)}"]
    if position is not None:
        properties += [f"line={position.line}", f"col={position.column}"]
    if title:
        properties.append(f"title={_escape_property(title)}")
    return f"::{severity} {','.join(properties)}::{_escape_data(message)}"


def hours(value: float) -> str:
    """``6 h``, ``1.5 h``, ``45 min``: a duration in hours as people write it."""
    if 0 < value < 1:
        return f"{value * 60:g} min"
    return f"{value:g} h"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# GitHub's escaping of workflow command data and property values (actions/toolkit).
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
