"""What a member of staff does in the browser, for the e2e tests of the back office.

Staff work on a desktop (1280×900), each in a browser context of their own. They log in
through the real pages (password, then the 6-digit code of a confirmed TOTP device whose key
the test knows); the pages are found by the ids of docs/rpa-element-ids.md and the templates
under applications/staff/ and channels/staff/.
"""

import hashlib
import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_staff, totp_code

DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "e2e-staff-password-2026"

# The exact messages of the back office (applications/workflow.py, staff templates).
RETURN_NEEDS_MESSAGE = (
    "要再申請にするときは、申請者に修正してほしい内容をメッセージに入力してください。"
)
NO_MATCH = "条件に合う申請はありません。"
FINISHED_NOTICE = "この申請は処理を終えているため、状況を変更できません。"


def new_desktop_page(browser) -> Page:
    """A page in a fresh browser context (own cookies), desktop-sized, Japanese locale.
    Close it with `page.context.close()`."""
    context = browser.new_context(viewport=DESKTOP, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


class Handler:
    """A 担当者 of one department with a password and a confirmed TOTP device (known key)."""

    def __init__(self, username: str, municipality, department_code: str):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        self.username = username
        self.password = PASSWORD
        self.user = make_staff(username, municipality, department_code, password=PASSWORD)
        self.key = hashlib.sha1(f"e2e-totp-{username}".encode()).hexdigest()  # 20 bytes
        self.device = TOTPDevice.objects.create(
            user=self.user, name="認証アプリ", key=self.key, confirmed=True
        )

    def code(self) -> str:
        return totp_code(self.device)


def live_root(chiyoda_live: str) -> str:
    """The live server's root URL (chiyoda_live is `<root>/131016`)."""
    return chiyoda_live.rsplit("/", 1)[0]


# ----------------------------------------------------------------------------- login


def open_login(page: Page, root: str) -> None:
    page.goto(f"{root}/staff/account/login/")
    expect(page.locator("h1")).to_have_text("職員ログイン")


def enter_password(page: Page, handler: Handler) -> None:
    page.locator("#id_username").fill(handler.username)
    page.locator("#id_password").fill(handler.password)
    page.locator("#login-button").click()
    expect(page.locator("h1")).to_have_text("確認コードの入力")


def enter_code(page: Page, handler: Handler) -> None:
    page.locator("#id_code").fill(handler.code())
    page.locator("#verify-button").click()
    # The department chooser, or straight the inbox for a member of one department.
    expect(page.locator("h1")).to_contain_text("受付一覧")
    expect(page.locator(".staff-nav__user")).to_have_text(handler.username)


def log_in(page: Page, root: str, handler: Handler) -> None:
    """Password, then the code of the authenticator app: lands on 受付一覧 (担当課を選ぶ, or
    the inbox itself for a member of one department)."""
    open_login(page, root)
    enter_password(page, handler)
    enter_code(page, handler)


# ----------------------------------------------------------------------------- inbox and review


def open_inbox(page: Page, department_name: str) -> None:
    """Open the inbox of `department_name` from /staff/: a member of several departments
    chooses it in the department list, a member of one is already there."""
    expect(page.locator("h1")).to_contain_text("受付一覧")
    if page.locator("#department-list").count():
        page.locator("#department-list a").filter(has_text=department_name).click()
    expect(page.locator("#inbox-title")).to_contain_text(department_name)


def search(page: Page, text: str) -> None:
    page.locator("#filter-q").fill(text)
    page.locator("#inbox-filter").get_by_role("button", name="検索", exact=True).click()
    expect(page.locator("#filter-q")).to_have_value(text)


def open_case(page: Page, receipt_number: str) -> None:
    """Search the inbox for the 受付番号 and open the only case found."""
    search(page, receipt_number)
    rows = page.locator("#application-list tbody tr")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name=receipt_number, exact=True).click()
    expect(page.locator("#receipt-number")).to_have_text(receipt_number)


def change_status(page: Page, to_status: str, message: str) -> None:
    """Choose the new status (`#to-status-<value>`), write the message, submit."""
    form = page.locator("#status-change form")
    form.locator(f"#to-status-{to_status}").check()
    form.locator("#status-message").fill(message)
    form.get_by_role("button", name="状況を変更する").click()


def expect_status(page: Page, label: str, code: str) -> None:
    status = page.locator("#status")
    expect(status).to_have_text(label)
    expect(status).to_have_attribute("data-status", code)


# ----------------------------------------------------------------------------- counter entry


def fill_inputs(page: Page, values: dict) -> None:
    """Fill a step from {input name: value}, whatever the kind of input:
    radio → check the value; checkbox → check; select → select_option; else fill."""
    for name, value in values.items():
        inputs = page.locator(f"[name='{name}']")
        expect(inputs.first).to_be_attached()
        tag, kind = inputs.first.evaluate("e => [e.tagName.toLowerCase(), (e.type || '')]")
        if kind == "radio":
            page.locator(f"input[name='{name}'][value='{value}']").check()
        elif kind == "checkbox":
            inputs.first.check()
        elif tag == "select":
            inputs.first.select_option(value)
        else:
            inputs.first.fill(value)
            target = inputs.first.get_attribute("data-postal-target")
            if target and not page.locator(f"#{target}").input_value():
                # The address is looked up as the code is typed: let it land before the
                # address itself is typed over it (typing during the lookup would race).
                expect(page.locator(f"#{target}")).not_to_have_value("")


def start_counter_entry(page: Page, procedure_name: str) -> None:
    """On the 窓口受付 page, press 「窓口で入力」 in the row of `procedure_name`."""
    row = page.locator("#procedure-list tbody tr").filter(
        has=page.get_by_role("cell", name=procedure_name, exact=True)
    )
    row.get_by_role("button", name="窓口で入力").click()
    expect(page.locator("#step-title")).to_be_visible()


def counter_entry(page: Page, root: str, procedure_name: str, steps) -> str:
    """On /staff/counter/, 「窓口で入力」 `procedure_name`, fill every step of `steps`
    ([(step key, {name: value})]), confirm and accept; returns the 受付番号."""
    page.goto(f"{root}/staff/counter/")
    expect(page.locator("h1")).to_have_text("窓口受付")
    start_counter_entry(page, procedure_name)
    for step_key, values in steps:
        expect(page).to_have_url(re.compile(rf"/staff/counter/\d+/{step_key}/"))
        fill_inputs(page, values)
        page.locator("#next-button").click()
    expect(page.locator("h1")).to_have_text("入力内容の確認")
    page.get_by_role("button", name="この内容で受け付ける").click()
    expect(page.locator("h1")).to_have_text("申請を受け付けました")
    number = page.locator("#receipt-number")
    expect(number).to_have_text(re.compile(r"^\d{4}-\d{6}$"))
    return number.inner_text()


# ----------------------------------------------------------------------------- axe


class AxeReport:
    """Runs axe (tests/e2e/conftest.assert_accessible) on each page and collects the
    failures, so that one run names every page at fault."""

    def __init__(self, page: Page):
        from .conftest import assert_accessible

        self._assert = assert_accessible
        self.page = page
        self.checked: list[str] = []
        self.problems: list[str] = []

    def check(self, name: str) -> None:
        self.checked.append(name)
        try:
            self._assert(self.page, f"{name} ({self.page.url})")
        except AssertionError as exc:
            self.problems.append(str(exc).split("\nassert ")[0])

    def assert_clean(self) -> None:
        if self.problems:
            pytest.fail(
                f"{len(self.problems)} of {len(self.checked)} staff pages fail axe:\n"
                + "\n".join(self.problems),
                pytrace=False,
            )
