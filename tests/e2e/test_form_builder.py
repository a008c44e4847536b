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


# ----------------------------------------------------------------------------- keyboard only


def press(page: Page, selector: str, key: str = "Enter") -> None:
    """Move the keyboard focus to an element and press a key on it (no mouse)."""
    page.locator(selector).focus()
    page.keyboard.press(key)


def test_building_with_the_keyboard_only(browser, people):
    editor, root = people["editor"], people["root"]
    page = new_desktop_page(browser)
    try:
        log_in(page, root, editor)
        page.goto(f"{root}/staff/builder/")
        press(page, "[id^=new-procedure-]")
        page.locator("#id_name").focus()
        page.keyboard.type("キーボードで作る届")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")  # past the help text into ふりがな
        page.locator("#id_reading").focus()
        page.keyboard.type("きーぼーどでつくるとどけ")
        page.locator("#id_category").focus()
        page.keyboard.press("ArrowDown")
        page.locator("#id_identity_level_0").focus()
        page.keyboard.press("Space")
        page.get_by_label("こども家庭課").focus()
        page.keyboard.press("Space")
        press(page, "#save-procedure")
        expect(page.locator("h1")).to_have_text("キーボードで作る届")

        # The 「ステップを追加」 button is reachable with Tab from the top of the page.
        page.locator("#main").focus()
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "add-step":
                break
        assert page.evaluate("document.activeElement.id") == "add-step"
        page.keyboard.press("Enter")
        expect(page.locator(".builder-step")).to_have_count(2)

        # Add a yes/no question to step 1 with the type list and the keyboard.
        select = page.locator(".builder-step").first.locator(":scope > .builder-add select")
        select.focus()
        select.select_option(label="はい・いいえ")  # same as arrowing through the list
        press(page, ".builder-step >> nth=0 >> .builder-add button")
        expect(page.locator("h1")).to_contain_text("の設定")
        page.locator("#id_label").focus()
        page.keyboard.press("Control+a")
        page.keyboard.type("郵送を希望しますか")
        press(page, "#save-field")
        item = page.locator(".builder-item").filter(has_text="郵送を希望しますか")
        expect(item).to_be_visible()

        # Move it up with the keyboard: focus stays on its 「上へ」 button after the move.
        key = item.get_attribute("data-key")
        press(page, f"#up-{key}")
        expect(
            page.locator(".builder-step").first.locator(".builder-item").nth(1)
        ).to_have_attribute("data-key", key)
        expect(page.locator(f"#up-{key}")).to_be_focused()
        press(page, f"#up-{key}")
        expect(
            page.locator(".builder-step").first.locator(".builder-item").first
        ).to_have_attribute("data-key", key)
        assert_accessible(page, "builder after keyboard edits")

        # Publish with the keyboard.
        press(page, "#publish-link")
        press(page, "#publish-button")
        expect(page.locator(".dads-messages")).to_contain_text("第1版を公開しました。")
    finally:
        page.context.close()


# ----------------------------------------------------------------------------- library


def test_library_copy_is_updated_after_its_source_changed(browser, people):
    import copy

    from madoguchi.builder.models import SharedForm
    from madoguchi.catalog.models import FormVersion, Procedure
    from madoguchi.tenants.models import Municipality
    from tests.builder.conftest import make_procedure

    other = Municipality.objects.create(lg_code="012131", name="苫小牧市", prefecture="北海道")
    source = make_procedure(other, "chiiki-neko", "kodomo")
    SharedForm.objects.create(procedure=source)
    editor, root = people["editor"], people["root"]
    page = new_desktop_page(browser)
    try:
        log_in(page, root, editor)
        page.goto(f"{root}/staff/builder/library/")
        page.locator(f"#copy-shared-{source.pk}").click()
        expect(page.locator("#copy-source")).to_contain_text("苫小牧市「手続chiiki-neko」")
        page.locator("#publish-link").click()
        page.locator("#publish-button").click()
        expect(page.locator(".dads-messages")).to_contain_text("第1版を公開しました。")

        # 苫小牧市 publishes a new version (e.g. after a 法改正).
        schema = copy.deepcopy(source.current_version.schema)
        schema["steps"][0]["fields"].append(
            {"key": "phone", "type": "phone", "label": "日中の連絡先", "required": True}
        )
        FormVersion.new_draft(source, schema).publish()

        page.goto(f"{root}/staff/builder/")
        page.get_by_role("link", name="更新があります").click()
        expect(page.locator("#diff")).to_contain_text("追加：日中の連絡先")
        screenshot(page, "22-builder-library-update")
        page.locator("#take-update").click()
        expect(page.locator(".dads-messages")).to_contain_text("取り込みました")
        page.locator("#publish-link").click()
        page.locator("#publish-button").click()
        expect(page.locator(".dads-messages")).to_contain_text("第2版を公開しました。")
    finally:
        page.context.close()

    mine = Procedure.objects.get(municipality__lg_code="131016", name="手続chiiki-neko")
    resident = new_phone_page(browser)
    try:
        resident.goto(f"{root}/131016/procedures/{mine.slug}/")
        resident.locator("#start-button").click()
        fill_name(resident, "name", "猫山", "花子", "ネコヤマ", "ハナコ")
        resident.locator("input[name=marital][value=single]").check()
        resident.locator("#f-phone").fill("03-1234-5678")
        press_next(resident)
        receipt = submit_confirmation(resident)
    finally:
        resident.context.close()

    staff = new_desktop_page(browser)
    try:
        log_in(staff, root, people["handler"])
        open_inbox(staff, "こども家庭課")
        expect(staff.locator("#application-list")).to_contain_text(receipt)
    finally:
        staff.context.close()
