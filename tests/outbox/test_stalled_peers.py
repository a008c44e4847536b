"""A peer that accepts the connection and never answers (a tarpit) stalls one message, never
the site: residents keep filing (no "database is locked" on SQLite, no idle-in-transaction
session on PostgreSQL), other messages keep flowing, and the stalled message is retried and
arrives exactly once. Runs on SQLite and on PostgreSQL (DATABASE_URL).

The tarpits hold their connections until the test releases them, so what happens "during the
stall" does not depend on how fast the machine is."""

import re
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage
from madoguchi.webhooks import events as webhook_events
from madoguchi.webhooks.models import WebhookDelivery
from tests.portal.conftest import SMALL_PDF, chiyoda, location, start  # noqa: F401 - fixture
from tests.portal.test_apply import app_of, walk_to
from tests.webhooks.conftest import make_client, subscribe

from .peers import HttpPeer, SmtpPeer, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

SLUG = "jidou_teate_nintei"


def idle_in_transaction() -> int:
    """PostgreSQL sessions of this database sitting in an open transaction (0 on SQLite)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%%'"
        )
        return cursor.fetchone()[0]


def file_application(client, email: str) -> Application:
    """A resident starts (an e-mail with the link is sent), fills every step, uploads the
    document and submits (a confirmation e-mail is sent)."""
    url = walk_to(client, start(client, SLUG, email=email), "attachments")
    application = app_of(url)
    pdf = SimpleUploadedFile("hokensho.pdf", SMALL_PDF, content_type="application/pdf")
    confirm = location(
        client.post(
            url,
            {"_action": "next", "insurance_document": pdf, "privacy_notice": "1"},
        )
    )
    receipt = location(client.post(confirm, {"rating": "5"}))
    assert re.match(r"^/131016/receipt/", receipt), receipt
    application.refresh_from_db()
    return application


@pytest.fixture
def smtp(settings):
    peer = SmtpPeer(stall=1).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = peer.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 300  # longer than the test: the stall ends when the test says
    yield peer
    peer.stop()
    delivery.wait_for_background(30)


@pytest.fixture
def embedded_default(settings):
    """Delivery after commit in a background thread, as in the embedded default."""
    settings.MADOGUCHI_OUTBOX_INLINE = False
    settings.MADOGUCHI_OUTBOX_WAIT_SECONDS = 0.2


def test_a_mail_server_that_never_answers_stalls_no_resident(chiyoda, smtp, embedded_default):  # noqa: F811
    first = Client()
    # The first mail (the link of resident 1) goes to the tarpit; the page is shown anyway.
    url = start(first, SLUG, email="hanako@example.jp")
    assert smtp.stalled.wait(30)
    stalled = OutboxMessage.objects.earliest("pk")
    assert stalled.state == OutboxMessage.State.PENDING
    assert stalled.claimed_until is not None  # a worker is sending it right now

    # Meanwhile residents keep filing: every step and the submission write to the database.
    assert idle_in_transaction() == 0
    walk_to(first, url, "attachments")
    one = file_application(Client(), "ichiro@example.jp")
    two = file_application(Client(), "jiro@example.jp")
    assert idle_in_transaction() == 0
    assert one.status == two.status == "received"

    # Other messages keep flowing: every later mail reaches the server meanwhile.
    others = OutboxMessage.objects.exclude(pk=stalled.pk)
    assert others.count() == 4  # two links, two confirmations
    wait_until(lambda: len(smtp.messages) == 4, what="the other mails")
    wait_until(lambda: not others.exclude(state=OutboxMessage.State.SENT).exists())
    arrived = set(smtp.message_ids())
    stalled.refresh_from_db()
    assert stalled.state == OutboxMessage.State.PENDING and stalled.claimed_until is not None
    assert {delivery.message_id_header(m) for m in others} == arrived
    assert set(others.values_list("state", flat=True)) == {OutboxMessage.State.SENT}

    # The server hangs up on the stalled session: the attempt fails and is recorded.
    smtp.release()
    assert delivery.wait_for_background(30)
    stalled.refresh_from_db()
    assert (stalled.state, stalled.attempts, stalled.claimed_until) == ("pending", 1, None)
    assert stalled.last_error

    # The sweep retries it once its backoff has passed: it arrives exactly once.
    OutboxMessage.objects.filter(pk=stalled.pk).update(next_attempt_at=timezone.now())
    call_command("deliver_outbox")
    stalled.refresh_from_db()
    assert stalled.state == OutboxMessage.State.SENT
    ids = smtp.message_ids()
    assert ids.count(delivery.message_id_header(stalled)) == 1
    assert len(ids) == len(set(ids)) == 5


def test_a_claim_that_runs_out_is_taken_over_and_the_message_arrives_once(smtp, settings):
    message = OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.EMAIL,
        payload={"to": ["a@example.jp"], "subject": "件名", "body": "本文"},
    )
    hung = threading.Thread(target=_deliver_and_close, args=(message.pk,))
    hung.start()
    try:
        assert smtp.stalled.wait(30)
        # Another worker's sweep leaves a message whose claim holds alone.
        assert delivery.deliver_due() == (0, 0)
        assert smtp.messages == []
        # The claim runs out (MADOGUCHI_OUTBOX_CLAIM_SECONDS; here at once): taken over.
        OutboxMessage.objects.filter(pk=message.pk).update(claimed_until=timezone.now())
        assert delivery.deliver_due() == (1, 0)
    finally:
        smtp.release()  # the first worker's session ends; its failure must not count
        hung.join(30)
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.SENT
    assert message.attempts == 2
    assert smtp.message_ids() == [delivery.message_id_header(message)]


def _deliver_and_close(message_id: int) -> None:
    try:
        delivery.deliver(message_id)
    finally:
        connections.close_all()


def test_a_mail_server_that_never_answers_times_out(smtp, settings):
    settings.EMAIL_TIMEOUT = 0.5
    message = OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.EMAIL,
        payload={"to": ["a@example.jp"], "subject": "件名", "body": "本文"},
    )
    assert delivery.deliver(message.pk) is False
    message.refresh_from_db()
    assert (message.state, message.attempts, message.claimed_until) == ("pending", 1, None)
    assert "timed out" in message.last_error.lower() or "Timeout" in message.last_error


def test_a_webhook_receiver_that_never_answers_stalls_no_resident_nor_the_mail(
    chiyoda,  # noqa: F811
    settings,
):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOKS_TIMEOUT_SECONDS = 30
    peer = HttpPeer(stall=1).start()
    try:
        subscription = subscribe(make_client(chiyoda), peer.url(), events=["status_changed"])
        # A test ping, delivered after commit by a background thread that hangs on the
        # receiver (the embedded default) — a Celery worker or the sweep would hang alike.
        settings.MADOGUCHI_OUTBOX_INLINE = False
        settings.MADOGUCHI_OUTBOX_WAIT_SECONDS = 0.2
        with transaction.atomic():
            webhook_events.enqueue_ping(subscription)
        assert peer.stalled.wait(30)
        settings.MADOGUCHI_OUTBOX_INLINE = True  # the residents' mail: inline, as in CI

        # While the delivery hangs on the receiver, a resident files and gets both mails.
        assert idle_in_transaction() == 0
        application = file_application(Client(), "hanako@example.jp")
        assert application.status == "received"
        assert idle_in_transaction() == 0
        mails = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.EMAIL)
        assert set(mails.values_list("state", flat=True)) == {OutboxMessage.State.SENT}
    finally:
        peer.release()
        delivery.wait_for_background(30)
    row = WebhookDelivery.objects.get()
    assert row.state == WebhookDelivery.State.PENDING
    # A category for the 管理者, never the socket's text (a reset or a bare hang-up).
    assert row.last_error in ("接続できませんでした。", "応答を読み取れませんでした。")
    OutboxMessage.objects.filter(kind=OutboxMessage.Kind.WEBHOOK).update(
        next_attempt_at=timezone.now()
    )
    try:
        call_command("deliver_outbox")
    finally:
        peer.stop()
    row.refresh_from_db()
    assert row.state == WebhookDelivery.State.DELIVERED
    assert len(peer.requests) == 1
