"""年度: property tests (every day lies in its 年度's period; 年度 start on 1 April) and the
names municipalities use."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from madoguchi.jp.fiscal_year import (
    fiscal_year_label,
    fiscal_year_of,
    fiscal_year_period,
    last_complete_fiscal_year,
)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_lies_in_its_fiscal_year(day):
    start, end = fiscal_year_period(fiscal_year_of(day))
    assert start <= day <= end
    assert (start.month, start.day, end.month, end.day) == (4, 1, 3, 31)
    assert fiscal_year_of(end + timedelta(days=1)) == fiscal_year_of(day) + 1
    assert last_complete_fiscal_year(day) == fiscal_year_of(day) - 1


def test_boundaries():
    assert fiscal_year_of(date(2027, 3, 31)) == 2026
    assert fiscal_year_of(date(2026, 4, 1)) == 2026


def test_labels_use_the_era_of_the_first_day():
    assert fiscal_year_label(2026) == "令和8年度"
    assert fiscal_year_label(2020) == "令和2年度"
    assert fiscal_year_label(2019) == "平成31年度"  # began 1 April 2019, under 平成
    assert fiscal_year_label(1989) == "平成元年度"
