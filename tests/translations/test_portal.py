"""A resident who chose a language sees the form's texts in it, text by text, falling back to
Japanese; what is stored and what staff see stays Japanese."""

import pytest
from django.conf import settings
from django.test import Client

from madoguchi.analytics.models import ValidationFailure
from madoguchi.applications.models import Application
from madoguchi.catalog.loader import load_standard_templates
from madoguchi.catalog.models import Procedure
from madoguchi.translations.models import TextTranslation
from tests import formgen
from tests.catalog.test_template_filing import PORTAL_STEP, location, walk
from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db

ENGLISH = {
    "procedure.name": "Collection of oversized waste",
    "procedure.summary": "Apply for the collection of furniture, bicycles and other large items.",
    "step.applicant.title": "You and the collection place",
    "field.applicant_name.label": "Your name",
    "field.building_type.label": "Type of building",
    "field.building_type.option.detached": "Detached house",
}


@pytest.fixture
def procedure(municipality):
    load_standard_templates(municipality, keys=["sodai_gomi"])
    procedure = Procedure.objects.get(municipality=municipality, slug="sodai_gomi")
    form = procedure.current_version.schema
    japanese = {
        "procedure.name": procedure.name,
        "procedure.summary": procedure.summary,
        "step.applicant.title": form["steps"][0]["title"],
        "field.applicant_name.label": "申込者の氏名",
        "field.building_type.label": "建物の種類",
        "field.building_type.option.detached": "一戸建て",
    }
    # Only some texts translated (instead of the template's own translations), as staff
    # would have saved them for the Japanese texts above.
    TextTranslation.objects.filter(procedure=procedure).delete()
    for key, text in ENGLISH.items():
        TextTranslation.objects.create(
            procedure=procedure, language="en", key=key, source=japanese[key], text=text
        )
    return procedure


def english_client() -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_resident_in_english_sees_translated_texts_and_japanese_for_the_rest(procedure):
    client = english_client()
    detail = page(client.get("/131016/procedures/sodai_gomi/"))
    assert "Collection of oversized waste" in detail
    assert 'lang="en"' in detail
    assert "家具、寝具、自転車など" in detail  # description not translated: Japanese
    listing = page(client.get("/131016/procedures/?q=oversized"))
    assert "Collection of oversized waste" in listing

    step_url = location(client.post("/131016/procedures/sodai_gomi/start/"))
    step = page(client.get(step_url))
    assert "You and the collection place" in step
    assert "Your name" in step and "申込者の氏名" not in step
    assert "Detached house" in step
    assert "集合住宅（マンション・アパート）" in step  # option not translated
    assert "電話番号" in step  # label not translated

    # the engine's messages come from the UI catalogue (English here), naming the field by
    # the label the resident reads
    refused = page(client.post(step_url, {"_action": "next"}))
    assert "Enter Your name." in refused
    assert "Choose Type of building." in refused
    assert "Enter 電話番号." in refused  # the label has no translation, the sentence has
    assert "Family name in katakana (フリガナ)" in refused
    # the KPIs staff read keep the Japanese label
    failure = ValidationFailure.objects.get(field_key="applicant_name", rule="required")
    assert failure.field_label == "申込者の氏名"


def test_application_filed_in_english_is_stored_and_shown_to_staff_in_japanese(procedure):
    client = english_client()
    form = procedure.current_version.form
    filled = formgen.generate(form, seed=5)
    url = location(client.post("/131016/procedures/sodai_gomi/start/"))
    confirm_url = walk(client, url, filled, PORTAL_STEP)
    confirm = page(client.get(confirm_url))
    assert "Your name" in confirm and "Type of building" in confirm
    assert "収集希望日" in confirm  # untranslated label on the confirmation page
    client.post(confirm_url)
    application = Application.objects.get(procedure=procedure)
    assert application.answers == filled.answers

    staff = make_staff("seiso-admin", procedure.municipality, role="admin")
    staff_client = login_with_2fa(english_client(), staff)
    review = page(staff_client.get(f"/staff/applications/{application.pk}/"))
    assert "申込者の氏名" in review and "建物の種類" in review
    assert "Your name" not in review and "Type of building" not in review
    assert "Detached house" not in review


def test_engine_messages_fall_back_to_japanese_where_the_ui_has_no_translation(procedure):
    TextTranslation.objects.create(
        procedure=procedure,
        language="vi",
        key="field.applicant_name.label",
        source="申込者の氏名",
        text="Họ tên người đăng ký",
    )
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    step_url = location(client.post("/131016/procedures/sodai_gomi/start/"))
    refused = page(client.post(step_url, {"_action": "next"}))
    assert 'lang="vi"' in refused
    assert "Họ tên người đăng kýを入力してください。" in refused
    assert "建物の種類を選択してください。" in refused
