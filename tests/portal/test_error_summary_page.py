"""The step page's error summary (real portal view, standard 児童手当 認定請求 form): every line
names its field and, in the 児童 repeat, which child; the links lead to the inputs."""

import html as htmllib
import re

import pytest

from .conftest import start
from .test_apply import SLUG, child, post, walk_to

pytestmark = pytest.mark.django_db


def summary_lines(page: str) -> list[tuple[str, str]]:
    box = re.search(r'<div class="dads-error-summary.*?</div>', page, re.S).group(0)
    return [
        (href, htmllib.unescape(text))
        for href, text in re.findall(r'<li><a href="#([^"]+)">(.*?)</a></li>', box)
    ]


def test_children_step_summary_names_each_child(client, loaded_municipality):
    url = walk_to(client, start(client, SLUG), "children_step")
    first = child(0, "一郎", "イチロウ", "2", "34567890123")
    second = child(1, "二郎", "ジロウ", "5", "45678901234")
    first["children__0__child_individual_number"] = "1234"
    second["children__1__child_individual_number"] = "12345"
    second["children__1__child_birth_date__era"] = "平成"
    second["children__1__child_birth_date__year"] = "31"
    response = post(client, url, {"children__count": "2", **first, **second})
    assert response.status_code == 200
    page = response.content.decode()
    assert summary_lines(page) == [
        (
            "f-children__0__child_individual_number",
            "児童（1人目）の個人番号（マイナンバー）：個人番号は12桁の数字で入力してください。",
        ),
        (
            "f-children__1__child_birth_date__year",
            "児童（2人目）の生年月日：平成31年5月10日は存在しません。令和元年5月10日と入力してください。",
        ),
        (
            "f-children__1__child_individual_number",
            "児童（2人目）の個人番号（マイナンバー）：個人番号は12桁の数字で入力してください。",
        ),
    ]
    assert "入力内容に3件の誤りがあります" in page
    for href, _text in summary_lines(page):
        assert f'id="{href}"' in page
