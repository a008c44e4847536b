"""Browser tests of form translations: a resident switches to Vietnamese and files 粗大ごみ
(texts translated and, where a translation is missing, Japanese), staff review it in
Japanese; a 管理者 finds a missing translation on the translation page and saves it."""

import hashlib

from playwright.sync_api import Page, expect

from madoguchi.applications.models import Application
from madoguchi.translations.models import TextTranslation, TranslationChange
from tests.conftest import make_staff, totp_code

from .conftest import assert_accessible, new_phone_page, screenshot
from .journeys import (
    choose,
    collection_day,
    fill_date,
    fill_name,
    fill_postal_code_and_address,
    press_next,
    submit_confirmation,
)
from .staff_journeys import (
    PASSWORD,
    Handler,
    live_root,
    log_in,
    new_desktop_page,
    open_case,
    open_inbox,
)


class Administrator(Handler):
    """A 管理者 of the whole municipality (password and a confirmed TOTP device)."""

    def __init__(self, username: str, municipality):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        self.username = username
        self.password = PASSWORD
        self.user = make_staff(username, municipality, role="admin", password=PASSWORD)
        self.key = hashlib.sha1(f"e2e-totp-{username}".encode()).hexdigest()
        self.device = TOTPDevice.objects.create(
            user=self.user, name="認証アプリ", key=self.key, confirmed=True
        )

    def code(self) -> str:
        return totp_code(self.device)


def switch_language(page: Page, language: str) -> None:
    """The footer's language switcher, as a resident uses it."""
    page.locator("#madoguchi-language").select_option(language)
    page.locator(".dads-language-switcher button[type='submit']").click()


def test_resident_files_in_vietnamese_and_staff_read_japanese(browser, chiyoda_live):
    # Two texts lose their Vietnamese translation: the resident reads them in Japanese.
    removed = TextTranslation.objects.filter(
        procedure__slug="sodai_gomi",
        language="vi",
        key__in=["step.collection.title", "field.item_size.label"],
    ).delete()
    assert removed[0] == 2
    page = new_phone_page(browser)
    page.goto(f"{chiyoda_live}/procedures/sodai_gomi/")
    expect(page.locator("h1")).to_have_text("粗大ごみ収集の申込")
    switch_language(page, "vi")
    expect(page.locator("h1")).to_have_text("Đăng ký thu gom rác cồng kềnh (粗大ごみ)")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    page.locator("#start-button").click()

    expect(page.locator("#step-title")).to_have_text("Người đăng ký và nơi thu gom")
    expect(page.locator("#field-applicant_name legend")).to_contain_text("Họ tên người đăng ký")
    expect(page.locator("label[for='f-building_type']")).to_have_text("Nhà riêng")
    assert_accessible(page, "粗大ごみ in Vietnamese: first step")
    screenshot(page, "30-translations-vi-first-step")
    fill_name(page, "applicant_name", "Nguyen", "Lan", "グエン", "ラン")
    page.locator("#f-applicant_phone").fill("090-1234-5678")
    page.locator("#f-applicant_email").fill("lan@example.jp")
    page.locator("#f-applicant_email__confirm").fill("lan@example.jp")
    fill_postal_code_and_address(
        page, "collection_postal_code", "1000001", "collection_address", "東京都千代田区千代田2-2"
    )
    choose(page, "building_type", "apartment")
    press_next(page)

    expect(page.locator("#step-title")).to_have_text("Các món đồ muốn bỏ")
    expect(page.locator("#field-not_collected_notice")).to_contain_text(
        "Những đồ sau đây không được thu gom"
    )
    page.locator("#f-not_collected_notice").check()
    expect(page.locator("label[for='f-items__0__item_name']")).to_contain_text("Tên món đồ")
    # no Vietnamese for this label any more: Japanese
    expect(page.locator("label[for='f-items__0__item_size']")).to_contain_text(
        "大きさ（幅×奥行×高さ）"
    )
    page.locator("#f-items__0__item_name").fill("Tủ quần áo")
    page.locator("#f-items__0__item_quantity").fill("1")
    page.locator("#f-items__0__item_size").fill("90×45×180cm")
    press_next(page)

    expect(page.locator("#step-title")).to_have_text("収集の希望日と出す場所")  # Japanese
    day = collection_day()
    fill_date(page, "collection_date", None, day.year, day.month, day.day)
    choose(page, "disposal_place", "entrance")
    page.locator("#f-fee_notice").check()
    page.locator("#f-privacy_notice").check()
    press_next(page)
    expect(page.locator("main")).to_contain_text("Họ tên người đăng ký")
    expect(page.locator("main")).to_contain_text("Trước cửa ra vào (nhà riêng)")
    screenshot(page, "31-translations-vi-confirm")
    receipt_number = submit_confirmation(page)
    page.context.close()

    application = Application.objects.get(receipt_number=receipt_number)
    assert application.answers["building_type"] == "apartment"
    assert application.answers["disposal_place"] == "entrance"

    staff = new_desktop_page(browser)
    log_in(staff, live_root(chiyoda_live), Handler("seiso", application.municipality, "seiso"))
    open_inbox(staff, "清掃課")
    open_case(staff, receipt_number)
    main = staff.locator("main")
    expect(main).to_contain_text("申込者の氏名")
    expect(main).to_contain_text("集合住宅（マンション・アパート）")
    expect(main).to_contain_text("玄関の前（一戸建て）")
    expect(main).not_to_contain_text("Họ tên người đăng ký")
    expect(main).not_to_contain_text("Nhà tập thể")
    screenshot(staff, "32-translations-staff-review-japanese")
    staff.context.close()


def test_administrator_finds_a_missing_translation_and_saves_it(browser, chiyoda_live):
    from madoguchi.catalog.models import Procedure

    procedure = Procedure.objects.get(slug="inu_touroku")
    admin = Administrator("kanri", procedure.municipality)
    page = new_desktop_page(browser)
    log_in(page, live_root(chiyoda_live), admin)
    page.locator("header nav").get_by_role("link", name="翻訳", exact=True).click()
    expect(page.locator("h1")).to_have_text("手続と申請フォームの翻訳")
    page.locator("#translation-procedures").get_by_role("link", name=procedure.name).click()
    expect(page.locator("h1")).to_have_text(f"「{procedure.name}」の翻訳")
    # the overview marks every text of the procedure as missing in English
    missing = page.locator("#translation-table td[data-language='en'][data-state='missing']")
    expect(missing.first).to_be_visible()
    assert_accessible(page, "translation overview")

    page.get_by_role("link", name="English（英語）").first.click()
    page.locator("#only-missing").check()
    page.get_by_role("button", name="表示する").click()
    row = page.locator("#translation-table tr[data-key='procedure.name']")
    expect(row.locator(".translation-japanese")).to_have_text(procedure.name)
    expect(row).to_have_class("translation-row translation-row--missing")
    row.locator("input[type='text']").fill("Dog registration")
    screenshot(page, "33-translations-staff-editing")
    page.get_by_role("button", name="翻訳を保存する").click()

    expect(page.locator(".dads-messages")).to_contain_text("英語の翻訳を1件保存しました。")
    # filtered to the missing ones: the saved text is no longer listed
    expect(page.locator("#translation-table tr[data-key='procedure.name']")).to_have_count(0)
    expect(page.locator("#translation-changes")).to_contain_text("Dog registration")
    assert_accessible(page, "translation page after saving")
    page.context.close()

    saved = TextTranslation.objects.get(procedure=procedure, language="en", key="procedure.name")
    assert (saved.text, saved.updated_by.username) == ("Dog registration", "kanri")
    assert TranslationChange.objects.filter(procedure=procedure, user=admin.user).count() == 1

    resident = new_phone_page(browser)
    resident.goto(f"{chiyoda_live}/procedures/inu_touroku/")
    switch_language(resident, "en")
    expect(resident.locator("h1")).to_have_text("Dog registration")
    resident.context.close()
