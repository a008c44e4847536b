"""Against the simulator process: client flow, pull, idempotency, status registration with
an outage and recovery, in order."""

import base64
import datetime

import pytest
from django.core.management import call_command
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
def connection(loaded_municipality, simulator):
    return MynaportalConnection.objects.create(
        municipality=loaded_municipality,
        base_url=simulator.url,
        login_id="madoguchi",
        password="simulator",
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


def test_statuses_survive_an_outage_and_arrive_in_order(
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

    _deliver_all_due()
    assert not OutboxMessage.objects.filter(kind=status_sync.KIND, state="sent").exists()
    assert all(m.attempts >= 1 and m.last_error for m in messages.all())
    assert all(m.next_attempt_at > timezone.now() for m in messages.all())  # backed off

    restarted = Simulator(simulator.data_dir, port=simulator.port).start()
    try:
        _deliver_all_due()
        statuses = [
            s
            for s in restarted.get_json("/api/v1/statuses")["statuses"]
            if s["receipt_number"] == receipt
        ]
    finally:
        restarted.stop()
    assert [s["status_code"] for s in statuses] == ["01", "02", "03", "02"]
    assert statuses[2]["comment"] == "書類の写しが読めません。再度添付してください。"
    assert set(messages.values_list("state", flat=True)) == {"sent"}


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
