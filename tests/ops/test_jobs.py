"""Scheduled and background jobs with several workers: one at a time (a lock that dies with
its process), and jobs left "running" by a dead worker are run again (or closed)."""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection, connections
from django.utils import timezone

from madoguchi.ops import jobs, locks

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def held_elsewhere(name):
    """`name` held by another session (another thread: its own database connection)."""
    acquired = threading.Event()
    done = threading.Event()
    outcome = {}

    def hold():
        try:
            outcome["acquired"] = locks.try_acquire(name)
            acquired.set()
            done.wait(30)
            if outcome["acquired"]:
                locks.release(name)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    assert acquired.wait(30)
    assert outcome["acquired"]
    try:
        yield
    finally:
        done.set()
        thread.join(30)


def test_single_flight_lets_one_holder_in():
    with held_elsewhere("test-lock"):
        with locks.single_flight("test-lock") as acquired:
            assert acquired is False
        assert locks.is_free("test-lock") is False
    assert locks.is_free("test-lock") is True
    with locks.single_flight("test-lock") as acquired:
        assert acquired is True


def test_single_flight_waits_when_asked():
    release_at = threading.Event()

    def hold_briefly():
        with locks.single_flight("test-wait") as acquired:
            assert acquired
            release_at.set()
            time.sleep(0.5)
        connections.close_all()

    thread = threading.Thread(target=hold_briefly)
    thread.start()
    assert release_at.wait(10)
    with locks.single_flight("test-wait", wait=10, poll=0.05) as acquired:
        assert acquired is True
    thread.join(10)


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
    reason="advisory locks of another process: PostgreSQL",
)
def test_a_lock_dies_with_the_process_that_held_it():
    settings_dict = connection.settings_dict
    dsn = (
        f"host={settings_dict['HOST'] or '127.0.0.1'} port={settings_dict['PORT'] or 5432} "
        f"dbname={settings_dict['NAME']} user={settings_dict['USER']}"
    )
    key = locks._key("test-kill")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import psycopg, sys, time\n"
            f"c = psycopg.connect({dsn!r}, autocommit=True)\n"
            f"c.execute('SELECT pg_advisory_lock({locks.NAMESPACE}, {key})')\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert locks.is_free("test-kill") is False
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 20
        while not locks.is_free("test-kill"):
            assert time.monotonic() < deadline, "the lock outlived its process"
            time.sleep(0.1)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)


# ----------------------------------------------------------------------- scheduled jobs


def test_scheduled_linkage_is_started_once_when_two_workers_get_the_tick(municipality, settings):
    from madoguchi.linkage import tasks
    from madoguchi.linkage.models import Batch, Layout
    from tests.linkage.conftest import CSV_COLUMNS, make_linkage_procedure

    settings.MADOGUCHI_JOBS_INLINE = True
    procedure = make_linkage_procedure(municipality)
    hour = timezone.localtime().hour
    Layout.objects.create(
        municipality=municipality,
        procedure=procedure,
        name="毎日",
        columns=CSV_COLUMNS,
        schedule_hour=hour,
    )
    # The first worker is running the schedule: the second one's tick does nothing.
    with held_elsewhere("linkage-run-scheduled"):
        tasks.run_scheduled()
        assert Batch.objects.count() == 0
    tasks.run_scheduled()
    tasks.run_scheduled()
    assert Batch.objects.filter(trigger=Batch.Trigger.SCHEDULE).count() == 1


@pytest.mark.parametrize(
    "task_path, lock",
    [
        ("madoguchi.applications.retention.apply_retention_task", "applications-retention"),
        ("madoguchi.analytics.tasks.refold_pending_task", "analytics-refold-pending"),
        ("madoguchi.outbox.tasks.deliver_due", "outbox-deliver-due"),
        (
            "madoguchi.channels.mynaportal.tasks.sweep_orphan_attachments_task",
            "attachments-sweep-orphans",
        ),
    ],
)
def test_every_scheduled_job_skips_while_another_worker_runs_it(task_path, lock, municipality):
    import importlib

    from madoguchi.outbox.models import OutboxMessage

    module, name = task_path.rsplit(".", 1)
    task = getattr(importlib.import_module(module), name)
    message = OutboxMessage.objects.create(
        kind="email", payload={"to": ["a@example.jp"], "subject": "s", "body": "b"}
    )
    with held_elsewhere(lock):
        result = task()
        assert result in (None, 0, (0, 0), "")
        message.refresh_from_db()
        assert message.state == OutboxMessage.State.PENDING  # the sweep did not run
    task()
    if lock == "outbox-deliver-due":
        message.refresh_from_db()
        assert message.state == OutboxMessage.State.SENT


def test_every_beat_entry_is_lock_guarded():
    """A new scheduled task must take a lock too (or be shown here to be safe twice)."""
    import inspect

    from madoguchi.celery import app

    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        task = app.tasks[entry["task"]]
        source = inspect.getsource(task.run)
        assert "single_flight" in source, entry["task"]


def test_two_pulls_of_one_connection_never_run_at_once(municipality):
    from madoguchi.channels.models import MynaportalConnection
    from madoguchi.channels.mynaportal import pull

    conn = MynaportalConnection.objects.create(
        municipality=municipality, base_url="http://127.0.0.1:1", login_id="x"
    )
    with held_elsewhere(f"mynaportal-pull:{conn.pk}"):
        result = pull.pull(conn)
    assert result.handled == 0
    assert result.errors == [pull.BUSY_MESSAGE]


def test_the_busy_message_is_translated(municipality):
    from django.utils import translation

    from madoguchi.channels.models import MynaportalConnection
    from madoguchi.channels.mynaportal import pull

    conn = MynaportalConnection.objects.create(
        municipality=municipality, base_url="http://127.0.0.1:1", login_id="x"
    )
    with held_elsewhere(f"mynaportal-pull:{conn.pk}"), translation.override("en"):
        result = pull.pull(conn)
    assert result.errors == ["Another retrieval is running, so nothing was retrieved this time."]


# ------------------------------------------------------------------ abandoned jobs


def _old(model, pk, minutes=10):
    model.objects.filter(pk=pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=minutes)
    )


def test_an_export_whose_worker_died_is_run_again(municipality, settings, django_user_model):
    from madoguchi.exports.models import ExportJob
    from tests.exports.conftest import answers, make_procedure, submit

    settings.MADOGUCHI_JOBS_INLINE = True
    procedure = make_procedure(municipality, "jidou", "kodomo", "こども家庭課")
    submit(procedure, answers())
    admin = django_user_model.objects.create_user("admin1", password="x-test-password-123")
    from madoguchi.tenants.models import StaffMembership

    StaffMembership.objects.create(user=admin, municipality=municipality, role="admin")
    # Claimed by a worker that was then killed: RUNNING, and nobody holds its lock.
    job = ExportJob.objects.create(
        municipality=municipality,
        requested_by=admin,
        filters={},
        state=ExportJob.State.RUNNING,
    )
    busy = ExportJob.objects.create(
        municipality=municipality, requested_by=admin, filters={}, state=ExportJob.State.RUNNING
    )
    _old(ExportJob, job.pk)
    _old(ExportJob, busy.pk)
    with held_elsewhere(jobs.lock_name("export", busy.pk)):
        counts = jobs.recover()
    assert counts == {"export": 1}
    job.refresh_from_db()
    busy.refresh_from_db()
    assert job.state == ExportJob.State.DONE and job.total_rows == 1 and job.file
    assert busy.state == ExportJob.State.RUNNING  # alive elsewhere: left alone


def test_a_job_whose_hand_off_was_lost_is_handed_again(municipality, settings, django_user_model):
    from madoguchi.exports.models import ExportJob

    settings.MADOGUCHI_JOBS_INLINE = True
    admin = django_user_model.objects.create_user("admin2", password="x-test-password-123")
    from madoguchi.tenants.models import StaffMembership

    StaffMembership.objects.create(user=admin, municipality=municipality, role="admin")
    recent = ExportJob.objects.create(municipality=municipality, requested_by=admin, filters={})
    lost = ExportJob.objects.create(municipality=municipality, requested_by=admin, filters={})
    _old(ExportJob, lost.pk)
    assert jobs.recover() == {"export": 1}
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.state == ExportJob.State.DONE
    assert recent.state == ExportJob.State.QUEUED  # may still be on its way


def test_an_interrupted_result_import_is_closed_not_run_twice(municipality, settings):
    from django.core.files.base import ContentFile

    from madoguchi.linkage.models import Layout, ResultImport
    from tests.conftest import make_staff
    from tests.linkage.conftest import CSV_COLUMNS, make_linkage_procedure

    settings.MADOGUCHI_JOBS_INLINE = True
    procedure = make_linkage_procedure(municipality)
    layout = Layout.objects.create(
        municipality=municipality, procedure=procedure, name="結果", columns=CSV_COLUMNS
    )
    job = ResultImport(
        municipality=municipality,
        layout=layout,
        state=ResultImport.State.RUNNING,
        uploaded_by=make_staff("importer", municipality, role="admin"),
    )
    job.file.save("result.csv", ContentFile(b"x"), save=False)
    job.save()
    _old(ResultImport, job.pk)
    assert jobs.recover() == {"linkage_import": 1}
    job.refresh_from_db()
    assert job.state == ResultImport.State.FAILED
    assert job.error.startswith("処理が途中で中断されました")
