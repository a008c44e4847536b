"""{% reversed_urls %}: the staff navigation's URLs, reversed once."""

from django.template import engines
from django.urls import reverse, set_script_prefix

from madoguchi.core.templatetags import urls_once

TEMPLATE = (
    '{% load urls_once %}{% reversed_urls inbox="staff:application_list" gone="no:such" as u %}'
    "{{ u.inbox }}|{{ u.gone }}|{% if u.gone %}shown{% endif %}"
)


def test_reverses_once_and_gives_empty_for_a_view_left_out():
    urls_once._cache.clear()
    template = engines["django"].from_string(TEMPLATE)
    assert template.render({}) == f"{reverse('staff:application_list')}||"
    assert len(urls_once._cache) == 1
    assert template.render({}) == f"{reverse('staff:application_list')}||"
    assert len(urls_once._cache) == 1


def test_follows_the_script_prefix():
    template = engines["django"].from_string(TEMPLATE)
    set_script_prefix("/town/")
    try:
        assert template.render({}).startswith("/town/staff/")
    finally:
        set_script_prefix("/")
    assert template.render({}).startswith("/staff/")
