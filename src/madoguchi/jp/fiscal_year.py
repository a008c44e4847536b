"""年度 (the Japanese fiscal year, 1 April to 31 March), in which municipalities plan, report
and publish their figures. Pure: no Django."""

from __future__ import annotations

from datetime import date

from .wareki import to_wareki


def fiscal_year_of(d: date) -> int:
    """The 年度 a day belongs to, by its starting year (2027-03-31 → 2026)."""
    return d.year if d.month >= 4 else d.year - 1


def fiscal_year_period(fiscal_year: int) -> tuple[date, date]:
    """First and last day of the 年度."""
    return date(fiscal_year, 4, 1), date(fiscal_year + 1, 3, 31)


def last_complete_fiscal_year(today: date) -> int:
    return fiscal_year_of(today) - 1


def fiscal_year_label(fiscal_year: int) -> str:
    """「令和8年度」: the era of its first day, as municipalities name it (2019 → 平成31年度)."""
    era, year, _month, _day = to_wareki(date(fiscal_year, 4, 1))
    return f"{era}{'元' if year == 1 else year}年度"
