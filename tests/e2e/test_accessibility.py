"""axe-core on every kind of resident page, and a whole application without JavaScript."""

import pytest
from playwright.sync_api import expect

from .conftest import assert_accessible, new_phone_page
from .journeys import (
    CHILD_NUMBERS,
    JIDOU,
    JIDOU_NAME,
    SODAI,
    error_summary_links,
    expect_step,
    jidou_account,
    jidou_attachments,
    jidou_child,
    jidou_claimant,
    jidou_requirements,
    mailed_link,
    press_next,
    sodai_gomi_to_confirm,
    submit_confirmation,
)


class AxeReport:
    """Runs axe on each page and collects the failures, so one run lists every page at fault."""

    def __init__(self, page):
        self.page = page
        self.checked: list[str] = []
        self.problems: list[str] = []

    def check(self, name: str) -> None:
        self.checked.append(name)
        try:
            assert_accessible(self.page, f"{name} ({self.page.url})")
        except AssertionError as exc:
            self.problems.append(str(exc).split("\nassert ")[0])

    def assert_clean(self) -> None:
        if self.problems:
            pytest.fail(
                f"{len(self.problems)} of {len(self.checked)} pages fail axe:\n"
                + "\n".join(self.problems),
                pytrace=False,
            )


def test_every_resident_page_passes_axe(phone, chiyoda_live, live_server):
    from madoguchi.jp.lg_code import with_check_digit
    from madoguchi.tenants.models import Municipality

    Municipality.objects.create(
        lg_code=with_check_digit("01213"), name="苫小牧市", prefecture="北海道"
    )
    page = phone
    axe = AxeReport(page)

    # --- finding a procedure
    page.goto(f"{live_server.url}/")
    expect(page.locator("#municipality-list")).to_contain_text("苫小牧市")
    axe.check("portal home (choose a municipality)")
    page.goto(f"{chiyoda_live}/")
    axe.check("municipality home")
    page.goto(f"{chiyoda_live}/procedures/?q=じどうてあて")
    expect(page.locator("#results")).to_contain_text(JIDOU_NAME)
    axe.check("search results")
    page.goto(f"{chiyoda_live}/procedures/?q=存在しない手続")
    expect(page.locator("#results-heading")).to_have_text("0件の手続が見つかりました")
    axe.check("search without results")
    page.goto(f"{chiyoda_live}/procedures/?category=childcare")
    expect(page.locator("#results")).to_contain_text(JIDOU_NAME)
    axe.check("category browse")
    page.goto(f"{chiyoda_live}/procedures/?life_event=birth")
    axe.check("life event browse")
    page.goto(f"{chiyoda_live}/procedures/")
    axe.check("all procedures")
    page.goto(f"{chiyoda_live}/procedures/{JIDOU}/")
    axe.check("procedure page")

    # --- the e-mail check that opens 児童手当 認定請求 (identity level "email")
    page.locator("#start-button").click()
    expect(page.locator("h1")).to_have_text("メールアドレスの確認")
    axe.check("e-mail check")
    page.locator("#send-link-button").click()
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("e-mail check with an error")
    page.locator("#f-email").fill("hanako@example.jp")
    page.locator("#send-link-button").click()
    expect(page.locator("h1")).to_have_text("確認のメールを送りました")
    axe.check("e-mail check sent")
    page.goto(mailed_link("apply", "hanako@example.jp"))

    # --- every step of 児童手当 認定請求, with errors on the way
    expect_step(page, "支給要件の確認")
    axe.check("step 1 (notice)")
    press_next(page)
    expect(error_summary_links(page)).to_have_count(1)
    axe.check("step 1 with an error")
    jidou_requirements(page)
    expect_step(page, "請求者について")
    axe.check("step 2 (name, date, 個人番号, postal code, radios)")
    press_next(page)
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("step 2 with every required field missing")
    jidou_claimant(page)
    expect_step(page, "配偶者について")
    page.locator("input[name='has_spouse'][value='yes']").check()
    page.locator("input[name='spouse_lives_together'][value='no']").check()
    expect(page.locator("#f-spouse_address")).to_be_visible()
    axe.check("step 3 with the conditional fields shown")
    page.locator("input[name='has_spouse'][value='no']").check()
    press_next(page)
    press_next(page)  # children: nothing typed
    expect_step(page, "養育している児童について")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("step 4 (repeat) with errors")
    jidou_child(page, 0, "一郎", "イチロウ", ("令和", 2, 5, 10), CHILD_NUMBERS[0])
    page.get_by_role("button", name="児童を追加").click()
    expect(page.locator(".dads-repeat-item")).to_have_count(2)
    page.locator("input[name='children__1__child_living'][value='separate']").check()
    page.locator("input[name='children__1__child_category'][value='college']").check()
    axe.check("step 4 with two children and file inputs shown")

    # --- save for later, then continue from the e-mailed link
    page.locator("#save-button").click()
    expect(page.locator("h1")).to_have_text("一時保存してあとで続ける")
    axe.check("save page")
    page.locator("#f-email").fill("not-an-address")
    page.locator("#send-link-button").click()
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("save page with an error")
    page.locator("#f-email").fill("hanako@example.jp")
    page.locator("#send-link-button").click()
    expect(page.locator("h1")).to_have_text("続きを入力するためのリンクを送りました")
    axe.check("resume link sent")
    page.goto(mailed_link("apply", "hanako@example.jp"))
    expect_step(page, "養育している児童について")
    page.locator("button[name='_action'][value='remove:children:1']").click()
    expect(page.locator(".dads-repeat-item")).to_have_count(1)
    press_next(page)

    expect_step(page, "振込先口座")
    page.locator("input[name='account_choice'][value='specified']").check()
    expect(page.locator("#f-bank_account__bank_code")).to_be_visible()
    axe.check("step 5 (bank account)")
    jidou_account(page)
    expect_step(page, "添付書類と確認")
    axe.check("step 6 (files, textarea)")
    jidou_attachments(page)
    axe.check("confirmation")
    submit_confirmation(page)
    axe.check("receipt")
    page.locator("#status-link").click()
    expect(page.locator("#status")).to_have_text("受付")
    axe.check("status page")
    page.locator("#withdraw-link").click()
    expect(page.locator("#withdraw-button")).to_be_visible()
    axe.check("withdraw confirmation")
    page.locator("#withdraw-button").click()
    expect(page.locator("#status")).to_have_text("取り下げ")
    axe.check("status page after withdrawal (with message)")
    page.goto(page.url + "withdraw/")
    expect(page.locator("#withdraw-not-allowed")).to_be_visible()
    axe.check("withdraw not allowed")

    # --- dead links and unknown pages
    page.goto(f"{chiyoda_live}/apply/thisTokenDoesNotExist0123456789/claimant/")
    expect(page.locator("h1")).to_have_text("このリンクは使えません")
    axe.check("expired draft link")
    page.goto(f"{chiyoda_live}/status/thisTokenDoesNotExist0123456789/")
    expect(page.locator("h1")).to_have_text("このリンクは使えません")
    axe.check("expired status link")
    page.goto(f"{chiyoda_live}/procedures/no-such-procedure/")
    axe.check("404 page")

    axe.assert_clean()


def test_short_application_without_javascript(browser, chiyoda_live):
    """粗大ごみ: start, 住所を検索, add/remove an item, confirm, submit, status, withdraw — no JS."""
    page = new_phone_page(browser, java_script_enabled=False)
    try:
        page.goto(f"{chiyoda_live}/")
        page.locator("#search-q").fill("そだいごみ")
        page.get_by_role("button", name="さがす").click()
        page.locator("#results").get_by_role("link").first.click()
        expect(page.locator("h1")).to_contain_text("粗大ごみ")
        assert page.url.endswith(f"/procedures/{SODAI}/")
        page.locator("#start-button").click()

        # a first 「次へ進む」 with nothing typed: the errors come back from the server
        press_next(page)
        expect(page.locator("#error-summary")).to_be_visible()
        assert page.title().startswith("エラー：")

        sodai_gomi_to_confirm(page, "jiro@example.jp", javascript=False)
        expect(page.locator("#review")).to_contain_text("たんす")
        expect(page.locator("#review")).not_to_contain_text("自転車")
        submit_confirmation(page)

        page.locator("#status-link").click()
        expect(page.locator("#status")).to_have_text("受付")
        page.locator("#withdraw-link").click()
        page.locator("#withdraw-button").click()
        expect(page.locator("#status")).to_have_text("取り下げ")
    finally:
        page.context.close()
