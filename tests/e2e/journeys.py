"""What a resident does in the browser, step by step, for the e2e tests.

Inputs are found by the names and ids of docs/contracts-formengine.md (`key__part`,
`children__0__…`, id `f-<name>`); buttons by their visible ids (`#next-button`, …).
"""

import datetime
import re

from django.core import mail
from playwright.sync_api import Page, expect

from madoguchi.jp.check_digits import individual_number_check_digit

# A tiny but real PDF (one empty page): enough for content-type detection by magic bytes.
SMALL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n170\n%%EOF\n"
)

JIDOU = "jidou_teate_nintei"
JIDOU_NAME = "児童手当等の受給資格及び児童手当の額についての認定請求"
SODAI = "sodai_gomi"

RECEIPT_NUMBER_RE = re.compile(r"^\d{4}-\d{6}$")


def individual_number(eleven: str) -> str:
    """A 個人番号 with a valid check digit."""
    return eleven + str(individual_number_check_digit(eleven))


CLAIMANT_NUMBER = individual_number("12345678901")
SPOUSE_NUMBER = individual_number("23456789012")
CHILD_NUMBERS = [individual_number("34567890123"), individual_number("45678901234")]


def wrong_check_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


# ----------------------------------------------------------------------------- primitives


def expect_step(page: Page, title: str) -> None:
    expect(page.locator("#step-title")).to_have_text(title)


def press_next(page: Page) -> None:
    page.locator("#next-button").click()


def choose(page: Page, name: str, value: str) -> None:
    page.locator(f"input[name='{name}'][value='{value}']").check()


def fill_name(page: Page, key: str, family: str, given: str, family_kana: str, given_kana: str):
    page.locator(f"#f-{key}__family").fill(family)
    page.locator(f"#f-{key}__given").fill(given)
    page.locator(f"#f-{key}__family_kana").fill(family_kana)
    page.locator(f"#f-{key}__given_kana").fill(given_kana)


def fill_date(page: Page, key: str, era: str | None, year, month, day) -> None:
    if era is not None:
        page.locator(f"#f-{key}__era").select_option(era)
    page.locator(f"#f-{key}__year").fill(str(year))
    page.locator(f"#f-{key}__month").fill(str(month))
    page.locator(f"#f-{key}__day").fill(str(day))


def start(page: Page, base: str, slug: str, email: str = "hanako@example.jp") -> None:
    """Open the procedure page and press 「申請をはじめる」 (then verify the e-mail address
    when the procedure asks for it)."""
    page.goto(f"{base}/procedures/{slug}/")
    page.locator("#start-button").click()
    verify_email_if_asked(page, email)


def verify_email_if_asked(page: Page, email: str = "hanako@example.jp") -> None:
    """Identity level "email": give the address and open the link mailed to it."""
    if page.locator("h1").inner_text() != "メールアドレスの確認":
        return
    page.locator("#f-email").fill(email)
    page.locator("#send-link-button").click()
    expect(page.locator("h1")).to_have_text("確認のメールを送りました")
    page.goto(mailed_link("apply", email))
    expect(page.locator(".dads-messages")).to_contain_text("メールアドレスを確認しました。")


def fill_postal_code_and_address(
    page: Page, postal_key: str, postal: str, address_key: str, address: str
) -> None:
    """With JavaScript the address is filled from the postal code as it is typed: wait for
    that (it is the enhancement under test), then type the full address over it, as a
    resident would. Typing during the lookup would race with it."""
    page.locator(f"#f-{postal_key}").fill(postal)
    expect(page.locator(f"#f-{address_key}")).to_have_value(re.compile("千代田区千代田"))
    page.locator(f"#f-{address_key}").fill(address)


def error_summary_links(page: Page):
    return page.locator("#error-summary li a")


def field_error(page: Page, key: str):
    """The error text shown next to a field (inside its wrapper `#field-<key>`)."""
    return page.locator(f"#field-{key} .dads-error-text")


def mailed_link(kind: str, to: str) -> str:
    """The last link of `kind` ("apply" or "status") e-mailed to `to` (locmem outbox)."""
    for message in reversed(mail.outbox):
        if to in message.to:
            match = re.search(rf"https?://\S+?/\d{{6}}/{kind}/[A-Za-z0-9_-]+/", message.body)
            if match:
                return match.group(0)
    raise AssertionError(
        f"no {kind} link mailed to {to}: {[(m.to, m.subject) for m in mail.outbox]}"
    )


# ----------------------------------------------------------------------------- 児童手当 認定請求


def jidou_requirements(page: Page) -> None:
    expect_step(page, "支給要件の確認")
    page.locator("#f-requirements_notice").check()
    press_next(page)


def jidou_claimant(page: Page, **wrong) -> None:
    """Fill 請求者について; `wrong` overrides single inputs by id suffix (to make errors)."""
    expect_step(page, "請求者について")
    fill_name(page, "claimant_name", "山田", "花子", "ヤマダ", "ハナコ")
    fill_date(page, "claimant_birth_date", "昭和", 60, 4, 1)
    page.locator("#f-claimant_individual_number").fill(
        wrong.get("claimant_individual_number", CLAIMANT_NUMBER)
    )
    fill_postal_code_and_address(
        page, "claimant_postal_code", "100-0001", "claimant_address", "東京都千代田区千代田1-1"
    )
    page.locator("#f-claimant_phone").fill(wrong.get("claimant_phone", "03-1234-5678"))
    page.locator("#f-claimant_email").fill("hanako@example.jp")
    page.locator("#f-claimant_email__confirm").fill("hanako@example.jp")
    choose(page, "claimant_occupation", "employee")
    page.locator("#f-employer_name").fill("株式会社テスト")
    choose(page, "claimant_pension", "kosei")
    press_next(page)


def jidou_spouse(page: Page) -> None:
    expect_step(page, "配偶者について")
    choose(page, "has_spouse", "yes")
    fill_name(page, "spouse_name", "山田", "太郎", "ヤマダ", "タロウ")
    fill_date(page, "spouse_birth_date", "昭和", 58, 7, 20)
    page.locator("#f-spouse_individual_number").fill(SPOUSE_NUMBER)
    choose(page, "spouse_lives_together", "yes")
    press_next(page)


def jidou_child(page: Page, i: int, given: str, kana: str, date: tuple, number: str) -> None:
    p = f"children__{i}__"
    fill_name(page, p + "child_name", "山田", given, "ヤマダ", kana)
    fill_date(page, p + "child_birth_date", *date)
    page.locator(f"#f-{p}child_relationship").select_option("child")
    choose(page, p + "child_category", "eligible")
    page.locator(f"#f-{p}child_individual_number").fill(number)
    choose(page, p + "child_living", "together")


def jidou_one_child(page: Page) -> None:
    expect_step(page, "養育している児童について")
    jidou_child(page, 0, "一郎", "イチロウ", ("令和", 2, 5, 10), CHILD_NUMBERS[0])
    press_next(page)


def jidou_account(page: Page) -> None:
    expect_step(page, "振込先口座")
    choose(page, "account_choice", "public_account")
    press_next(page)


def jidou_attachments(page: Page, filename: str = "hokensho.pdf") -> None:
    expect_step(page, "添付書類と確認")
    page.locator("#f-insurance_document").set_input_files(
        files=[{"name": filename, "mimeType": "application/pdf", "buffer": SMALL_PDF}]
    )
    page.locator("#f-privacy_notice").check()
    press_next(page)


def expect_confirm_page(page: Page) -> None:
    expect(page.locator("h1")).to_have_text("入力内容の確認")


def submit_confirmation(page: Page) -> str:
    """Press 「この内容で申請する」; returns the 受付番号 shown on the receipt page."""
    expect_confirm_page(page)
    page.locator("#submit-button").click()
    number = page.locator("#receipt-number")
    expect(number).to_have_text(RECEIPT_NUMBER_RE)
    return number.inner_text()


# ----------------------------------------------------------------------------- 粗大ごみ (short)


def collection_day() -> datetime.date:
    return datetime.date.today() + datetime.timedelta(days=14)


def sodai_gomi_to_confirm(
    page: Page,
    email: str,
    *,
    javascript: bool = True,
    name: tuple[str, str, str, str] = ("佐藤", "次郎", "サトウ", "ジロウ"),
) -> None:
    """粗大ごみ収集申込: from the first step to the confirmation page.

    Without JavaScript the address is filled by the 「住所を検索」 button (a round trip) and a
    second item is added and removed with the no-JS repeat buttons.
    """
    expect_step(page, "申込者と収集場所")
    fill_name(page, "applicant_name", *name)
    page.locator("#f-applicant_phone").fill("090-1234-5678")
    page.locator("#f-applicant_email").fill(email)
    page.locator("#f-applicant_email__confirm").fill(email)
    page.locator("#f-collection_postal_code").fill("1000001")
    if not javascript:
        page.locator("button[name='_action'][value='postal:collection_postal_code']").click()
        expect(page.locator("#f-collection_address")).to_have_value(re.compile("千代田区千代田"))
        expect(page.locator("#f-applicant_email")).to_have_value(email)
        page.locator("#f-collection_address").fill("東京都千代田区千代田2-2")
    else:
        fill_postal_code_and_address(
            page,
            "collection_postal_code",
            "1000001",
            "collection_address",
            "東京都千代田区千代田2-2",
        )
    choose(page, "building_type", "detached")
    press_next(page)

    expect_step(page, "出したい品目")
    page.locator("#f-not_collected_notice").check()
    page.locator("#f-items__0__item_name").fill("たんす")
    page.locator("#f-items__0__item_quantity").fill("1")
    page.locator("#f-items__0__item_size").fill("幅90×奥行45×高さ180cm")
    if not javascript:
        page.locator("button[name='_action'][value='add:items']").click()
        expect(page.locator("#f-items__1__item_name")).to_be_visible()
        expect(page.locator("#f-items__0__item_name")).to_have_value("たんす")
        page.locator("#f-items__1__item_name").fill("自転車")
        page.locator("button[name='_action'][value='remove:items:1']").click()
        expect(page.locator("#f-items__1__item_name")).to_have_count(0)
        expect(page.locator("#f-items__0__item_size")).to_have_value("幅90×奥行45×高さ180cm")
    press_next(page)

    expect_step(page, "収集の希望日と出す場所")
    day = collection_day()
    fill_date(page, "collection_date", None, day.year, day.month, day.day)
    choose(page, "disposal_place", "entrance")
    page.locator("#f-fee_notice").check()
    page.locator("#f-privacy_notice").check()
    press_next(page)
    expect_confirm_page(page)
