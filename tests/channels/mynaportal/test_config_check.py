"""設定の確認 on the マイナポータル page: each missing piece (password, trust anchor, CRL, item
mapping, published form) is named with what fixes it; a complete setup shows no problem."""

import datetime

import pytest
from django.test import Client

from madoguchi.catalog.models import Procedure
from madoguchi.channels.models import MynaportalConnection
from madoguchi.channels.mynaportal import config_check
from madoguchi.identity.trust_models import CertificateRevocationList
from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db

NO_PASSWORD = (
    "ログインパスワードが設定されていません。サーバーの環境変数 "
    "MADOGUCHI_MYNAPORTAL_PASSWORD_131016 に設定してください。"
)
NO_ANCHOR = (
    "署名を検証する認証局（JPKI署名用認証局）の証明書が登録されていません。"
    "届いた申請はすべて隔離されます。madoguchi load_trust anchor で登録してください。"
)
NO_MAPPING = (
    "手続の対応（マイナポータル項目対応）が登録されていません。届いた申請はすべて隔離されます。"
    "管理画面の「マイナポータル項目対応」で登録してください。"
)
TEST_CA = (
    "テスト用認証局の署名を受け付ける設定です（JPKI_ALLOW_TEST_CA）。"
    "本番環境では使わないでください。"
)


@pytest.fixture
def connection(loaded_municipality):
    return MynaportalConnection.objects.create(
        municipality=loaded_municipality, base_url="https://mynaportal.example", login_id="m"
    )


def messages(connection, **kwargs):
    return [(f.level, f.message) for f in config_check.check(connection, **kwargs)]


def test_a_new_connection_is_told_everything_it_lacks(connection, settings):
    settings.JPKI_ALLOW_TEST_CA = False
    assert messages(connection) == [
        ("error", NO_PASSWORD),
        ("error", NO_ANCHOR),
        ("error", NO_MAPPING),
    ]


def test_a_complete_setup_has_only_the_test_ca_warning(
    connection, mapping, db_trust, monkeypatch, settings
):
    monkeypatch.setenv("MADOGUCHI_MYNAPORTAL_PASSWORD_131016", "secret")
    assert messages(connection) == [("warning", TEST_CA)]
    # Without JPKI_ALLOW_TEST_CA the test CA does not count as a trust anchor.
    settings.JPKI_ALLOW_TEST_CA = False
    assert messages(connection) == [("error", NO_ANCHOR)]


def test_an_outdated_crl_a_missing_crl_and_an_unpublished_form(
    connection, mapping, db_trust, monkeypatch, settings
):
    monkeypatch.setenv("MADOGUCHI_MYNAPORTAL_PASSWORD_131016", "secret")
    crl = CertificateRevocationList.objects.get()
    later = crl.next_update + datetime.timedelta(days=1)
    assert messages(connection, now=later)[1][0] == "warning"
    assert "の失効リストの次回更新予定（" in messages(connection, now=later)[1][1]
    settings.JPKI_REQUIRE_CRL = True  # then verification refuses: it is an error
    assert messages(connection, now=later)[1][0] == "error"

    crl.delete()
    assert messages(connection)[1] == (
        "error",
        "認証局「test」の失効リストが読み込まれていません。失効した証明書の署名を見分けられ"
        "ません。madoguchi load_trust crl で読み込んでください。",
    )
    Procedure.objects.filter(pk=mapping.procedure_id).update(current_version=None)
    assert messages(connection)[-1] == (
        "error",
        "手続コード jidou_teate_genkyo の対応先「児童手当等の現況届」に公開中の様式がありません。"
        "この手続の申請は隔離されます。",
    )


def test_the_page_shows_the_findings(connection, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = login_with_2fa(Client(), make_staff("kodomo1", connection.municipality, "kodomo"))
    page = client.get("/staff/mynaportal/").content.decode()
    assert "設定の確認" in page
    assert NO_PASSWORD in page and NO_MAPPING in page
    assert 'data-level="error"' in page
