"""Open data: /opendata/<lg_code>/online-procedures.csv (layout in docs/opendata.md)."""

import csv
import io

import pytest

from madoguchi.analytics.opendata import HEADER
from madoguchi.applications.models import Channel

from .conftest import at, submitted

pytestmark = pytest.mark.django_db


def rows_of(response):
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in response.content
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_layout_and_suppression(client, history):
    # five more portal cases of 水道 in FY2025 (April 2025 – March 2026): 6 in all
    for day in range(1, 6):
        submitted(history.b, at(2, day))
    submitted(history.b, at(3, 10), channel=Channel.COUNTER)
    response = client.get("/opendata/131016/online-procedures.csv?fiscal_year=2025")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "131016_online_procedures_FY2025.csv" in response["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0] == HEADER
    by_slug = {r[2]: dict(zip(HEADER, r, strict=True)) for r in rows[1:]}
    assert set(by_slug) == {"kodomo-a", "suido-b"}  # not the other municipality's
    water = by_slug["suido-b"]
    assert water["団体コード"] == "131016" and water["団体名"] == "千代田区"
    assert water["手続名"] == "水道の開始"
    assert water["オンライン申請"] == "1"
    assert (water["集計期間開始"], water["集計期間終了"]) == ("2025-04-01", "2026-03-31")
    assert water["電子申請（ポータル）件数"] == "6"
    assert water["窓口件数"] == "*"  # 1 case
    assert water["紙件数"] == "0"
    assert water["合計件数"] == "7"
    assert water["オンライン件数"] == "6"
    assert water["オンライン利用率"] == "85.7"
    kodomo = by_slug["kodomo-a"]
    # FY2025 holds c7 (Dec 2025) and c1–c6 (Jan–Mar 2026): 7 cases, 5 online
    assert kodomo["合計件数"] == "7"
    assert kodomo["オンライン件数"] == "5"
    assert kodomo["電子申請（ポータル）件数"] == "*"
    assert kodomo["オンライン利用率"] == "71.4"
    body = response.content.decode("utf-8-sig")
    assert "山田" not in body and "2026-0000" not in body  # no personal data, no 受付番号


def test_small_totals_hide_the_rate(client, history):
    rows = rows_of(client.get("/opendata/131016/online-procedures.csv?fiscal_year=2024"))
    for row in rows[1:]:
        assert row[HEADER.index("合計件数")] == "0"
        assert row[HEADER.index("オンライン利用率")] == ""


def test_unknown_municipality_and_bad_year_are_404(client, history):
    assert client.get("/opendata/999999/online-procedures.csv").status_code == 404
    assert client.get("/opendata/131016/online-procedures.csv?fiscal_year=abc").status_code == 404
