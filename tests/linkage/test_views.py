"""The linkage screens: who may do what, the layout form, run, download again, import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from madoguchi.linkage.models import Batch, Layout, ResultImport
from tests.conftest import login_with_2fa, make_staff

COLUMNS_TEXT = """# 児童手当
受付番号 | receipt_number | width=8
性別 | gender | width=1 | map=male:1,female:2
生年月日 | birth_date | width=7 | date=wareki_digit
"""


@pytest.fixture
def inline_jobs(settings):
    settings.MADOGUCHI_JOBS_INLINE = True


def client_for(user):
    return login_with_2fa(Client(), user)


@pytest.mark.django_db
def test_admin_defines_a_layout_without_code(admin_user, linkage_procedure):
    client = client_for(admin_user)
    response = client.post(
        reverse("linkage:layout_new"),
        {
            "procedure": linkage_procedure.pk,
            "name": "固定長",
            "format": "fixed",
            "encoding": "cp932",
            "line_ending": "crlf",
            "header_row": "on",
            "on_error": "skip_record",
            "destination": "download",
            "statuses": ["received", "in_progress"],
            "columns_text": COLUMNS_TEXT,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    layout = Layout.objects.get()
    assert layout.header_row is False  # fixed-length: no header line
    assert layout.columns == [
        {"header": "受付番号", "source": "receipt_number", "width": 8},
        {"header": "性別", "source": "gender", "width": 1, "map": {"male": "1", "female": "2"}},
        {"header": "生年月日", "source": "birth_date", "width": 7, "date": "wareki_digit"},
    ]
    page = client.get(reverse("linkage:layout_edit", args=[layout.pk])).content.decode()
    assert "性別 | gender | width=1 | map=male:1,female:2" in page


@pytest.mark.django_db
def test_layout_errors_are_shown_line_by_line(admin_user, linkage_procedure):
    response = client_for(admin_user).post(
        reverse("linkage:layout_new"),
        {
            "procedure": linkage_procedure.pk,
            "name": "誤り",
            "format": "fixed",
            "encoding": "cp932",
            "line_ending": "crlf",
            "on_error": "skip_record",
            "destination": "download",
            "statuses": ["received"],
            "columns_text": "受付番号 | receipt_number\n性別 | gendr | width=1\n日付 | birth_date | width=x",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "1行目: 固定長では幅（width）が必要です。" in page
    assert "2行目: 「gendr」はこの手続の項目にも、固定の出典にもありません。" in page
    assert "3行目: 幅（width）は1から10000までの整数で指定してください。" in page
    assert not Layout.objects.exists()


@pytest.mark.django_db
def test_handler_runs_a_batch_and_downloads_it_again(
    golden_applications, make_layout, handler, inline_jobs, django_capture_on_commit_callbacks
):
    layout = make_layout(encoding="utf-8")
    client = client_for(handler)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("linkage:batch_start", args=[layout.pk]))
    batch = Batch.objects.get()
    assert response["Location"] == reverse("linkage:batch_detail", args=[batch.pk])
    page = client.get(response["Location"]).content.decode()
    assert "4件を出力しました。" in page and batch.sha256 in page
    first = b"".join(
        client.get(reverse("linkage:batch_download", args=[batch.pk])).streaming_content
    )
    again = b"".join(
        client.get(reverse("linkage:batch_download", args=[batch.pk])).streaming_content
    )
    assert first == again and first.startswith("受付番号".encode())
    manifest = client.get(reverse("linkage:batch_manifest", args=[batch.pk]))
    assert manifest.status_code == 200
    # A handler may not edit the layout; a viewer gets nothing.
    assert client.get(reverse("linkage:layout_edit", args=[layout.pk])).status_code == 404
    viewer = client_for(make_staff("viewer_k", layout.municipality, "kodomo", role="viewer"))
    assert viewer.get(reverse("linkage:layout_detail", args=[layout.pk])).status_code == 404


@pytest.mark.django_db
def test_import_from_the_page_shows_the_report(
    golden_applications, make_layout, handler, inline_jobs, django_capture_on_commit_callbacks
):
    layout = make_layout()
    client = client_for(handler)
    upload = SimpleUploadedFile("result.csv", "R-0001,完了\nR-0002,却下\n".encode("cp932"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("linkage:import_new", args=[layout.pk]), {"file": upload, "encoding": "auto"}
        )
    job = ResultImport.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "1行を反映しました。エラーの行：1行" in page
    assert "却下するときは、却下の理由を申請者へのメッセージに入力してください。" in page
    report = client.get(reverse("linkage:import_report", args=[job.pk]))
    assert "1,R-0001,完了,反映" in report.content.decode("utf-8-sig")


@pytest.mark.django_db
def test_an_import_whose_row_cannot_be_saved_leaves_no_file(
    golden_applications, make_layout, handler, monkeypatch
):
    """The uploaded result file is stored, then its row fails: the file is deleted."""
    from pathlib import Path

    from django.conf import settings

    layout = make_layout()
    client = client_for(handler)
    client.raise_request_exception = False
    monkeypatch.setattr(ResultImport, "save", lambda self, *a, **k: 1 / 0)
    upload = SimpleUploadedFile("result.csv", "R-0001,完了\n".encode("cp932"))
    response = client.post(
        reverse("linkage:import_new", args=[layout.pk]), {"file": upload, "encoding": "auto"}
    )
    assert response.status_code == 500
    root = Path(settings.MEDIA_ROOT)
    assert not [p for p in root.rglob("*") if p.is_file()] if root.exists() else True


@pytest.mark.django_db
def test_other_department_and_municipality_get_404(
    make_layout, municipality, other_municipality, linkage_procedure
):
    layout = make_layout()
    batch = Batch.objects.create(municipality=municipality, layout=layout, state="done")
    others = [
        make_staff("suido_h", municipality, "suido"),
        make_staff("other_admin", other_municipality, role="admin"),
    ]
    for user in others:
        client = client_for(user)
        for url in (
            reverse("linkage:layout_detail", args=[layout.pk]),
            reverse("linkage:batch_detail", args=[batch.pk]),
        ):
            assert client.get(url).status_code == 404
        assert client.post(reverse("linkage:batch_start", args=[layout.pk])).status_code == 404
        assert layout.name not in client.get(reverse("linkage:layout_list")).content.decode()
    assert not Batch.objects.exclude(pk=batch.pk).exists()
