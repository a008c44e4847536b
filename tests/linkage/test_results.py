"""Result file import: each line applied like a status change, with a per-line report."""

import pytest
from django.core.files.base import ContentFile

from madoguchi.applications.models import Application, ApplicationEvent
from madoguchi.linkage import results
from madoguchi.linkage.models import ResultImport
from madoguchi.outbox.models import OutboxMessage  # noqa: F401 - the outbox exists

from .conftest import make_application


def do_import(layout, user, data: bytes, encoding="auto") -> ResultImport:
    job = ResultImport(
        municipality=layout.municipality, layout=layout, uploaded_by=user, encoding=encoding
    )
    job.file.save("result.csv", ContentFile(data), save=False)
    job.save()
    return results.run(job.pk)


@pytest.fixture
def cases(linkage_procedure):
    return [
        make_application(linkage_procedure, f"R-000{i}", family="山田", given=f"{i}郎")
        for i in range(1, 6)
    ]


RESULT = (
    "受付番号,処理状況,メッセージ\r\n"
    "R-0001,処理中,\r\n"
    "R-0002,完了,認定しました。\r\n"
    "R-0003,却下,\r\n"
    "R-9999,完了,\r\n"
    "R-0004,承認,\r\n"
    "\r\n"
    "R-0005,returned,所得証明書を添付してください。\r\n"
    ",完了\r\n"
    "R-0002,処理中\r\n"
)


@pytest.mark.django_db
def test_good_and_bad_lines(cases, make_layout, handler):
    layout = make_layout()
    job = do_import(layout, handler, RESULT.encode("cp932"))
    assert job.state == ResultImport.State.DONE
    assert job.detected_encoding == "cp932"
    assert (job.applied, job.failed, job.total) == (3, 5, 8)
    assert [(e["line"], e["receipt_number"], e["ok"], e["result"]) for e in job.report] == [
        (2, "R-0001", True, "「受付」から「処理中」に変更しました。"),
        (3, "R-0002", True, "「受付」から「完了」に変更しました。"),
        (
            4,
            "R-0003",
            False,
            "却下するときは、却下の理由を申請者へのメッセージに入力してください。",
        ),
        (5, "R-9999", False, "受付番号「R-9999」の申請はこの手続にありません。"),
        (
            6,
            "R-0004",
            False,
            "「承認」という処理状況はありません。"
            "処理中・完了・却下・要再申請のいずれか（またはin_progressなどのコード）を書いてください。",
        ),
        (8, "R-0005", True, "「受付」から「要再申請」に変更しました。"),
        (9, "", False, "受付番号がありません。"),
        (10, "R-0002", False, "「完了」の申請を「処理中」に変更することはできません。"),
    ]
    status = dict(Application.objects.values_list("receipt_number", "status"))
    assert status == {
        "R-0001": "in_progress",
        "R-0002": "completed",
        "R-0003": "received",
        "R-0004": "received",
        "R-0005": "returned",
    }
    event = ApplicationEvent.objects.get(
        application=cases[4], kind=ApplicationEvent.Kind.STATUS_CHANGED
    )
    assert event.actor_user == handler and event.message == "所得証明書を添付してください。"
    csv = results.report_csv(job).decode("utf-8-sig")
    assert csv.splitlines()[0] == "行,受付番号,処理状況,結果,内容"
    assert "5,R-9999,完了,エラー,受付番号「R-9999」の申請はこの手続にありません。" in csv


@pytest.mark.django_db
def test_applicant_is_told_through_the_outbox(cases, make_layout, handler):

    before = OutboxMessage.objects.count()
    do_import(make_layout(), handler, "R-0001,完了,認定しました。\n".encode())
    assert OutboxMessage.objects.count() == before + 1


@pytest.mark.django_db
def test_unreadable_file_applies_nothing(cases, make_layout, handler):
    job = do_import(make_layout(), handler, "R-0001,完了\n".encode("cp932"), encoding="utf-8")
    assert job.state == ResultImport.State.FAILED
    assert job.error == (
        "ファイルをUTF-8として読めませんでした（1行目）。文字コードを確かめてください。"
    )
    assert not Application.objects.filter(status="completed").exists()


@pytest.mark.django_db
def test_utf8_with_bom_and_codes(cases, make_layout, handler):
    job = do_import(make_layout(), handler, "\ufeffR-0001,completed\n".encode())
    assert job.detected_encoding == "utf-8" and job.applied == 1


@pytest.mark.django_db
def test_applications_of_other_procedures_cannot_be_touched(
    cases, make_layout, handler, municipality, other_municipality
):
    from .conftest import make_linkage_procedure

    other_proc = make_linkage_procedure(municipality, slug="other", department_code="suido")
    make_application(other_proc, "S-0001", family="水道", given="太郎")
    elsewhere = make_linkage_procedure(other_municipality)
    make_application(elsewhere, "R-0001X", family="他", given="市")
    job = do_import(make_layout(), handler, b"S-0001,completed\nR-0001X,completed\n")
    assert job.applied == 0
    assert job.report[0]["result"] == "受付番号「S-0001」の申請はこの手続にありません。"


def test_report_csv_neutralises_what_the_core_system_wrote():
    from types import SimpleNamespace

    from madoguchi.linkage.results import report_csv

    job = SimpleNamespace(
        report=[{"line": 1, "receipt_number": "R-1", "status": "", "ok": False, "result": "=1+1"}]
    )
    text = report_csv(job).decode("utf-8-sig")
    assert text.splitlines()[1] == "1,R-1,,エラー,'=1+1"
