"""Submit a short application, open the status page from the e-mail, withdraw it."""

from django.core import mail
from playwright.sync_api import expect

from .conftest import new_phone_page
from .journeys import SODAI, mailed_link, sodai_gomi_to_confirm, start, submit_confirmation

EMAIL = "jiro@example.jp"


def test_withdraw_from_the_emailed_status_link(phone, browser, chiyoda_live):
    page = phone
    start(page, chiyoda_live, SODAI)
    sodai_gomi_to_confirm(page, EMAIL)
    receipt_number = submit_confirmation(page)

    status_link = mailed_link("status", EMAIL)
    # the resident opens the link from the mail app: another browser, no cookies
    page = new_phone_page(browser)
    try:
        page.goto(status_link)
        expect(page.locator("#status")).to_have_text("受付")
        expect(page.locator("#receipt-number")).to_have_text(receipt_number)
        page.locator("#withdraw-link").click()

        expect(page.locator("h1")).to_have_text("申請の取り下げ")
        expect(page.locator("main")).to_contain_text("この申請を取り下げますか")
        expect(page.locator("main")).to_contain_text(receipt_number)
        page.locator("#f-reason").fill("日程が合わなくなったため")
        page.locator("#withdraw-button").click()

        expect(page).to_have_url(status_link)
        expect(page.locator(".dads-messages")).to_have_text("申請を取り下げました。")
        expect(page.locator("#status")).to_have_text("取り下げ")
        expect(page.locator("#history")).to_contain_text("申請を取り下げました")
        expect(page.locator("#history")).to_contain_text("取り下げの理由：日程が合わなくなったため")
        expect(page.locator("#withdraw-link")).to_have_count(0)
        expect(page.get_by_text("申請を取り下げる")).to_have_count(0)

        # a reload drops the one-time message but keeps the status
        page.reload()
        expect(page.locator(".dads-messages")).to_have_count(0)
        expect(page.locator("#status")).to_have_text("取り下げ")

        # the withdraw page itself now says no
        page.goto(status_link + "withdraw/")
        expect(page.locator("#withdraw-not-allowed")).to_have_text(
            "この申請は「取り下げ」のため、取り下げできません。"
        )
        expect(page.locator("#withdraw-button")).to_have_count(0)
    finally:
        page.context.close()

    assert any(EMAIL in m.to and "取り下げ" in m.subject for m in mail.outbox)
