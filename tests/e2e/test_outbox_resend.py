"""After a long mail outage a 管理者 is told on the staff home page, opens 送信状況 and
presses 「すべて再送」: the mails go out and the list is empty."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage
from madoguchi.tenants.models import Municipality, StaffMembership

from .conftest import screenshot
from .staff_journeys import Handler, live_root, log_in, new_desktop_page


@pytest.fixture
def admin_user(chiyoda_live, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    municipality = Municipality.objects.get(lg_code="131016")
    admin = Handler("kanri-outbox", municipality, "kodomo")
    StaffMembership.objects.filter(user=admin.user).update(role=StaffMembership.Role.ADMIN)
    return admin


def test_the_admin_resends_every_failed_mail_with_one_click(browser, chiyoda_live, admin_user):
    municipality = Municipality.objects.get(lg_code="131016")
    for subject in ("受付のお知らせ", "再申請のお願い"):
        OutboxMessage.objects.create(
            municipality=municipality,
            kind=OutboxMessage.Kind.EMAIL,
            payload={"to": ["hanako@example.jp"], "subject": subject, "body": "本文"},
            state=OutboxMessage.State.FAILED,
            attempts=delivery.MAX_ATTEMPTS,
            last_error="接続できませんでした。",
        )
    page = new_desktop_page(browser)
    try:
        log_in(page, live_root(chiyoda_live), admin_user)
        notice = page.locator("#outbox-failed-notice")
        expect(notice).to_contain_text("送信に失敗したメッセージが2件あります")
        page.locator("#outbox-failed-link").click()
        expect(page.locator("h1")).to_have_text("送信状況")
        expect(page.locator("#outbox-failed tbody tr")).to_have_count(2)
        screenshot(page, "outbox-failed")
        page.locator("#outbox-resend-all").click()
        expect(page.locator(".dads-messages")).to_contain_text(
            "送信に失敗していた2件を再送します。"
        )
        expect(page.locator("#outbox-none-failed")).to_be_visible()
        page.goto(f"{live_root(chiyoda_live)}/staff/")
        expect(page.locator("h1")).to_contain_text("受付一覧")
        expect(page.locator("#outbox-failed-notice")).to_have_count(0)
    finally:
        page.context.close()
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
    assert sorted(m.subject for m in mail.outbox) == ["再申請のお願い", "受付のお知らせ"]
