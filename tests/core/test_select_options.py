"""`{% options %}` (core.templatetags.select_options): the <option> elements of a list."""

from django.template import Context, Template
from django.utils import translation
from django.utils.translation import gettext_lazy

from madoguchi.applications.models import Channel


def render(choices, selected=None, *, with_selected=True) -> str:
    source = "{% load select_options %}" + (
        "{% options choices selected %}" if with_selected else "{% options choices %}"
    )
    return Template(source).render(Context({"choices": choices, "selected": selected}))


def test_each_pair_is_an_option_and_the_chosen_one_is_selected():
    assert render([("a", "A"), ("b", "B")], "b") == (
        '<option value="a">A</option><option value="b" selected>B</option>'
    )


def test_an_id_from_the_url_selects_the_option_of_the_same_id_from_the_database():
    assert render([(1, "一"), (12, "十二")], "12") == (
        '<option value="1">一</option><option value="12" selected>十二</option>'
    )
    assert render([(1, "一"), (12, "十二")], 1) == (
        '<option value="1" selected>一</option><option value="12">十二</option>'
    )


def test_none_selects_nothing_and_the_argument_may_be_left_out():
    assert " selected" not in render([(1, "一"), ("None", "None")], None)
    assert render([(1, "一")], with_selected=False) == '<option value="1">一</option>'


def test_values_and_labels_are_escaped():
    html = render([('"><script>', "<b>山田</b> & 花子")], '"><script>')
    assert html == (
        '<option value="&quot;&gt;&lt;script&gt;" selected>'
        "&lt;b&gt;山田&lt;/b&gt; &amp; 花子</option>"
    )


def test_lazy_labels_are_rendered_in_the_active_language():
    with translation.override("ja"):
        assert '<option value="counter" selected>窓口</option>' in render(
            Channel.choices, "counter"
        )
        japanese = render([("x", gettext_lazy("受付一覧"))])
    with translation.override("en"):
        english = render([("x", gettext_lazy("受付一覧"))])
    assert japanese == '<option value="x">受付一覧</option>'
    assert english == '<option value="x">Received applications</option>'
