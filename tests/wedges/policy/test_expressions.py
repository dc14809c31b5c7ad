"""Criteria expressions: parsing, positions in errors, units, evaluation, canonical form."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wedges.policy.expressions import (
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING_DEPTH,
    And,
    Comparison,
    Expr,
    ExpressionError,
    Or,
    parse,
)
from wedges.policy.units import Quantity, parse_quantity

# --- Parsing valid expressions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical", "metrics"),
    [
        ("error_rate < 0.01", "error_rate < 0.01", {"error_rate"}),
        ("p99 <= 200ms", "p99 <= 200ms", {"p99"}),
        ("availability >= 99.9%", "availability >= 99.9%", {"availability"}),
        (
            "error_rate > 0.05 or p99 > 500ms",
            "error_rate > 0.05 or p99 > 500ms",
            {"error_rate", "p99"},
        ),
        ("(a < 1 and b > 2) or c == 3", "a < 1 and b > 2 or c == 3", {"a", "b", "c"}),
        ("a < 1 and (b > 2 or c != 3)", "a < 1 and (b > 2 or c != 3)", {"a", "b", "c"}),
        ("((x.y_1 == -2.5s))", "x.y_1 == -2.5s", {"x.y_1"}),
        ("_m\t>=\n1h", "_m >= 1h", {"_m"}),
        ("latency<3m", "latency < 3m", {"latency"}),
    ],
)
def test_valid_expressions_parse_to_canonical_text(
    text: str, canonical: str, metrics: set[str]
) -> None:
    expression = parse(text)
    assert str(expression) == canonical
    assert expression.metrics() == frozenset(metrics)


@pytest.mark.parametrize(
    ("text", "flipped"),
    [
        ("5 < a", "a > 5"),
        ("5 <= a", "a >= 5"),
        ("5 > a", "a < 5"),
        ("5 >= a", "a <= 5"),
        ("5 == a", "a == 5"),
        ("5 != a", "a != 5"),
        ("200ms >= p99", "p99 <= 200ms"),
    ],
)
def test_number_before_metric_is_stored_flipped(text: str, flipped: str) -> None:
    assert str(parse(text)) == flipped


def test_and_binds_tighter_than_or() -> None:
    expression = parse("a < 1 or b < 1 and c < 1")
    assert isinstance(expression, Or)
    assert isinstance(expression.terms[1], And)
    # a holds alone: true; b alone (without c): false.
    assert expression.evaluate({"a": 0, "b": 5, "c": 5})
    assert not expression.evaluate({"a": 5, "b": 0, "c": 5})
    assert expression.evaluate({"a": 5, "b": 0, "c": 0})


def test_nested_groups_are_flattened() -> None:
    expression = parse("(a < 1 or b < 1) or (c < 1 or d < 1)")
    assert isinstance(expression, Or)
    assert len(expression.terms) == 4
    assert all(isinstance(term, Comparison) for term in expression.terms)


def test_comparison_keeps_literal_and_quantity() -> None:
    expression = parse("p99 <= 200.50ms")
    assert expression == Comparison("p99", "<=", Quantity(200.5, "ms"), "200.50")


def test_nesting_at_the_limit_parses() -> None:
    depth = MAX_NESTING_DEPTH
    assert str(parse("(" * depth + "a < 1" + ")" * depth)) == "a < 1"


def test_length_at_the_limit_parses() -> None:
    text = "a < 1" + " " * (MAX_EXPRESSION_LENGTH - 5)
    assert len(text) == MAX_EXPRESSION_LENGTH
    assert str(parse(text)) == "a < 1"


def test_long_chains_do_not_recurse() -> None:
    text = " and ".join(["a < 1"] * 50)  # 50 terms, well under 500 characters
    expression = parse(text)
    assert isinstance(expression, And)
    assert len(expression.terms) == 50


# --- Broken expressions and their positions ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "expression is empty"),
        ("   ", 0, "expression is empty"),
        ("error_rate < ", 13, "expected a number after '<' at position 13"),
        ("error_rate <", 12, "expected a number after '<' at position 12"),
        ("error_rate < abc", 13, "expected a number after '<' at position 13, found 'abc'"),
        ("p99", 3, "expected a comparison operator"),
        ("p99 200ms", 4, "expected a comparison operator"),
        ("5 < 6", 4, "expected a metric name after '<' at position 4"),
        ("a < 1 b < 2", 6, "expected 'and', 'or' or end of expression at position 6"),
        ("a < 1 AND b < 2", 6, "keywords are lowercase"),
        ("a < 1)", 5, "found ')'"),
        ("(a < 1", 6, "expected ')' at position 6 to close the '(' at position 0"),
        ("((a < 1)", 8, "to close the '(' at position 0"),
        ("()", 1, "expected a metric name, a number or '(' at position 1"),
        ("a < 1 and", 9, "expected a metric name, a number or '(' at position 9"),
        ("or a < 1", 0, "found 'or'"),
        ("a < 5xyz", 5, "unknown unit 'xyz' at position 5"),
        ("a < 5 ms", 6, "expected 'and', 'or' or end of expression"),
        ("a < 1e5", 5, "exponent notation is not supported"),
        ("a < 5.", 6, "expected a digit after '.' at position 6"),
        ("a < .5", 4, "unexpected character '.' at position 4"),
        ("a = 1", 2, "did you mean '=='?"),
        ("a ! 1", 2, "did you mean '!='?"),
        ("a < NaN", 4, "expected a number"),
        ("a < inf", 4, "expected a number"),
        ("a < - 1", 4, "unexpected character '-' at position 4"),
        ("a < 1 and b", 11, "expected a comparison operator"),
        ("a < b", 4, "expected a number after '<'"),
        ("ä < 1", 0, "unexpected character 'ä' at position 0"),
        ("a < \u0661", 4, "unexpected character"),  # Arabic-Indic digit one
        ("a < 1" + "0" * 400, 4, "too large"),
    ],
)
def test_broken_expressions_name_the_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.position == position
    assert fragment in str(caught.value)


def test_too_deep_nesting_is_an_error_not_a_recursion_error() -> None:
    depth = MAX_NESTING_DEPTH + 1
    with pytest.raises(ExpressionError, match="nested deeper than 32") as caught:
        parse("(" * depth + "a < 1" + ")" * depth)
    assert caught.value.position == MAX_NESTING_DEPTH


def test_over_long_input_is_rejected_before_parsing() -> None:
    text = "a < 1" + " " * (MAX_EXPRESSION_LENGTH - 4)
    with pytest.raises(ExpressionError, match="limit is 500") as caught:
        parse(text)
    assert caught.value.position == MAX_EXPRESSION_LENGTH


def test_huge_nesting_beyond_length_limit_is_rejected() -> None:
    with pytest.raises(ExpressionError):
        parse("(" * 100_000)


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse(42)  # type: ignore[arg-type]


# --- Evaluation and units ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (180, True),  # bare number: read in the expression's unit (ms)
        (200, True),
        (200.0001, False),
        ("180", True),  # bare-number string is a number
        ("180ms", True),
        ("0.2s", True),  # converted: exactly 200ms
        ("0.2001s", False),
        ("0.003m", True),  # 180ms
        ("0.0001h", False),  # 360ms
        (" 150 ms ", True),
        ("99%", False),  # percent is not time
        ("200 parsecs", False),
        ("abc", False),
        ("", False),
        (True, False),
        (None, False),
        (math.nan, False),
        (math.inf, False),
        (10**400, False),
        ([180], False),
        ({"value": 180}, False),
    ],
)
def test_time_values_are_converted_to_the_expression_unit(value: object, expected: bool) -> None:
    assert parse("p99 <= 200ms").evaluate({"p99": value}) is expected


def test_seconds_threshold_reads_milliseconds() -> None:
    expression = parse("p99 < 1s")
    assert expression.evaluate({"p99": "999ms"})
    assert not expression.evaluate({"p99": "1000ms"})
    assert expression.evaluate({"p99": 0.5})  # bare: seconds


def test_hours_and_minutes_convert() -> None:
    assert parse("age >= 1h").evaluate({"age": "60m"})
    assert not parse("age >= 1h").evaluate({"age": "59m"})
    assert parse("age == 90m").evaluate({"age": "1.5h"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(99.95, True), ("99.95%", True), ("99.95", True), ("99.8%", False), ("99.95ms", False)],
)
def test_percent_is_its_own_dimension(value: object, expected: bool) -> None:
    assert parse("availability >= 99.9%").evaluate({"availability": value}) is expected


def test_unitless_threshold_rejects_values_with_units() -> None:
    expression = parse("error_rate < 0.01")
    assert expression.evaluate({"error_rate": "0.004"})
    assert expression.evaluate({"error_rate": 0.004})
    assert not expression.evaluate({"error_rate": "0.004%"})
    assert not expression.evaluate({"error_rate": "4ms"})


def test_missing_metric_makes_every_operator_false() -> None:
    for op in ("<", "<=", ">", ">=", "==", "!="):
        assert not parse(f"a {op} 1").evaluate({})
        assert not parse(f"a {op} 1").evaluate({"a": "junk"})


def test_missing_metric_leaves_and_false_but_or_can_hold() -> None:
    assert not parse("a < 1 and b < 1").evaluate({"a": 0})
    assert parse("a < 1 or b < 1").evaluate({"a": 0})


def test_equality_is_exact_after_conversion() -> None:
    assert parse("x == 200ms").evaluate({"x": "0.2s"})
    assert parse("x == 0.3").evaluate({"x": 0.3})
    assert not parse("x == 0.3").evaluate({"x": 0.1 + 0.2})  # documented: exact float compare
    assert parse("x != 0.3").evaluate({"x": 0.1 + 0.2})


def test_negative_thresholds() -> None:
    assert parse("drift > -1.5").evaluate({"drift": -1})
    assert not parse("drift > -1.5").evaluate({"drift": "-2"})


@pytest.mark.parametrize(
    ("value", "quantity"),
    [
        (5, Quantity(5.0)),
        (0.004, Quantity(0.004)),
        ("0.004", Quantity(0.004)),
        ("180ms", Quantity(180.0, "ms")),
        ("-2 s", Quantity(-2.0, "s")),
        ("99.95%", Quantity(99.95, "%")),
        ("1e3", None),
        ("1,5", None),
        ("NaN", None),
        ("inf", None),
        (False, None),
        (None, None),
        (math.nan, None),
        (-math.inf, None),
        (10**400, None),
        ("1" * 400, None),
        ([], None),
    ],
)
def test_parse_quantity(value: object, quantity: Quantity | None) -> None:
    assert parse_quantity(value) == quantity


def test_quantity_conversion_across_dimensions_is_none() -> None:
    assert Quantity(5.0, "%").to("ms") is None
    assert Quantity(5.0).to("ms") is None
    assert Quantity(2.0, "h").to("m") == 120.0
    assert Quantity(1.0, "ms").to("h") == pytest.approx(1 / 3_600_000)


# --- Properties -------------------------------------------------------------------------------


def parse_or_error(text: str) -> Expr | ExpressionError:
    """The parsed expression, or the ``ExpressionError`` (anything else propagates)."""
    try:
        return parse(text)
    except ExpressionError as error:
        return error


metric_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,8}", fullmatch=True).filter(
    lambda name: name not in {"and", "or"}
)
numbers = st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,4})?", fullmatch=True)
units = st.sampled_from(["", "ms", "s", "m", "h", "%"])
operators = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    metric, number, unit, op = draw(metric_names), draw(numbers), draw(units), draw(operators)
    if draw(st.booleans()):
        return f"{number}{unit} {op} {metric}"
    return f"{metric} {op} {number}{unit}"


expressions = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
        inner.map(lambda text: f"({text})"),
    ),
    max_leaves=8,
).filter(lambda text: len(text) <= MAX_EXPRESSION_LENGTH)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_parser_never_raises_anything_but_expression_error(text: str) -> None:
    outcome = parse_or_error(text)
    if isinstance(outcome, ExpressionError):
        assert 0 <= outcome.position <= len(text)
        assert f"position {outcome.position}" in str(outcome)
    else:
        assert str(parse(str(outcome))) == str(outcome)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab<=>!() .0123456789-msh%andor", max_size=80))
def test_parser_on_near_grammar_noise(text: str) -> None:
    outcome = parse_or_error(text)
    if isinstance(outcome, ExpressionError):
        assert 0 <= outcome.position <= len(text)
    else:
        assert outcome.metrics()


@settings(max_examples=200, deadline=None)
@given(expressions)
def test_generated_expressions_round_trip(text: str) -> None:
    expression = parse(text)
    assert parse(str(expression)) == expression


@settings(max_examples=200, deadline=None)
@given(
    expressions,
    st.dictionaries(
        metric_names,
        st.one_of(
            st.none(),
            st.booleans(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(),
            st.text(max_size=10),
        ),
        max_size=5,
    ),
)
def test_evaluation_never_raises_and_matches_its_canonical_form(
    text: str, snapshot: dict[str, object]
) -> None:
    expression = parse(text)
    result = expression.evaluate(snapshot)
    assert isinstance(result, bool)
    assert parse(str(expression)).evaluate(snapshot) is result
