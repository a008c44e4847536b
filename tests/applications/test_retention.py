import datetime as dt
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from madoguchi.applications import services
from madoguchi.applications.models import (
    AnswerRevision,
    Application,
    ApplicationEvent,
    ApplicationTombstone,
    Attachment,
    DepartmentProgress,
    Status,
)
from madoguchi.applications.retention import apply_retention
from madoguchi.audit.models import AccessLog

from .test_services import submitted_application

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2031, 6, 1, 9, 0))


@pytest.fixture
def retain(django_capture_on_commit_callbacks):
    """apply_retention with on-commit callbacks (file deletion) run, as outside a test."""

    def run(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return apply_retention(*args, **kwargs)

    return run


def finished(procedure, status=Status.COMPLETED, *, finished_at=None, years_ago=None):
    application, _ = submitted_application(procedure)
    if years_ago is not None:
        finished_at = NOW - dt.timedelta(days=int(365.25 * years_ago))
    Application.objects.filter(pk=application.pk).update(status=status, finished_at=finished_at)
    application.refresh_from_db()
    return application


def attach(application, content=b"%PDF-1.4 test"):
    attachment = Attachment(
        municipality_id=application.municipality_id,
        application=application,
        uid=f"uid{application.pk}x{Attachment.objects.count()}",
        field_key="doc",
        original_name="住民票.pdf",
        content_type="application/pdf",
        size=len(content),
        sha256=Attachment.digest(content),
    )
    attachment.file.save(attachment.uid, ContentFile(content), save=False)
    attachment.save()
    return attachment


@pytest.fixture
def world(procedure):
    """procedure (retention 5 years): two expired, several that must stay."""
    procedure.retention_years = 5
    procedure.save()
    expired_done = finished(procedure, Status.COMPLETED, years_ago=6)
    expired_withdrawn = finished(procedure, Status.WITHDRAWN, years_ago=5.1)
    young = finished(procedure, Status.REJECTED, years_ago=4.9)
    unfinished, _ = submitted_application(procedure)  # 受付, submitted long ago
    Application.objects.filter(pk=unfinished.pk).update(
        submitted_at=NOW - dt.timedelta(days=3650), updated_at=NOW - dt.timedelta(days=3650)
    )
    # Finished without finished_at (older rows): updated_at counts.
    no_date = finished(procedure, Status.COMPLETED)
    Application.objects.filter(pk=no_date.pk).update(updated_at=NOW - dt.timedelta(days=2600))
    files = [attach(expired_done), attach(expired_done), attach(young)]
    AccessLog.objects.create(
        municipality=procedure.municipality,
        action=AccessLog.Action.VIEW_APPLICATION,
        application=expired_done,
        receipt_number=expired_done.receipt_number,
    )
    AnswerRevision.objects.create(
        municipality=procedure.municipality, application=expired_done, number=99, answers={}
    )
    department = procedure.departments.first()
    DepartmentProgress.objects.get_or_create(
        municipality=procedure.municipality, application=expired_done, department=department
    )
    return {
        "expired": [expired_done, expired_withdrawn, no_date],
        "kept": [young, unfinished],
        "files": files,
    }


def test_deletes_exactly_the_expired_finished_applications(world, procedure, retain):
    expired_done = world["expired"][0]
    expired_files = [a.file.name for a in world["files"][:2]]
    kept_file = world["files"][2].file.name
    assert all(default_storage.exists(name) for name in expired_files)

    report = retain(NOW)

    remaining = set(Application.objects.values_list("pk", flat=True))
    assert remaining == {a.pk for a in world["kept"]}
    assert report.procedures[procedure.pk].expired == 3
    assert report.procedures[procedure.pk].deleted == 3
    assert report.files_deleted == 2
    assert not any(default_storage.exists(name) for name in expired_files)
    assert default_storage.exists(kept_file)
    expired_pks = [a.pk for a in world["expired"]]
    assert not ApplicationEvent.objects.filter(application_id__in=expired_pks).exists()
    assert not AnswerRevision.objects.filter(application_id__in=expired_pks).exists()
    assert not DepartmentProgress.objects.filter(application_id__in=expired_pks).exists()
    assert not Attachment.objects.filter(application_id__in=expired_pks).exists()
    # The access log keeps the 受付番号 of what was viewed.
    log = AccessLog.objects.get(receipt_number=expired_done.receipt_number)
    assert log.application_id is None

    tombstones = {t.receipt_number: t for t in ApplicationTombstone.objects.all()}
    assert set(tombstones) == {a.receipt_number for a in world["expired"]}
    stone = tombstones[expired_done.receipt_number]
    assert stone.procedure_id == procedure.pk
    assert stone.channel == expired_done.channel
    assert stone.outcome == Status.COMPLETED
    assert stone.submitted_at == expired_done.submitted_at
    assert stone.finished_at == expired_done.finished_at
    assert tombstones[world["expired"][1].receipt_number].outcome == Status.WITHDRAWN


def test_dry_run_deletes_nothing(world, procedure, retain):
    files = [a.file.name for a in world["files"]]
    report = retain(NOW, dry_run=True)
    assert report.procedures[procedure.pk].expired == 3
    assert report.procedures[procedure.pk].deleted == 0
    assert Application.objects.count() == 5
    assert ApplicationTombstone.objects.count() == 0
    assert all(default_storage.exists(name) for name in files)


def test_idempotent(world, procedure, retain):
    retain(NOW)
    again = retain(NOW)
    assert again.procedures[procedure.pk].expired == 0
    assert again.deleted == 0
    assert ApplicationTombstone.objects.count() == 3
    assert Application.objects.count() == 2


def test_retention_period_is_per_procedure(procedure, retain):
    from .conftest import make_procedure

    long_kept = make_procedure(procedure.municipality, slug="long", department_code="suido")
    long_kept.retention_years = 10
    long_kept.save()
    procedure.retention_years = 1
    procedure.save()
    short = finished(procedure, years_ago=3)
    long = finished(long_kept, years_ago=3)
    report = retain(NOW)
    assert not Application.objects.filter(pk=short.pk).exists()
    assert Application.objects.filter(pk=long.pk).exists()
    assert report.procedures[long_kept.pk].expired == 0


def test_abandoned_drafts_go_without_tombstone(procedure, retain):
    old, _ = services.start_draft(procedure)
    fresh, _ = services.start_draft(procedure)
    file = attach(old)
    Application.objects.filter(pk=old.pk).update(updated_at=NOW - dt.timedelta(days=31))
    Application.objects.filter(pk=fresh.pk).update(updated_at=NOW - dt.timedelta(days=29))
    report = retain(NOW)
    assert report.drafts_deleted == 1
    assert set(Application.objects.values_list("pk", flat=True)) == {fresh.pk}
    assert not default_storage.exists(file.file.name)
    assert ApplicationTombstone.objects.count() == 0


def test_event_delete_stays_forbidden_outside_retention(procedure):
    application, _ = submitted_application(procedure)
    with pytest.raises(RuntimeError):
        application.events.first().delete()


def test_command_prints_progress_and_summary(world, django_capture_on_commit_callbacks):
    out = io.StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    # Real clock: the fixture's rows lie around 2031 – nothing is due today.
    assert "確認のみ" in out.getvalue()
    assert Application.objects.count() == 5

    from madoguchi.applications import retention

    original = retention.timezone.now
    retention.timezone.now = lambda: NOW
    try:
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("apply_retention", stdout=out)
    finally:
        retention.timezone.now = original
    text = out.getvalue()
    assert "[" + "#" * 30 + "] 3/3" in text
    assert "申請済みの申請: 削除 3件" in text
    assert "削除した添付ファイル:" in text  # (counted on commit; the test transaction defers it)
    assert Application.objects.count() == 2


def test_export_files_are_deleted_after_a_week(procedure, django_user_model, retain):
    from madoguchi.exports.models import ExportJob

    user = django_user_model.objects.create_user("kodomo1")
    old = ExportJob.objects.create(municipality=procedure.municipality, requested_by=user)
    new = ExportJob.objects.create(municipality=procedure.municipality, requested_by=user)
    for job in (old, new):
        job.file.save(f"export-{job.pk}.csv", ContentFile(b"a,b\r\n"))
    ExportJob.objects.filter(pk=old.pk).update(created_at=NOW - dt.timedelta(days=8))
    ExportJob.objects.filter(pk=new.pk).update(created_at=NOW - dt.timedelta(days=6))
    old_name, new_name = old.file.name, new.file.name
    assert retain(NOW, dry_run=True).export_files_expired == 1
    assert default_storage.exists(old_name)
    assert retain(NOW).export_files_expired == 1
    old.refresh_from_db()
    assert not old.file and not default_storage.exists(old_name)
    assert default_storage.exists(new_name)
