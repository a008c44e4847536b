"""The shared 様式 library: copy a standard template or another municipality's shared form,
see 「更新があります」 when the source publishes a new version, take it in one step, and move
the library between deployments as a zip file."""

import copy
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from madoguchi.builder.models import FormCopy, ImportedForm, SharedForm
from madoguchi.catalog.models import FormVersion, Procedure
from tests.conftest import login_with_2fa, make_staff

from .conftest import make_procedure

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(other_municipality):
    """苫小牧市 shares its published form."""
    procedure = make_procedure(other_municipality, "neko", "kodomo")
    SharedForm.objects.create(procedure=procedure)
    return procedure


def publish_new_version(procedure):
    schema = copy.deepcopy(procedure.current_version.schema)
    schema["steps"][0]["fields"].append({"key": "phone", "type": "phone", "label": "電話番号"})
    draft = FormVersion.new_draft(procedure, schema)
    draft.publish()
    procedure.refresh_from_db()


def test_copy_a_standard_template_as_an_editor(editor_client, municipality, editor):
    page = editor_client.get(reverse("builder:library")).content.decode()
    assert "標準様式" in page and "児童手当" in page
    response = editor_client.post(
        reverse("builder:library_copy"),
        {"m": municipality.pk, "kind": "template", "ref": "jidou_teate_nintei"},
    )
    procedure = Procedure.objects.get(municipality=municipality, template_key="jidou_teate_nintei")
    assert response["Location"] == reverse("builder:form_edit", args=[procedure.pk])
    assert procedure.current_version is None
    assert procedure.versions.get().status == "draft"
    record = FormCopy.objects.get(procedure=procedure)
    assert record.kind == "template" and record.source_label.startswith("標準様式「")
    assert {d.code for d in procedure.departments.all()} >= {"kodomo"}
    page = editor_client.get(reverse("builder:form_edit", args=[procedure.pk])).content.decode()
    assert "コピー元：標準様式「" in page
    assert "更新があります" not in page


def test_shared_form_update_is_offered_and_taken_in_one_step(client, municipality, source):
    admin = make_staff("admin", municipality, role="admin")
    login_with_2fa(client, admin)
    page = client.get(reverse("builder:library")).content.decode()
    assert "苫小牧市" in page and "手続neko" in page
    client.post(
        reverse("builder:library_copy"),
        {"m": municipality.pk, "kind": "shared", "ref": str(source.pk)},
    )
    mine = Procedure.objects.get(municipality=municipality, name="手続neko")
    mine_draft = mine.versions.get()
    mine_draft.publish()
    assert "更新があります" not in client.get(reverse("builder:procedure_list")).content.decode()

    publish_new_version(source)  # e.g. after a 法改正

    assert "更新があります" in client.get(reverse("builder:procedure_list")).content.decode()
    page = client.get(reverse("builder:form_edit", args=[mine.pk])).content.decode()
    assert "更新があります" in page
    page = client.get(reverse("builder:library_update", args=[mine.pk])).content.decode()
    assert "追加：電話番号" in page
    response = client.post(reverse("builder:library_update", args=[mine.pk]))
    assert response.status_code == 302
    draft = FormVersion.objects.get(procedure=mine, status="draft")
    assert draft.schema == source.current_version.schema
    assert FormCopy.objects.get(procedure=mine).source_version == "2"
    page = client.get(reverse("builder:form_edit", args=[mine.pk])).content.decode()
    assert "更新があります" not in page


def test_own_shared_forms_are_not_offered_to_oneself(client, municipality):
    own = make_procedure(municipality, "own", "kodomo")
    SharedForm.objects.create(procedure=own)
    login_with_2fa(client, make_staff("admin", municipality, role="admin"))
    response = client.post(
        reverse("builder:library_copy"),
        {"m": municipality.pk, "kind": "shared", "ref": str(own.pk)},
    )
    assert response.status_code == 404


def test_share_toggle(editor_client, kodomo_procedure):
    url = reverse("builder:share_toggle", args=[kodomo_procedure.pk])
    editor_client.post(url, {"share": "1"})
    assert SharedForm.objects.filter(procedure=kodomo_procedure).exists()
    editor_client.post(url, {"share": "0"})
    assert not SharedForm.objects.filter(procedure=kodomo_procedure).exists()


def test_export_and_import_the_library_as_a_file(client, municipality, source):
    login_with_2fa(client, make_staff("admin", municipality, role="admin"))
    data = client.get(reverse("builder:library_export") + f"?m={municipality.pk}").content
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "manifest.json" in archive.namelist()
        assert any(n.endswith(".yaml") for n in archive.namelist())
    # On another deployment (here: the same one, after the source is gone).
    SharedForm.objects.all().delete()
    upload = SimpleUploadedFile("library.zip", data, content_type="application/zip")
    response = client.post(
        reverse("builder:library_import"), {"m": municipality.pk, "file": upload}
    )
    page = client.get(response["Location"]).content.decode()
    assert "様式ライブラリに1件を読み込みました。" in page
    item = ImportedForm.objects.get()
    assert item.name == "手続neko" and item.origin == "千代田区"
    client.post(
        reverse("builder:library_copy"),
        {"m": municipality.pk, "kind": "imported", "ref": str(item.pk)},
    )
    assert Procedure.objects.filter(municipality=municipality, name="手続neko").exists()


def test_import_refuses_a_bad_file_with_the_loaders_message(client, municipality):
    login_with_2fa(client, make_staff("admin", municipality, role="admin"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", '{"origin": "どこか"}')
        archive.writestr("bad.yaml", "key: bad\nform:\n  title: x\n  steps: []\n")
    upload = SimpleUploadedFile("library.zip", buffer.getvalue())
    response = client.post(
        reverse("builder:library_import"), {"m": municipality.pk, "file": upload}
    )
    page = client.get(response["Location"]).content.decode()
    assert (
        "読み込めません。標準様式「bad」: ステップ（steps）がありません。少なくとも1つ必要です。"
        in page
    )
    assert not ImportedForm.objects.exists()
    upload = SimpleUploadedFile("x.zip", b"not a zip")
    response = client.post(
        reverse("builder:library_import"), {"m": municipality.pk, "file": upload}
    )
    page = client.get(response["Location"]).content.decode()
    assert "ファイルは、様式ライブラリから書き出した zip ファイルにしてください。" in page


def test_only_an_admin_imports(editor_client, municipality):
    upload = SimpleUploadedFile("x.zip", b"x")
    response = editor_client.post(
        reverse("builder:library_import"), {"m": municipality.pk, "file": upload}
    )
    assert response.status_code == 404
