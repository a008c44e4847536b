"""The staff translation pages: who may open them, the table of texts, saving."""

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.catalog.loader import load_standard_templates
from madoguchi.catalog.models import Procedure
from madoguchi.translations.models import TextTranslation, TranslationChange
from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure(municipality):
    load_standard_templates(municipality, keys=["inu_shibou", "sodai_gomi"])
    return Procedure.objects.get(municipality=municipality, slug="inu_shibou")


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def admin_client(municipality) -> Client:
    return login_with_2fa(Client(), make_staff("kanri", municipality, role="admin"))


def test_only_an_administrator_of_the_municipality_may_translate(procedure, other_municipality):
    url = f"/staff/translations/{procedure.pk}/"
    handler = login_with_2fa(Client(), make_staff("tanto", procedure.municipality, "seiso"))
    assert handler.get(url).status_code == 404
    assert handler.get("/staff/translations/").status_code == 404
    stranger = login_with_2fa(Client(), make_staff("yoso", other_municipality, role="admin"))
    assert stranger.get(url).status_code == 404
    assert (
        stranger.post(url, {"lang": "en", "count": "1", "key-0": "form.title"}).status_code == 404
    )
    assert "犬の死亡届" not in page(stranger.get("/staff/translations/"))
    assert Client().get(url).status_code == 302  # to the login page


def test_table_shows_missing_texts_and_filters_to_them(procedure):
    client = admin_client(procedure.municipality)
    listing = page(client.get("/staff/translations/"))
    assert f'href="/staff/translations/{procedure.pk}/"' in listing
    assert "粗大ごみ収集の申込" in listing

    TextTranslation.objects.create(
        procedure=procedure, language="en", key="procedure.name", source=procedure.name, text="Dog"
    )
    overview = page(client.get(f"/staff/translations/{procedure.pk}/"))
    assert 'data-key="procedure.name"' in overview
    assert 'data-language="en" data-state="translated"' in overview
    assert 'data-language="vi" data-state="missing"' in overview

    english_missing = page(client.get(f"/staff/translations/{procedure.pk}/?lang=en&missing=1"))
    assert 'data-key="procedure.name"' not in english_missing  # translated: filtered out
    assert 'data-key="form.title"' in english_missing
    vietnamese = page(client.get(f"/staff/translations/{procedure.pk}/?lang=vi&missing=1"))
    assert 'data-key="procedure.name"' in vietnamese


def test_saving_translations_records_who_changed_what(procedure):
    client = admin_client(procedure.municipality)
    form = page(client.get(f"/staff/translations/{procedure.pk}/?lang=pt"))
    assert 'name="key-0" value="procedure.name"' in form
    response = client.post(
        f"/staff/translations/{procedure.pk}/",
        {
            "lang": "pt",
            "count": "2",
            "key-0": "procedure.name",
            "text-0": "Óbito de cão",
            "key-1": "form.title",
            "text-1": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/staff/translations/{procedure.pk}/?lang=pt"
    after = page(client.get(response["Location"]))
    assert "ポルトガル語の翻訳を1件保存しました。" in after
    assert 'value="Óbito de cão"' in after
    row = TextTranslation.objects.get(procedure=procedure, language="pt")
    assert (row.key, row.text, row.source, row.updated_by.username) == (
        "procedure.name",
        "Óbito de cão",
        procedure.name,
        "kanri",
    )
    change = TranslationChange.objects.get()
    assert (change.before, change.after, change.user.username) == ("", "Óbito de cão", "kanri")
    assert "最近の変更" in after
    # an unknown language is refused
    assert client.post(f"/staff/translations/{procedure.pk}/", {"lang": "fr"}).status_code == 404


def test_staff_navigation_links_to_translations_for_administrators(procedure):
    client = admin_client(procedure.municipality)
    assert 'href="/staff/translations/"' in page(client.get("/staff/"))


def test_a_form_editor_translates_the_procedures_of_their_department(procedure):
    editor = make_staff("yoshiki", procedure.municipality, "seiso", role="form_editor")
    client = login_with_2fa(Client(), editor)
    sodai = Procedure.objects.get(slug="sodai_gomi")
    assert client.get(f"/staff/translations/{sodai.pk}/").status_code == 200
    assert client.get(f"/staff/translations/{procedure.pk}/").status_code == 404
    listing = page(client.get("/staff/translations/"))
    assert sodai.name in listing and procedure.name not in listing
    assert 'href="/staff/translations/"' in page(client.get("/staff/translations/"))


def test_the_builder_procedure_pages_link_to_the_translations(procedure):
    client = admin_client(procedure.municipality)
    for name in ("builder:procedure_edit", "builder:form_edit"):
        edit = page(client.get(reverse(name, args=[procedure.pk])))
        assert f'href="/staff/translations/{procedure.pk}/"' in edit
