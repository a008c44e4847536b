"""A member of staff exports what their department's inbox shows: 「一覧を出力」 on the inbox
carries the current filters to the export form, the file is made in the background and
downloaded from the job page."""

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.exports.conftest import answers, make_procedure, submit

from .staff_journeys import Handler, live_root, log_in, new_desktop_page, open_inbox, search


@pytest.fixture
def kodomo_applications(chiyoda_live):
    from madoguchi.tenants.models import Municipality

    municipality = Municipality.objects.get(lg_code="131016")
    procedure = make_procedure(municipality, "jidou-export", "kodomo-x", "こども支援課")
    submit(procedure, answers(family="山田", given="花子"))
    submit(procedure, answers(family="髙橋", given="美咲"))
    submit(procedure, answers(family="佐藤", given="美咲"))
    return municipality


def test_inbox_export_carries_the_filter_and_downloads(
    browser, chiyoda_live, kodomo_applications, settings
):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    handler = Handler("export-staff", kodomo_applications, "kodomo-x")
    page = new_desktop_page(browser)
    try:
        log_in(page, live_root(chiyoda_live), handler)
        open_inbox(page, "こども支援課")
        search(page, "髙橋")
        expect(page.locator("#application-list tbody tr")).to_have_count(1)

        page.locator("#inbox-export").click()
        expect(page.locator("h1")).to_have_text("一覧の出力")
        expect(page.locator("#export-filters")).to_contain_text("髙橋")
        expect(page.locator("#encoding-help")).to_contain_text("髙・﨑・ⅰ・①")
        page.locator("#format-csv").check()
        page.locator("#encoding-cp932").check()
        page.get_by_role("button", name="出力を開始する").click()

        # The job page refreshes itself every 2 seconds until the file is ready.
        download_link = page.locator("#export-download")
        expect(download_link).to_be_visible(timeout=30000)
        with page.expect_download() as info:
            download_link.click()
        content = open(info.value.path(), "rb").read()
    finally:
        page.context.close()

    rows = list(csv.reader(io.StringIO(content.decode("cp932"), newline="")))
    assert rows[0][0] == "受付番号"
    assert len(rows) == 2, rows  # the header and the one filtered application
    assert "髙橋\u3000美咲" in rows[1]
    # 髙 is written as Windows writes it (IBM extension row FB), not Python's NEC row EE.
    assert b"\xfb\xfc" in content and b"\xee\xe0" not in content
