import csv
import io

import pytest
from openpyxl import load_workbook

from madoguchi.audit.models import AccessLog
from madoguchi.exports import runner
from madoguchi.exports.models import ExportJob
from madoguchi.tenants.models import Department

from .conftest import MY_NUMBER, answers, download, start_export, submit

pytestmark = pytest.mark.django_db


def rows_of(data: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def kodomo_department(municipality):
    return Department.objects.get(municipality=municipality, code="kodomo")


def test_csv_utf8_with_bom_has_fixed_and_form_columns(client, kodomo, staff, login, inline_jobs):
    one = submit(kodomo, answers(children=["山田一郎", "山田二郎"], note="=1+1"))
    two = submit(kodomo, answers(family="佐藤", children=["佐藤三郎"]))
    login(staff("kodomo1", kodomo.municipality, "kodomo"))
    department = kodomo_department(kodomo.municipality)

    response, job = start_export(
        client,
        inline_jobs,
        {
            "department": department.pk,
            "format": "csv",
            "encoding": "utf-8-sig",
            "procedure_choice": kodomo.pk,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/staff/exports/{job.pk}/"
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE
    assert (job.done_rows, job.total_rows) == (2, 2)

    data = download(client, job)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = rows_of(data, "utf-8-sig")
    header = rows[0]
    assert header[:6] == ["受付番号", "受付日時", "状況", "申請経路", "申請者", "担当課"]
    assert header[6:] == [
        "氏名",
        "メールアドレス",
        "生年月日",
        "個人番号",
        "所得",
        "備考",
        "児童1_氏名",
        "児童1_生年月日",
        "児童2_氏名",
        "児童2_生年月日",
    ]
    by_receipt = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    first = by_receipt[one.receipt_number]
    assert first["状況"] == "受付"
    assert first["担当課"] == "こども家庭課"
    assert first["申請者"] == "山田　花子"
    assert first["児童2_氏名"] == "山田二郎"
    assert first["生年月日"] == "1990-04-01"
    assert first["所得"] == "1500000"
    # 個人番号 is always masked; the full number is nowhere in the file.
    assert first["個人番号"] == "********" + MY_NUMBER[-4:]
    assert MY_NUMBER.encode() not in data
    # A formula typed by a resident is neutralised for spreadsheets.
    assert first["備考"] == "'=1+1"
    second = by_receipt[two.receipt_number]
    assert second["児童1_氏名"] == "佐藤三郎"
    assert second["児童2_氏名"] == ""


def test_cp932_reports_unencodable_characters(client, kodomo, staff, login, inline_jobs):
    # 髙 is in CP932 (IBM extension); 㐂 and 𠮷 are not.
    app = submit(
        kodomo, answers(family="髙橋", given="㐂子", children=["𠮷田太郎"], note="10〜12時")
    )
    login(staff("kodomo1", kodomo.municipality, "kodomo"))
    response, job = start_export(
        client,
        inline_jobs,
        {"format": "csv", "encoding": "cp932", "procedure_choice": kodomo.pk},
    )
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE
    data = download(client, job)
    assert not data.startswith(b"\xef\xbb\xbf")
    rows = rows_of(data, "cp932")
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["申請者"] == "髙橋　〓子"
    assert record["児童1_氏名"] == "〓田太郎"
    # WAVE DASH is the same JIS character as CP932's FULLWIDTH TILDE: mapped, not reported.
    assert record["備考"] == "10～12時"

    found = {(e["receipt_number"], e["field"], e["character"], e["code"]) for e in job.report}
    assert found == {
        (app.receipt_number, "申請者", "㐂", "U+3402"),
        (app.receipt_number, "氏名", "㐂", "U+3402"),
        (app.receipt_number, "児童1_氏名", "𠮷", "U+20BB7"),
    }

    page = client.get(f"/staff/exports/{job.pk}/").content.decode()
    assert "U+20BB7" in page and app.receipt_number in page
    assert 'http-equiv="refresh"' not in page


def test_xlsx_opens_with_openpyxl(client, kodomo, staff, login, inline_jobs):
    app = submit(kodomo, answers(children=["山田一郎"], note='=HYPERLINK("x")'))
    login(staff("kodomo1", kodomo.municipality, "kodomo"))
    _response, job = start_export(
        client, inline_jobs, {"format": "xlsx", "procedure_choice": kodomo.pk}
    )
    data = download(client, job)
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:6] == ["受付番号", "受付日時", "状況", "申請経路", "申請者", "担当課"]
    assert "児童1_氏名" in rows[0]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["受付番号"] == app.receipt_number
    assert record["児童1_氏名"] == "山田一郎"
    assert record["備考"] == '=HYPERLINK("x")'  # kept as text: a string cell is never evaluated
    assert record["個人番号"].startswith("********")


def test_without_procedure_only_fixed_columns(client, kodomo, suido, staff, login, inline_jobs):
    submit(kodomo, answers())
    submit(suido, answers())
    login(staff("admin1", kodomo.municipality, role="admin"))
    _response, job = start_export(client, inline_jobs, {"format": "csv", "encoding": "utf-8-sig"})
    rows = rows_of(download(client, job), "utf-8-sig")
    assert len(rows[0]) == 6
    assert {row[5] for row in rows[1:]} == {"こども家庭課", "水道課"}


def test_inbox_filters_apply(client, kodomo, staff, login, inline_jobs):
    keep = submit(kodomo, answers(family="山田"))
    submit(kodomo, answers(family="佐藤"))
    login(staff("kodomo1", kodomo.municipality, "kodomo"))
    _response, job = start_export(
        client, inline_jobs, {"format": "csv", "encoding": "utf-8-sig", "q": "山田"}
    )
    rows = rows_of(download(client, job), "utf-8-sig")
    assert [row[0] for row in rows[1:]] == [keep.receipt_number]
    assert job.filters == {"q": ["山田"]}


def test_other_departments_never_exported_even_with_forged_filters(
    client, kodomo, suido, elsewhere, staff, login, inline_jobs
):
    mine = submit(kodomo, answers())
    water = submit(suido, answers(family="水野"))
    other_town = submit(elsewhere, answers(family="遠藤"))
    user = staff("kodomo1", kodomo.municipality, "kodomo")
    login(user)
    water_department = Department.objects.get(municipality=kodomo.municipality, code="suido")

    # A department the user may not open: the page does not exist.
    assert client.get(f"/staff/exports/new/?department={water_department.pk}").status_code == 404
    assert (
        client.post(
            "/staff/exports/new/", {"department": water_department.pk, "format": "csv"}
        ).status_code
        == 404
    )
    # Another department's procedure cannot be chosen ...
    response, _job = start_export(
        client,
        inline_jobs,
        {"format": "csv", "encoding": "utf-8-sig", "procedure_choice": suido.pk},
    )
    assert response.status_code == 400
    # ... nor smuggled in as an inbox filter.
    _response, job = start_export(
        client,
        inline_jobs,
        {"format": "csv", "encoding": "utf-8-sig", "procedure": [suido.pk, elsewhere.pk]},
    )
    data = download(client, job).decode("utf-8-sig")
    assert "水野" not in data and "遠藤" not in data
    assert water.receipt_number not in data
    assert job.total_rows == 0

    # A job row forged directly in the database is still scoped by the requester's rights.
    forged = ExportJob.objects.create(
        municipality=kodomo.municipality,
        requested_by=user,
        filters={"department": water_department.pk},
        procedure=suido,
    )
    assert list(runner.export_queryset(forged)) == []
    forged_other_town = ExportJob.objects.create(
        municipality=elsewhere.municipality, requested_by=user, filters={}
    )
    assert list(runner.export_queryset(forged_other_town)) == []
    plain = ExportJob.objects.create(
        municipality=kodomo.municipality, requested_by=user, filters={}
    )
    assert list(runner.export_queryset(plain).values_list("pk", flat=True)) == [mine.pk]
    assert other_town.pk not in runner.export_queryset(plain).values_list("pk", flat=True)


def test_viewer_may_export_and_start_is_logged(client, kodomo, staff, login, inline_jobs):
    submit(kodomo, answers())
    viewer = staff("viewer1", kodomo.municipality, "kodomo", role="viewer")
    login(viewer)
    department = kodomo_department(kodomo.municipality)
    form = client.get(f"/staff/exports/new/?department={department.pk}&status=received&q=x")
    assert form.status_code == 200
    page = form.content.decode()
    assert 'name="status" value="received"' in page and 'name="q" value="x"' in page
    _response, job = start_export(
        client,
        inline_jobs,
        {"department": department.pk, "status": "received", "format": "csv"},
    )
    log = AccessLog.objects.get(action=AccessLog.Action.EXPORT)
    assert log.user == viewer
    assert log.object_ref == f"export:{job.pk}"
    assert log.detail["filters"] == {"status": ["received"], "department": department.pk}
    assert log.municipality == kodomo.municipality


def test_download_only_for_requester_or_same_municipality_admin(
    client, kodomo, elsewhere, staff, login, inline_jobs
):
    submit(kodomo, answers())
    requester = staff("kodomo1", kodomo.municipality, "kodomo")
    colleague = staff("kodomo2", kodomo.municipality, "kodomo")
    admin = staff("admin1", kodomo.municipality, role="admin")
    foreign_admin = staff("admin2", elsewhere.municipality, role="admin")
    login(requester)
    _response, job = start_export(client, inline_jobs, {"format": "csv"})
    assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 200
    assert f"/staff/exports/{job.pk}/" in client.get("/staff/exports/").content.decode()

    for outsider in (colleague, foreign_admin):
        login(outsider)
        assert client.get(f"/staff/exports/{job.pk}/").status_code == 404
        assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 404
        assert f"/staff/exports/{job.pk}/" not in client.get("/staff/exports/").content.decode()

    login(admin)
    assert client.get(f"/staff/exports/{job.pk}/").status_code == 200
    assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 200

    downloads = AccessLog.objects.filter(action=AccessLog.Action.DOWNLOAD_EXPORT).order_by("pk")
    assert [(d.user.username, d.object_ref) for d in downloads] == [
        ("kodomo1", f"export:{job.pk}"),
        ("admin1", f"export:{job.pk}"),
    ]

    client.logout()
    response = client.get(f"/staff/exports/{job.pk}/download/")
    assert response.status_code == 302


def test_job_states_and_progress(client, kodomo, staff, login, settings):
    settings.MADOGUCHI_JOBS_INLINE = True
    for _ in range(5):
        submit(kodomo, answers())
    login(staff("kodomo1", kodomo.municipality, "kodomo"))
    # Without the commit, the job has not run: it waits, and its page refreshes itself.
    response = client.post("/staff/exports/new/", {"format": "csv"})
    job = ExportJob.objects.get()
    assert job.state == ExportJob.State.QUEUED
    page = client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "<script>" not in page
    assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 404

    runner.run(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE
    assert (job.done_rows, job.total_rows, job.percent) == (5, 5, 100)
    assert job.finished_at is not None
    assert job.file.name.endswith(".csv")

    # Delivered twice (Celery may do that): the second run does nothing.
    name = job.file.name
    runner.run(job.pk)
    job.refresh_from_db()
    assert job.file.name == name

    page = client.get(f"/staff/exports/{job.pk}/").content.decode()
    assert 'http-equiv="refresh"' not in page
    assert f"/staff/exports/{job.pk}/download/" in page


def test_progress_is_written_in_batches(kodomo, staff, monkeypatch):
    for _ in range(5):
        submit(kodomo, answers())
    user = staff("kodomo1", kodomo.municipality, "kodomo")
    job = ExportJob.objects.create(municipality=kodomo.municipality, requested_by=user)
    monkeypatch.setattr(runner, "BATCH", 2)
    progress = []
    from madoguchi.exports import writers

    def done_rows():
        return ExportJob.objects.values_list("done_rows", flat=True).get(pk=job.pk)

    original_row = writers.CsvRowWriter.write_row
    original_rows = writers.CsvRowWriter.write_rows

    def write_row(self, cells):
        progress.append((done_rows(), 1))
        return original_row(self, cells)

    def write_rows(self, rows):
        progress.append((done_rows(), len(rows)))
        return original_rows(self, rows)

    monkeypatch.setattr(writers.CsvRowWriter, "write_row", write_row)
    monkeypatch.setattr(writers.CsvRowWriter, "write_rows", write_rows)
    runner.run(job.pk)
    # The header, then the rows in blocks of 2: done_rows moves 0 → 2 → 4 while the file is
    # written.
    assert progress == [(0, 1), (0, 2), (2, 2), (4, 1)]
    job.refresh_from_db()
    assert (job.done_rows, job.total_rows) == (5, 5)


def test_rows_are_read_once_and_counted_while_read(kodomo, staff, monkeypatch):
    """One pass over the database: while the rows are read the total is unknown (0) and
    done_rows counts the rows read; then the total is set and done_rows counts the rows
    written."""
    for _ in range(5):
        submit(kodomo, answers(children=["山田一郎"]))
    user = staff("kodomo1", kodomo.municipality, "kodomo")
    job = ExportJob.objects.create(municipality=kodomo.municipality, requested_by=user)
    monkeypatch.setattr(runner, "BATCH", 2)
    seen = []
    original = runner._dump_block

    def dump(block, spool):
        seen.append(ExportJob.objects.values_list("done_rows", "total_rows").get(pk=job.pk))
        return original(block, spool)

    monkeypatch.setattr(runner, "_dump_block", dump)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        runner.run(job.pk)
    assert seen == [(0, 0), (2, 0), (4, 0)]
    job.refresh_from_db()
    assert (job.state, job.done_rows, job.total_rows) == ("done", 5, 5)
    # No count and no aggregate over the applications before the rows.
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "applications_application"' in q["sql"] and "COUNT(" in q["sql"].upper()
    ]
    assert reads == []


def test_progress_page_while_waiting_reading_and_writing(client, kodomo, staff, login):
    user = staff("kodomo1", kodomo.municipality, "kodomo")
    login(user)
    job = ExportJob.objects.create(municipality=kodomo.municipality, requested_by=user)
    page = client.get(f"/staff/exports/{job.pk}/").content.decode()
    assert "開始を待っています。" in page and 'http-equiv="refresh"' in page
    ExportJob.objects.filter(pk=job.pk).update(state="running", done_rows=4000)
    page = client.get(f"/staff/exports/{job.pk}/").content.decode()
    assert "申請を読み込んでいます（4000件）" in page
    assert '<progress id="export-progress" max="100"></progress>' in page
    ExportJob.objects.filter(pk=job.pk).update(done_rows=2000, total_rows=8000)
    page = client.get(f"/staff/exports/{job.pk}/").content.decode()
    assert "2000 / 8000 件" in page and 'value="25"' in page


def test_failed_job_is_reported_without_personal_data_in_logs(kodomo, staff, monkeypatch, caplog):
    submit(kodomo, answers(family="秘密"))
    user = staff("kodomo1", kodomo.municipality, "kodomo")
    job = ExportJob.objects.create(municipality=kodomo.municipality, requested_by=user)

    def boom(job, raw):
        name = runner.export_queryset(job).values_list("applicant_name", flat=True).get()
        raise ValueError(name)  # an exception message quoting personal data

    monkeypatch.setattr(runner, "build", boom)
    runner.run(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED
    assert job.error
    assert "秘密" not in caplog.text
    assert f"export job {job.pk} failed: ValueError" in caplog.text


def test_a_job_that_fails_after_storing_its_file_leaves_no_file(kodomo, staff, monkeypatch):
    """The file is stored, then recording the job fails: the file (residents' data that no
    job points to, never found again) is deleted."""
    from pathlib import Path

    from django.conf import settings

    submit(kodomo, answers())
    user = staff("kodomo1", kodomo.municipality, "kodomo")
    job = ExportJob.objects.create(municipality=kodomo.municipality, requested_by=user)
    stored = []
    real_save = ExportJob.save

    def save(self, *args, **kwargs):
        if kwargs.get("update_fields") and "file" in kwargs["update_fields"]:
            stored.append(self.file.name)
            raise OSError("database went away")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ExportJob, "save", save)
    runner.run(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.FAILED and not job.file
    assert stored and not (Path(settings.MEDIA_ROOT) / stored[0]).exists()


def test_too_many_running_exports_are_refused(client, kodomo, staff, login, settings):
    settings.MADOGUCHI_JOBS_INLINE = True
    user = staff("kodomo1", kodomo.municipality, "kodomo")
    login(user)
    for _ in range(3):
        assert client.post("/staff/exports/new/", {"format": "csv"}).status_code == 302
    response = client.post("/staff/exports/new/", {"format": "csv"})
    assert response.status_code == 400
    assert "作成中の出力が3件あります" in response.content.decode()
