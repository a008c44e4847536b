"""Batches: exactly-once marking, refusal, manifest, drop folder, schedule and command."""

import hashlib
import json

import pytest
from django.core.management import call_command

from madoguchi.applications.models import ApplicationEvent
from madoguchi.linkage import runner
from madoguchi.linkage.models import Batch, ExportMark, Layout

from .conftest import make_application


def run(layout, trigger=Batch.Trigger.COMMAND) -> Batch:
    return runner.run(runner.create_batch(layout, trigger=trigger).pk)


@pytest.mark.django_db
def test_each_application_goes_out_once_per_layout(
    golden_applications, make_layout, linkage_procedure
):
    layout = make_layout(encoding="utf-8")
    first = run(layout)
    assert first.exported == 4
    assert ExportMark.objects.filter(layout=layout).count() == 4
    assert ApplicationEvent.objects.filter(kind=ApplicationEvent.Kind.LINKED).count() == 4
    second = run(layout)
    assert second.state == Batch.State.DONE and second.exported == 0
    assert second.manifest["counts"] == {"candidates": 0, "records": 0, "skipped": 0}
    # A new case goes out in the next batch only; another layout takes every case again.
    make_application(linkage_procedure, "R-0005", family="新規", given="様")
    third = run(layout)
    assert third.manifest["receipt_numbers"] == ["R-0005"]
    other = run(make_layout(name="別の様式", encoding="utf-8"))
    assert other.exported == 5


@pytest.mark.django_db
def test_skipped_records_are_not_marked_and_come_back(golden_applications, make_layout):
    layout = make_layout(encoding="cp932")
    run(layout)
    assert not ExportMark.objects.filter(layout=layout, application=golden_applications[1]).exists()
    again = run(layout)
    assert again.exported == 0 and again.skipped == 1  # 𠮷 still there, reported again


@pytest.mark.django_db
def test_refuse_batch_writes_nothing_and_marks_nothing(golden_applications, make_layout):
    layout = make_layout(encoding="cp932", on_error=Layout.OnError.REFUSE_BATCH)
    batch = run(layout)
    assert batch.state == Batch.State.REFUSED
    assert batch.error == (
        "出力できない値がある申請が1件あったため、ファイルを作成しませんでした"
        "（どの申請にも出力済みの印は付けていません）。"
    )
    assert batch.report[0]["receipt_number"] == "R-0002"
    assert not batch.file
    assert ExportMark.objects.count() == 0
    assert not ApplicationEvent.objects.filter(kind=ApplicationEvent.Kind.LINKED).exists()


@pytest.mark.django_db
def test_a_concurrent_batch_that_took_an_application_first_makes_the_other_fail(
    golden_applications, make_layout
):
    """Batch A writes its file, batch B runs completely, then A finalises: the unique
    (layout, application) constraint refuses A's marks and A marks nothing."""
    layout = make_layout(encoding="utf-8")
    a = runner.create_batch(layout, trigger=Batch.Trigger.MANUAL)
    Batch.objects.filter(pk=a.pk).update(state=Batch.State.RUNNING)
    a.refresh_from_db()
    written = runner.write(a)
    b = run(layout)
    assert b.exported == 4
    stored = _stored_files()
    assert {b.file.name, b.manifest_file.name} <= stored
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError, rolled back
        runner.finalise(a, written)
    assert ExportMark.objects.filter(batch=a).count() == 0
    assert ExportMark.objects.filter(layout=layout).count() == 4
    assert not a.file
    # A stored its file and manifest before its transaction: both deleted again.
    assert _stored_files() == stored


def _stored_files() -> set[str]:
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.mark.django_db
def test_a_failing_batch_marks_nothing(golden_applications, make_layout, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")  # the drop folder cannot be created below a file
    settings.LINKAGE_DROP_DIR = str(blocker)
    layout = make_layout(encoding="utf-8", destination=Layout.Destination.FOLDER)
    batch = run(layout)
    assert batch.state == Batch.State.FAILED
    assert (
        batch.error
        == "ファイルを作成できませんでした（どの申請にも出力済みの印は付けていません）。"
    )
    assert ExportMark.objects.count() == 0
    assert not ApplicationEvent.objects.filter(kind=ApplicationEvent.Kind.LINKED).exists()
    settings.LINKAGE_DROP_DIR = str(tmp_path / "drop")
    assert run(layout).exported == 4  # nothing was lost: the next batch takes them all


@pytest.mark.django_db
def test_manifest_matches_the_file_and_the_drop_folder(
    golden_applications, make_layout, settings, tmp_path
):
    settings.LINKAGE_DROP_DIR = str(tmp_path / "drop")
    layout = make_layout(encoding="cp932", destination=Layout.Destination.FOLDER)
    batch = run(layout)
    with batch.file.open("rb") as handle:
        data = handle.read()
    manifest = json.loads(batch.manifest_file.open("rb").read())
    assert manifest == batch.manifest
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest() == batch.sha256
    assert manifest["bytes"] == len(data)
    assert manifest["counts"] == {"candidates": 4, "records": 3, "skipped": 1}
    assert manifest["receipt_numbers"] == ["R-0001", "R-0003", "R-0004"]
    assert manifest["skipped"][0]["reason"] == "「𠮷」（U+20BB7）はCP932で表せません。"
    assert manifest["layout"]["encoding"] == "cp932"
    folder = tmp_path / "drop" / layout.municipality.lg_code
    assert (folder / manifest["file"]).read_bytes() == data
    assert json.loads((folder / f"{manifest['file']}.manifest.json").read_text()) == manifest
    assert not list(folder.glob(".*"))  # no temporary files left


@pytest.mark.django_db
def test_status_filter(golden_applications, make_layout):
    from madoguchi.applications.models import Application

    Application.objects.filter(pk=golden_applications[0].pk).update(status="completed")
    assert run(make_layout(encoding="utf-8")).exported == 3
    assert run(make_layout(name="完了", encoding="utf-8", statuses=["completed"])).exported == 1


@pytest.mark.django_db
def test_a_batch_runs_once_even_if_delivered_twice(golden_applications, make_layout):
    batch = runner.create_batch(make_layout(encoding="utf-8"), trigger=Batch.Trigger.MANUAL)
    assert runner.run(batch.pk).exported == 4
    assert runner.run(batch.pk) is None


@pytest.mark.django_db
def test_schedule_starts_due_layouts_once_a_day(
    golden_applications, make_layout, settings, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    settings.MADOGUCHI_JOBS_INLINE = True
    layout = make_layout(encoding="utf-8", schedule_hour=6)
    make_layout(name="時刻なし", encoding="utf-8")
    at = timezone.localtime().replace(hour=6, minute=5)
    with django_capture_on_commit_callbacks(execute=True):
        started = runner.run_scheduled(at)
    assert len(started) == 1
    assert Batch.objects.get(pk=started[0]).layout == layout
    assert runner.run_scheduled(at) == []


@pytest.mark.django_db
def test_command_runs_every_active_layout(golden_applications, make_layout, capsys):
    layout = make_layout(encoding="utf-8")
    make_layout(name="無効", encoding="utf-8", is_active=False)
    call_command("run_linkage")
    assert Batch.objects.count() == 1
    assert "4件を出力" in capsys.readouterr().out
    call_command("run_linkage", "--layout", str(layout.pk))
    assert Batch.objects.filter(layout=layout).first().exported == 0
    with pytest.raises(SystemExit):
        call_command(
            "run_linkage",
            "--layout",
            str(make_layout(name="拒否", encoding="cp932", on_error="refuse_batch").pk),
        )
