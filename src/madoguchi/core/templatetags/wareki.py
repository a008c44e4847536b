"""Template filters showing dates the way Japanese municipal documents do: 和暦 first."""

import datetime

from django import template
from django.utils import timezone

from madoguchi.jp.wareki import format_date

register = template.Library()


@register.filter
def wareki(value, style: str = "both") -> str:
    """A date or datetime as 「令和8年11月27日（2026年11月27日）」 (style: both/wareki/seireki)."""
    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return format_date(value, style)


@register.filter
def wareki_datetime(value) -> str:
    """A datetime as 「令和8年11月27日 17:00」 in the local time zone."""
    if not value:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{format_date(local.date(), 'wareki')} {local:%H:%M}"
