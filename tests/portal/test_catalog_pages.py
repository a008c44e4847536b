"""Finding a procedure: home, municipality home, search and browse, procedure page."""

import datetime
import re

import pytest

from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Municipality

from .conftest import html

pytestmark = pytest.mark.django_db

NINTEI = "児童手当等の受給資格及び児童手当の額についての認定請求"
GENKYO = "児童手当等の現況届"
SUIDO = "水道使用開始届"


def test_home_redirects_to_the_only_municipality(client, chiyoda):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/131016/"


def test_home_lists_municipalities_when_several(client, chiyoda, other_municipality):
    response = client.get("/")
    assert response.status_code == 200
    page = html(response)
    assert "千代田区" in page and "苫小牧市" in page
    assert 'href="/131016/"' in page


def test_inactive_municipality_is_404(client, chiyoda):
    Municipality.objects.filter(pk=chiyoda.pk).update(is_active=False)
    assert client.get("/131016/").status_code == 404


def test_municipality_home_has_search_categories_and_life_events(client, chiyoda):
    response = client.get("/131016/")
    assert response.status_code == 200
    page = html(response)
    assert '<html lang="ja">' in page
    assert "<title>手続をさがす | 千代田区 電子申請</title>" in page
    assert 'name="q"' in page and 'role="search"' in page
    for label in ["子育て", "介護", "被災者支援", "引越し", "その他"]:
        assert label in page
    for label in ["出産", "くらし", "ペット", "災害"]:
        assert label in page
    # Each tile and the closing link lead to the procedure list (its URL reversed once).
    assert 'href="/131016/procedures/?category=childcare"' in page
    assert 'href="/131016/procedures/?life_event=birth"' in page
    assert re.search(r'<p><a href="/131016/procedures/">すべての手続を見る（\d+件）</a></p>', page)


@pytest.mark.parametrize("query", ["児童手当", "じどうてあて", "ジドウテアテ", "ｼﾞﾄﾞｳﾃｱﾃ"])
def test_search_kanji_hiragana_katakana(client, chiyoda, query):
    response = client.get("/131016/procedures/", {"q": query})
    assert response.status_code == 200
    page = html(response)
    # every 児童手当 procedure of the standard templates, and nothing else
    jidou = Procedure.objects.filter(municipality=chiyoda, slug__startswith="jidou_teate_")
    assert jidou.count() >= 2
    for procedure in jidou:
        assert procedure.name in page
    assert NINTEI in page
    assert GENKYO in page
    assert SUIDO not in page
    assert f"{jidou.count()}件の手続が見つかりました" in page


def test_search_suido_by_reading(client, chiyoda):
    page = html(client.get("/131016/procedures/", {"q": "すいどう"}))
    assert SUIDO in page
    assert "水道使用中止届" in page
    assert NINTEI not in page
    assert "2件の手続が見つかりました" in page


def test_search_without_results_gives_advice(client, chiyoda):
    page = html(client.get("/131016/procedures/", {"q": "存在しない手続"}))
    assert "0件の手続が見つかりました" in page
    assert "ひらがなで入力してみてください" in page


def test_browse_by_category(client, chiyoda):
    page = html(client.get("/131016/procedures/", {"category": "moving"}))
    assert "引越しの手続" in page
    assert SUIDO in page
    assert NINTEI not in page


def test_browse_by_life_event(client, chiyoda):
    page = html(client.get("/131016/procedures/", {"life_event": "birth"}))
    assert "出産に関する手続" in page
    assert NINTEI in page
    assert "妊娠の届出" in page
    assert SUIDO not in page
    pets = html(client.get("/131016/procedures/", {"life_event": "pets"}))
    assert "犬の登録申請" in pets and NINTEI not in pets


def test_search_within_category(client, chiyoda):
    page = html(client.get("/131016/procedures/", {"q": "じどう", "category": "moving"}))
    assert "0件の手続が見つかりました" in page


def test_unknown_filter_is_ignored(client, chiyoda):
    page = html(client.get("/131016/procedures/", {"category": "nonsense"}))
    assert SUIDO in page and NINTEI in page


def test_procedure_page(client, chiyoda):
    response = client.get("/131016/procedures/jidou_teate_nintei/")
    assert response.status_code == 200
    page = html(response)
    assert f"<title>{NINTEI} | 千代田区 電子申請</title>" in page
    assert "<h1" in page and NINTEI in page
    assert "対象となる方" in page
    assert "用意するもの" in page
    assert "添付する書類" in page
    assert "健康保険の資格がわかる書類の写し" in page
    assert "メールアドレスの確認" in page  # identity level, explained
    assert "マイナンバーカードは必要ありません" in page
    assert "約15分" in page
    assert "約1か月" in page
    assert "無料" in page
    assert "通年" in page
    assert 'action="/131016/procedures/jidou_teate_nintei/start/"' in page
    assert "申請をはじめる" in page


def test_closed_procedure_says_so_and_offers_no_start(client, chiyoda):
    procedure = Procedure.objects.get(municipality=chiyoda, slug="risai_shoumei")
    procedure.open_until = datetime.date(2020, 3, 31)
    procedure.save()
    page = html(client.get("/131016/procedures/risai_shoumei/"))
    assert "現在、電子申請を受け付けていません" in page
    assert "申請をはじめる" not in page
    assert "令和2年3月31日" in page
    # not listed in search results either, and starting is refused
    assert "罹災証明書" not in html(client.get("/131016/procedures/", {"q": "りさい"}))
    response = client.post("/131016/procedures/risai_shoumei/start/")
    assert response.status_code == 302
    assert response["Location"] == "/131016/procedures/risai_shoumei/"


def test_not_yet_open_procedure(client, chiyoda):
    procedure = Procedure.objects.get(municipality=chiyoda, slug="risai_shoumei")
    procedure.open_from = datetime.date.today() + datetime.timedelta(days=30)
    procedure.save()
    page = html(client.get("/131016/procedures/risai_shoumei/"))
    assert "まだ受付を開始していません" in page
    assert "申請をはじめる" not in page


def test_unpublished_procedure_is_404(client, chiyoda):
    Procedure.objects.filter(municipality=chiyoda, slug="risai_shoumei").update(is_published=False)
    assert client.get("/131016/procedures/risai_shoumei/").status_code == 404
    assert client.get("/131016/procedures/nonexistent/").status_code == 404


def test_procedure_of_other_municipality_not_visible(client, chiyoda, other_municipality):
    lg = other_municipality.lg_code
    assert client.get(f"/{lg}/procedures/jidou_teate_nintei/").status_code == 404
