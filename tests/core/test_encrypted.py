"""Secrets stored encrypted (core.encrypted): the webhook signing secret is unreadable in
the database, readable by the application, survives key rotation, and a wrong key fails
loudly instead of signing with garbage."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from madoguchi.core import encrypted
from madoguchi.webhooks.models import WebhookSubscription
from tests.webhooks.conftest import make_client, subscribe

pytestmark = pytest.mark.django_db


def stored(subscription) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT secret FROM {WebhookSubscription._meta.db_table} WHERE id = %s",
            [subscription.pk],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def subscription(municipality):
    return subscribe(make_client(municipality), "https://kikan.example.lg.jp/hook")


def test_the_database_holds_no_usable_secret(subscription):
    secret = subscription.secret
    assert secret.startswith("whsec_")
    raw = stored(subscription)
    assert raw.startswith("enc1:") and secret not in raw
    assert WebhookSubscription.objects.get(pk=subscription.pk).secret == secret


def test_a_row_written_before_encryption_is_read_and_encrypted_on_save(subscription):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {WebhookSubscription._meta.db_table} SET secret = %s WHERE id = %s",
            ["whsec_legacy", subscription.pk],
        )
    legacy = WebhookSubscription.objects.get(pk=subscription.pk)
    assert legacy.secret == "whsec_legacy"
    legacy.save()
    assert stored(legacy).startswith("enc1:")
    assert WebhookSubscription.objects.get(pk=subscription.pk).secret == "whsec_legacy"


def test_rotating_secret_key_keeps_secrets_readable(subscription, settings):
    secret = subscription.secret
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert WebhookSubscription.objects.get(pk=subscription.pk).secret == secret


def test_configured_keys_rotate(subscription, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    subscription.save()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    again = WebhookSubscription.objects.get(pk=subscription.pk)
    assert again.secret == subscription.secret
    again.save()  # re-encrypted with the new key: the old one can go
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert WebhookSubscription.objects.get(pk=subscription.pk).secret == subscription.secret


def test_a_wrong_key_fails_loudly(subscription, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured) as raised:
        WebhookSubscription.objects.get(pk=subscription.pk)
    assert "cannot be read with the configured keys" in str(raised.value)


def test_a_malformed_key_is_refused(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured) as raised:
        encrypted.encrypt("whsec_x")
    assert str(raised.value) == (
        "FIELD_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes)"
    )


def test_each_encryption_differs():
    assert encrypted.encrypt("whsec_same") != encrypted.encrypt("whsec_same")
    assert encrypted.decrypt(encrypted.encrypt("whsec_same")) == "whsec_same"
