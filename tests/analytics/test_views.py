"""The dashboard page, its downloads (with small-count suppression), handling comments,
baselines, and who may see what."""

import csv
import io
import json
import re

import pytest
from openpyxl import load_workbook

from madoguchi.analytics.models import FeedbackReview, ProcedureBaseline
from tests.conftest import login_with_2fa

pytestmark = pytest.mark.django_db

PERIOD = "start=2026-01-01&end=2026-06-30"


def staff_client(client, user):
    return login_with_2fa(client, user)


def test_dashboard_shows_figures_charts_and_tables(client, history):
    response = staff_client(client, history.handler).get(f"/staff/analytics/?{PERIOD}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "業務改革の指標" in page
    assert 'id="kpi-chart-data" type="application/json"' in page
    assert 'id="chart-volume"' in page and 'id="table-volume_month"' in page
    assert "analytics/vendor/chart.umd.min.js" in page
    assert "添付書類が不足しています。" in page  # the most frequent reason, to staff
    assert "添付の方法がわかりにくい" in page
    assert "水道の意見" not in page  # another department's comment
    assert 'id="kpi-total">6<' in page
    assert "<script>" not in page  # no inline script (CSP)
    charts = json.loads(
        re.search(r'id="kpi-chart-data" type="application/json">(.*?)</script>', page, re.S)[1]
    )
    # counts get whole-number axes; days and rates do not
    assert charts["volume"]["whole_numbers"] and charts["satisfaction"]["whole_numbers"]
    assert "whole_numbers" not in charts["processing"]


def test_dashboard_filters_by_procedure_and_department(client, history):
    c = staff_client(client, history.admin)
    page = c.get(f"/staff/analytics/?{PERIOD}&procedure={history.b.pk}").content.decode()
    assert 'id="kpi-total">1<' in page
    department = history.a.departments.get().pk
    page = c.get(f"/staff/analytics/?{PERIOD}&department={department}").content.decode()
    assert 'id="kpi-total">6<' in page
    page = c.get(f"/staff/analytics/?{PERIOD}").content.decode()
    assert 'id="kpi-total">7<' in page


def test_another_departments_procedure_is_404(client, history):
    c = staff_client(client, history.water)
    assert c.get(f"/staff/analytics/?{PERIOD}&procedure={history.a.pk}").status_code == 404
    department = history.a.departments.get().pk
    assert c.get(f"/staff/analytics/?{PERIOD}&department={department}").status_code == 404


def test_other_municipality_is_404(client, history):
    c = staff_client(client, history.other_admin)
    assert c.get("/staff/analytics/?municipality=131016").status_code == 404
    page = c.get(f"/staff/analytics/?{PERIOD}").content.decode()
    assert 'id="kpi-total">1<' in page  # its own case only


def test_anonymous_is_sent_to_login(client, history):
    response = client.get("/staff/analytics/")
    assert response.status_code == 302 and "/staff/account/login/" in response["Location"]


def _csv_rows(response) -> list[list[str]]:
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _section(rows, title):
    start = next(i for i, r in enumerate(rows) if r and r[0] == f"■ {title}")
    end = next(i for i in range(start + 1, len(rows)) if not rows[i])
    return rows[start + 1 : end]


def test_csv_download_suppresses_small_counts(client, history):
    response = staff_client(client, history.handler).get(
        f"/staff/analytics/download/?{PERIOD}&format=csv"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="kpi-131016-')
    rows = _csv_rows(response)
    by_procedure = _section(rows, "手続別の申請件数とオンライン利用率")
    assert by_procedure[0] == [
        "手続",
        "電子申請（ポータル）",
        "マイナポータル",
        "窓口",
        "紙",
        "合計",
        "オンライン",
        "オンライン利用率",
    ]
    # 3 portal, 1 マイナポータル, 1 counter, 1 paper: every count under 5 is "*"; the total
    # (6) is shown; the online rate (4 of 6) would give the 4 back, so it is "*" too
    assert by_procedure[1] == ["児童手当", "*", "*", "*", "*", "6", "*", "*"]
    outcomes = _section(rows, "処理結果")
    assert outcomes[1] == ["完了", "*", "*"]  # 3 of 5
    timing = _section(rows, "受付から決定までの日数（完了・却下）")
    assert timing[-2][:2] == ["合計", "*"]  # 4 decided cases: count and times hidden
    assert timing[-2][2:6] == ["*", "*", "*", "*"]
    months = _section(rows, "月別の申請件数（申請経路別）")
    assert months[4] == ["2026-04", "0", "0", "0", "0", "0", "0", ""]
    assert months[1][5] == "*"  # January: 2 cases
    text = "\n".join(",".join(r) for r in rows)
    assert "とても簡単でした" not in text  # residents' comments are never exported
    assert "5件未満の件数" in text


def test_xlsx_download_has_the_same_figures(client, history):
    response = staff_client(client, history.admin).get(
        f"/staff/analytics/download/?{PERIOD}&format=xlsx"
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row if c.value is not None] for row in sheet.iter_rows()]
    # 7 cases in all (6 + 水道課's 1), 5 online: the rate over 7 with 5 online is shown
    assert ["合計", "*", "*", "*", "*", "7", "5", "71.4%"] in values


def test_marking_a_comment_handled(client, history):
    c = staff_client(client, history.handler)
    response = c.post(
        f"/staff/analytics/feedback/{history.complaint.pk}/handled/",
        {"note": "説明を追加しました", "next": f"/staff/analytics/?{PERIOD}"},
    )
    assert response.status_code == 302
    review = FeedbackReview.objects.get(event=history.complaint)
    assert review.handled_by == history.handler and review.note == "説明を追加しました"
    page = c.get(f"/staff/analytics/?{PERIOD}").content.decode()
    assert "対応済み" in page and "説明を追加しました" in page
    c.post(f"/staff/analytics/feedback/{history.complaint.pk}/handled/", {"undo": "1"})
    assert not FeedbackReview.objects.exists()


def test_viewer_and_other_department_cannot_mark_handled(client, history):
    url = f"/staff/analytics/feedback/{history.complaint.pk}/handled/"
    assert staff_client(client, history.water).post(url).status_code == 404
    from django.test import Client

    assert staff_client(Client(), history.viewer).post(url).status_code == 404
    assert not FeedbackReview.objects.exists()


def test_baselines_are_entered_by_an_administrator(client, history):
    c = staff_client(client, history.admin)
    response = c.post(
        "/staff/analytics/baselines/",
        {"procedure": history.a.pk, "minutes_per_case": "30", "yearly_cases": "120"},
    )
    assert response.status_code == 302
    baseline = ProcedureBaseline.objects.get()
    assert (baseline.minutes_per_case, baseline.yearly_cases) == (30, 120)
    page = c.get(f"/staff/analytics/?{PERIOD}").content.decode()
    assert "業務量（改革前との比較）" in page and ">60.0<" in page
    response = c.post("/staff/analytics/baselines/", {"procedure": history.a.pk})
    assert "1件あたりの処理時間（分）を入力してください。" in response.content.decode()
    from django.test import Client

    handler = staff_client(Client(), history.handler)
    assert handler.get("/staff/analytics/baselines/").status_code == 404


def test_malformed_filters_are_reported_on_the_dashboard_with_400(client, history):
    response = staff_client(client, history.handler).get("/staff/analytics/?start=2026-13-45")
    assert response.status_code == 400
    page = response.content.decode()
    assert "集計の条件を正しく入力してください" in page
    assert 'id="kpi-period-this-fy"' in page  # the dashboard itself, with the default period


def test_fiscal_year_links_keep_the_other_filters(client, history):
    import time_machine

    c = staff_client(client, history.admin)
    with time_machine.travel("2026-12-03 10:00 +09:00", tick=False):
        page = c.get(f"/staff/analytics/?{PERIOD}&procedure={history.b.pk}").content.decode()
    this_fy = re.search(r'href="\?([^"]+)" id="kpi-period-this-fy">今年度（令和8年度）<', page)
    last_fy = re.search(r'href="\?([^"]+)" id="kpi-period-last-fy">前年度（令和7年度）<', page)
    assert this_fy and last_fy
    assert "start=2026-04-01&amp;end=2026-12-03" in this_fy[1]
    assert "start=2025-04-01&amp;end=2026-03-31" in last_fy[1]
    assert f"procedure={history.b.pk}" in this_fy[1] and f"procedure={history.b.pk}" in last_fy[1]
