"""The KPI dashboard (業務改革の指標) in the browser: a 管理者 logs in with two-factor
authentication, filters by period, department and procedure, sees the charts drawn with
their data tables, downloads the CSV, marks a comment handled; axe finds no serious issue."""

import pytest
from playwright.sync_api import expect

from madoguchi.applications import services, staff_actions
from madoguchi.applications.models import ApplicationEvent, Channel, Status
from madoguchi.catalog.models import Procedure
from tests import filling

from .conftest import screenshot
from .staff_journeys import AxeReport, Handler, live_root, log_in, new_desktop_page

pytestmark = pytest.mark.django_db(transaction=True)


def _applications(municipality, clerk):
    """Three cases submitted through the real service (2 portal, 1 counter), one completed,
    with a comment from a resident."""
    procedure = (
        Procedure.objects.filter(municipality=municipality)
        .exclude(current_version=None)
        .filter(identity_level="none")
        .order_by("slug")
        .first()
    )
    made = []
    for channel in (Channel.PORTAL, Channel.PORTAL, Channel.COUNTER):
        application, _ = services.start_draft(
            procedure, channel=channel, entered_by=clerk if channel == Channel.COUNTER else None
        )
        # Answers the form accepts (only a complete form is submitted).
        filling.fill(application)
        application.refresh_from_db()
        services.submit(application, base_url="http://testserver")
        made.append(application)
    staff = made[0]
    staff.refresh_from_db()
    staff_actions.change_status(
        staff, Status.COMPLETED, user=clerk, message="", expected_version=staff.lock_version
    )
    services.record_feedback(made[1], rating=2, comment="添付の方法がわかりにくかった")
    return procedure


def test_dashboard_filters_download_and_axe(browser, chiyoda_live, settings, tmp_path):
    from madoguchi.tenants.models import Municipality

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    municipality = Municipality.objects.get(lg_code="131016")
    admin = Handler("kpi-admin", municipality, "kodomo")
    from madoguchi.tenants.models import StaffMembership

    StaffMembership.objects.filter(user=admin.user).update(role="admin", department=None)
    procedure = _applications(municipality, admin.user)
    assert ApplicationEvent.objects.filter(kind="feedback").count() == 1

    page = new_desktop_page(browser)
    axe = AxeReport(page)
    try:
        root = live_root(chiyoda_live)
        log_in(page, root, admin)
        page.goto(f"{root}/staff/analytics/")
        expect(page.locator("h1")).to_contain_text("業務改革の指標")
        expect(page.locator("#kpi-total")).to_have_text("3")
        # Chart.js drew the charts (the script ran under the CSP); each has its table
        expect(page.locator("#chart-volume")).to_have_attribute("data-kpi-chart", "drawn")
        expect(page.locator("#table-volume_month caption")).to_contain_text("月別の申請件数")
        screenshot(page, "13-kpi-dashboard")
        axe.check("業務改革の指標")

        # filters: a procedure, then a period without cases
        page.locator("#kpi-procedure").select_option(str(procedure.pk))
        page.locator("#kpi-filter").get_by_role("button", name="集計する").click()
        expect(page.locator("#kpi-total")).to_have_text("3")
        expect(page.locator("#chart-funnel")).to_have_attribute("data-kpi-chart", "drawn")
        page.locator("#kpi-start").fill("2020-01-01")
        page.locator("#kpi-end").fill("2020-12-31")
        page.locator("#kpi-filter").get_by_role("button", name="集計する").click()
        expect(page.locator("#kpi-total")).to_have_text("0")
        page.go_back()
        expect(page.locator("#kpi-total")).to_have_text("3")

        # the download: the same figures, small counts suppressed
        with page.expect_download() as info:
            page.locator("#kpi-download-csv").click()
        path = tmp_path / "kpi.csv"
        info.value.save_as(path)
        text = path.read_bytes().decode("utf-8-sig")
        assert "手続別の申請件数とオンライン利用率" in text
        assert "5件未満の件数" in text
        assert ",*," in text

        # a resident's comment, marked handled
        comment = page.locator(".kpi-comment").filter(has_text="添付の方法がわかりにくかった")
        comment.get_by_label("対応内容（任意）").fill("案内文を修正しました")
        comment.get_by_role("button", name="対応済みにする").click()
        comment = page.locator(".kpi-comment").filter(has_text="添付の方法がわかりにくかった")
        expect(comment.locator(".kpi-comment__state")).to_contain_text("対応済み")
        axe.check("業務改革の指標（手続で絞り込み、ご意見に対応）")

        page.goto(f"{root}/staff/analytics/baselines/")
        axe.check("改革前の業務量")
    finally:
        page.context.close()
    axe.assert_clean()
