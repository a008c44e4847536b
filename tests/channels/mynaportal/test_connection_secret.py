"""The マイナポータル login password comes from the environment, never from the database."""

import contextlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection as db_connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from madoguchi.channels.models import MissingSecretError, MynaportalConnection
from madoguchi.channels.mynaportal import status_sync
from madoguchi.channels.mynaportal.pull import pull
from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage
from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db

VARIABLE = "MADOGUCHI_MYNAPORTAL_PASSWORD_131016"
MISSING = (
    "マイナポータルへのログインパスワードが設定されていません。"
    "サーバーの環境変数 MADOGUCHI_MYNAPORTAL_PASSWORD_131016 に設定してください。"
)


@pytest.fixture
def connection(municipality):
    return MynaportalConnection.objects.create(
        municipality=municipality, base_url="http://127.0.0.1:9", login_id="madoguchi"
    )


def test_the_password_is_read_from_the_environment(connection, monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    assert not connection.has_password
    with pytest.raises(MissingSecretError) as error:
        connection.password()
    assert str(error.value) == MISSING
    monkeypatch.setenv(VARIABLE, "s3cret")
    assert connection.password() == "s3cret" and connection.has_password
    assert "password" not in {f.name for f in MynaportalConnection._meta.fields}


def test_a_named_variable_replaces_the_default_one(connection, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_MYNAPORTAL_CHIYODA", "other")
    connection.password_env = "MADOGUCHI_MYNAPORTAL_CHIYODA"
    connection.full_clean()
    assert connection.password() == "other"


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "MADOGUCHI_MYNAPORTAL_x"])
def test_only_madoguchi_mynaportal_variables_can_be_named(connection, name):
    connection.password_env = name
    with pytest.raises(ValidationError) as error:
        connection.full_clean()
    assert error.value.message_dict["password_env"] == [
        "環境変数名は MADOGUCHI_MYNAPORTAL_ で始め、英大文字・数字・「_」だけで書いてください。"
    ]


def test_a_pull_without_the_password_fails_with_the_reason(connection, monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    result = pull(connection)
    assert (result.failed, result.errors) == (1, [MISSING])
    connection.refresh_from_db()
    assert connection.last_result == "取り込み 0件、重複 0件、隔離 0件、失敗 1件 — " + MISSING


def test_a_status_without_the_password_waits_with_the_reason(connection, monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    message = OutboxMessage.objects.create(
        municipality=connection.municipality,
        kind=status_sync.KIND,
        payload={"source_reference": "1", "status_code": "02", "status_label": "処理中"},
        reference="mynaportal:1",
    )
    assert delivery.deliver(message.pk) is False
    message.refresh_from_db()
    assert message.state == "pending"
    assert message.last_error == "NotConfiguredError: " + MISSING


def test_the_admin_shows_whether_the_password_is_set_never_its_value(
    connection, municipality, monkeypatch
):
    user = make_staff("kanri", municipality, role="admin")
    user.is_staff = True
    user.save()
    admin = login_with_2fa(Client(), user)
    url = f"/admin/channels/mynaportalconnection/{connection.pk}/change/"

    monkeypatch.delenv(VARIABLE, raising=False)
    page = admin.get(url).content.decode()
    assert f"未設定（環境変数 {VARIABLE} を設定してください）" in page
    assert 'name="password"' not in page

    monkeypatch.setenv(VARIABLE, "very-secret-value")
    page = admin.get(url).content.decode()
    assert f"設定済み（環境変数 {VARIABLE}）" in page
    assert "very-secret-value" not in page
    listing = admin.get("/admin/channels/mynaportalconnection/").content.decode()
    assert "設定済み" in listing and "very-secret-value" not in listing


@pytest.mark.django_db(transaction=True)
def test_the_migration_drops_the_stored_password_and_names_the_variable(municipality):
    executor = MigrationExecutor(db_connection)
    before = [("channels", "0001_initial")]
    after = [("channels", "0002_connection_password_from_environment")]
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        old_model = old.get_model("channels", "MynaportalConnection")
        old_model.objects.create(
            municipality_id=municipality.pk,
            base_url="https://example.invalid",
            login_id="x",
            password="stored-in-db",
        )
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            executor = MigrationExecutor(db_connection)
            executor.migrate(after)
    finally:
        call_command("migrate", "channels", verbosity=0)
    assert (
        "マイナポータル接続設定（団体コード 131016）のパスワードをデータベースから削除しました。"
        "環境変数 MADOGUCHI_MYNAPORTAL_PASSWORD_131016 に設定してください。"
    ) in out.getvalue()
    assert "stored-in-db" not in out.getvalue()
    with db_connection.cursor() as cursor:
        columns = {
            c.name
            for c in db_connection.introspection.get_table_description(
                cursor, MynaportalConnection._meta.db_table
            )
        }
    assert "password" not in columns and "password_env" in columns
