"""Translations of a procedure's texts: fallback per text, stale translations, staff saves."""

import pytest

from madoguchi.catalog.loader import load_standard_templates
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.translations import services
from madoguchi.translations.models import TextTranslation, TranslationChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure(municipality):
    load_standard_templates(municipality, keys=["inu_touroku"])
    return Procedure.objects.get(municipality=municipality, slug="inu_touroku")


def translate(procedure, language, key, text, source=None):
    japanese = {t.key: t.text for t in services.all_texts(procedure)}
    return TextTranslation.objects.create(
        procedure=procedure,
        language=language,
        key=key,
        source=japanese[key] if source is None else source,
        text=text,
    )


def first_label(form):
    return form.steps[0].fields[0]


def test_form_falls_back_to_japanese_per_text(procedure):
    version = procedure.current_version
    japanese = version.form
    field = first_label(japanese)
    translate(procedure, "en", f"field.{field.key}.label", "Name of the owner")
    translate(procedure, "en", "form.title", "Dog registration")

    english = services.localized_form(FormVersion.objects.get(pk=version.pk), "en")
    assert english.title == "Dog registration"
    assert english.field(field.key).label == "Name of the owner"
    # untranslated texts stay Japanese
    assert english.steps[0].title == japanese.steps[0].title
    other = japanese.steps[0].fields[1]
    assert english.field(other.key).label == other.label
    # another language without translations: the Japanese form itself
    fresh = FormVersion.objects.get(pk=version.pk)
    assert services.localized_form(fresh, "vi") is fresh.form
    # Japanese (no content language): the form as stored
    assert services.localized_form(fresh, None) is fresh.form


def test_translation_of_a_changed_japanese_text_is_not_used(procedure):
    field = first_label(procedure.current_version.form)
    row = translate(procedure, "en", f"field.{field.key}.label", "Old", source="昔の項目名")
    version = FormVersion.objects.get(pk=procedure.current_version_id)
    assert services.localized_form(version, "en").field(field.key).label == field.label
    table = services.translation_table(procedure, ["en"])
    cell = next(r for r in table if r.text.key == row.key).cells["en"]
    assert cell == {"text": "Old", "state": services.OUTDATED}


def test_procedure_page_falls_back_per_text(procedure):
    translate(procedure, "en", "procedure.name", "Dog registration")
    local = services.localized_procedure(procedure, "en")
    assert local.name == "Dog registration"
    assert local.description == procedure.description  # not translated
    assert local.slug == procedure.slug
    assert services.localized_procedure(procedure, None) is procedure
    (listed,) = services.localized_procedures([procedure], "en")
    assert listed.name == "Dog registration" and listed.original == procedure


def test_staff_save_records_changes_and_an_empty_text_removes(procedure, django_user_model):
    user = django_user_model.objects.create_user("editor")
    changed = services.save_translations(
        procedure,
        "vi",
        {"procedure.name": " Đăng ký chó ", "form.title": "", "no.such.key": "x"},
        user,
    )
    assert changed == ["procedure.name"]
    row = TextTranslation.objects.get(procedure=procedure, language="vi", key="procedure.name")
    assert (row.text, row.source, row.origin) == ("Đăng ký chó", procedure.name, "staff")
    # saving the same text again changes nothing
    assert (
        services.save_translations(procedure, "vi", {"procedure.name": "Đăng ký chó"}, user) == []
    )
    assert services.save_translations(procedure, "vi", {"procedure.name": ""}, user) == [
        "procedure.name"
    ]
    assert not TextTranslation.objects.filter(procedure=procedure, language="vi").exists()
    history = list(TranslationChange.objects.values_list("before", "after", "user__username"))
    assert history == [("Đăng ký chó", "", "editor"), ("", "Đăng ký chó", "editor")]


def test_missing_counts(procedure):
    table = services.translation_table(procedure)
    total = len(table)
    assert total > 10
    translate(procedure, "ko", "procedure.name", "개 등록")
    counts = services.missing_counts(services.translation_table(procedure))
    assert counts["ko"] == total - 1
    assert counts["en"] == total
