"""Reporting periods: what a query string names, the period before it, labels, and per-field errors."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from gridgov.analytics.periods import Period, parse, period_of


def parsed(**params) -> Period:
    return parse(params)


def errors(**params) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        parse(params)
    return caught.value.message_dict


@pytest.mark.parametrize(("params", "kind", "start", "end", "label"), [
    ({"period": "day", "date": "2026-09-15"}, "day", date(2026, 9, 15), date(2026, 9, 16), "2026-09-15"),
    # 2026-09-15 is a Tuesday: its ISO week starts on Monday the 14th.
    ({"period": "week", "date": "2026-09-15"}, "week", date(2026, 9, 14), date(2026, 9, 21),
     "2026 年第 38 周"),
    # Sunday belongs to the week of the Monday before it.
    ({"period": "week", "date": "2026-09-20"}, "week", date(2026, 9, 14), date(2026, 9, 21),
     "2026 年第 38 周"),
    # New Year's Day 2027 (a Friday) is in ISO week 53 of 2026.
    ({"period": "week", "date": "2027-01-01"}, "week", date(2026, 12, 28), date(2027, 1, 4),
     "2026 年第 53 周"),
    ({"period": "month", "date": "2026-02-15"}, "month", date(2026, 2, 1), date(2026, 3, 1), "2026-02"),
    ({"period": "month", "date": "2026-12-31"}, "month", date(2026, 12, 1), date(2027, 1, 1), "2026-12"),
    ({"period": "quarter", "date": "2026-08-31"}, "quarter", date(2026, 7, 1), date(2026, 10, 1), "2026 Q3"),
    ({"period": "quarter", "date": "2026-12-01"}, "quarter", date(2026, 10, 1), date(2027, 1, 1), "2026 Q4"),
    ({"period": "year", "date": "2024-02-29"}, "year", date(2024, 1, 1), date(2025, 1, 1), "2024"),
    # custom: [start, end), the label names the last day.
    ({"period": "custom", "start": "2026-09-10", "end": "2026-09-20"}, "custom", date(2026, 9, 10),
     date(2026, 9, 20), "2026-09-10 – 2026-09-19"),
    ({"period": " month ", "date": " 2026-09-01 "}, "month", date(2026, 9, 1), date(2026, 10, 1), "2026-09"),
])
def test_a_period_from_the_query(params, kind, start, end, label):
    period = parse(params)
    assert (period.kind, period.start, period.end, period.label) == (kind, start, end, label)
    assert period.days == (end - start).days
    assert parse(period.query()) == period  # links name the same period again
    assert period.as_dict() == {"kind": kind, "start": start, "end": end, "label": label}


def test_the_default_is_the_month_of_today():
    today = timezone.localdate()
    assert parsed() == period_of("month", today)
    assert parsed(period="week") == period_of("week", today)
    assert parse({}, default_kind="day") == period_of("day", today)


def test_bounds_are_local_midnights():
    shanghai = ZoneInfo("Asia/Shanghai")
    start, end = parsed(period="day", date="2026-09-01").bounds()
    assert (start, end) == (datetime(2026, 9, 1, tzinfo=shanghai), datetime(2026, 9, 2, tzinfo=shanghai))
    assert start == datetime(2026, 8, 31, 16, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(("params", "start", "end"), [
    ({"period": "day", "date": "2026-03-01"}, date(2026, 2, 28), date(2026, 3, 1)),
    ({"period": "week", "date": "2026-01-01"}, date(2025, 12, 22), date(2025, 12, 29)),
    # A month before January is December; months have their own lengths.
    ({"period": "month", "date": "2026-01-20"}, date(2025, 12, 1), date(2026, 1, 1)),
    ({"period": "month", "date": "2026-03-20"}, date(2026, 2, 1), date(2026, 3, 1)),
    ({"period": "quarter", "date": "2026-02-01"}, date(2025, 10, 1), date(2026, 1, 1)),
    ({"period": "year", "date": "2026-06-01"}, date(2025, 1, 1), date(2026, 1, 1)),
    # A custom range: the same number of days just before it.
    ({"period": "custom", "start": "2026-09-10", "end": "2026-09-20"}, date(2026, 8, 31), date(2026, 9, 10)),
])
def test_the_previous_period_is_of_the_same_kind_just_before(params, start, end):
    period = parse(params)
    previous = period.previous()
    assert (previous.kind, previous.start, previous.end) == (period.kind, start, end)
    assert previous.end == period.start


def test_a_wrong_kind_is_named():
    assert errors(period="decade", date="2026-09-01") == {"period": ["请选择日、周、月、季、年或自定义。"]}
    # Both mistakes at once, each on its field.
    assert set(errors(period="fortnight", date="2026-13-01")) == {"period", "date"}


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "yesterday", "2026/09/01", "1.9.2026"])
def test_a_bad_date_is_named(bad):
    assert errors(period="month", date=bad) == {"date": ["请按 YYYY-MM-DD 格式输入日期。"]}


def test_a_custom_range_needs_both_ends_in_order():
    assert errors(period="custom") == {"start": ["请输入开始日期。"], "end": ["请输入结束日期的次日。"]}
    assert errors(period="custom", start="2026-09-01", end="soon") == {
        "end": ["请按 YYYY-MM-DD 格式输入日期。"]}
    assert errors(period="custom", start="2026-09-10", end="2026-09-01") == {"end": ["结束必须晚于开始。"]}
    assert errors(period="custom", start="2026-09-10", end="2026-09-10") == {"end": ["结束必须晚于开始。"]}
    one_day = parsed(period="custom", start="2026-09-10", end="2026-09-11")
    assert one_day.days == 1 and one_day.label == "2026-09-10 – 2026-09-10"


def test_a_custom_range_is_at_most_ten_years():
    # Ten years exactly (three leap days in it) is fine; a day more is refused.
    ten = parsed(period="custom", start="2016-01-01", end="2026-01-01")
    assert ten.days == 3653
    assert errors(period="custom", start="2016-01-01", end="2026-01-02") == {"end": ["最多选择十年。"]}
    assert errors(period="custom", start="2016-01-01", end="2027-01-01") == {"end": ["最多选择十年。"]}
    # From a 29 February, ten years later ends on the 28th.
    assert parsed(period="custom", start="2016-02-29", end="2026-02-28").days == 3652
    assert "end" in errors(period="custom", start="2016-02-29", end="2026-03-01")


def test_messages_follow_the_language():
    from django.utils import translation

    with translation.override("en"):
        assert errors(period="custom", start="2026-09-10", end="2026-09-01") == {
            "end": ["The end must be after the start."]}
        assert parsed(period="week", date="2026-09-15").label == "2026 week 38"


def test_period_of_every_day_of_a_year_contains_it():
    day = date(2024, 1, 1)
    while day.year == 2024:
        for kind in ("day", "week", "month", "quarter", "year"):
            period = period_of(kind, day)
            assert period.start <= day < period.end, (kind, day)
            assert period.previous().end == period.start
        day += timedelta(days=1)


@pytest.mark.parametrize(("start", "end", "months", "days"), [
    ("2026-01-01", "2027-01-01", [f"2026-{m:02d}-01" for m in range(1, 13)], []),
    ("2026-09-01", "2026-10-01", ["2026-09-01"], []),
    ("2026-09-07", "2026-09-14", [], [("2026-09-07", "2026-09-14")]),
    ("2026-08-20", "2026-11-03", ["2026-09-01", "2026-10-01"], [("2026-08-20", "2026-09-01"),
                                                                ("2026-11-01", "2026-11-03")]),
    ("2026-08-20", "2026-09-10", [], [("2026-08-20", "2026-09-10")]),
])
def test_a_period_splits_into_whole_months_and_the_days_around_them(start, end, months, days):
    period = Period("custom", date.fromisoformat(start), date.fromisoformat(end))
    assert period.split_by_month() == ([date.fromisoformat(m) for m in months],
                                       [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in days])
