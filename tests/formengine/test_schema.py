"""parse_form: the definition is accepted, or refused with a precise Japanese message."""

import pytest

from madoguchi.formengine.schema import FIELD_TYPES, SchemaError, parse_form


def parse(fields, steps=None, **extra):
    data = {"title": "様式", **extra}
    data["steps"] = steps if steps is not None else [{"key": "a", "title": "A", "fields": fields}]
    return parse_form(data, source="jidou_teate_nintei")


def refused(fields=None, steps=None, **extra) -> SchemaError:
    with pytest.raises(SchemaError) as info:
        parse(fields or [], steps=steps, **extra)
    return info.value


TEXT = {"key": "note", "type": "text", "label": "備考"}


def test_parses_a_complete_form():
    form = parse(
        [
            {"key": "name", "type": "name", "label": "氏名", "required": True},
            {
                "key": "kind",
                "type": "radio",
                "label": "種別",
                "options": [{"value": "a", "label": "A"}, {"value": 1, "label": "B"}],
            },
            {
                "key": "kids",
                "type": "repeat",
                "label": "児童",
                "item_label": "児童",
                "min": 1,
                "max": 5,
                "fields": [
                    {"key": "kid_name", "type": "text", "label": "氏名"},
                    {
                        "key": "kid_note",
                        "type": "text",
                        "label": "備考",
                        "visible_if": {"field": "kid_name", "filled": True},
                    },
                    {
                        "key": "kid_kind",
                        "type": "text",
                        "label": "x",
                        "required_if": {"field": "kind", "equals": "a"},
                    },
                ],
            },
        ],
        feedback=True,
        intro="前書き",
    )
    assert form.title == "様式" and form.feedback is True and form.intro == "前書き"
    assert [s.key for s in form.steps] == ["a"]
    assert form.step("a").fields[0].key == "name"
    assert form.step("zzz") is None
    assert form.field("kid_note").parent is form.field("kids")
    assert [f.key for f in form.all_fields()] == [
        "name",
        "kind",
        "kids",
        "kid_name",
        "kid_note",
        "kid_kind",
    ]
    assert form.field("kind").options[1].value == "1"  # option values are strings
    assert form.field("kids").item_counter == "人"


def test_yaml_dates_for_min_max_are_accepted():
    import datetime

    form = parse(
        [
            {
                "key": "d",
                "type": "date",
                "label": "日",
                "min": datetime.date(2020, 1, 1),
                "max": "today",
            }
        ]
    )
    assert form.field("d").min == "2020-01-01"


def test_unknown_type():
    err = refused([{"key": "child_birth_date", "type": "dat", "label": "生年月日"}])
    assert str(err) == (
        "標準様式「jidou_teate_nintei」の項目「child_birth_date」: 項目の種類「dat」は使えません"
        f"（使える種類: {', '.join(FIELD_TYPES)}）。"
    )
    assert err.source == "jidou_teate_nintei"
    assert err.field == "child_birth_date"
    assert err.problem.startswith("項目の種類「dat」は使えません")


def test_unknown_attribute():
    err = refused([{**TEXT, "maxlength": 10}])
    assert err.field == "note"
    assert err.problem.startswith(
        "「maxlength」という設定はありません（種類「text」で使える設定: key,"
    )


def test_notice_has_no_required_attribute():
    err = refused([{"key": "n", "type": "notice", "label": "注意", "body": "x", "required": True}])
    assert err.problem.startswith("「required」という設定はありません")


def test_missing_key():
    err = refused([TEXT, {"type": "text", "label": "備考"}])
    assert (
        str(err)
        == "標準様式「jidou_teate_nintei」: ステップ「a」の2番目の項目に「key」がありません。"
    )


def test_missing_label():
    err = refused([{"key": "note", "type": "text"}])
    assert (
        str(err)
        == "標準様式「jidou_teate_nintei」の項目「note」: 「label」（項目名）がありません。"
    )


def test_missing_type():
    err = refused([{"key": "note", "label": "備考"}])
    assert err.problem == "「type」（項目の種類）がありません。"


@pytest.mark.parametrize("bad", ["Note", "1note", "no-te", "no__te", "ノート", "a" * 65])
def test_bad_key_syntax(bad):
    err = refused([{**TEXT, "key": bad}])
    assert err.field == bad
    assert err.problem == (
        f"識別子「{bad}」は使えません。半角英小文字で始め、半角英小文字・数字・「_」だけで"
        "64文字以内にしてください（「__」は使えません）。"
    )


def test_duplicate_key_across_steps_and_repeats():
    err = refused(
        steps=[
            {"key": "a", "title": "A", "fields": [TEXT]},
            {
                "key": "b",
                "title": "B",
                "fields": [
                    {"key": "r", "type": "repeat", "label": "R", "fields": [dict(TEXT)]},
                ],
            },
        ]
    )
    assert err.field == "note"
    assert err.problem == (
        "識別子「note」が重複しています（ステップ「a」の項目「備考」と同じです）。"
        "識別子は様式全体で一意にしてください。"
    )


def test_condition_on_unknown_field():
    err = refused([{**TEXT, "visible_if": {"field": "nothing", "equals": "x"}}])
    assert err.problem == "visible_if が参照している項目「nothing」はありません。"


def test_condition_on_later_field():
    err = refused(
        [
            {**TEXT, "required_if": {"field": "later", "filled": True}},
            {"key": "later", "type": "text", "label": "後"},
        ]
    )
    assert err.field == "note"
    assert err.problem == (
        "required_if が参照している項目「later」はこの項目より後にあります。"
        "条件には、この項目より前にある項目だけを使えます。"
    )


def test_condition_on_field_inside_a_repeat_from_outside():
    err = refused(
        [
            {"key": "r", "type": "repeat", "label": "R", "fields": [TEXT]},
            {
                "key": "x",
                "type": "text",
                "label": "X",
                "visible_if": {"field": "note", "filled": True},
            },
        ]
    )
    assert err.problem == (
        "visible_if が参照している項目「note」は繰り返し項目「r」の中にあるため、"
        "その外からは参照できません。"
    )


@pytest.mark.parametrize(
    ("condition", "detail"),
    [
        ("yes", "条件は {field: …, equals: …} のような対応表で書いてください"),
        ({"field": "a"}, "equals, in, filled のどれか1つを指定してください"),
        (
            {"field": "a", "equals": "x", "in": ["x"]},
            "equals, in, filled のどれか1つを指定してください",
        ),
        (
            {"field": "a", "is": "x"},
            "「is」は使えません。使えるのは field, equals, in, filled, all, any, not です",
        ),
        ({"equals": "x"}, "参照する項目（field）がありません"),
        ({"field": "a", "in": "x"}, "「in」には値の一覧を指定してください"),
        ({"field": "a", "filled": "yes"}, "「filled」は true か false で指定してください"),
        ({"field": "a", "equals": ["x"]}, "「equals」には1つの値を指定してください"),
        ({"all": []}, "「all」には条件の一覧を指定してください"),
        (
            {"any": [{"field": "a", "filled": True}], "field": "a"},
            "「any」と他の設定は同時に使えません",
        ),
        (
            {"not": {"field": "a", "filled": True}, "equals": 1},
            "「not」と他の設定は同時に使えません",
        ),
    ],
)
def test_malformed_condition(condition, detail):
    err = refused([{"key": "a", "type": "text", "label": "A"}, {**TEXT, "visible_if": condition}])
    assert err.field == "note"
    assert err.problem == f"visible_if の書き方が正しくありません（{detail}）。"


def test_condition_value_must_be_an_option():
    err = refused(
        [
            {"key": "k", "type": "select", "label": "K", "options": [{"value": "a", "label": "A"}]},
            {**TEXT, "visible_if": {"field": "k", "equals": "b"}},
        ]
    )
    assert err.problem == "visible_if の値「b」は項目「k」の選択肢にありません（選択肢: a）。"


def test_condition_on_yesno_needs_a_boolean():
    err = refused(
        [
            {"key": "k", "type": "yesno", "label": "K"},
            {**TEXT, "visible_if": {"field": "k", "equals": "yes"}},
        ]
    )
    assert "true か false" in err.problem


@pytest.mark.parametrize("ftype", ["select", "radio", "checkboxes"])
def test_choice_without_options(ftype):
    err = refused([{"key": "k", "type": ftype, "label": "K"}])
    assert err.problem == "選択肢（options）がありません。"


def test_duplicate_option_values():
    err = refused(
        [
            {
                "key": "k",
                "type": "radio",
                "label": "K",
                "options": [{"value": "a", "label": "A"}, {"value": "a", "label": "B"}],
            }
        ]
    )
    assert err.problem == "選択肢の値「a」が重複しています。"


def test_malformed_option():
    err = refused([{"key": "k", "type": "select", "label": "K", "options": [{"value": "a"}]}])
    assert err.problem == "選択肢の1番目が正しくありません（value と label を指定してください）。"


@pytest.mark.parametrize(
    "field",
    [
        {"key": "k", "type": "integer", "label": "K", "min": 5, "max": 1},
        {"key": "k", "type": "money", "label": "K", "min": 5, "max": 1},
        {"key": "k", "type": "decimal", "label": "K", "min": 5, "max": 1},
        {"key": "k", "type": "date", "label": "K", "min": "2024-01-05", "max": "2024-01-01"},
        {"key": "k", "type": "repeat", "label": "K", "min": 5, "max": 1, "fields": [TEXT]},
    ],
)
def test_min_greater_than_max(field):
    err = refused([field])
    assert err.problem.startswith("min（")
    assert err.problem.endswith("）より大きくなっています。")


def test_min_selected_greater_than_max_selected():
    err = refused(
        [
            {
                "key": "k",
                "type": "checkboxes",
                "label": "K",
                "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
                "min_selected": 2,
                "max_selected": 1,
            }
        ]
    )
    assert err.problem == "min_selected（2）が max_selected（1）より大きくなっています。"


def test_repeat_without_fields():
    err = refused([{"key": "r", "type": "repeat", "label": "R"}])
    assert err.problem == "繰り返し項目に「fields」（繰り返す項目）がありません。"


def test_nested_repeat():
    inner = {"key": "inner", "type": "repeat", "label": "I", "fields": [TEXT]}
    err = refused([{"key": "r", "type": "repeat", "label": "R", "fields": [inner]}])
    assert err.field == "inner"
    assert err.problem == "繰り返し項目の中に繰り返し項目は置けません（入れ子は1段までです）。"


def test_empty_step():
    err = refused(steps=[{"key": "a", "title": "A", "fields": []}])
    assert err.step == "a"
    assert str(err) == (
        "標準様式「jidou_teate_nintei」のステップ「a」: "
        "項目がありません。ステップには少なくとも1つの項目が必要です。"
    )


def test_duplicate_step_key():
    err = refused(
        steps=[
            {"key": "a", "title": "A", "fields": [TEXT]},
            {"key": "a", "title": "A2", "fields": [{**TEXT, "key": "other"}]},
        ]
    )
    assert err.problem == "ステップの識別子「a」が重複しています。"


def test_no_steps():
    err = refused(steps=[])
    assert (
        str(err)
        == "標準様式「jidou_teate_nintei」: ステップ（steps）がありません。少なくとも1つ必要です。"
    )


def test_unknown_form_attribute():
    err = refused([TEXT], colour="red")
    assert err.problem.startswith("「colour」という設定はありません（様式全体で使える設定:")


def test_bad_attribute_values():
    assert (
        refused([{**TEXT, "max_length": 0}]).problem
        == "「max_length」は1以上の整数で指定してください。"
    )
    assert (
        refused([{**TEXT, "required": "yes"}]).problem
        == "「required」は true か false で指定してください。"
    )
    assert refused([{**TEXT, "pattern": "("}]).problem.startswith(
        "「pattern」の正規表現が正しくありません"
    )
    bad_accept = {"key": "f", "type": "file", "label": "F", "accept": ["exe"]}
    assert (
        refused([bad_accept]).problem
        == "「accept」は pdf, jpeg, png, heic から選んだ一覧で指定してください。"
    )
    bad_date = {"key": "d", "type": "date", "label": "D", "max": "tomorrow"}
    assert refused([bad_date]).problem == (
        "「max」は YYYY-MM-DD 形式の日付か today で指定してください（「tomorrow」は使えません）。"
    )


def test_postal_address_field_must_exist():
    err = refused(
        [{"key": "zip", "type": "postal_code", "label": "郵便番号", "address_field": "addr"}]
    )
    assert err.problem == "「address_field」の「addr」という住所の項目はありません。"


NAME = {"key": "person", "type": "name", "label": "被保険者の氏名"}
MAIL = {"key": "mail", "type": "email", "label": "メールアドレス"}


def test_applicant_fields_can_be_named():
    form = parse([NAME, MAIL], applicant={"name": "person", "email": "mail"})
    assert (form.applicant_name_field, form.applicant_email_field) == ("person", "mail")
    assert parse([NAME]).applicant_name_field is None


@pytest.mark.parametrize(
    ("applicant", "message"),
    [
        (
            {"name": "nobody"},
            "標準様式「jidou_teate_nintei」: 「applicant」のnameに指定した項目「nobody」がありません。",
        ),
        (
            {"name": "mail"},
            "標準様式「jidou_teate_nintei」の項目「mail」: 申請者のnameには、繰り返しの外にある種類「name」の"
            "項目を指定してください。",
        ),
        (
            {"phone": "mail"},
            "標準様式「jidou_teate_nintei」: 「applicant」に「phone」という設定はありません（name, email）。",
        ),
    ],
)
def test_bad_applicant_mapping_is_refused(applicant, message):
    assert str(refused([NAME, MAIL], applicant=applicant)) == message


def test_step_key_that_collides_with_a_page_is_refused():
    error = refused(steps=[{"key": "confirm", "title": "確認", "fields": [NAME]}])
    assert str(error) == (
        "標準様式「jidou_teate_nintei」のステップ「confirm」: 識別子「confirm」は画面の名前と重なるため、"
        "ステップには使えません（使えない識別子: confirm, done, receipt, save, start）。"
    )


def test_person_name_is_a_setting_of_text_fields_only():
    form = parse([{**TEXT, "person_name": True}])
    assert form.field("note").person_name is True
    assert refused([{**TEXT, "person_name": "yes"}]).problem == (
        "「person_name」は true か false で指定してください。"
    )
    err = refused([{"key": "memo", "type": "textarea", "label": "備考", "person_name": True}])
    assert err.problem.startswith("「person_name」という設定はありません（種類「textarea」")
