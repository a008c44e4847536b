"""Outbox delivery through a REAL Celery worker on Redis and PostgreSQL.

Run by tools/run-celery-tests.sh, which creates a dedicated database, migrates it, and starts
`celery -A madoguchi worker` on it with EMAIL_BACKEND=check_celery_outbox.SwitchableBackend.
This process and the worker share that database; everything here commits for real (no test
transaction), exactly as a web request would.

Checks:
1. submit → the confirmation e-mail is handed to the worker after commit and delivered;
2. a staff status change while the mail server is down → the worker records the failure and
   backs off (attempts, last_error, next_attempt_at); when the server is back and the backoff
   has passed, the periodic sweep task (what celery beat sends every minute) delivers it;
3. the worker keeps its database session across tasks (CONN_MAX_AGE, madoguchi.celery).

Prints "celery_outbox: N passed, M failed" and exits non-zero on failure.
"""

import email
import email.policy
import os
import sys
import time
import traceback
import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

TIMEOUT_SECONDS = float(os.environ.get("CELERY_CHECK_TIMEOUT", "45"))


def _mail_dir() -> Path:
    return Path(os.environ["MADOGUCHI_CHECK_MAIL_DIR"])


class SwitchableBackend(BaseEmailBackend):
    """Used by the worker: writes each message to MADOGUCHI_CHECK_MAIL_DIR as an .eml file,
    or fails like an unreachable SMTP server while the file DOWN exists there."""

    def send_messages(self, email_messages):
        directory = _mail_dir()
        if (directory / "DOWN").exists():
            raise ConnectionRefusedError("mail server down (simulated)")
        directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            (directory / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        return len(email_messages)


# ----------------------------------------------------------------------------- the check

FORM = {
    "title": "テスト申請",
    "steps": [
        {
            "key": "applicant",
            "title": "申請者",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス", "required": True},
            ],
        }
    ],
}
ANSWERS = {
    "applicant_name": {
        "family": "山田",
        "given": "花子",
        "family_kana": "ヤマダ",
        "given_kana": "ハナコ",
    },
    "email": "hanako@example.jp",
}


def wait_for(what: str, predicate, timeout: float = TIMEOUT_SECONDS):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {what}")
        time.sleep(0.25)


def sent_subjects() -> list[str]:
    directory = _mail_dir()
    if not directory.exists():
        return []
    subjects = []
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        subjects.append(str(message["subject"]))
    return subjects


def setup_data():
    from django.contrib.auth import get_user_model

    from madoguchi.catalog.models import FormVersion, Procedure
    from madoguchi.tenants.models import Department, Municipality, StaffMembership

    municipality = Municipality.objects.create(
        lg_code="131016", name="千代田区", prefecture="東京都"
    )
    department = Department.objects.create(
        municipality=municipality, code="kodomo", name="こども家庭課"
    )
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug="celery-check",
        name="テスト手続",
        reading="てすとてつづき",
        category="other",
    )
    procedure.departments.add(department)
    FormVersion.new_draft(procedure, schema=FORM).publish()
    procedure.refresh_from_db()
    staff = get_user_model().objects.create_user("celery-check-staff", password=uuid.uuid4().hex)
    StaffMembership.objects.create(
        user=staff,
        municipality=municipality,
        department=department,
        role=StaffMembership.Role.HANDLER,
    )
    return procedure, staff


def check_submit_mail_is_delivered_by_the_worker(context):
    from madoguchi.applications import services
    from madoguchi.outbox.models import OutboxMessage

    application, _token = services.start_draft(context["procedure"])
    services.save_step(
        application, "applicant", raw={}, answers=ANSWERS, completed=True, step_index=0
    )
    services.submit(application, base_url="http://testserver")  # commits; hands off to Redis
    application.refresh_from_db()
    context["application"] = application
    message = OutboxMessage.objects.get(reference=f"application:{application.pk}")
    wait_for(
        "the worker to mark the confirmation e-mail sent",
        lambda: OutboxMessage.objects.filter(
            pk=message.pk, state=OutboxMessage.State.SENT
        ).exists(),
    )
    subjects = wait_for(
        "the confirmation e-mail in the mail directory",
        lambda: [s for s in sent_subjects() if application.receipt_number in s],
    )
    assert "申請を受け付けました" in subjects[0], subjects


def check_outage_is_retried_with_backoff_and_swept(context):
    import datetime

    from django.utils import timezone

    from madoguchi.applications import staff_actions
    from madoguchi.outbox.delivery import BASE_DELAY_SECONDS
    from madoguchi.outbox.models import OutboxMessage
    from madoguchi.outbox.tasks import deliver_due

    application = context["application"]
    down = _mail_dir() / "DOWN"
    _mail_dir().mkdir(parents=True, exist_ok=True)
    down.touch()
    before = set(OutboxMessage.objects.values_list("pk", flat=True))
    started = timezone.now()
    staff_actions.change_status(
        application,
        "in_progress",
        user=context["staff"],
        message="審査を始めました。",
        expected_version=application.lock_version,
    )
    new = OutboxMessage.objects.exclude(pk__in=before).get()

    def failed_once():
        message = OutboxMessage.objects.get(pk=new.pk)
        return message if message.attempts >= 1 else None

    message = wait_for("the worker to try (and fail) the delivery", failed_once)
    assert message.state == OutboxMessage.State.PENDING, message.state
    assert message.attempts == 1, message.attempts
    assert message.last_error.startswith("ConnectionRefusedError"), message.last_error
    backoff = (message.next_attempt_at - started).total_seconds()
    assert BASE_DELAY_SECONDS * 0.9 <= backoff <= BASE_DELAY_SECONDS * 2, backoff
    time.sleep(1.0)  # nothing is due: a sweep now must not touch it
    deliver_due.delay()
    time.sleep(2.0)
    message.refresh_from_db()
    assert message.attempts == 1 and message.state == OutboxMessage.State.PENDING

    # The mail server is back and the backoff has passed: the sweep (beat's task) sends it.
    down.unlink()
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    deliver_due.delay()
    wait_for(
        "the sweep task to deliver the retried e-mail",
        lambda: OutboxMessage.objects.filter(
            pk=message.pk, state=OutboxMessage.State.SENT, attempts=2
        ).exists(),
    )
    assert any("「処理中」" in s and application.receipt_number in s for s in sent_subjects())


def _worker_sessions() -> dict[int, object]:
    """{pid: backend_start} of the other sessions on this database (the worker's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return dict(cursor.fetchall())


def check_the_worker_keeps_its_database_connection(context):
    """Twenty tasks and a submission's e-mail later, the worker still talks to PostgreSQL on
    the session it had (CONN_MAX_AGE, as web processes): Celery's Django fixup alone closed
    it around every task, a new session per task (madoguchi.celery)."""
    from madoguchi.applications import services
    from madoguchi.outbox.models import OutboxMessage
    from madoguchi.outbox.tasks import deliver_due

    before = wait_for("the worker's idle session between tasks", _worker_sessions)
    for _ in range(20):
        deliver_due.delay()
    application, _token = services.start_draft(context["procedure"])
    services.save_step(
        application, "applicant", raw={}, answers=ANSWERS, completed=True, step_index=0
    )
    services.submit(application, base_url="http://testserver")
    # The solo worker runs its queue in order: the sweeps ran before this e-mail was sent.
    wait_for(
        "the worker to send the confirmation e-mail after the sweeps",
        lambda: OutboxMessage.objects.filter(
            reference=f"application:{application.pk}", state=OutboxMessage.State.SENT
        ).exists(),
    )
    after = _worker_sessions()
    assert before.items() <= after.items(), (before, after)


CHECKS = [
    check_submit_mail_is_delivered_by_the_worker,
    check_outage_is_retried_with_backoff_and_swept,
    check_the_worker_keeps_its_database_connection,
]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    import django

    django.setup()
    from django.conf import settings

    assert settings.REDIS_URL, "REDIS_URL must be set (the check needs a real broker)"
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

    procedure, staff = setup_data()
    context = {"procedure": procedure, "staff": staff}
    passed = failed = 0
    for check in CHECKS:
        try:
            check(context)
        except Exception:
            failed += 1
            print(f"FAIL {check.__name__}")
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {check.__name__}")
    print(f"celery_outbox: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
