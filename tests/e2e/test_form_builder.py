"""Browser tests of 様式作成: a 様式作成者 who has never seen YAML builds a 4-step form with a
repeat, a condition and an attachment, previews it, publishes it; a resident files it on a
phone; a 担当者 sees it in the inbox. And the same building done with the keyboard only."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_accessible, new_phone_page, screenshot
from tests.e2e.journeys import SMALL_PDF, fill_name, press_next, submit_confirmation
from tests.e2e.staff_journeys import Handler, live_root, log_in, new_desktop_page, open_inbox

CONDITION_WORDS = "婚姻の状況 が 既婚 のとき表示"


@pytest.fixture
def people(chiyoda_live, settings):
    from madoguchi.tenants.models import Municipality, StaffMembership

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    municipality = Municipality.objects.get(lg_code="131016")
    editor = Handler("sakusei", municipality, "kodomo")
    StaffMembership.objects.filter(user=editor.user).update(role="form_editor")
    handler = Handler("tantou", municipality, "kodomo")
    return {"editor": editor, "handler": handler, "root": live_root(chiyoda_live)}


# ----------------------------------------------------------------------------- building


def create_procedure(page: Page) -> None:
    page.get_by_role("link", name="様式作成").click()
    expect(page.locator("h1")).to_have_text("様式作成")
    page.locator("[id^=new-procedure-]").first.click()
    page.get_by_label("手続名", exact=True).fill("地域猫の活動届")
    page.get_by_label("手続名（ふりがな）").fill("ちいきねこのかつどうとどけ")
    page.get_by_label("分類", exact=True).select_option("other")
    page.get_by_label("くらし").check()
    page.get_by_label("概要").fill("地域猫の活動を始めるときの届出です。")
    page.get_by_label("本人確認なし").check()
    page.get_by_label("こども家庭課").check()
    page.locator("#save-procedure").click()
    expect(page.locator("h1")).to_have_text("地域猫の活動届")
    expect(page.locator(".dads-messages")).to_contain_text("手続「地域猫の活動届」を作成しました。")


def add_field(page: Page, step_index: int, type_label: str, parent: str | None = None) -> None:
    """Choose the type in the 「項目を追加」 list of a step (or of a repeat) and add it: the
    field's settings page opens."""
    if parent:
        box = page.locator(f"#item-{parent} .builder-add")
    else:
        box = page.locator(".builder-step").nth(step_index).locator(":scope > .builder-add")
    box.locator("select").select_option(label=type_label)
    box.get_by_role("button", name="項目を追加").click()
    expect(page.locator("h1")).to_contain_text("の設定")


def save_field(page: Page) -> None:
    page.locator("#save-field").click()
    expect(page.locator(".dads-messages")).to_contain_text("を保存しました。")


def rename_step(page: Page, step_index: int, title: str) -> None:
    page.locator(".builder-step").nth(step_index).locator("[id^=edit-]").first.click()
    page.get_by_label("ステップの表題").fill(title)
    page.locator("#save-step").click()
    expect(page.locator(".builder-step").nth(step_index).locator("h2")).to_contain_text(title)


def build_form(page: Page) -> None:
    for count in (2, 3, 4):
        page.locator("#add-step").click()
        expect(page.locator(".builder-step")).to_have_count(count)
    expect(page.locator(".builder-step")).to_have_count(4)
    rename_step(page, 1, "世帯について")
    rename_step(page, 2, "猫について")
    rename_step(page, 3, "書類の添付")

    # Step 2: a choice and a field shown only for one of its answers (the new step's
    # placeholder text field becomes 配偶者の氏名).
    add_field(page, 1, "選択（ラジオボタン）")
    page.get_by_label("項目名").fill("婚姻の状況")
    page.get_by_label("選択肢", exact=True).fill("未婚\n既婚")
    page.get_by_label("必須にする").check()
    save_field(page)
    # A condition may only use a field above it: move the choice above the text field.
    step2 = page.locator(".builder-step").nth(1)
    step2.locator(".builder-item").filter(has_text="婚姻の状況").locator("[id^=up-]").click()
    expect(step2.locator(".builder-item").first).to_contain_text("婚姻の状況")
    step2.locator(".builder-item").nth(1).locator("[id^=edit-]").click()
    page.get_by_label("項目名").fill("配偶者の氏名")
    page.locator("#id_visible_if_0_field").select_option(label="婚姻の状況")
    page.locator("#id_visible_if_0_op").select_option(label="が次の値のとき")
    page.locator("#id_visible_if_0_choice").select_option(label="既婚")
    save_field(page)
    text_item = step2.locator(".builder-item").filter(has_text="配偶者の氏名")
    expect(text_item.locator(".builder-condition")).to_have_text(CONDITION_WORDS)

    # Step 3: a repeat of cats (1 to 3), its placeholder child renamed.
    add_field(page, 2, "繰り返し（児童ごとなど）")
    page.get_by_label("項目名").fill("飼育する猫")
    page.get_by_label("最少の件数").fill("1")
    page.get_by_label("最多の件数").fill("3")
    page.get_by_label("1件の呼び方").fill("猫")
    save_field(page)
    repeat = (
        page.locator(".builder-step")
        .nth(2)
        .locator(".builder-item")
        .filter(has_text="飼育する猫")
        .first
    )
    repeat.locator(".builder-repeat .builder-item [id^=edit-]").first.click()
    page.get_by_label("項目名").fill("猫の呼び名")
    page.get_by_label("必須にする").check()
    save_field(page)

    # Step 4: an attachment.
    add_field(page, 3, "添付ファイル")
    page.get_by_label("項目名").fill("活動場所の写真")
    page.get_by_label("必須にする").check()
    save_field(page)


def remove_placeholders(page: Page) -> None:
    """The new steps 3 and 4 start with a placeholder text field; delete them."""
    for index in (2, 3):
        item = (
            page.locator(".builder-step")
            .nth(index)
            .locator(":scope > ol > .builder-item")
            .filter(has_text="1行の文字")
            .first
        )
        before = page.locator(".builder-item").count()
        page.once("dialog", lambda dialog: dialog.accept())
        item.locator(":scope > form [id^=delete-]").click()
        expect(page.locator(".builder-item")).to_have_count(before - 1)


def test_editor_builds_publishes_and_a_resident_files(browser, people):
    editor, root = people["editor"], people["root"]
    page = new_desktop_page(browser)
    try:
        log_in(page, root, editor)
        create_procedure(page)
        build_form(page)
        remove_placeholders(page)
        expect(page.locator("text=" + CONDITION_WORDS)).to_be_visible()
        assert_accessible(page, "builder page")
        screenshot(page, "20-builder-form")

        # The phone preview beside the editor shows the resident's first step and its
        # validation messages.
        frame = page.frame_locator("#preview-frame")
        expect(frame.locator("#step-title")).to_have_text("申請者について")
        frame.locator("#next-button").click()
        expect(frame.locator("#error-summary")).to_contain_text("氏名")

        # Publish: the difference with nothing published, then 第1版.
        page.locator("#publish-link").click()
        expect(page.locator("h1")).to_contain_text("の公開")
        screenshot(page, "21-builder-publish")
        page.locator("#publish-button").click()
        expect(page.locator(".dads-messages")).to_contain_text("第1版を公開しました。")
    finally:
        page.context.close()

    from madoguchi.catalog.models import Procedure

    slug = Procedure.objects.get(name="地域猫の活動届").slug
    resident = new_phone_page(browser)
    try:
        resident.goto(f"{root}/131016/procedures/{slug}/")
        resident.locator("#start-button").click()
        expect(resident.locator("#step-title")).to_have_text("申請者について")
        fill_name(resident, "applicant_name", "猫山", "花子", "ネコヤマ", "ハナコ")
        resident.locator("#f-applicant_email").fill("hanako@example.jp")
        press_next(resident)
        expect(resident.locator("#step-title")).to_have_text("世帯について")
        resident.get_by_label("既婚").check()
        resident.get_by_label("配偶者の氏名").fill("猫山太郎")
        press_next(resident)
        expect(resident.locator("#step-title")).to_have_text("猫について")
        resident.get_by_label(re.compile("猫の呼び名")).first.fill("みけ")
        press_next(resident)
        expect(resident.locator("#step-title")).to_have_text("書類の添付")
        resident.get_by_label(re.compile("活動場所の写真")).set_input_files(
            files=[{"name": "basho.pdf", "mimeType": "application/pdf", "buffer": SMALL_PDF}]
        )
        press_next(resident)
        receipt = submit_confirmation(resident)
    finally:
        resident.context.close()

    staff = new_desktop_page(browser)
    try:
        log_in(staff, root, people["handler"])
        open_inbox(staff, "こども家庭課")
        expect(staff.locator("#application-list")).to_contain_text(receipt)
        expect(staff.locator("#application-list")).to_contain_text("地域猫の活動届")
    finally:
        staff.context.close()
