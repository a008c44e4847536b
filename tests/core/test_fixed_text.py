"""{% fixedtext %}: fixed labels rendered once per language, nothing else allowed inside."""

import pytest
from django.template import TemplateSyntaxError, engines
from django.utils import translation

FIXED = (
    "{% load i18n fixed_text %}"
    '{% fixedtext %}<th>{% translate "受付番号" %}</th>'
    "<p>{% blocktranslate %}処理期限{% endblocktranslate %}</p>{% endfixedtext %}"
    "|{{ value }}"
)


def test_each_language_rendered_once_and_as_the_tags_would():
    template = engines["django"].from_string(FIXED)
    plain = engines["django"].from_string(
        FIXED.replace("{% fixedtext %}", "").replace("{% endfixedtext %}", "")
    )
    for language in ("ja", "en", "ja", "en"):
        with translation.override(language):
            for value in ("<a>", "b"):
                assert template.render({"value": value}) == plain.render({"value": value})
    with translation.override("en"):
        assert template.render({"value": ""}).startswith("<th>Reference number</th>")
    (node,) = [n for n in template.template.nodelist if hasattr(n, "rendered")]
    assert {key[0] for key in node.rendered} == {"ja", "en"}


@pytest.mark.parametrize(
    "inside",
    [
        "{{ value }}",
        '{% translate "受付番号" as label %}',
        "{% translate value %}",
        '{% translate "a"|upper %}',
        "{% blocktranslate %}{{ value }}件{% endblocktranslate %}",
        "{% blocktranslate with n=value %}{{ n }}{% endblocktranslate %}",
        "{% if value %}x{% endif %}",
        "{% csrf_token %}",
    ],
)
def test_anything_that_may_differ_between_requests_is_refused(inside):
    with pytest.raises(TemplateSyntaxError, match="fixedtext"):
        engines["django"].from_string(
            "{% load i18n fixed_text %}{% fixedtext %}" + inside + "{% endfixedtext %}"
        )
