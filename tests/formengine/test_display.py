"""review_sections: answers formatted for the confirmation page, receipt and staff."""

from madoguchi.formengine.display import NOT_ANSWERED, review_sections

from .helpers import form_of
from .test_fields_jp import VALID_MN

FORM = form_of(
    steps=[
        {
            "key": "a",
            "title": "申請者",
            "fields": [
                {"key": "name", "type": "name", "label": "氏名"},
                {"key": "birth", "type": "date", "label": "生年月日"},
                {"key": "zip", "type": "postal_code", "label": "郵便番号"},
                {"key": "mn", "type": "individual_number", "label": "個人番号"},
                {"key": "income", "type": "money", "label": "所得"},
                {"key": "people", "type": "integer", "label": "人数", "unit": "人"},
                {
                    "key": "kind",
                    "type": "radio",
                    "label": "種別",
                    "options": [{"value": "a", "label": "新規"}],
                },
                {
                    "key": "wants",
                    "type": "checkboxes",
                    "label": "希望",
                    "options": [{"value": "x", "label": "送付"}, {"value": "y", "label": "窓口"}],
                },
                {"key": "same", "type": "yesno", "label": "同居"},
                {"key": "note", "type": "text", "label": "備考"},
                {
                    "key": "secret",
                    "type": "text",
                    "label": "隠れ",
                    "visible_if": {"field": "same", "equals": True},
                },
                {"key": "doc", "type": "file", "label": "添付", "max_files": 2},
                {
                    "key": "bank",
                    "type": "bank_account",
                    "label": "口座",
                },
                {
                    "key": "kids",
                    "type": "repeat",
                    "label": "児童",
                    "fields": [{"key": "kid", "type": "text", "label": "氏名"}],
                },
            ],
        },
        {
            "key": "b",
            "title": "配偶者",
            "fields": [
                {
                    "key": "sp",
                    "type": "text",
                    "label": "配偶者",
                    "visible_if": {"field": "same", "equals": True},
                }
            ],
        },
    ]
)

ANSWERS = {
    "name": {"family": "山田", "given": "太郎", "family_kana": "ヤマダ", "given_kana": "タロウ"},
    "birth": "2019-05-01",
    "zip": "1000001",
    "mn": VALID_MN,
    "income": 1234567,
    "people": 3,
    "kind": "a",
    "wants": ["x", "y"],
    "same": False,
    "secret": "should not show",
    "doc": [
        {
            "attachment": "u1",
            "name": "保険証.pdf",
            "content_type": "application/pdf",
            "size": 2048,
            "sha256": "x",
        },
        {
            "attachment": "u2",
            "name": "photo.png",
            "content_type": "image/png",
            "size": 3 * 1024 * 1024,
            "sha256": "y",
        },
    ],
    "bank": {
        "bank_code": "0001",
        "bank_name": "みずほ",
        "branch_code": "001",
        "branch_name": "東京営業部",
        "account_type": "普通",
        "account_number": "0000123",
        "holder_kana": "ヤマダ\u3000タロウ",
    },
    "kids": [{"kid": "花子"}, {"kid": "次郎"}],
}


def test_review_sections_format_every_value():
    sections = review_sections(FORM, ANSWERS)
    assert [s.step_key for s in sections] == ["a"]  # step b has no visible field
    rows = {row.label: row for row in sections[0].rows}
    assert "隠れ" not in rows
    values = {label: row.value for label, row in rows.items()}
    assert values == {
        "氏名": "山田\u3000太郎（ヤマダ\u3000タロウ）",
        "生年月日": "令和元年5月1日（2019年5月1日）",
        "郵便番号": "〒100-0001",
        "個人番号": "********" + VALID_MN[-4:],
        "所得": "1,234,567円",
        "人数": "3人",
        "種別": "新規",
        "希望": "送付、窓口",
        "同居": "いいえ",
        "備考": NOT_ANSWERED,
        "添付": "保険証.pdf（2KB）、photo.png（3.0MB）",
        "口座": "みずほ（0001）東京営業部（001） 普通 0000123 ヤマダ\u3000タロウ",
        "児童": "2人",
    }
    assert rows["備考"].answered is False
    kids = rows["児童"].children
    assert [(k.step_key, k.title, [(r.label, r.value) for r in k.rows]) for k in kids] == [
        ("kids.0", "児童（1人目）", [("氏名", "花子")]),
        ("kids.1", "児童（2人目）", [("氏名", "次郎")]),
    ]


def test_review_shows_conditional_steps_when_visible():
    sections = review_sections(FORM, {**ANSWERS, "same": True, "sp": "花子"})
    assert [s.title for s in sections] == ["申請者", "配偶者"]
    assert sections[1].rows[0].value == "花子"


def test_review_survives_answers_that_do_not_fit():
    sections = review_sections(FORM, {"birth": "not a date", "kids": "oops"})
    rows = {row.label: row.value for row in sections[0].rows}
    assert rows["生年月日"] == "not a date"
    assert rows["児童"] == NOT_ANSWERED
