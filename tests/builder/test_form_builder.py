"""The form builder through the staff pages: every edit checked by the loader's validator."""

import re

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from madoguchi.builder import schema_edit
from madoguchi.catalog.models import FormVersion
from madoguchi.formengine.schema import parse_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(editor_client, kodomo_procedure):
    editor_client.post(
        reverse("builder:form_edit", args=[kodomo_procedure.pk]), {"action": "new_draft"}
    )
    return FormVersion.objects.get(procedure=kodomo_procedure, status="draft")


def op(client, procedure, **data):
    return client.post(reverse("builder:form_op", args=[procedure.pk]), data)


def test_builder_page_shows_conditions_in_words(editor_client, kodomo_procedure, draft):
    page = editor_client.get(
        reverse("builder:form_edit", args=[kodomo_procedure.pk])
    ).content.decode()
    assert "婚姻の状況 が 既婚 のとき表示" in page
    assert 'id="preview-frame"' in page


def test_add_every_field_type_and_it_validates(editor_client, kodomo_procedure, draft):
    for ftype in schema_edit.TYPE_LABELS:
        response = op(editor_client, kodomo_procedure, action="add_field", step="s1", type=ftype)
        assert response.status_code == 302, ftype
    draft.refresh_from_db()
    form = parse_form(draft.schema, source="t")
    types = {f.type for f in form.all_fields()}
    assert types >= set(schema_edit.TYPE_LABELS)


def test_condition_from_pick_lists(editor_client, kodomo_procedure, draft):
    op(editor_client, kodomo_procedure, action="add_field", step="s1", type="file")
    draft.refresh_from_db()
    key = draft.schema["steps"][0]["fields"][-1]["key"]
    url = reverse("builder:field_edit", args=[kodomo_procedure.pk, key])
    response = editor_client.post(
        url,
        {
            "label": "婚姻の証明",
            "key": key,
            "required": "on",
            "accept": ["pdf", "png"],
            "max_size_mb": "5",
            "max_files": "2",
            "visible_if_join": "all",
            "visible_if_0_field": "marital",
            "visible_if_0_op": "eq",
            "visible_if_0_choice": "marital::married",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    draft.refresh_from_db()
    f = draft.schema["steps"][0]["fields"][-1]
    assert f["visible_if"] == {"field": "marital", "equals": "married"}
    assert f["accept"] == ["pdf", "png"] and f["max_size_mb"] == 5 and f["max_files"] == 2
    page = editor_client.get(
        reverse("builder:form_edit", args=[kodomo_procedure.pk])
    ).content.decode()
    assert "婚姻の状況 が 既婚 のとき表示" in page


def test_choice_from_another_field_is_refused(editor_client, kodomo_procedure, draft):
    url = reverse("builder:field_edit", args=[kodomo_procedure.pk, "spouse"])
    response = editor_client.post(
        url,
        {
            "label": "配偶者",
            "key": "spouse",
            "visible_if_0_field": "name",
            "visible_if_0_op": "eq",
            "visible_if_0_choice": "marital::married",
        },
    )
    assert response.status_code == 200
    assert "エラー：選んだ値は項目「氏名」の選択肢ではありません。" in response.content.decode()


def test_moving_a_referenced_field_after_its_condition_is_refused(
    editor_client, kodomo_procedure, draft
):
    response = op(editor_client, kodomo_procedure, action="down", key="marital")
    assert response.status_code == 302
    page = editor_client.get(response["Location"]).content.decode()
    assert (
        "変更できません。標準様式「手続kodomo-teate」の項目「spouse」: visible_if が参照している項目"
        "「marital」はこの項目より後にあります。条件には、この項目より前にある項目だけを使えます。"
    ) in page
    draft.refresh_from_db()
    assert [f["key"] for f in draft.schema["steps"][0]["fields"]] == ["name", "marital", "spouse"]


def test_delete_referenced_field_is_refused_with_the_loaders_message(
    editor_client, kodomo_procedure, draft
):
    response = op(editor_client, kodomo_procedure, action="delete", key="marital")
    page = editor_client.get(response["Location"]).content.decode()
    assert "visible_if が参照している項目「marital」はありません。" in page


def test_move_duplicate_delete_reorder(editor_client, kodomo_procedure, draft):
    op(editor_client, kodomo_procedure, action="up", key="marital")
    draft.refresh_from_db()
    assert [f["key"] for f in draft.schema["steps"][0]["fields"]] == ["marital", "name", "spouse"]
    op(editor_client, kodomo_procedure, action="duplicate", key="spouse")
    draft.refresh_from_db()
    keys = [f["key"] for f in draft.schema["steps"][0]["fields"]]
    assert keys == ["marital", "name", "spouse", "spouse_1"]
    op(editor_client, kodomo_procedure, action="delete", key="spouse_1")
    op(
        editor_client,
        kodomo_procedure,
        action="reorder",
        container="s1",
        order=["name", "marital", "spouse"],
    )
    draft.refresh_from_db()
    assert [f["key"] for f in draft.schema["steps"][0]["fields"]] == ["name", "marital", "spouse"]
    op(editor_client, kodomo_procedure, action="add_step")
    draft.refresh_from_db()
    assert [s["key"] for s in draft.schema["steps"]] == ["s1", "step_1"]


def test_repeat_min_max_and_child(editor_client, kodomo_procedure, draft):
    op(editor_client, kodomo_procedure, action="add_field", step="s1", type="repeat")
    draft.refresh_from_db()
    repeat = draft.schema["steps"][0]["fields"][-1]
    op(
        editor_client,
        kodomo_procedure,
        action="add_field",
        step="s1",
        parent=repeat["key"],
        type="date",
    )
    url = reverse("builder:field_edit", args=[kodomo_procedure.pk, repeat["key"]])
    response = editor_client.post(
        url, {"label": "児童", "key": repeat["key"], "min": "3", "max": "2", "item_label": "児童"}
    )
    assert "min（3）が max（2）より大きくなっています。" in response.content.decode()
    response = editor_client.post(
        url, {"label": "児童", "key": repeat["key"], "min": "1", "max": "5", "item_label": "児童"}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    repeat = draft.schema["steps"][0]["fields"][-1]
    assert (repeat["min"], repeat["max"], len(repeat["fields"])) == (1, 5, 2)


def test_preview_validates_like_the_resident_page(editor_client, kodomo_procedure, draft):
    url = reverse("builder:form_preview", args=[kodomo_procedure.pk])
    page = editor_client.get(url + "?restart=1")
    assert "portal/step.html" in [t.name for t in page.templates]
    assert page.headers.get("X-Frame-Options") == "SAMEORIGIN"
    directives = [d.strip() for d in page.headers["Content-Security-Policy"].split(";")]
    assert "frame-ancestors 'self'" in directives
    response = editor_client.post(url, {"_action": "next"})
    assert (
        "氏名（姓）を入力してください" in response.content.decode()
        or "氏名" in response.content.decode()
    )
    assert response.context["errors"]
    response = editor_client.post(
        url,
        {
            "_action": "next",
            "name__family": "山田",
            "name__given": "太郎",
            "name__family_kana": "ヤマダ",
            "name__given_kana": "タロウ",
            "marital": "married",
            "spouse": "山田花子",
        },
    )
    assert response.status_code == 302
    result = editor_client.get(response["Location"]).content.decode()
    assert "職員に届く内容" in result and "山田花子" in result


def test_publish_shows_diff_and_creates_immutable_version(editor_client, kodomo_procedure, draft):
    op(editor_client, kodomo_procedure, action="add_field", step="s1", type="phone")
    op(editor_client, kodomo_procedure, action="delete", key="spouse")
    page = editor_client.get(
        reverse("builder:form_publish", args=[kodomo_procedure.pk])
    ).content.decode()
    assert "追加：電話番号" in page and "削除：配偶者の氏名" in page
    editor_client.post(reverse("builder:form_publish", args=[kodomo_procedure.pk]))
    kodomo_procedure.refresh_from_db()
    assert kodomo_procedure.current_version.number == 2
    assert kodomo_procedure.current_version.status == "published"


def test_export_import_roundtrip(editor_client, kodomo_procedure, draft):
    text = editor_client.get(
        reverse("builder:form_export", args=[kodomo_procedure.pk])
    ).content.decode()
    document = yaml.safe_load(text)
    assert document["form"] == draft.schema
    assert document["procedure"]["departments"] == ["kodomo"]
    document["form"]["title"] = "読み込んだ様式"
    upload = SimpleUploadedFile("x.yaml", yaml.safe_dump(document, allow_unicode=True).encode())
    editor_client.post(reverse("builder:form_import", args=[kodomo_procedure.pk]), {"file": upload})
    draft.refresh_from_db()
    assert draft.schema["title"] == "読み込んだ様式"
    bad = SimpleUploadedFile("bad.yaml", b"form:\n  title: x\n  steps: []\n")
    response = editor_client.post(
        reverse("builder:form_import", args=[kodomo_procedure.pk]), {"file": bad}
    )
    page = editor_client.get(response["Location"]).content.decode()
    assert (
        "読み込めません。標準様式「bad」: ステップ（steps）がありません。少なくとも1つ必要です。"
        in page
    )


def test_person_name_checkbox_sets_the_flag_and_export_import_carry_it(
    editor_client, kodomo_procedure, draft
):
    url = reverse("builder:field_edit", args=[kodomo_procedure.pk, "spouse"])
    page = editor_client.get(url).content.decode()
    assert "人の氏名（絵文字・記号は受け付けません）" in page
    assert 'name="person_name"' in page
    condition = {
        "visible_if_join": "all",
        "visible_if_0_field": "marital",
        "visible_if_0_op": "eq",
        "visible_if_0_choice": "marital::married",
    }
    data = {"label": "配偶者の氏名", "key": "spouse", **condition}
    response = editor_client.post(url, {**data, "person_name": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    draft.refresh_from_db()
    spouse = draft.schema["steps"][0]["fields"][2]
    assert spouse["person_name"] is True
    assert parse_form(draft.schema, source="t").field("spouse").person_name
    checkbox = re.search(
        r'<input[^>]*name="person_name"[^>]*>', editor_client.get(url).content.decode()
    )
    assert "checked" in checkbox.group(0)

    text = editor_client.get(
        reverse("builder:form_export", args=[kodomo_procedure.pk])
    ).content.decode()
    assert "person_name: true" in text
    editor_client.post(url, data)  # unticked: the flag goes away
    draft.refresh_from_db()
    assert "person_name" not in draft.schema["steps"][0]["fields"][2]
    upload = SimpleUploadedFile("x.yaml", text.encode())
    editor_client.post(reverse("builder:form_import", args=[kodomo_procedure.pk]), {"file": upload})
    draft.refresh_from_db()
    assert draft.schema["steps"][0]["fields"][2]["person_name"] is True


@pytest.fixture
def _back_to_default_language():
    yield
    translation.deactivate()


def test_builder_pages_are_japanese_by_default_and_english_on_request(
    editor_client, kodomo_procedure, draft, _back_to_default_language
):
    form_url = reverse("builder:form_edit", args=[kodomo_procedure.pk])
    field_url = reverse("builder:field_edit", args=[kodomo_procedure.pk, "spouse"])
    page = editor_client.get(form_url).content.decode()
    assert "公開の確認へ進む" in page and "ステップを追加" in page
    assert "Go on to check and publish" not in page
    page = editor_client.get(field_url).content.decode()
    assert "この項目を表示する条件" in page and "人の氏名（絵文字・記号は受け付けません）" in page

    english = {"headers": {"accept-language": "en"}}
    page = editor_client.get(form_url, **english).content.decode()
    assert '<html lang="en">' in page
    assert "Go on to check and publish" in page and "Add step" in page
    assert "Step 1: 申請者" in page  # the form's own texts are data: they stay Japanese
    assert ">Single-line text</option>" in page
    assert "Shown when 婚姻の状況 is 既婚" in page
    page = editor_client.get(field_url, **english).content.decode()
    assert "Show this field when" in page
    assert "A person&#x27;s name (emoji and symbols are not accepted)" in page
    assert "この項目を表示する条件" not in page
    page = editor_client.get(reverse("builder:procedure_list"), **english).content.decode()
    assert "Create a new procedure" in page
    page = editor_client.get(reverse("builder:library"), **english).content.decode()
    assert "Form library" in page and "<td>Standard template</td>" in page
    response = editor_client.post(
        reverse("builder:form_op", args=[kodomo_procedure.pk]), {"action": "add_step"}, **english
    )
    page = editor_client.get(response["Location"], **english).content.decode()
    assert "Added a step." in page
