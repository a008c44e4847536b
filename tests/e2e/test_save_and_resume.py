"""Save half-way, get the link by e-mail, continue later on another browser (fresh cookies)."""

from playwright.sync_api import expect

from .conftest import new_phone_page
from .journeys import (
    CLAIMANT_NUMBER,
    JIDOU,
    expect_step,
    fill_date,
    fill_name,
    jidou_requirements,
    mailed_link,
    press_next,
    start,
)


def test_save_and_resume_in_a_new_browser(phone, browser, chiyoda_live):
    page = phone
    start(page, chiyoda_live, JIDOU)
    jidou_requirements(page)

    # type part of step 2, then 「一時保存してあとで続ける」 (no validation on saving)
    expect_step(page, "請求者について")
    fill_name(page, "claimant_name", "山田", "花子", "ヤマダ", "ハナコ")
    fill_date(page, "claimant_birth_date", "昭和", 60, 4, 1)
    page.locator("#f-claimant_address").fill("東京都千代田区千代田1-1")
    page.locator("input[name='claimant_occupation'][value='employee']").check()
    page.locator("#f-employer_name").fill("株式会社テスト")
    step_url = page.url
    page.locator("#save-button").click()

    expect(page.locator("h1")).to_have_text("一時保存してあとで続ける")
    page.locator("#f-email").fill("hanako@example")  # typo first
    page.locator("#send-link-button").click()
    expect(page.locator("#error-summary")).to_contain_text("メールアドレス")
    expect(page.locator("#f-email")).to_have_attribute("aria-invalid", "true")
    page.locator("#f-email").fill("hanako@example.jp")
    page.locator("#send-link-button").click()
    expect(page.locator("h1")).to_have_text("続きを入力するためのリンクを送りました")
    expect(page.locator("main")).to_contain_text("hanako@example.jp")
    expect(page.locator("main")).not_to_contain_text("/apply/")
    link = mailed_link("apply", "hanako@example.jp")

    # the old address (in this browser's history) stopped working when the new link was sent
    page.goto(step_url)
    expect(page.locator("h1")).to_have_text("このリンクは使えません")

    # another browser: no cookies, only the link from the e-mail
    other = new_phone_page(browser)
    try:
        other.goto(link)
        expect_step(other, "請求者について")
        expect(other.locator("#f-claimant_name__family")).to_have_value("山田")
        expect(other.locator("#f-claimant_name__given_kana")).to_have_value("ハナコ")
        expect(other.locator("#f-claimant_birth_date__era")).to_have_value("昭和")
        expect(other.locator("#f-claimant_birth_date__year")).to_have_value("60")
        expect(other.locator("#f-claimant_address")).to_have_value("東京都千代田区千代田1-1")
        expect(other.locator("input[name='claimant_occupation'][value='employee']")).to_be_checked()
        expect(other.locator("#f-employer_name")).to_have_value("株式会社テスト")
        # step 1 stays done: the progress indicator links back to it
        expect(
            other.locator(".dads-steps").get_by_role("link", name="支給要件の確認")
        ).to_be_visible()

        # continue: fill the rest of the step and go on
        other.locator("#f-claimant_individual_number").fill(CLAIMANT_NUMBER)
        other.locator("#f-claimant_postal_code").fill("1000001")
        other.locator("#f-claimant_phone").fill("03-1234-5678")
        other.locator("#f-claimant_email").fill("hanako@example.jp")
        other.locator("#f-claimant_email__confirm").fill("hanako@example.jp")
        other.locator("input[name='claimant_pension'][value='kosei']").check()
        press_next(other)
        expect_step(other, "配偶者について")
        expect(other.locator(".dads-progress__count")).to_have_text("ステップ 3 / 7")
    finally:
        other.context.close()
