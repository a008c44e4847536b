"""render_step: DADS markup, accessibility attributes, no-JS actions (needs Django settings,
not the database)."""

import re

from madoguchi.formengine.fields.base import FieldError
from madoguchi.formengine.rendering import render_error_summary, render_step
from madoguchi.formengine.validation import validate_step

from .helpers import form_of

FORM = form_of(
    steps=[
        {
            "key": "a",
            "title": "申請者",
            "fields": [
                {
                    "key": "name",
                    "type": "name",
                    "label": "氏名",
                    "required": True,
                    "help": "戸籍上の氏名",
                },
                {"key": "birth", "type": "date", "label": "生年月日", "required": True},
                {"key": "zip", "type": "postal_code", "label": "郵便番号", "address_field": "addr"},
                {"key": "addr", "type": "address", "label": "住所"},
                {"key": "email", "type": "email", "label": "メールアドレス", "confirm": True},
                {"key": "mn", "type": "individual_number", "label": "個人番号"},
                {"key": "income", "type": "money", "label": "所得"},
                {"key": "note", "type": "textarea", "label": "備考"},
                {
                    "key": "kind",
                    "type": "select",
                    "label": "種別",
                    "options": [
                        {"value": "new", "label": "新規"},
                        {"value": "chg", "label": "変更"},
                    ],
                },
                {"key": "married", "type": "yesno", "label": "配偶者の有無"},
                {
                    "key": "spouse",
                    "type": "text",
                    "label": "配偶者の氏名",
                    "visible_if": {"field": "married", "equals": True},
                },
                {
                    "key": "wants",
                    "type": "checkboxes",
                    "label": "希望",
                    "options": [{"value": "x", "label": "送付"}, {"value": "y", "label": "窓口"}],
                },
                {"key": "bank", "type": "bank_account", "label": "口座"},
                {"key": "doc", "type": "file", "label": "保険証の写し", "max_files": 2},
                {
                    "key": "children",
                    "type": "repeat",
                    "label": "児童",
                    "item_label": "児童",
                    "min": 1,
                    "max": 2,
                    "fields": [
                        {"key": "child_name", "type": "text", "label": "氏名", "required": True},
                        {
                            "key": "child_zip",
                            "type": "postal_code",
                            "label": "郵便番号",
                            "address_field": "child_addr",
                        },
                        {"key": "child_addr", "type": "address", "label": "住所"},
                    ],
                },
                {
                    "key": "agree",
                    "type": "notice",
                    "label": "注意事項",
                    "body": "一段落目\n\n二段落目",
                },
            ],
        },
        {
            "key": "b",
            "title": "次",
            "fields": [
                {
                    "key": "later",
                    "type": "text",
                    "label": "後の項目",
                    "visible_if": {"field": "married", "equals": True},
                },
                {"key": "always", "type": "text", "label": "常に表示"},
            ],
        },
    ]
)


def render(raw=None, errors=None, context=None, step="a"):
    return str(render_step(FORM, step, raw or {}, errors or [], context))


def test_labels_tags_and_ids():
    html = render()
    assert (
        '<label class="dads-label" for="f-addr">住所 <span class="dads-optional">任意</span></label>'
        in html
    )
    assert (
        '<legend class="dads-legend">氏名 <span class="dads-required">必須</span></legend>' in html
    )
    assert '<p class="dads-help" id="f-name-help">戸籍上の氏名</p>' in html
    assert 'aria-describedby="f-name-help"' in html
    assert 'id="f-name__family" name="name__family"' in html
    assert 'autocomplete="family-name"' in html
    assert 'id="f-birth__era" name="birth__era"' in html
    assert '<option value="令和">令和</option>' in html
    assert 'id="f-children__0__child_name" name="children__0__child_name"' in html
    assert "style=" not in html and "<script" not in html and "onclick" not in html


def test_every_label_points_at_an_existing_input():
    html = render()
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    assert len(ids) == len(re.findall(r'\sid="([^"]+)"', html)), "duplicate ids"
    for target in re.findall(r'for="([^"]+)"', html):
        assert target in ids, target


def test_errors_are_shown_under_the_label_and_linked():
    result = validate_step(FORM, "a", {"children__count": "1", "email": "x"}, {}, {}, None)
    html = render({"email": "x", "children__count": "1"}, result.errors)
    assert (
        '<p class="dads-error-text" id="f-name-error-1">エラー：氏名を入力してください。</p>'
        in html
    )
    assert 'aria-describedby="f-name-help f-name-error-1"' in html
    assert 'aria-invalid="true"' in html
    assert "エラー：メールアドレスの形式が正しくありません（例：taro@example.jp）。" in html
    assert "エラー：児童（1人目）の氏名を入力してください。" in html
    assert "エラー：「注意事項」の内容を確認し、チェックを入れてください。" in html
    # every error's input_id exists in the page (the error summary links to it)
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    for error in result.errors:
        assert error.input_id in ids, error


def test_values_are_kept_and_escaped():
    html = render(
        {
            "addr": '<b>"東京"</b>',
            "mn": "123412341234",
            "kind": "chg",
            "wants": ["y"],
            "married": "no",
        }
    )
    assert 'value="&lt;b&gt;&quot;東京&quot;&lt;/b&gt;"' in html
    assert 'value="123412341234"' in html  # the input keeps the raw value
    assert 'inputmode="numeric" autocomplete="off"' in html
    assert '<option value="chg" selected>変更</option>' in html
    assert 'name="wants" value="y" checked' in html
    assert 'name="married" value="no" checked' in html


def test_repeat_markup_and_actions():
    html = render({"children__count": "2"})
    assert '<input type="hidden" name="children__count" value="2">' in html
    assert '<legend class="dads-legend">児童（2人目）</legend>' in html
    assert 'name="_action" value="remove:children:1"' in html
    assert 'value="add:children"' not in html  # max 2 reached
    html = render({"children__count": "1"})
    assert (
        '<button type="submit" class="dads-button dads-button--secondary" name="_action" value="add:children" formnovalidate>児童を追加</button>'
        in html
    )
    assert "remove:children:0" not in html  # min 1


def test_postal_buttons_and_targets():
    html = render({"children__count": "1"})
    assert 'value="postal:zip"' in html and 'data-postal-target="f-addr"' in html
    assert 'value="postal:children__0__child_zip"' in html
    assert 'data-postal-target="f-children__0__child_addr"' in html
    assert "住所を検索" in html


def test_conditional_fields_on_the_same_step():
    hidden = render({"married": "no"})
    assert re.search(
        r'id="field-spouse" data-field="spouse" data-condition="[^"]+" hidden>', hidden
    )
    assert "&quot;name&quot;: &quot;married&quot;, &quot;equals&quot;: &quot;yes&quot;" in hidden
    shown = render({"married": "yes"})
    assert re.search(r'id="field-spouse" data-field="spouse" data-condition="[^"]+">', shown)


def test_conditional_fields_on_earlier_steps_are_left_out():
    assert "後の項目" not in render(step="b", context={"answers": {"married": False}})
    assert "後の項目" in render(step="b", context={"answers": {"married": True}})


def test_notice_file_and_bank():
    kept = {
        "attachment": "u1",
        "name": "保険証.pdf",
        "content_type": "application/pdf",
        "size": 2048,
        "sha256": "x",
    }
    html = render(
        {"doc__keep": ["u1", "unknown"], "bank__bank_code": "0001", "bank__branch_code": "001"},
        context={"known_files": {"u1": kept}},
    )
    assert (
        '<div class="dads-notice__body" id="f-agree-body"><p>一段落目</p>\n\n<p>二段落目</p></div>'
        in html
    )
    assert 'name="agree" value="1"' in html
    assert 'name="doc__keep" value="u1" checked' in html and "保険証.pdf（2KB）" in html
    assert "unknown" not in html
    assert (
        'type="file" id="f-doc" name="doc" accept=".pdf,application/pdf,.jpg,image/jpeg,.jpeg,.png,image/png" multiple'
        in html
    )
    assert "添付できるファイル：PDF、JPEG、PNG（1ファイル10MBまで、2件まで）" in html
    assert '<span class="dads-help">みずほ</span>' in html
    assert '<span class="dads-help">東京営業部</span>' in html


def test_error_summary():
    html = str(render_error_summary([FieldError("a", "f-a", "A", "Aを入力してください。")]))
    assert '<a href="#f-a">Aを入力してください。</a>' in html
    assert "入力内容に1件の誤りがあります。" in html
    assert str(render_error_summary([])) == ""


def test_review_template():
    from django.template.loader import render_to_string

    from madoguchi.formengine.display import review_sections

    answers = {
        "name": {"family": "山田", "given": "太郎"},
        "note": "一行目\n二行目<b>",
        "married": True,
    }
    answers["children"] = [{"child_name": "花子"}]
    html = render_to_string("formengine/review.html", {"sections": review_sections(FORM, answers)})
    assert '<h2 class="dads-heading-m">申請者</h2>' in html
    assert "<dt>氏名</dt>" in html and "山田\u3000太郎" in html
    assert "一行目<br>二行目&lt;b&gt;" in html
    assert '<h3 class="dads-heading-s">児童（1人目）</h3>' in html
    assert '<dd class="dads-summary__empty">（未入力）</dd>' in html
