"""Metric queries in a wedge document: their variables, and how a value is put in.

``rollout_wedge.metric_queries`` maps a metric name to the query a metric
provider answers with its value::

    {"error_rate": {"provider": "prometheus",
                    "query": "sum(rate(http_errors_total{proposal=\\"{{proposal_id}}\\"}[1m]))"}}

A query may name the variables below as ``{{name}}`` (spaces inside the braces
allowed). Before each query the poller substitutes them, quoted for PromQL so a
value can never change the query's structure:

* inside a string literal (``"..."`` or ``'...'``) the value is escaped as that
  literal's content: ``{job="{{subsystem}}"}``;
* outside a string, a number (``proposal_id``, ``exposure_percentage``) stands
  as a number (``> {{exposure_percentage}}``) and a text value becomes a
  complete double-quoted string: ``{job={{subsystem}}}``.

Raw strings (`` `...` ``) have no escapes, so no variable may stand in one.
This module is the grammar both validation and the poller use, so what
validation accepts is exactly what the poller can render.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

# The variables a query may use, with the wedge fact each stands for.
VARIABLES: Final[dict[str, str]] = {
    "proposal_id": "the proposal's id",
    "stage_id": "the open stage's id (initial during the implicit hold)",
    "exposure_percentage": "the exposure the wedge holds now",
    "subsystem": "the subsystem's slug",
    "external_reference": "the proposal's external reference (pipeline run, commit)",
}
NUMERIC_VARIABLES: Final = frozenset({"proposal_id", "exposure_percentage"})

MAX_QUERIES: Final = 50
MAX_QUERY_LENGTH: Final = 4000
MAX_PROVIDER_NAME_LENGTH: Final = 50

# Anything between double braces is a variable reference; a name that is not a
# known variable is an error rather than text sent to the provider as it is.
_PLACEHOLDER: Final = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_QUOTES: Final = frozenset({'"', "'", "`"})
# What PromQL's string literals escape (Go's strconv rules): backslash, the
# quotes and the control characters a label value could carry.
_ESCAPES: Final = {
    "\\": "\\\\",
    '"': '\\"',
    "'": "\\'",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}


@dataclass(frozen=True)
class Placeholder:
    """One ``{{...}}`` in a query: the name inside, where it stands, and in what context.

    ``quote`` is the quote character of the string literal around it, or
    ``None`` when it stands outside any string.
    """

    name: str
    start: int
    end: int
    quote: str | None

    @property
    def known(self) -> bool:
        return self.name in VARIABLES


def placeholders(text: str) -> list[Placeholder]:
    """Every ``{{...}}`` in ``text``, in order, each with its string context."""
    contexts = list(_string_contexts(text))
    found = []
    for match in _PLACEHOLDER.finditer(text):
        found.append(
            Placeholder(match.group(1).strip(), match.start(), match.end(), contexts[match.start()])
        )
    return found


def render(text: str, values: Mapping[str, object]) -> str:
    """``text`` with every variable replaced by its value, quoted for where it stands.

    Raises ``ValueError`` for an unknown variable, a variable in a raw string
    or a variable without a value: validation refuses all three, so a stored
    query only meets them if the plan was stored before the rule existed.
    """
    parts: list[str] = []
    position = 0
    for placeholder in placeholders(text):
        if not placeholder.known:
            raise ValueError(f"unknown variable {{{{{placeholder.name}}}}}")
        if placeholder.quote == "`":
            raise ValueError(f"variable {{{{{placeholder.name}}}}} stands in a raw string")
        if placeholder.name not in values:
            raise ValueError(f"no value for {{{{{placeholder.name}}}}}")
        parts.append(text[position : placeholder.start])
        parts.append(_quoted(placeholder, values[placeholder.name]))
        position = placeholder.end
    parts.append(text[position:])
    return "".join(parts)


def escape(value: str) -> str:
    """``value`` as the content of a PromQL ``"..."`` or ``'...'`` string literal."""
    return "".join(_ESCAPES.get(char, char) for char in value)


def _quoted(placeholder: Placeholder, value: object) -> str:
    if placeholder.name in NUMERIC_VARIABLES and isinstance(value, int | float):
        text = format_number(value)
        return text if placeholder.quote is None else escape(text)
    text = "" if value is None else str(value)
    return f'"{escape(text)}"' if placeholder.quote is None else escape(text)


def format_number(value: int | float) -> str:
    """``5`` rather than ``5.0``; other floats exactly as Python writes them."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _string_contexts(text: str) -> Iterator[str | None]:
    """For each character of ``text``, the quote of the string literal it lies in.

    A small scanner of PromQL's three string forms: ``"..."`` and ``'...'``
    with backslash escapes, and raw `` `...` `` without. Comments (``#`` to the
    end of the line) are outside strings; an unterminated string runs to the end.
    """
    quote: str | None = None
    escaped = False
    comment = False
    for char in text:
        if comment:
            yield None
            comment = char != "\n"
            continue
        if quote is None:
            if char in _QUOTES:
                yield None  # the opening quote itself is outside
                quote = char
                continue
            if char == "#":
                comment = True
            yield None
            continue
        if escaped:
            escaped = False
            yield quote
            continue
        if char == "\\" and quote != "`":
            escaped = True
            yield quote
            continue
        if char == quote:
            yield None  # the closing quote is outside too
            quote = None
            continue
        yield quote
