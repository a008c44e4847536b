"""Attachment files that no row refers to (left by a process killed mid-import) are
removed by the sweep; the next pull imports the package again, once."""

import datetime
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection as db_connection

from madoguchi.applications.models import Application, Attachment, Channel
from madoguchi.channels.models import MynaportalConnection
from madoguchi.channels.mynaportal import intake
from madoguchi.channels.mynaportal.pull import pull

from .helpers import make_package
from .test_intake import media_files
from .test_simulator import submit

ROOT = Path(__file__).resolve().parents[3]


def _stray(relative: str, *, age: datetime.timedelta) -> Path:
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 left behind")
    when = time.time() - age.total_seconds()
    os.utime(path, (when, when))
    return path


def _sweep(*args) -> str:
    out = io.StringIO()
    call_command("sweep_orphan_attachments", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_sweep_deletes_unreferenced_files_past_the_grace_period_only(
    loaded_municipality, mapping, card, trust
):
    case = intake.import_package(loaded_municipality, make_package(card), trust=trust).application
    kept = Path(settings.MEDIA_ROOT) / Attachment.objects.get(application=case).file.name
    old = _stray("attachments/1/999999/0123456789abcdef", age=datetime.timedelta(days=2))
    young = _stray("attachments/1/999998/fedcba9876543210", age=datetime.timedelta(minutes=5))
    not_ours = _stray("exports/report.csv", age=datetime.timedelta(days=30))

    dry = _sweep("--dry-run")
    assert "削除対象: attachments/1/999999/0123456789abcdef" in dry
    assert old.exists()

    output = _sweep()
    assert output.splitlines() == [
        "削除: attachments/1/999999/0123456789abcdef",
        "確認 3件、削除 1件、猶予期間内のため保留 1件、エラー 0件",
    ]
    assert not old.exists() and not old.parent.exists()  # its empty directory too
    assert young.exists() and kept.exists() and not_ours.exists()

    assert _sweep("--grace-hours", "0").splitlines()[-1] == (
        "確認 2件、削除 1件、猶予期間内のため保留 0件、エラー 0件"
    )
    assert not young.exists() and kept.exists()


def test_the_sweep_runs_daily_from_celery_beat():
    from celery.schedules import crontab

    from madoguchi.celery import app

    app.loader.import_default_modules()  # what worker and beat do before reading it
    entry = app.conf.beat_schedule["attachments-sweep-orphans"]
    assert entry["task"] == "mynaportal.sweep_orphan_attachments"
    assert entry["schedule"] == crontab(hour=4, minute=15)
    assert "mynaportal.sweep_orphan_attachments" in app.tasks


def _database_url() -> str:
    from urllib.parse import quote

    s = db_connection.settings_dict
    user = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    return f"postgres://{user}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.skipif(
    db_connection.vendor != "postgresql",
    reason="a second process must open the test database (PostgreSQL)",
)
@pytest.mark.django_db(transaction=True)
def test_pull_killed_mid_import_then_sweep_then_next_pull_imports_once(
    loaded_municipality, mapping, simulator, card, db_trust, tmp_path, monkeypatch
):
    monkeypatch.setenv("MADOGUCHI_MYNAPORTAL_PASSWORD_131016", "simulator")
    connection = MynaportalConnection.objects.create(
        municipality=loaded_municipality, base_url=simulator.url, login_id="madoguchi"
    )
    receipt = submit(simulator, card)
    marker = tmp_path / "written"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "MADOGUCHI_VAR_DIR": str(tmp_path / "var"),
        "JPKI_ALLOW_TEST_CA": "1",
        "MYNAPORTAL_VERIFY_PROCESSES": "0",
        "MADOGUCHI_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.channels.mynaportal.hanging_pull", str(marker)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached the write"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)  # no cleanup can run
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert marker.read_text() == receipt

    # What the kill left: a file, no row (the transaction never committed).
    orphans = media_files()
    assert len(orphans) == 1
    assert not Application.objects.filter(channel=Channel.MYNAPORTAL).exists()
    assert not Attachment.objects.exists()

    assert _sweep("--grace-hours", "0").splitlines()[-1] == (
        "確認 1件、削除 1件、猶予期間内のため保留 0件、エラー 0件"
    )
    assert media_files() == []

    result = pull(connection)
    assert (result.imported, result.failed, result.quarantined) == (1, 0, 0)
    assert pull(connection).imported == 0
    case = Application.objects.get(channel=Channel.MYNAPORTAL, source_reference=receipt)
    stored = Attachment.objects.get(application=case)
    assert [p.relative_to(settings.MEDIA_ROOT).as_posix() for p in media_files()] == [
        stored.file.name
    ]
    assert _sweep("--grace-hours", "0").splitlines()[-1] == (
        "確認 1件、削除 0件、猶予期間内のため保留 0件、エラー 0件"
    )
