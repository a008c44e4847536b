"""A real Celery worker (Redis broker, PostgreSQL shared with this process) is SIGKILLed
while it delivers a 申請処理状況登録 to the simulator process; restarted, it delivers every
status of the case, in order, none lost and none registered twice.

Delivery is at least once: the killed attempt had reached the simulator (it records the
status, then answers late) but the worker died before recording "sent": the message is still
pending, claimed by the dead worker until its claim runs out, and is then sent again.
The re-send is harmless: the sender first reads the case's registered statuses and does
not register again a status that is already the newest one (status_sync.send_status).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from madoguchi.applications import staff_actions
from madoguchi.applications.models import Application, Channel
from madoguchi.channels.models import MynaportalConnection
from madoguchi.channels.mynaportal import status_sync
from madoguchi.channels.mynaportal.pull import pull
from madoguchi.outbox.models import OutboxMessage
from tests.conftest import make_staff

from .helpers import Simulator
from .test_orphans import _database_url
from .test_simulator import submit

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("CELERY_CHECK_REDIS_URL", "redis://127.0.0.1:6379/15")
DELAY = 3.0  # seconds the simulator holds each answer after recording the status


def _redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return True
    except Exception:
        return False


pytestmark = [
    pytest.mark.skipif(
        db_connection.vendor != "postgresql",
        reason="the worker process shares the test database (PostgreSQL)",
    ),
    pytest.mark.skipif(not _redis_reachable(), reason=f"Redis not reachable at {REDIS_URL}"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def queue():
    """This process sends its tasks to Redis (not inline) on a queue of its own."""
    from madoguchi.celery import app

    name = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    keys = ("task_always_eager", "broker_url", "task_default_queue")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(task_always_eager=False, broker_url=REDIS_URL, task_default_queue=name)
    _forget_connections(app)
    yield name
    app.conf.update(saved)
    _forget_connections(app)
    import redis

    redis.Redis.from_url(REDIS_URL).delete(name)


def _forget_connections(app) -> None:
    # Celery caches the broker pool and the queue set from the configuration it first saw.
    app._pool = None
    for cached in ("queues", "router", "producer_pool", "_producer_pool"):
        app.amqp.__dict__.pop(cached, None)
    app.amqp._producer_pool = None


class Worker:
    def __init__(self, queue: str, env: dict, log: Path):
        self.queue, self.env, self.log = queue, env, log
        self.process = None

    def start(self) -> "Worker":
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "madoguchi",
                "worker",
                "--pool=solo",
                "-l",
                "info",
                "-Q",
                self.queue,
                "-n",
                f"{self.queue}-{time.monotonic_ns()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait(condition, seconds: float, what: str, log: Path):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def test_worker_killed_mid_delivery_then_restarted_delivers_every_status_in_order(
    loaded_municipality, mapping, card, db_trust, tmp_path, monkeypatch, queue
):
    simulator = Simulator(tmp_path / "sim", status_delay=DELAY).start()
    worker = None
    try:
        monkeypatch.setenv("MADOGUCHI_MYNAPORTAL_PASSWORD_131016", "simulator")
        connection = MynaportalConnection.objects.create(
            municipality=loaded_municipality, base_url=simulator.url, login_id="madoguchi"
        )
        receipt = submit(simulator, card)

        def registered():
            return [
                s
                for s in simulator.get_json("/api/v1/statuses")["statuses"]
                if s["receipt_number"] == receipt
            ]

        # 受付 (from the pull) and three staff changes: four messages queued on Redis.
        assert pull(connection).imported == 1
        case = Application.objects.get(channel=Channel.MYNAPORTAL)
        staff = make_staff("tanto", loaded_municipality, role="admin")
        changes = [
            ("in_progress", "審査を始めました"),
            ("returned", "書類の写しが読めません。再度添付してください。"),
            ("in_progress", "電話で確認しました"),
        ]
        for to_status, message in changes:
            case.refresh_from_db()
            staff_actions.change_status(
                case, to_status, user=staff, message=message, expected_version=case.lock_version
            )
        messages = OutboxMessage.objects.filter(kind=status_sync.KIND).order_by("pk")
        assert [m.payload["status_code"] for m in messages] == ["01", "02", "03", "02"]
        assert set(messages.values_list("state", flat=True)) == {"pending"}

        log = tmp_path / "worker.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": REDIS_URL,
            "CELERY_QUEUE": queue,
            "MADOGUCHI_VAR_DIR": str(tmp_path / "var"),
            "MADOGUCHI_MYNAPORTAL_PASSWORD_131016": "simulator",
            "MADOGUCHI_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
        }
        worker = Worker(queue, env, log).start()
        # The simulator has recorded 受付 and is holding its answer: kill the worker now.
        _wait(lambda: len(registered()) == 1, 60, "the first registration", log)
        worker.kill()
        killed = OutboxMessage.objects.get(pk=messages[0].pk)
        assert killed.state == "pending" and killed.claimed_until is not None  # claimed
        # The dead worker's claim runs out (MADOGUCHI_OUTBOX_CLAIM_SECONDS; here at once).
        OutboxMessage.objects.filter(pk=killed.pk).update(claimed_until=timezone.now())

        worker = Worker(queue, env, log).start()
        _wait(
            lambda: set(messages.values_list("state", flat=True)) == {"sent"},
            90,
            "every message sent",
            log,
        )
        statuses = registered()
    finally:
        if worker is not None:
            worker.stop()
        simulator.stop()
    assert [s["status_code"] for s in statuses] == ["01", "02", "03", "02"]
    assert [s["comment"] for s in statuses] == ["", *[m for _s, m in changes]]
