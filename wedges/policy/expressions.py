"""Criteria expressions: ``error_rate < 0.01``, ``p99 <= 200ms``, ``a > 1 or (b < 2 and c == 3)``.

A small tokenizer and recursive-descent parser (never ``eval``)::

    expression  := conjunction ("or" conjunction)*
    conjunction := primary ("and" primary)*
    primary     := "(" expression ")" | metric OP number | number OP metric
    OP          := "<" | "<=" | ">" | ">=" | "==" | "!="
    number      := "-"? digits ("." digits)? unit?      (unit attached: "200ms", "99.9%")
    metric      := [A-Za-z_][A-Za-z0-9_.]*              ("and" and "or" are reserved)

``number OP metric`` is stored flipped (``5 < a`` becomes ``a > 5``), so each
expression has one canonical text, ``str(expr)``, which parses back to an equal
expression. Input is capped at 500 characters and 32 levels of parentheses, so
parsing is bounded and can never hit Python's recursion limit.

Evaluation against a metric snapshot:

* a bare number (``0.004`` or ``"0.004"``) is read in the unit the expression
  names; a value carrying a unit (``"180ms"``, ``"0.2s"``, ``"99.95%"``) is
  converted to it (time units convert among themselves; ``%`` is its own
  dimension and a unitless threshold accepts only unitless values);
* a missing, non-numeric, boolean, NaN/infinite or incompatible value makes that
  comparison false, whatever the operator (``!=`` included), so a missing metric
  leaves a success criterion unmet and a rollback trigger not fired;
* comparisons, ``==`` and ``!=`` included, are exact float comparisons after the
  unit conversion. Conversions are single multiplications or divisions by an
  integer, so ``"0.2s" == 200ms`` holds, but a value computed elsewhere with float
  error (``0.1 + 0.2``) will not equal ``0.3``: prefer ``<=``/``>=`` for floats.
"""

from __future__ import annotations

import functools
import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from .units import UNITS, Quantity, parse_quantity

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_NESTING_DEPTH",
    "And",
    "Comparison",
    "Expr",
    "ExpressionError",
    "Or",
    "Quantity",
    "is_metric_name",
    "parse",
    "parse_quantity",
]

MAX_EXPRESSION_LENGTH: Final = 500
MAX_NESTING_DEPTH: Final = 32

_OPERATORS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
# What "number OP metric" means when rewritten as "metric OP' number".
_FLIPPED: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_KEYWORDS: Final = frozenset({"and", "or"})
_DIGITS: Final = frozenset("0123456789")
_IDENT_START: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_CHARS: Final = _IDENT_START | _DIGITS | {"."}
_WHITESPACE: Final = frozenset(" \t\r\n")


class ExpressionError(ValueError):
    """A syntax error; ``position`` is the 0-based character offset into the text."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# --- The expression tree ----------------------------------------------------------------------


class Expr(ABC):
    """A parsed criteria expression."""

    __slots__ = ()

    @abstractmethod
    def metrics(self) -> frozenset[str]:
        """The metric names the expression reads."""

    @abstractmethod
    def evaluate(self, snapshot: Mapping[str, object]) -> bool:
        """Whether the snapshot satisfies the expression (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Comparison(Expr):
    """``metric OP threshold``; ``literal`` keeps the number as written, for ``str()``."""

    metric: str
    op: str
    threshold: Quantity
    literal: str

    def metrics(self) -> frozenset[str]:
        return frozenset({self.metric})

    def evaluate(self, snapshot: Mapping[str, object]) -> bool:
        reading = self.read(snapshot)
        return reading is not None and _OPERATORS[self.op](reading, self.threshold.value)

    def read(self, snapshot: Mapping[str, object]) -> float | None:
        """The snapshot's value for this metric in the threshold's unit, if readable."""
        quantity = parse_quantity(snapshot.get(self.metric))
        if quantity is None:
            return None
        if quantity.unit is None:
            return quantity.value
        return quantity.to(self.threshold.unit)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.literal}{self.threshold.unit or ''}"


@dataclass(frozen=True, slots=True)
class And(Expr):
    """All terms hold. Never directly contains another ``And`` (the parser flattens)."""

    terms: tuple[Expr, ...]

    def metrics(self) -> frozenset[str]:
        return frozenset[str]().union(*(term.metrics() for term in self.terms))

    def evaluate(self, snapshot: Mapping[str, object]) -> bool:
        return all(term.evaluate(snapshot) for term in self.terms)

    def __str__(self) -> str:
        return " and ".join(
            f"({term})" if isinstance(term, Or) else str(term) for term in self.terms
        )


@dataclass(frozen=True, slots=True)
class Or(Expr):
    """Any term holds. Never directly contains another ``Or`` (the parser flattens)."""

    terms: tuple[Expr, ...]

    def metrics(self) -> frozenset[str]:
        return frozenset[str]().union(*(term.metrics() for term in self.terms))

    def evaluate(self, snapshot: Mapping[str, object]) -> bool:
        return any(term.evaluate(snapshot) for term in self.terms)

    def __str__(self) -> str:
        return " or ".join(str(term) for term in self.terms)


# --- Tokenizer --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "metric", "number", "op", "and", "or", "(", ")", "end"
    text: str
    position: int
    quantity: Quantity | None = None
    literal: str = ""

    def describe(self) -> str:
        return "end of expression" if self.kind == "end" else repr(self.text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in _WHITESPACE:
            position += 1
        elif char in "()":
            tokens.append(_Token(char, char, position))
            position += 1
        elif char in "<>=!":
            token = _operator_token(text, position)
            tokens.append(token)
            position += len(token.text)
        elif char in _DIGITS or (char == "-" and text[position + 1 : position + 2] in _DIGITS):
            token = _number_token(text, position)
            tokens.append(token)
            position += len(token.text)
        elif char in _IDENT_START:
            end = _scan(text, position + 1, _IDENT_CHARS)
            word = text[position:end]
            tokens.append(_Token(word if word in _KEYWORDS else "metric", word, position))
            position = end
        else:
            raise ExpressionError(f"unexpected character {char!r} at position {position}", position)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _scan(text: str, position: int, allowed: frozenset[str]) -> int:
    while position < len(text) and text[position] in allowed:
        position += 1
    return position


def _operator_token(text: str, position: int) -> _Token:
    pair = text[position : position + 2]
    if pair in _OPERATORS:
        return _Token("op", pair, position)
    char = text[position]
    if char in _OPERATORS:
        return _Token("op", char, position)
    hint = "==" if char == "=" else "!="
    raise ExpressionError(
        f"unexpected {char!r} at position {position}; did you mean {hint!r}?", position
    )


def _number_token(text: str, start: int) -> _Token:
    end = _scan(text, start + 1, _DIGITS)
    if text[end : end + 1] == ".":
        fraction_end = _scan(text, end + 1, _DIGITS)
        if fraction_end == end + 1:
            raise ExpressionError(f"expected a digit after '.' at position {end + 1}", end + 1)
        end = fraction_end
    literal = text[start:end]
    value = float(literal)
    if not math.isfinite(value):
        raise ExpressionError(f"number {literal[:20]!r}... is too large at position {start}", start)
    unit, unit_end = _unit_after(text, end)
    return _Token("number", text[start:unit_end], start, Quantity(value, unit), literal)


def _unit_after(text: str, position: int) -> tuple[str | None, int]:
    """The unit attached to a number ending at ``position``, and where it ends."""
    if text[position : position + 1] == "%":
        return "%", position + 1
    end = _scan(text, position, _IDENT_CHARS)
    if end == position:
        return None, position
    unit = text[position:end]
    if unit not in UNITS:
        hint = " (exponent notation is not supported)" if unit[:1] in "eE" else ""
        raise ExpressionError(
            f"unknown unit {unit!r} at position {position}; expected one of ms, s, m, h, %{hint}",
            position,
        )
    return unit, end


# --- Parser -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def parse(self) -> Expr:
        if self._peek().kind == "end":
            raise ExpressionError(
                "expression is empty: expected a comparison such as 'error_rate < 0.01' "
                "at position 0",
                0,
            )
        expression = self._disjunction()
        token = self._peek()
        if token.kind != "end":
            raise self._expected("'and', 'or' or end of expression", token)
        return expression

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _take(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _disjunction(self) -> Expr:
        terms = [self._conjunction()]
        while self._peek().kind == "or":
            self._take()
            terms.append(self._conjunction())
        return _combine(Or, terms)

    def _conjunction(self) -> Expr:
        terms = [self._primary()]
        while self._peek().kind == "and":
            self._take()
            terms.append(self._primary())
        return _combine(And, terms)

    def _primary(self) -> Expr:
        token = self._take()
        if token.kind == "(":
            return self._parenthesised(token)
        if token.kind == "metric":
            operator_token = self._operator_after(token)
            number = self._expect("number", f"a number after {operator_token.text!r}")
            return _comparison(token.text, operator_token.text, number)
        if token.kind == "number":
            operator_token = self._operator_after(token)
            metric = self._expect("metric", f"a metric name after {operator_token.text!r}")
            return _comparison(metric.text, _FLIPPED[operator_token.text], token)
        raise self._expected("a metric name, a number or '('", token)

    def _parenthesised(self, opening: _Token) -> Expr:
        self._depth += 1
        if self._depth > MAX_NESTING_DEPTH:
            raise ExpressionError(
                f"parentheses nested deeper than {MAX_NESTING_DEPTH} levels "
                f"at position {opening.position}",
                opening.position,
            )
        inner = self._disjunction()
        closing = self._take()
        if closing.kind != ")":
            raise ExpressionError(
                f"expected ')' at position {closing.position} to close the '(' at position "
                f"{opening.position}, found {closing.describe()}",
                closing.position,
            )
        self._depth -= 1
        return inner

    def _operator_after(self, operand: _Token) -> _Token:
        return self._expect(
            "op", f"a comparison operator (<, <=, >, >=, ==, !=) after {operand.text!r}"
        )

    def _expect(self, kind: str, what: str) -> _Token:
        token = self._take()
        if token.kind != kind:
            raise self._expected(what, token)
        return token

    @staticmethod
    def _expected(what: str, found: _Token) -> ExpressionError:
        hint = ""
        if found.kind == "metric" and found.text.lower() in _KEYWORDS:
            hint = " (keywords are lowercase)"
        return ExpressionError(
            f"expected {what} at position {found.position}, found {found.describe()}{hint}",
            found.position,
        )


def _combine(kind: type[And] | type[Or], terms: list[Expr]) -> Expr:
    if len(terms) == 1:
        return terms[0]
    # Flatten "(a or b) or c" into one Or: same meaning, one canonical form.
    flat: list[Expr] = []
    for term in terms:
        flat.extend(term.terms if isinstance(term, kind) else (term,))
    return kind(tuple(flat))


def _comparison(metric: str, op: str, number: _Token) -> Comparison:
    assert number.quantity is not None
    return Comparison(metric, op, number.quantity, number.literal)


# --- Entry points -----------------------------------------------------------------------------


def is_metric_name(text: str) -> bool:
    """Whether an expression can name ``text`` as a metric (the grammar's ``metric`` rule)."""
    return (
        bool(text)
        and text[0] in _IDENT_START
        and all(char in _IDENT_CHARS for char in text[1:])
        and text not in _KEYWORDS
    )


def parse(text: str) -> Expr:
    """Parse a criteria expression; raises ``ExpressionError`` with the position on bad input."""
    if not isinstance(text, str):
        raise TypeError(f"expression must be a string, not {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH} "
            f"(at position {MAX_EXPRESSION_LENGTH})",
            MAX_EXPRESSION_LENGTH,
        )
    return _parse_cached(text)


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Expr:
    # Safe to cache: the tree is immutable. The engine re-reads the same few
    # criteria on every snapshot and beat tick.
    return _Parser(_tokenize(text)).parse()
