"""The language switcher's options (core.templatetags.language_switcher), built once per
process and selected language."""

from django.template import Context, Template
from django.utils.translation import get_language_info

RENDER = Template("{% load language_switcher %}{% language_options lang %}")


def options(lang: str) -> str:
    return RENDER.render(Context({"lang": lang}))


def test_every_language_is_offered_once_and_the_current_one_is_selected(settings):
    html = options("en")
    for code, _name in settings.LANGUAGES:
        name = get_language_info(code)["name_local"]
        selected = " selected" if code == "en" else ""
        assert html.count(f'<option value="{code}" lang="{code}"{selected}>{name}</option>') == 1
    assert html.count(" selected") == 1
    assert '<option value="ja-x-easy" lang="ja-x-easy">やさしい日本語</option>' in html


def test_each_language_gets_its_own_selection():
    assert '<option value="ja" lang="ja" selected>' in options("ja")
    assert '<option value="ja" lang="ja">' in options("ko")
    assert '<option value="ko" lang="ko" selected>' in options("ko")
    assert " selected" not in options("xx")


def test_the_options_follow_the_settings(settings):
    settings.LANGUAGES = [("ja", "日本語"), ("en", "English")]
    html = options("ja")
    assert html.count("<option") == 2
    assert "Português" not in html
