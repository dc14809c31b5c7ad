"""Quarter strings and their bounds: UTC, start inclusive, end exclusive."""

import datetime as dt

import pytest

from governance.report import Quarter, QuarterError, quarter_bounds


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026Q1", utc(2026, 1, 1), utc(2026, 4, 1)),
        ("2026Q2", utc(2026, 4, 1), utc(2026, 7, 1)),
        ("2026Q3", utc(2026, 7, 1), utc(2026, 10, 1)),
        ("2026Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
        ("2028q1", utc(2028, 1, 1), utc(2028, 4, 1)),  # lower-case q is accepted
        (" 2026Q4 ", utc(2026, 10, 1), utc(2027, 1, 1)),
    ],
)
def test_bounds(text, start, end):
    assert quarter_bounds(text) == (start, end)
    assert start.tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("moment", "label"),
    [
        (utc(2026, 10, 1), "2026Q4"),  # the first instant belongs to the quarter
        (utc(2026, 12, 31, 23, 59, 59, 999999), "2026Q4"),
        (utc(2027, 1, 1), "2027Q1"),  # the end is the next quarter's start
        (utc(2026, 9, 30, 23, 59, 59, 999999), "2026Q3"),
        # 01:00 in UTC+2 is still the previous day (and quarter) in UTC.
        (dt.datetime(2026, 10, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2026Q3"),
    ],
)
def test_the_quarter_containing_a_moment(moment, label):
    quarter = Quarter.containing(moment)
    assert quarter.label == label
    assert quarter.start <= moment < quarter.end


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026Q5", "quarters 1 to 4"),
        ("2026Q0", "quarters 1 to 4"),
        ("26Q1", "YYYYQn"),
        ("2026-Q4", "YYYYQn"),
        ("2026Q", "YYYYQn"),
        ("2026Q10", "YYYYQn"),
        ("Q4 2026", "YYYYQn"),
        ("", "YYYYQn"),
        ("1969Q4", "from 1970"),
        ("9999Q1", "to 9998"),
    ],
)
def test_bad_quarters_say_what_is_wrong(text, message):
    with pytest.raises(QuarterError, match=message):
        quarter_bounds(text)


def test_neighbours_cross_years():
    quarter = Quarter.parse("2026Q4")
    assert str(quarter.next) == "2027Q1"
    assert str(quarter.previous) == "2026Q3"
    assert str(Quarter.parse("2027Q1").previous) == "2026Q4"
    assert quarter.last_day == dt.date(2026, 12, 31)
    assert Quarter.parse("1970Q1").previous is None
    assert Quarter.parse("9998Q4").next is None
