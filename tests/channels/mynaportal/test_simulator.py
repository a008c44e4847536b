"""Against the simulator process: client flow, pull, idempotency, status registration with
an outage and recovery, in order."""

import base64
import datetime

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from madoguchi.applications import staff_actions
from madoguchi.applications.models import Application, Channel
from madoguchi.channels.models import MynaportalConnection, QuarantinedPackage
from madoguchi.channels.mynaportal import status_sync
from madoguchi.channels.mynaportal.client import MynaportalClient, MynaportalError
from madoguchi.channels.mynaportal.pull import pull
from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage
from tests.conftest import make_staff

from .helpers import ITEMS, PDF, Simulator, make_package

pytestmark = pytest.mark.django_db


def submit(sim, card, **extra):
    return sim.post_json(
        "/api/v1/resident/applications",
        {
            "lg_code": "131016",
            "procedure_code": "jidou_teate_genkyo",
            "card": card.serial,
            "items": ITEMS,
            "attachments": [
                {
                    "name": "kenko.pdf",
                    "item": "health_insurance",
                    "content_type": "application/pdf",
                    "data": base64.b64encode(PDF).decode(),
                }
            ],
            **extra,
        },
    )["receipt_number"]


@pytest.fixture
def connection(loaded_municipality, simulator, monkeypatch):
    # The password comes from the environment, never from the database.
    monkeypatch.setenv("MADOGUCHI_MYNAPORTAL_PASSWORD_131016", "simulator")
    return MynaportalConnection.objects.create(
        municipality=loaded_municipality, base_url=simulator.url, login_id="madoguchi"
    )


def test_client_flow(simulator, card):
    receipt = submit(simulator, card)
    client = MynaportalClient(simulator.url, "madoguchi", "simulator")
    assert client.login()
    listed = client.list_applications(
        lg_code="131016", since=timezone.now() - datetime.timedelta(days=1)
    )
    assert [s.receipt_number for s in listed] == [receipt]
    assert client.list_applications(lg_code="131016", procedure_code="other") == []
    data = client.get_application(receipt)
    assert data["package"][:2] == b"PK"
    client.register_status(receipt, status_code="02", status_label="処理中", comment="確認中です")
    assert client.list_statuses(receipt)[0]["comment"] == "確認中です"
    with pytest.raises(MynaportalError):
        MynaportalClient(simulator.url, "madoguchi", "wrong").login()
    client.token = "expired"  # a stale token is replaced by logging in again
    assert client.list_statuses(receipt)


def test_pull_imports_once_and_quarantines_bad_packages(
    loaded_municipality, mapping, connection, simulator, card, db_trust
):
    receipt = submit(simulator, card)
    bad = simulator.post_json(
        "/api/v1/resident/raw",
        {
            "lg_code": "131016",
            "procedure_code": "jidou_teate_genkyo",
            "package": base64.b64encode(make_package(card, tamper="data")).decode(),
            "receipt_number": "2026040199999999",
        },
    )["receipt_number"]
    first = pull(connection)
    assert (first.imported, first.quarantined, first.failed) == (1, 1, 0), first.errors
    second = pull(connection)
    assert (second.imported, second.duplicates) == (0, 2)
    case = Application.objects.get(channel=Channel.MYNAPORTAL)
    assert case.source_reference == receipt
    assert QuarantinedPackage.objects.get().source_reference == bad

    call_command("mynaportal_pull")  # the cron command: nothing new
    assert Application.objects.filter(channel=Channel.MYNAPORTAL).count() == 1


def test_pull_with_simulator_down_fails_softly(loaded_municipality, connection, simulator):
    simulator.stop()
    result = pull(connection)
    assert result.failed == 1 and "接続できません" in result.errors[0]
    connection.refresh_from_db()
    assert connection.last_result


def _deliver_all_due() -> None:
    OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    delivery.deliver_due()


def _one_simulated_minute() -> None:
    """The clock moves one minute and the beat sweep (`outbox.deliver_due`, every minute in
    production) runs. Time is simulated: every pending message's due time is moved one
    minute earlier, which is what a clock one minute later looks like to the sweep."""
    OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).update(
        next_attempt_at=F("next_attempt_at") - datetime.timedelta(minutes=1)
    )
    delivery.deliver_due()


def test_statuses_survive_a_ten_minute_outage_and_arrive_in_order(
    loaded_municipality, mapping, connection, simulator, card, db_trust, tmp_path
):
    receipt = submit(simulator, card)
    assert pull(connection).imported == 1
    case = Application.objects.get(channel=Channel.MYNAPORTAL)
    staff = make_staff("tanto", loaded_municipality, role="admin")

    simulator.stop()
    for to_status, message in [
        ("in_progress", "審査を始めました"),
        ("returned", "書類の写しが読めません。再度添付してください。"),
        ("in_progress", "電話で確認しました"),
    ]:
        case.refresh_from_db()
        staff_actions.change_status(
            case, to_status, user=staff, message=message, expected_version=case.lock_version
        )
    messages = OutboxMessage.objects.filter(kind=status_sync.KIND).order_by("pk")
    assert [m.payload["status_code"] for m in messages] == ["01", "02", "03", "02"]

    # Ten minutes with マイナポータル unreachable: the sweep runs every minute and every
    # message is tried when due (backoff 1, 2, 4, 8 minutes), none is given up.
    delivery.deliver_due()
    for _minute in range(10):
        _one_simulated_minute()
    assert set(messages.values_list("state", flat=True)) == {"pending"}
    first = OutboxMessage.objects.filter(kind=status_sync.KIND).order_by("pk").first()
    assert first.attempts == 4 and "接続できません" in first.last_error  # at 0, 1, 3, 7 min
    assert all(m.attempts < delivery.MAX_ATTEMPTS for m in messages.all())

    restarted = Simulator(simulator.data_dir, port=simulator.port).start()
    try:
        waited = 0
        while set(messages.values_list("state", flat=True)) != {"sent"} and waited < 10:
            _one_simulated_minute()
            waited += 1
        statuses = [
            s
            for s in restarted.get_json("/api/v1/statuses")["statuses"]
            if s["receipt_number"] == receipt
        ]
    finally:
        restarted.stop()
    assert set(messages.values_list("state", flat=True)) == {"sent"}
    assert waited <= 8  # the longest backoff reached is 8 minutes
    assert [s["status_code"] for s in statuses] == ["01", "02", "03", "02"]
    assert [s["comment"] for s in statuses] == [
        "",
        "審査を始めました",
        "書類の写しが読めません。再度添付してください。",
        "電話で確認しました",
    ]


def test_newer_status_waits_for_an_older_one(
    loaded_municipality, mapping, connection, simulator, card, db_trust
):
    submit(simulator, card)
    pull(connection)
    case = Application.objects.get(channel=Channel.MYNAPORTAL)
    staff = make_staff("tanto", loaded_municipality, role="admin")
    staff_actions.change_status(
        case, "in_progress", user=staff, message="", expected_version=case.lock_version
    )
    first, second = OutboxMessage.objects.filter(kind=status_sync.KIND).order_by("pk")
    # The older one is backing off: the newer one is refused, not sent ahead of it.
    OutboxMessage.objects.filter(pk=first.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert delivery.deliver(second.pk) is False
    second.refresh_from_db()
    assert "OutOfOrderError" in second.last_error
    # Once due, delivering the newer one sends the older first.
    OutboxMessage.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver(second.pk) is True
    first.refresh_from_db()
    assert (
        first.state == "sent" and first.sent_at <= OutboxMessage.objects.get(pk=second.pk).sent_at
    )


def test_status_page_lists_registered_statuses(simulator, card):
    receipt = submit(simulator, card)
    client = MynaportalClient(simulator.url, "madoguchi", "simulator")
    client.register_status(
        receipt, status_code="03", status_label="要再申請", comment="再提出してください"
    )
    import urllib.request

    page = urllib.request.urlopen(f"{simulator.url}/statuses").read().decode()
    assert "再提出してください" in page and "要再申請" in page
