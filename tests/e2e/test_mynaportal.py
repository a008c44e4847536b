"""マイナポータル in the browser: a resident applies on the simulator (its HTML form, signed
with a test card), a 担当者 of 千代田区 pulls it from /staff/mynaportal/, sees the verified
基本4情報 and the 宛名番号 found by the card's serial link, and returns it (要再申請) with a
comment; the outbox registers the status, and the simulator's /statuses page shows it."""

import datetime
import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from madoguchi.applications.models import Application, Channel
from tests.channels.mynaportal.conftest import ca, card, db_trust, simulator  # noqa: F401 (fixtures)
from tests.channels.mynaportal.helpers import ITEMS, PDF

from .conftest import new_phone_page, screenshot
from .staff_journeys import (
    Handler,
    change_status,
    expect_status,
    live_root,
    log_in,
    new_desktop_page,
    open_case,
    open_inbox,
)

ATENA = "000123456"
COMMENT = "健康保険の資格確認書の写しが読み取れません。もう一度添付して申請してください。"


@pytest.fixture
def chiyoda_mynaportal(chiyoda_live, settings, simulator, db_trust, card, monkeypatch):  # noqa: F811
    """千代田区 connected to the simulator, 児童手当 現況届 mapped, the test CA trusted, and the
    card's serial number linked to a 宛名番号."""
    from madoguchi.catalog.models import Procedure
    from madoguchi.channels.models import MynaportalConnection, MynaportalMapping
    from madoguchi.identity.serial_links import import_full
    from madoguchi.tenants.models import Municipality

    settings.JPKI_ALLOW_TEST_CA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]  # the simulator on loopback
    municipality = Municipality.objects.get(lg_code="131016")
    # The login password is read from the environment (never stored in the database).
    monkeypatch.setenv("MADOGUCHI_MYNAPORTAL_PASSWORD_131016", "simulator")
    MynaportalConnection.objects.create(
        municipality=municipality, base_url=simulator.url, login_id="madoguchi"
    )
    MynaportalMapping.objects.create(
        municipality=municipality,
        procedure=Procedure.objects.get(municipality=municipality, slug="jidou_teate_genkyo"),
        procedure_code="jidou_teate_genkyo",
        items={"health_insurance": "insurance_document"},
    )
    csv = f"シリアル番号（16進）,宛名番号,有効開始日\n{card.serial},{ATENA},2020-01-01\n".encode()
    report = import_full(municipality, csv, file_name="links.csv")
    assert getattr(report, "ok", True), report
    return municipality


def resident_applies_on_simulator(browser, simulator, card) -> str:  # noqa: F811
    """The resident fills the simulator's /resident/apply form (items, a PDF, the test
    card) on a phone; returns the マイナポータル受付番号."""
    page = new_phone_page(browser)
    try:
        page.goto(f"{simulator.url}/resident/apply")
        page.locator("#lg_code").fill("131016")
        page.locator("#procedure_code").fill("jidou_teate_genkyo")
        page.locator("#items").fill("\n".join(f"{k}={v}" for k, v in ITEMS.items()))
        page.locator("#attachment").set_input_files(
            {"name": "kenko.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
        page.locator("#attachment_item").fill("health_insurance")
        page.locator("#card").select_option(card.serial)
        page.get_by_role("button", name="電子署名して申請する").click()
        number = page.locator("#receipt-number")
        expect(number).to_have_text(re.compile(r"^\d+$"))
        return number.inner_text()
    finally:
        page.context.close()


def deliver_statuses(simulator, receipt: str, count: int) -> list[dict]:  # noqa: F811
    """Run the outbox (pending messages made due) until the simulator holds `count` statuses
    of the case; returns them."""
    from madoguchi.outbox import delivery
    from madoguchi.outbox.models import OutboxMessage

    deadline = time.monotonic() + 20
    while True:
        OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).update(
            next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
        )
        delivery.deliver_due()
        statuses = [
            s
            for s in simulator.get_json("/api/v1/statuses")["statuses"]
            if s["receipt_number"] == receipt
        ]
        if len(statuses) >= count or time.monotonic() > deadline:
            return statuses
        time.sleep(0.2)


def test_mynaportal_application_pulled_reviewed_and_returned(
    browser,
    chiyoda_live,
    chiyoda_mynaportal,
    simulator,  # noqa: F811
    card,  # noqa: F811
):
    from madoguchi.tenants.models import Department

    root = live_root(chiyoda_live)
    mynaportal_receipt = resident_applies_on_simulator(browser, simulator, card)
    assert not Application.objects.filter(source_reference=mynaportal_receipt).exists()

    handler = Handler("kodomo-tantou", chiyoda_mynaportal, "kodomo")
    department = Department.objects.get(municipality=chiyoda_mynaportal, code="kodomo")
    staff = new_desktop_page(browser)
    status_page = new_desktop_page(browser)
    try:
        # --- 担当者: log in (password + code), pull now from the マイナポータル page
        log_in(staff, root, handler)
        staff.goto(f"{root}/staff/mynaportal/")
        expect(staff.locator("h1")).to_have_text("マイナポータルからの申請")
        staff.locator("#mynaportal-pull").click()
        expect(staff.locator("#pull-messages")).to_contain_text("千代田区: 取得を開始しました。")
        # The pull runs in the background; the page refreshes itself until it is done.
        runs = staff.locator("#pull-runs tbody tr")
        expect(runs.first).to_have_attribute("data-state", "done", timeout=30_000)
        expect(runs.first).to_contain_text("取り込み 1件")
        expect(runs.first).to_contain_text("隔離 0件、失敗 0件")

        case = Application.objects.get(
            municipality=chiyoda_mynaportal, source_reference=mynaportal_receipt
        )
        assert case.channel == Channel.MYNAPORTAL

        # --- the inbox of the department: search the 受付番号, open the case
        staff.goto(f"{root}/staff/")
        open_inbox(staff, department.name)
        open_case(staff, case.receipt_number)
        expect_status(staff, "受付", "received")
        expect(staff.locator("#channel")).to_have_attribute("data-channel", "mynaportal")
        expect(staff.locator("#signature-verification")).to_have_attribute("data-valid", "true")
        expect(staff.locator("#identity-level")).to_have_text("マイナンバーカードによる電子署名")
        expect(staff.locator("#email-verification")).to_have_text("—")
        expect(staff.locator("#certificate-serial")).to_have_text(card.serial.upper())
        expect(staff.locator("#basic-four-name")).to_have_text("山田 花子")
        expect(staff.locator("#basic-four-birth-date")).to_have_text("1985/04/01")
        expect(staff.locator("#basic-four-birth-date")).to_have_attribute("data-date", "1985-04-01")
        expect(staff.locator("#basic-four-sex")).to_have_attribute("data-sex", "2")
        expect(staff.locator("#basic-four-address")).to_have_text("東京都千代田区千代田1-1")
        expect(staff.locator("#atena-number")).to_contain_text(ATENA)
        expect(staff.locator("#atena-number")).to_have_attribute("data-source", "serial_link")
        screenshot(staff, "12-mynaportal-review")

        # --- 要再申請 with the comment
        change_status(staff, "returned", COMMENT)
        expect(staff.locator(".dads-messages")).to_have_text("状況を「要再申請」に変更しました。")
        expect_status(staff, "要再申請", "returned")

        # --- the outbox registers 受付 then 要再申請 at マイナポータル
        statuses = deliver_statuses(simulator, mynaportal_receipt, 2)
        assert [s["status_code"] for s in statuses] == ["01", "03"], statuses
        assert statuses[-1]["comment"] == COMMENT

        # --- the simulator's 申請処理状況 page, in the browser
        status_page.goto(f"{simulator.url}/statuses")
        row = status_page.locator("#statuses tbody tr").filter(has_text="要再申請")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(mynaportal_receipt)
        expect(row.locator("td").nth(1)).to_have_text("03")
        expect(row.locator("td").nth(3)).to_have_text(COMMENT)
    finally:
        staff.context.close()
        status_page.context.close()
