"""select, radio, checkboxes, yesno, notice."""

import pytest

from .helpers import messages, value

OPTIONS = [
    {"value": "a", "label": "A型"},
    {"value": "b", "label": "B型"},
    {"value": "o", "label": "O型"},
]


@pytest.mark.parametrize("ftype", ["select", "radio"])
def test_single_choice(ftype):
    field = {"key": "k", "type": ftype, "label": "血液型", "required": True, "options": OPTIONS}
    assert value(field, {"k": "b"}) == "b"
    assert messages(field, {"k": ""}) == ["血液型を選択してください。"]
    assert messages(field, {"k": "ab"}) == ["血液型は表示されている選択肢から選んでください。"]


CHECKS = {"key": "c", "type": "checkboxes", "label": "希望する支援", "options": OPTIONS}


def test_checkboxes_keep_option_order_and_drop_duplicates():
    assert value(CHECKS, {"c": ["o", "a", "o"]}) == ["a", "o"]


def test_checkboxes_required_min_max():
    assert messages({**CHECKS, "required": True}, {"c": []}) == ["希望する支援を選択してください。"]
    assert messages({**CHECKS, "min_selected": 2}, {"c": ["a"]}) == [
        "希望する支援は2つ以上選択してください。"
    ]
    assert messages({**CHECKS, "max_selected": 2}, {"c": ["a", "b", "o"]}) == [
        "希望する支援は2つまで選択できます（現在3つ選択されています）。"
    ]
    assert messages(CHECKS, {"c": ["x"]}) == [
        "希望する支援は表示されている選択肢から選んでください。"
    ]
    assert value({**CHECKS, "min_selected": 2}, {"c": []}) is None  # optional and empty


YESNO = {"key": "y", "type": "yesno", "label": "同居していますか", "required": True}


def test_yesno():
    assert value(YESNO, {"y": "yes"}) is True
    assert value(YESNO, {"y": "no"}) is False
    assert messages(YESNO, {}) == ["同居していますかを選択してください。"]
    assert messages(YESNO, {"y": "maybe"}) == [
        "同居していますかは「はい」か「いいえ」を選んでください。"
    ]


NOTICE = {"key": "n", "type": "notice", "label": "個人情報の取扱い", "body": "説明"}


def test_notice_must_be_confirmed():
    assert messages(NOTICE, {}) == [
        "「個人情報の取扱い」の内容を確認し、チェックを入れてください。"
    ]
    assert value(NOTICE, {"n": "1"}) is True
