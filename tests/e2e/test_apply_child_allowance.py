"""A parent applies for 児童手当 on a phone: search, read, fill every step with two children and
a PDF, correct three mistakes, confirm, submit, keep the receipt."""

import re
from urllib.parse import urljoin

from playwright.sync_api import expect

from .conftest import screenshot
from .journeys import (
    CHILD_NUMBERS,
    CLAIMANT_NUMBER,
    JIDOU_NAME,
    RECEIPT_NUMBER_RE,
    error_summary_links,
    expect_step,
    field_error,
    jidou_account,
    jidou_attachments,
    jidou_child,
    jidou_claimant,
    jidou_requirements,
    jidou_spouse,
    mailed_link,
    press_next,
    submit_confirmation,
    verify_email_if_asked,
    wrong_check_digit,
)

NUMBER_MESSAGE = "個人番号が正しくありません。入力した番号をもう一度ご確認ください。"
PHONE_MESSAGE = (
    "電話番号は市外局番から、10桁または11桁の数字で入力してください"
    "（例：03-1234-5678、090-1234-5678）。"
)
DATE_MESSAGE = "平成31年5月1日は存在しません。令和元年5月1日と入力してください。"


def test_apply_for_child_allowance_with_two_children(phone, chiyoda_live):
    page = phone

    # --- find the procedure: search in hiragana from the municipality home
    page.goto(f"{chiyoda_live}/")
    expect(page.locator("h1")).to_have_text("千代田区の電子申請")
    screenshot(page, "01-home")
    page.locator("#search-q").fill("じどうてあて")
    page.get_by_role("button", name="さがす").click()
    expect(page.locator("h1")).to_have_text("「じどうてあて」の検索結果")
    page.locator("#results").get_by_role("link", name=JIDOU_NAME).click()

    # --- the procedure page
    expect(page.locator("h1")).to_have_text(JIDOU_NAME)
    expect(page.locator("#procedure-facts")).to_contain_text("約15分")
    screenshot(page, "02-procedure")
    page.locator("#start-button").click()

    # --- identity level "email": the form opens from the link mailed to the resident
    verify_email_if_asked(page, "hanako@example.jp")

    # --- step 1 and 2; step 2 with two mistakes (個人番号 check digit, phone number)
    expect(page.locator(".dads-progress__count")).to_have_text("ステップ 1 / 7")
    jidou_requirements(page)
    jidou_claimant(
        page,
        claimant_individual_number=wrong_check_digit(CLAIMANT_NUMBER),
        claimant_phone="03-1234",
    )
    expect_step(page, "請求者について")
    expect(page).to_have_title(re.compile(r"^エラー：ステップ2/7 請求者について"))
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.locator("h2")).to_have_text("入力内容に2件の誤りがあります")
    # the summary names each field; the message under the field does not need to
    expect(error_summary_links(page)).to_have_text(
        [f"請求者の個人番号（マイナンバー）：{NUMBER_MESSAGE}", PHONE_MESSAGE]
    )
    expect(error_summary_links(page).nth(0)).to_have_attribute(
        "href", "#f-claimant_individual_number"
    )
    expect(error_summary_links(page).nth(1)).to_have_attribute("href", "#f-claimant_phone")
    expect(field_error(page, "claimant_individual_number")).to_have_text(
        f"エラー：{NUMBER_MESSAGE}"
    )
    expect(field_error(page, "claimant_phone")).to_have_text(f"エラー：{PHONE_MESSAGE}")
    expect(page.locator("#f-claimant_individual_number")).to_have_attribute("aria-invalid", "true")
    # everything typed is still there, the wrong values too
    expect(page.locator("#f-claimant_name__family")).to_have_value("山田")
    expect(page.locator("#f-claimant_name__given_kana")).to_have_value("ハナコ")
    expect(page.locator("#f-claimant_birth_date__era")).to_have_value("昭和")
    expect(page.locator("#f-claimant_address")).to_have_value("東京都千代田区千代田1-1")
    expect(page.locator("#f-claimant_email__confirm")).to_have_value("hanako@example.jp")
    expect(page.locator("#f-employer_name")).to_have_value("株式会社テスト")
    expect(page.locator("input[name='claimant_pension'][value='kosei']")).to_be_checked()
    expect(page.locator("#f-claimant_individual_number")).to_have_value(
        wrong_check_digit(CLAIMANT_NUMBER)
    )
    screenshot(page, "03-step-errors")
    # the summary link moves focus to the input
    error_summary_links(page).nth(0).click()
    expect(page.locator("#f-claimant_individual_number")).to_be_focused()
    page.locator("#f-claimant_individual_number").fill(CLAIMANT_NUMBER)
    page.locator("#f-claimant_phone").fill("03-1234-5678")
    press_next(page)

    # --- step 3
    jidou_spouse(page)

    # --- step 4: two children (the second added with 「児童を追加」), an impossible date
    expect_step(page, "養育している児童について")
    expect(page.locator(".dads-repeat-item")).to_have_count(1)
    jidou_child(page, 0, "一郎", "イチロウ", ("令和", 2, 5, 10), CHILD_NUMBERS[0])
    page.get_by_role("button", name="児童を追加").click()
    expect(page.locator(".dads-repeat-item")).to_have_count(2)
    expect(page.locator("#f-children__0__child_name__given")).to_have_value("一郎")
    expect(page.locator("#f-children__0__child_individual_number")).to_have_value(CHILD_NUMBERS[0])
    jidou_child(page, 1, "二郎", "ジロウ", ("平成", 31, 5, 1), CHILD_NUMBERS[1])
    press_next(page)

    expect_step(page, "養育している児童について")
    expect(error_summary_links(page)).to_have_text([f"児童（2人目）の生年月日：{DATE_MESSAGE}"])
    expect(error_summary_links(page)).to_have_attribute(
        "href", "#f-children__1__child_birth_date__year"
    )
    expect(field_error(page, "children__1__child_birth_date")).to_have_text(
        f"エラー：{DATE_MESSAGE}"
    )
    expect(page.locator(".dads-repeat-item").nth(0).locator(".dads-error-text")).to_have_count(0)
    expect(page.locator("#f-children__0__child_name__given")).to_have_value("一郎")
    expect(page.locator("#f-children__1__child_name__given")).to_have_value("二郎")
    expect(page.locator("#f-children__1__child_birth_date__era")).to_have_value("平成")
    expect(page.locator("#f-children__1__child_individual_number")).to_have_value(CHILD_NUMBERS[1])
    page.locator("#f-children__1__child_birth_date__era").select_option("令和")
    page.locator("#f-children__1__child_birth_date__year").fill("元")
    press_next(page)

    # --- step 5, 6 (a real PDF)
    jidou_account(page)
    jidou_attachments(page, "hokensho.pdf")

    # --- confirmation
    expect(page.locator("h1")).to_have_text("入力内容の確認")
    review = page.locator("#review")
    expect(review).to_contain_text("一郎")
    expect(review).to_contain_text("二郎")
    expect(review).to_contain_text("令和元年5月1日")
    expect(review).to_contain_text("hokensho.pdf")
    expect(review).not_to_contain_text(CLAIMANT_NUMBER)
    expect(review).to_contain_text(CLAIMANT_NUMBER[-4:])
    expect(page.get_by_role("link", name=re.compile("^修正する"))).to_have_count(6)
    screenshot(page, "04-confirm")
    page.locator("#f-rating-5").check()
    receipt_number = submit_confirmation(page)

    # --- receipt
    assert RECEIPT_NUMBER_RE.match(receipt_number)
    expect(page.locator("h1")).to_have_text("申請を受け付けました")
    expect(page.locator("main")).to_contain_text("hanako@example.jp")
    screenshot(page, "05-receipt")
    pdf_url = page.locator("#receipt-pdf-link").get_attribute("href")
    response = page.request.get(urljoin(page.url, pdf_url))
    assert response.ok, response.status
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")

    # --- the status page, from the button and from the e-mail
    status_link = mailed_link("status", "hanako@example.jp")
    page.locator("#status-link").click()
    expect(page.locator("#status")).to_have_text("受付")
    expect(page.locator("#receipt-number")).to_have_text(receipt_number)
    expect(page).to_have_url(status_link)
    screenshot(page, "06-status")
