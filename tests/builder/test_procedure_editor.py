"""The procedure editor: every rule's exact message (the loader's), saving, the preview."""

import pytest
from django.urls import reverse

from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.tenants.models import Department

pytestmark = pytest.mark.django_db


def valid_post(department, **changes):
    data = {
        "name": "犬の登録",
        "reading": "いぬのとうろく",
        "category": "other",
        "life_events": ["pets"],
        "keywords": "犬  狂犬病",
        "summary": "犬を飼い始めたときの届出です。",
        "description": "生後91日以上の犬を飼い始めたら届け出てください。\n\n鑑札を交付します。",
        "what_you_need": "狂犬病予防注射済証",
        "required_attachments": "狂犬病予防注射済証の写し\n\n写真",
        "duration": "約5分",
        "processing_time": "約1週間",
        "target_days": "14",
        "fee": "3,000円",
        "identity_level": "email",
        "departments": [str(department.pk)],
        "retention_years": "5",
        "is_published": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def kodomo(municipality):
    return Department.objects.get_or_create(
        municipality=municipality, code="kodomo", defaults={"name": "こども課"}
    )[0]


def post_new(client, municipality, data):
    return client.post(reverse("builder:procedure_new"), {"m": str(municipality.pk), **data})


def test_create_procedure_with_every_attribute(editor_client, municipality, kodomo):
    response = post_new(editor_client, municipality, valid_post(kodomo))
    assert response.status_code == 302
    procedure = Procedure.objects.get(name="犬の登録")
    assert procedure.municipality == municipality
    assert procedure.keywords == "犬 狂犬病"
    assert procedure.required_attachments == ["狂犬病予防注射済証の写し", "写真"]
    assert procedure.target_days == 14
    assert procedure.fee == "3,000円"
    assert procedure.life_events == ["pets"]
    assert list(procedure.departments.all()) == [kodomo]
    assert procedure.slug == "tetsuzuki-1"
    draft = FormVersion.objects.get(procedure=procedure)
    assert draft.status == FormVersion.Status.DRAFT
    assert response["Location"] == reverse("builder:form_edit", args=[procedure.pk])


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "必ず指定してください。"),
        (
            {"reading": "イヌのとうろく"},
            "reading",
            "手続名の読みは、ひらがなで書いてください（「イヌ」は使えません）。",
        ),
        ({"category": ""}, "category", "必ず指定してください。"),
        ({"departments": None}, "departments", "必ず指定してください。"),
        (
            {"retention_years": "0"},
            "retention_years",
            "保存期間（年）は1から100までの整数で指定してください。",
        ),
        (
            {"target_days": "400"},
            "target_days",
            "処理期間の目標（日）は1から365までの整数で指定してください。",
        ),
        ({"fee": "あ" * 101}, "fee", "100文字以内にしてください（現在101文字）。"),
        (
            {"open_from": "2026-12-01", "open_until": "2026-11-01"},
            "open_until",
            "受付終了日は受付開始日より後にしてください。",
        ),
        (
            {"slug": "Inu"},
            "slug",
            "識別子は半角英小文字で始め、半角英小文字・数字・「_」・「-」だけで80文字以内にしてください。",
        ),
    ],
)
def test_each_rule_has_its_message(editor_client, municipality, kodomo, changes, field, message):
    response = post_new(editor_client, municipality, valid_post(kodomo, **changes))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert f"エラー：{message}" in response.content.decode()
    assert not Procedure.objects.filter(name="犬の登録").exists()


def test_editor_must_keep_one_of_their_departments(editor_client, municipality, kodomo):
    kaigo = Department.objects.create(municipality=municipality, code="kaigo", name="介護保険課")
    response = post_new(
        editor_client, municipality, valid_post(kodomo, departments=[str(kaigo.pk)])
    )
    assert response.context["form"].errors["departments"] == [
        "担当課には、あなたが様式を作成できる課（kodomo）を少なくとも1つ含めてください。"
    ]


def test_duplicate_slug(editor_client, municipality, kodomo, kodomo_procedure):
    response = post_new(editor_client, municipality, valid_post(kodomo, slug="kodomo-teate"))
    assert response.context["form"].errors["slug"] == ["この識別子はすでに使われています。"]


def test_edit_and_preview_as_the_resident_page(editor_client, kodomo_procedure, kodomo):
    url = reverse("builder:procedure_edit", args=[kodomo_procedure.pk])
    page = editor_client.get(url).content.decode()
    assert "手続名の読みを、ひらがなで入力してください。" in page  # help text
    response = editor_client.post(url, valid_post(kodomo, name="児童手当の認定請求"))
    assert response.status_code == 302
    kodomo_procedure.refresh_from_db()
    assert kodomo_procedure.name == "児童手当の認定請求"
    assert kodomo_procedure.slug == "kodomo-teate"  # unchanged
    preview = editor_client.get(reverse("builder:procedure_preview", args=[kodomo_procedure.pk]))
    html = preview.content.decode()
    assert preview.templates[0].name == "portal/procedure_detail.html"
    assert "児童手当の認定請求" in html
    assert "狂犬病予防注射済証の写し" in html
    assert "3,000円" in html
