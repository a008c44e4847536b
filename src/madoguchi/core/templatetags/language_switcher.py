"""`{% language_options LANG %}`: the <option>s of the language switcher on every page,
built once per process (and per selected language) from settings.LANGUAGES and Django's
language names, rather than looked up and rendered option by option on every request."""

from django import template
from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language_info

register = template.Library()

_cache: dict[tuple, str] = {}


@register.simple_tag
def language_options(current: str) -> str:
    key = (current, tuple(settings.LANGUAGES))
    html = _cache.get(key)
    if html is None:
        options = []
        for code, _name in settings.LANGUAGES:
            info = get_language_info(code)
            code = escape(info["code"])
            selected = " selected" if info["code"] == current else ""
            name = escape(info["name_local"])
            options.append(f'<option value="{code}" lang="{code}"{selected}>{name}</option>')
        html = "\n            ".join(options)
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = html
    return mark_safe(html)  # noqa: S308 - built from escaped settings and Django's names
