"""A mail server that accepts the connection and never answers (a tarpit) while residents file
粗大ごみ applications in the browser, with the embedded default's delivery (a background
thread after commit, waited for at most MADOGUCHI_OUTBOX_WAIT_SECONDS): each resident reaches
the receipt page at once, a second resident files meanwhile (no "database is locked"), and
once the tarpit lets go the sweep delivers the stalled 受付 mail exactly once."""

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from madoguchi.applications.models import Application
from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage
from tests.outbox.peers import SmtpPeer, wait_until

from .conftest import new_phone_page
from .journeys import RECEIPT_NUMBER_RE, SODAI, expect_confirm_page, sodai_gomi_to_confirm, start

# Far below EMAIL_TIMEOUT (the tarpit would otherwise hold the request for minutes), far above
# MADOGUCHI_OUTBOX_WAIT_SECONDS plus a page load on a busy machine.
RECEIPT_BOUND_MS = 10_000


@pytest.fixture
def tarpit(settings):
    """The live server's mail server: its first connection is held unanswered until the test
    releases it; later ones are answered (the working sink). Delivery as residents get it."""
    peer = SmtpPeer(stall=1).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = peer.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 300  # longer than the test: the stall ends when the test says
    settings.MADOGUCHI_OUTBOX_INLINE = False
    settings.MADOGUCHI_OUTBOX_WAIT_SECONDS = 0.2
    yield peer
    peer.stop()
    assert delivery.wait_for_background(30)


def file_in_browser(page, base: str, email: str) -> str:
    """Fill 粗大ごみ収集申込 and submit; the receipt page must come within the bound.
    Returns the 受付番号."""
    start(page, base, SODAI)
    sodai_gomi_to_confirm(page, email)
    expect_confirm_page(page)
    page.locator("#submit-button").click(timeout=RECEIPT_BOUND_MS)
    number = page.locator("#receipt-number")
    expect(number).to_have_text(RECEIPT_NUMBER_RE, timeout=RECEIPT_BOUND_MS)
    expect(page.locator("h1")).to_have_text("申請を受け付けました")
    return number.inner_text()


def mail_of(receipt_number: str) -> OutboxMessage:
    application = Application.objects.get(receipt_number=receipt_number)
    return OutboxMessage.objects.get(reference=f"application:{application.pk}")


def test_residents_file_while_the_mail_server_never_answers(browser, chiyoda_live, tarpit):
    first = new_phone_page(browser)
    second = new_phone_page(browser)
    try:
        # The first 受付 mail goes to the tarpit; the resident has the receipt anyway.
        number_one = file_in_browser(first, chiyoda_live, "hanako@example.jp")
        assert tarpit.stalled.wait(30)
        stalled = mail_of(number_one)
        assert number_one in stalled.payload["body"]
        assert stalled.state == OutboxMessage.State.PENDING
        assert stalled.claimed_until is not None  # the background thread is sending it

        # Meanwhile a second resident files (every step and the submission write).
        number_two = file_in_browser(second, chiyoda_live, "jiro@example.jp")
        assert number_two != number_one
        flowing = mail_of(number_two)
        wait_until(lambda: len(tarpit.messages) == 1, what="the second resident's mail")
        assert tarpit.message_ids() == [delivery.message_id_header(flowing)]
    finally:
        first.context.close()
        second.context.close()

    # The tarpit hangs up: the attempt fails, is recorded and the claim is let go.
    tarpit.release()
    assert delivery.wait_for_background(30)
    stalled.refresh_from_db()
    assert (stalled.state, stalled.attempts, stalled.claimed_until) == ("pending", 1, None)

    # The sweep retries it once its backoff has passed: it arrives exactly once.
    OutboxMessage.objects.filter(pk=stalled.pk).update(next_attempt_at=timezone.now())
    call_command("deliver_outbox")
    stalled.refresh_from_db()
    assert stalled.state == OutboxMessage.State.SENT
    ids = tarpit.message_ids()
    assert ids.count(delivery.message_id_header(stalled)) == 1
    assert sorted(ids) == sorted(delivery.message_id_header(m) for m in OutboxMessage.objects.all())
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
