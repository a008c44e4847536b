"""The back office in the browser: staff log in with two-factor authentication, work the
inbox and the review screen, and enter counter applications; the resident follows on the
portal. Every actor has a browser context of their own (staff: desktop, resident: phone)."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from madoguchi.applications.models import Application
from tests.channels.conftest import SUIDO_STEPS

from .conftest import new_phone_page, screenshot
from .journeys import (
    SODAI,
    expect_step,
    mailed_link,
    press_next,
    sodai_gomi_to_confirm,
    start,
    submit_confirmation,
)
from .staff_journeys import (
    FINISHED_NOTICE,
    NO_MATCH,
    RETURN_NEEDS_MESSAGE,
    AxeReport,
    Handler,
    change_status,
    counter_entry,
    enter_code,
    enter_password,
    expect_status,
    live_root,
    log_in,
    new_desktop_page,
    open_case,
    open_inbox,
    open_login,
    search,
    start_counter_entry,
)

EMAIL = "jiro@example.jp"
FIX = "数量をご確認ください。たんすは2点とのお電話をいただきました。数量を2点に修正して再申請してください。"
DONE = "収集日に玄関前へ出してください。手数料の納付書を郵送します。"
SUIDO = "水道使用開始届"
SODAI_NAME = "粗大ごみ収集の申込"


@pytest.fixture
def make_handler(chiyoda_live, settings):
    """make_handler(username, department_code) -> Handler of 千代田区 (the live municipality).
    One user per login: django-otp refuses a code that was already used for the device."""
    from madoguchi.tenants.models import Municipality

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    municipality = Municipality.objects.get(lg_code="131016")

    def make(username: str, department_code: str) -> Handler:
        return Handler(username, municipality, department_code)

    return make


def resident_submits_sodai_gomi(browser, chiyoda_live) -> str:
    """The resident applies for 粗大ごみ on a phone; returns the 受付番号."""
    page = new_phone_page(browser)
    try:
        start(page, chiyoda_live, SODAI, EMAIL)
        sodai_gomi_to_confirm(page, EMAIL)
        return submit_confirmation(page)
    finally:
        page.context.close()


def test_return_resubmit_complete(browser, chiyoda_live, make_handler):
    root = live_root(chiyoda_live)
    receipt_number = resident_submits_sodai_gomi(browser, chiyoda_live)
    application = Application.objects.get(receipt_number=receipt_number)
    status_link = mailed_link("status", EMAIL)

    handler = make_handler("seiso-tantou", "seiso")
    staff = new_desktop_page(browser)
    resident = new_phone_page(browser)
    try:
        # --- 清掃課: log in, find the case by its 受付番号, open it
        log_in(staff, root, handler)
        open_inbox(staff, "清掃課")
        expect(staff.locator(f"#row-{application.pk}")).to_be_visible()
        screenshot(staff, "10-staff-inbox")
        open_case(staff, receipt_number)
        expect_status(staff, "受付", "received")
        expect(staff.locator("#answer-items-0-item_quantity")).to_have_text("1点")
        screenshot(staff, "11-staff-review")

        # 要再申請 without a message is refused, with the exact sentence
        change_status(staff, "returned", "")
        expect(staff.locator("#error-summary")).to_contain_text(RETURN_NEEDS_MESSAGE)
        expect(staff.locator("#status-error")).to_have_text(RETURN_NEEDS_MESSAGE)
        expect_status(staff, "受付", "received")
        application.refresh_from_db()
        assert application.status == "received"

        # 要再申請 with the message
        change_status(staff, "returned", FIX)
        expect(staff.locator(".dads-messages")).to_have_text("状況を「要再申請」に変更しました。")
        expect_status(staff, "要再申請", "returned")
        expect(staff.locator("#history")).to_contain_text(FIX)

        # --- the resident: the status link of the receipt mail, in the phone's browser
        resident.goto(status_link)
        expect(resident.locator("#status")).to_have_text("要再申請")
        expect(resident.locator("#correction-message")).to_have_text(FIX)
        expect(resident.locator("#history")).to_contain_text(f"修正をお願いする内容：{FIX}")
        resident.get_by_role("link", name="内容を修正して再申請する").click()

        expect(resident.locator("h1")).to_have_text("入力内容の確認")
        expect(resident.locator("#correction-message")).to_have_text(FIX)
        resident.locator("#review a").filter(has_text="修正する").filter(
            has_text="出したい品目"
        ).click()
        expect_step(resident, "出したい品目")
        quantity = resident.locator("#f-items__0__item_quantity")
        expect(quantity).to_have_value("1")
        quantity.fill("2")
        press_next(resident)

        expect(resident.locator("h1")).to_have_text("入力内容の確認")
        expect(resident.locator("#review")).to_contain_text("2点")
        resident.get_by_role("button", name="この内容で再申請する").click()
        expect(resident.locator("main")).to_contain_text("再申請を受け付けました")
        expect(resident.locator("main")).to_contain_text(receipt_number)

        # --- 清掃課 again (same context, no second login): 受付, 再申請, two versions
        staff.reload()
        expect_status(staff, "受付", "received")
        expect(staff.locator("#resubmitted-at")).to_be_visible()
        expect(staff.locator("#history")).to_contain_text("再申請")
        revisions = staff.locator("#revisions a")
        expect(revisions).to_have_count(2)
        expect(revisions.nth(0)).to_contain_text("第1回")
        expect(revisions.nth(1)).to_contain_text("第2回")
        expect(revisions.nth(1)).to_have_attribute("aria-current", "true")
        expect(staff.locator("#revision-number")).to_have_attribute("data-revision", "2")
        expect(staff.locator("#answer-items-0-item_quantity")).to_have_text("2点")

        # the first version is still there (no RPA ids on a past version)
        revisions.nth(0).click()
        expect(staff.locator("#revision-number")).to_have_attribute("data-revision", "1")
        expect(staff.locator("#old-revision-notice")).to_be_visible()
        expect(staff.locator("#answers")).to_contain_text("1点")
        expect(staff.locator("#answer-items-0-item_quantity")).to_have_count(0)
        staff.get_by_role("link", name="最新の版を表示する").click()
        expect(staff.locator("#revision-number")).to_have_attribute("data-revision", "2")

        # 完了 with a message
        change_status(staff, "completed", DONE)
        expect(staff.locator(".dads-messages")).to_have_text("状況を「完了」に変更しました。")
        expect_status(staff, "完了", "completed")
        expect(staff.locator("#status-change")).to_contain_text(FINISHED_NOTICE)

        # --- the resident sees 完了 and the message
        resident.goto(status_link)
        expect(resident.locator("#status")).to_have_text("完了")
        expect(resident.locator("#correction-request")).to_have_count(0)
        history = resident.locator("#history")
        expect(history).to_contain_text("修正した内容で再申請しました")
        expect(history).to_contain_text("状況が「完了」になりました")
        expect(history).to_contain_text(DONE)
    finally:
        staff.context.close()
        resident.context.close()

    application.refresh_from_db()
    assert application.status == "completed"
    assert application.answers["items"][0]["item_quantity"] in (2, "2")
    subjects = [m.subject for m in mail.outbox if EMAIL in m.to]
    assert any("要再申請" in s for s in subjects), subjects
    assert any("再申請を受け付けました" in s for s in subjects), subjects
    assert any("完了" in s for s in subjects), subjects


def test_counter_entry_reaches_both_departments(browser, chiyoda_live, make_handler):
    root = live_root(chiyoda_live)
    suido = make_handler("suido-tantou", "suido")
    gesuido = make_handler("gesuido-tantou", "gesuido")
    kodomo = make_handler("kodomo-tantou", "kodomo")

    # --- 水道課 types a resident's 水道使用開始届 at the counter
    page = new_desktop_page(browser)
    try:
        log_in(page, root, suido)
        receipt_number = counter_entry(page, root, SUIDO, SUIDO_STEPS)
        expect(page.locator("#channel")).to_have_text("窓口")
    finally:
        page.context.close()

    application = Application.objects.get(receipt_number=receipt_number)
    assert application.channel == "counter"
    assert application.entered_by == suido.user

    # --- 下水道課 finds it in their own inbox
    page = new_desktop_page(browser)
    try:
        log_in(page, root, gesuido)
        open_inbox(page, "下水道課")
        open_case(page, receipt_number)
        expect(page.locator("#procedure-name")).to_have_text(SUIDO)
        expect(page.locator("#channel")).to_have_attribute("data-channel", "counter")
        expect(page.locator("#entered-by")).to_have_text("suido-tantou")
        expect(page.locator("#applicant-name")).to_have_text("水野\u3000花子")
        expect(page.locator("#department-progress")).to_contain_text("水道課")
        expect(page.locator("#department-progress")).to_contain_text("下水道課")
    finally:
        page.context.close()

    # --- こども家庭課 does not
    page = new_desktop_page(browser)
    try:
        log_in(page, root, kodomo)
        open_inbox(page, "こども家庭課")
        search(page, receipt_number)
        expect(page.locator("#inbox-empty")).to_have_text(NO_MATCH)
        expect(page.locator("#application-list")).to_have_count(0)
        response = page.goto(f"{root}/staff/applications/{application.pk}/")
        assert response.status == 404
    finally:
        page.context.close()


def test_staff_pages_pass_axe(browser, chiyoda_live, make_handler):
    root = live_root(chiyoda_live)
    receipt_number = resident_submits_sodai_gomi(browser, chiyoda_live)
    handler = make_handler("seiso-axe", "seiso")

    page = new_desktop_page(browser)
    axe = AxeReport(page)
    try:
        open_login(page, root)
        axe.check("職員ログイン")
        enter_password(page, handler)
        axe.check("確認コードの入力")
        enter_code(page, handler)
        # A member of one department lands in its inbox: nothing to choose, no way back.
        expect(page.locator("#inbox-title")).to_contain_text("清掃課")
        expect(page.get_by_role("link", name="担当課を選び直す")).to_have_count(0)
        axe.check("受付一覧（清掃課）")
        open_case(page, receipt_number)
        axe.check("申請内容照会")
        change_status(page, "returned", "")
        expect(page.locator("#error-summary")).to_contain_text(RETURN_NEEDS_MESSAGE)
        axe.check("申請内容照会（エラー）")

        page.goto(f"{root}/staff/counter/")
        expect(page.locator("h1")).to_have_text("窓口受付")
        axe.check("窓口受付")
        start_counter_entry(page, SODAI_NAME)
        axe.check("窓口で入力（最初のステップ）")
    finally:
        page.context.close()
    axe.assert_clean()
