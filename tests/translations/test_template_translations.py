"""Translations in a standard template: checked by the loader (exact messages) and stored
without ever overwriting what staff translated."""

import shutil

import pytest
import yaml

from madoguchi.catalog.loader import (
    TEMPLATES_DIR,
    TemplateError,
    load_standard_templates,
    load_template_file,
)
from madoguchi.catalog.models import Procedure
from madoguchi.translations import services
from madoguchi.translations.models import TextTranslation

KEY = "inu_shibou"


@pytest.fixture
def template_dir(tmp_path):
    directory = tmp_path / "templates"
    directory.mkdir()
    shutil.copy(TEMPLATES_DIR / f"{KEY}.yaml", directory)
    return directory


def with_translations(directory, translations):
    path = directory / f"{KEY}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["translations"] = translations
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("translations", "message"),
    [
        (
            ["en"],
            f"標準様式「{KEY}」: 翻訳（translations）は、言語ごとの対応表で書いてください。",
        ),
        (
            {"fr": {"procedure.name": "Décès"}},
            f"標準様式「{KEY}」: 翻訳の言語「fr」は使えません"
            "（使える言語: en, ja-x-easy, zh-hans, ko, vi, pt）。",
        ),
        (
            {"en": ["Death"]},
            f"標準様式「{KEY}」: 言語「en」の翻訳は、文言の識別子と訳文の対応表で書いてください。",
        ),
        (
            {"en": {"field.nope.label": "Nope"}},
            f"標準様式「{KEY}」: 言語「en」の翻訳の「field.nope.label」は、この標準様式の文言に"
            "ありません（識別子は docs/form-schema.md の「翻訳」を参照してください）。",
        ),
        (
            {"en": {"procedure.name": "  "}},
            f"標準様式「{KEY}」: 言語「en」の翻訳「procedure.name」が空です。",
        ),
    ],
)
def test_bad_translations_are_refused_with_a_message(template_dir, translations, message):
    path = with_translations(template_dir, translations)
    with pytest.raises(TemplateError) as info:
        load_template_file(path)
    assert str(info.value) == message


@pytest.mark.django_db
def test_template_translations_are_stored_and_never_overwrite_staff(
    template_dir, municipality, django_user_model
):
    path = with_translations(
        template_dir,
        {"en": {"procedure.name": "Report of a dog's death", "form.title": "Dog death report"}},
    )
    definition = load_template_file(path)
    assert definition.translations["en"]["form.title"] == "Dog death report"
    report = load_standard_templates(municipality, directory=template_dir)
    assert report.ok, report.summary()
    procedure = Procedure.objects.get(municipality=municipality, slug=KEY)
    assert services.localized_procedure(procedure, "en").name == "Report of a dog's death"

    user = django_user_model.objects.create_user("editor")
    services.save_translations(procedure, "en", {"form.title": "Notice of a dog's death"}, user)
    with_translations(
        template_dir,
        {"en": {"procedure.name": "Dog's death", "form.title": "Dog death report (new)"}},
    )
    assert load_standard_templates(municipality, directory=template_dir).ok
    rows = dict(TextTranslation.objects.filter(procedure=procedure).values_list("key", "text"))
    assert rows == {"procedure.name": "Dog's death", "form.title": "Notice of a dog's death"}


# Which shipped templates carry which translations (docs/form-schema.md, "Translations shipped").
SHIPPED = {
    "sodai_gomi": ("en", "ja-x-easy", "zh-hans", "ko", "vi", "pt"),
    "jidou_teate_nintei": ("en",),
}


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_shipped_translations_cover_every_text(key):
    definition = load_template_file(TEMPLATES_DIR / f"{key}.yaml")
    texts = {t.key for t in services.template_texts(definition.procedure, definition.form)}
    assert tuple(definition.translations) == SHIPPED[key]
    for language, entries in definition.translations.items():
        assert set(entries) == texts, (language, texts - set(entries))
