"""Form texts under stable keys, and translating a definition text by text (pure)."""

from madoguchi.formengine.schema import parse_form
from madoguchi.formengine.texts import form_texts, normalize_text, translate_form

FORM = {
    "title": "犬の登録申請書",
    "intro": "飼い主について入力してください。",
    "steps": [
        {
            "key": "owner",
            "title": "飼い主",
            "fields": [
                {"key": "owner_name", "type": "name", "label": "氏名", "required": True},
                {
                    "key": "kind",
                    "type": "radio",
                    "label": "種類",
                    "help": "いずれかを選んでください。",
                    "options": [
                        {"value": "dog", "label": "犬"},
                        {"value": "other", "label": "その他"},
                    ],
                },
                {
                    "key": "detail",
                    "type": "text",
                    "label": "詳しく",
                    "visible_if": {"field": "kind", "equals": "other"},
                },
                {
                    "key": "pets",
                    "type": "repeat",
                    "label": "飼っている犬",
                    "item_label": "犬",
                    "fields": [{"key": "pet_name", "type": "text", "label": "犬の名前"}],
                },
                {"key": "ok", "type": "notice", "label": "注意", "body": "本文です。\n"},
            ],
        }
    ],
}


def test_every_text_has_a_stable_key_in_form_order():
    keys = [t.key for t in form_texts(FORM)]
    assert keys == [
        "form.title",
        "form.intro",
        "step.owner.title",
        "field.owner_name.label",
        "field.kind.label",
        "field.kind.help",
        "field.kind.option.dog",
        "field.kind.option.other",
        "field.detail.label",
        "field.pets.label",
        "field.pets.item_label",
        "field.pet_name.label",
        "field.ok.label",
        "field.ok.body",
    ]
    texts = {t.key: t for t in form_texts(FORM)}
    assert texts["field.kind.help"].where == "「種類」の説明（ヘルプ）"
    assert texts["field.kind.option.other"].text == "その他"


def test_translation_falls_back_to_japanese_per_text():
    english = {
        "field.kind.label": "Kind",
        "field.kind.option.dog": "Dog",
        "field.pet_name.label": "",
    }
    translated = translate_form(FORM, lambda key, ja: english.get(key))
    form = parse_form(translated, source="t")
    assert form.field("kind").label == "Kind"
    assert [o.label for o in form.field("kind").options] == ["Dog", "その他"]
    # an empty translation is no translation
    assert form.field("pet_name").label == "犬の名前"
    assert form.field("owner_name").label == "氏名"
    assert form.title == "犬の登録申請書"
    # values, keys and conditions are untouched: answers stay comparable
    assert [o.value for o in form.field("kind").options] == ["dog", "other"]
    assert form.field("detail").visible_if.to_dict() == {"field": "kind", "equals": "other"}
    # the stored definition itself is never changed
    assert FORM["steps"][0]["fields"][1]["label"] == "種類"


def test_lookup_receives_the_japanese_text():
    seen = {}
    translate_form(FORM, lambda key, ja: seen.setdefault(key, ja) and None)
    assert seen["field.ok.body"] == "本文です。\n"
    assert seen["step.owner.title"] == "飼い主"


def test_normalize_text_ignores_line_ends_and_trailing_space():
    assert normalize_text("本文です。\r\n二行目  \n\n") == "本文です。\n二行目"
    assert normalize_text("") == ""
