"""A 介護事業所 in the browser after 要再申請: it finds the return reason as the case's latest
notice in its list, corrects the application from the case page with the same form and
resubmits; the case goes back to where staff left it (処理中) and is marked 再申請 in the
inbox. The business's filing itself is tested in tests/channels/test_business.py."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from madoguchi.applications import staff_actions
from madoguchi.applications.models import Application, Status
from madoguchi.tenants.models import Business, BusinessMember
from tests.channels.conftest import PASSWORD
from tests.channels.test_business import file_youkaigo

from .staff_journeys import (
    Handler,
    expect_status,
    live_root,
    log_in,
    new_desktop_page,
    open_inbox,
)

FIX = "被保険者番号が確認できません。被保険者証の番号をもう一度ご確認ください。"


@pytest.fixture
def business_case(chiyoda_live, django_user_model, settings):
    """ケアプランセンターちよだ filed 要介護認定; the 介護保険課 handler took it (処理中) and
    returned it (要再申請). Returns (application, handler)."""
    from madoguchi.catalog.models import Procedure
    from madoguchi.tenants.models import Municipality

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    chiyoda = Municipality.objects.get(lg_code="131016")
    business = Business.objects.create(
        municipality=chiyoda,
        name="ケアプランセンターちよだ",
        business_number="1310100001",
        email="care1@example.jp",
    )
    user = django_user_model.objects.create_user("care1", password=PASSWORD)
    BusinessMember.objects.create(user=user, business=business)
    client = Client()
    client.post(reverse("business:login"), {"username": "care1", "password": PASSWORD})
    application = file_youkaigo(
        client, Procedure.objects.get(municipality=chiyoda, slug="youkaigo_nintei")
    )
    handler = Handler("kaigo-tantou", chiyoda, "kaigo")
    staff_actions.change_status(
        application, Status.IN_PROGRESS, user=handler.user, expected_version=0
    )
    staff_actions.change_status(
        application, Status.RETURNED, user=handler.user, message=FIX, expected_version=1
    )
    return application, handler


def test_business_corrects_and_resubmits(browser, chiyoda_live, business_case):
    application, handler = business_case
    root = live_root(chiyoda_live)
    page = new_desktop_page(browser)
    staff = new_desktop_page(browser)
    try:
        page.goto(f"{root}/business/login/")
        page.locator("#id_username").fill("care1")
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        row = page.locator("#application-list tbody tr").filter(has_text=application.receipt_number)
        expect(row).to_contain_text("要再申請")
        expect(row).to_contain_text(FIX)

        row.get_by_role("link", name=application.receipt_number).click()
        expect(page.locator("#status")).to_have_text("要再申請")
        expect(page.locator("#correction-message")).to_have_text(FIX)
        expect(page.locator("#latest-notice")).to_contain_text(FIX)
        page.locator("#resubmit-link").click()

        expect(page.locator("h1")).to_have_text("入力内容の確認")
        expect(page.locator("#correction-message")).to_have_text(FIX)
        page.locator("#review a").filter(has_text="修正する").filter(
            has_text="被保険者について"
        ).click()
        expect(page.locator("#step-title")).to_have_text("被保険者について")
        expect(page.locator("#correction-message")).to_have_text(FIX)
        number = page.locator("[name='insured_number']")
        expect(number).to_have_value("0000012345")
        number.fill("0000054321")
        page.locator("#next-button").click()

        expect(page.locator("h1")).to_have_text("入力内容の確認")
        expect(page.locator("#review")).to_contain_text("0000054321")
        page.get_by_role("button", name="この内容で再申請する").click()
        expect(page.locator(".dads-messages")).to_contain_text("再申請を受け付けました。")
        expect(page.locator("#status")).to_have_text("処理中")
        expect(page.locator("#resubmitted-at")).to_be_visible()
        expect(page.locator("#history")).to_contain_text("修正した内容で再申請しました")
        expect(page.locator("#resubmit-link")).to_have_count(0)

        # 介護保険課: the case is 処理中 again, marked 再申請 in the inbox.
        log_in(staff, root, handler)
        open_inbox(staff, "介護保険課")
        staff_row = staff.locator(f"#row-{application.pk}")
        expect(staff_row).to_contain_text("処理中")
        expect(staff.locator(f"#resubmitted-{application.pk}")).to_have_text("再申請")
        staff_row.get_by_role("link", name=application.receipt_number).click()
        expect_status(staff, "処理中", "in_progress")
        expect(staff.locator("#history")).to_contain_text("再申請")
    finally:
        page.context.close()
        staff.context.close()

    application.refresh_from_db()
    assert application.status == Status.IN_PROGRESS
    assert application.answers["insured_number"] == "0000054321"
    assert any(
        m.subject.startswith("【千代田区】再申請を受け付けました") and m.to == ["care1@example.jp"]
        for m in mail.outbox
    )
    assert Application.objects.count() == 1
