"""Staff pages for 管理者: subscriptions, secret shown once, re-enable, rotate, ping, hosts."""

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.webhooks.models import AllowedWebhookHost, WebhookDelivery, WebhookSubscription
from tests.conftest import login_with_2fa, make_staff
from tests.tenants.test_isolation import isolation_problems, world  # noqa: F401 - fixture

from .conftest import deliver_webhooks, make_client, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(municipality):
    return login_with_2fa(Client(), make_staff("admin_wh", municipality, role="admin"))


@pytest.fixture
def api_client(municipality):
    return make_client(municipality, "kikan-views")


def test_only_admins_see_the_pages(client, municipality, api_client):
    subscription = subscribe(api_client, "https://kikan.example.jp/hook")
    login_with_2fa(client, make_staff("handler_wh", municipality, "kodomo"))
    for url in (
        reverse("webhooks:list"),
        reverse("webhooks:new"),
        reverse("webhooks:hosts"),
        reverse("webhooks:detail", kwargs={"subscription_id": subscription.pk}),
    ):
        assert client.get(url).status_code == 404
    response = client.post(reverse("webhooks:rotate", kwargs={"subscription_id": subscription.pk}))
    assert response.status_code == 404
    secret = subscription.secret
    subscription.refresh_from_db()
    assert subscription.secret == secret


def test_admin_of_another_municipality_gets_404(client, other_municipality, api_client):
    subscription = subscribe(api_client, "https://kikan.example.jp/hook")
    host = AllowedWebhookHost.objects.get()
    login_with_2fa(client, make_staff("admin_other", other_municipality, role="admin"))
    detail = reverse("webhooks:detail", kwargs={"subscription_id": subscription.pk})
    assert client.get(detail).status_code == 404
    for name in ("enable", "disable", "rotate", "ping"):
        url = reverse(f"webhooks:{name}", kwargs={"subscription_id": subscription.pk})
        assert client.post(url).status_code == 404
    assert (
        client.post(
            reverse("webhooks:host_delete", kwargs={"allowed_host_id": host.pk})
        ).status_code
        == 404
    )
    assert AllowedWebhookHost.objects.filter(pk=host.pk).exists()
    page = client.get(reverse("webhooks:list")).content.decode()
    assert "kikan.example.jp" not in page and api_client.name not in page
    # Nor can they create a subscription for a client of another municipality.
    AllowedWebhookHost.objects.create(municipality=other_municipality, host="kikan.example.jp")
    response = client.post(
        reverse("webhooks:new"),
        {"client": api_client.pk, "url": "https://kikan.example.jp/x", "events": ["submitted"]},
    )
    assert response.status_code == 400
    assert "連携先システムを選んでください。" in response.content.decode()


def test_create_shows_the_secret_once(admin_client, municipality, api_client):
    AllowedWebhookHost.objects.create(municipality=municipality, host="kikan.example.jp")
    response = admin_client.post(
        reverse("webhooks:new"),
        {
            "client": api_client.pk,
            "url": "https://kikan.example.jp/madoguchi/hook",
            "events": ["submitted", "status_changed"],
        },
    )
    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["submitted", "status_changed"]
    assert subscription.secret.startswith("whsec_")
    body = response.content.decode()
    assert subscription.secret in body
    assert "この秘密鍵は今回だけ表示します。" in body

    detail = admin_client.get(
        reverse("webhooks:detail", kwargs={"subscription_id": subscription.pk})
    )
    assert detail.status_code == 200
    assert subscription.secret not in detail.content.decode()
    listing = admin_client.get(reverse("webhooks:list")).content.decode()
    assert "https://kikan.example.jp/madoguchi/hook" in listing
    assert subscription.secret not in listing


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "送信先URLを入力してください。"),
        ("ftp://kikan.example.jp/hook", "送信先URLは https:// で始まるURLを入力してください。"),
        ("http://kikan.example.jp/hook", "送信先URLは https:// で始まるURLを入力してください。"),
        (
            "https://user:pw@kikan.example.jp/hook",
            "送信先URLに利用者名・パスワードを含めることはできません。",
        ),
        (
            "https://evil.example.com/hook",
            "送信先のホスト「evil.example.com」は許可されていません。"
            "先に「許可する送信先ホスト」に登録してください。",
        ),
        (
            "https://kikan.example.jp:8443/hook",
            "送信先のホスト「kikan.example.jp:8443」は許可されていません。"
            "先に「許可する送信先ホスト」に登録してください。",
        ),
    ],
)
def test_create_refuses_bad_targets_with_exact_messages(
    admin_client, municipality, api_client, url, message
):
    AllowedWebhookHost.objects.create(municipality=municipality, host="kikan.example.jp")
    response = admin_client.post(
        reverse("webhooks:new"), {"client": api_client.pk, "url": url, "events": ["submitted"]}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_create_needs_an_event(admin_client, municipality, api_client):
    AllowedWebhookHost.objects.create(municipality=municipality, host="kikan.example.jp")
    response = admin_client.post(
        reverse("webhooks:new"), {"client": api_client.pk, "url": "https://kikan.example.jp/h"}
    )
    assert response.status_code == 400
    assert "通知するイベントを1つ以上選んでください。" in response.content.decode()


def test_http_only_for_test_hosts_when_allowed(settings, admin_client, municipality, api_client):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    AllowedWebhookHost.objects.create(municipality=municipality, host="kikan.example.jp:8080")
    AllowedWebhookHost.objects.create(municipality=municipality, host="127.0.0.1:8080")
    response = admin_client.post(
        reverse("webhooks:new"),
        {"client": api_client.pk, "url": "http://kikan.example.jp:8080/h", "events": ["submitted"]},
    )
    assert response.status_code == 400
    assert (
        "http:// を使えるのは、テスト用のループバック・プライベートアドレスだけです。"
        in response.content.decode()
    )
    response = admin_client.post(
        reverse("webhooks:new"),
        {"client": api_client.pk, "url": "http://127.0.0.1:8080/h", "events": ["submitted"]},
    )
    assert response.status_code == 200


def test_disabled_reason_shown_and_re_enable(admin_client, api_client):
    subscription = subscribe(api_client, "https://kikan.example.jp/hook")
    subscription.is_active = False
    subscription.consecutive_failures = 20
    subscription.disabled_reason = (
        "連続して20回送信に失敗したため、自動的に停止しました（最後のエラー: HTTP 500）。"
    )
    subscription.save()
    detail = reverse("webhooks:detail", kwargs={"subscription_id": subscription.pk})
    body = admin_client.get(detail).content.decode()
    assert "送信を停止しています" in body and subscription.disabled_reason in body
    assert (
        subscription.disabled_reason in admin_client.get(reverse("webhooks:list")).content.decode()
    )

    response = admin_client.post(
        reverse("webhooks:enable", kwargs={"subscription_id": subscription.pk})
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.is_active
    assert subscription.consecutive_failures == 0
    assert subscription.disabled_reason == "" and subscription.disabled_at is None

    admin_client.post(reverse("webhooks:disable", kwargs={"subscription_id": subscription.pk}))
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.disabled_reason == "管理者が停止しました。"


def test_rotate_secret(admin_client, api_client):
    subscription = subscribe(api_client, "https://kikan.example.jp/hook")
    old = subscription.secret
    response = admin_client.post(
        reverse("webhooks:rotate", kwargs={"subscription_id": subscription.pk})
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.secret != old
    assert subscription.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_ping_from_the_page(receiver, admin_client, api_client):
    subscription = subscribe(api_client, receiver.url())
    response = admin_client.post(
        reverse("webhooks:ping", kwargs={"subscription_id": subscription.pk})
    )
    assert response.status_code == 302
    deliver_webhooks()
    assert [r.headers["X-Madoguchi-Event"] for r in receiver.requests] == ["ping"]
    body = admin_client.get(response["Location"]).content.decode()
    assert "テスト送信" in body and "送信済み" in body
    assert WebhookDelivery.objects.get().state == WebhookDelivery.State.DELIVERED


def test_delivery_log_is_paginated(admin_client, api_client):
    import uuid

    subscription = subscribe(api_client, "https://kikan.example.jp/hook")
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=subscription,
            event_id=uuid.uuid4(),
            event_kind="submitted",
            receipt_number=f"2026-{n:06d}",
        )
        for n in range(1, 61)
    )
    detail = reverse("webhooks:detail", kwargs={"subscription_id": subscription.pk})
    first = admin_client.get(detail).content.decode()
    second = admin_client.get(detail + "?page=2").content.decode()
    assert "60件" in first and "1 / 2" in first
    assert first.count("2026-0000") + second.count("2026-0000") == 60


def test_manage_allowed_hosts(admin_client, municipality):
    url = reverse("webhooks:hosts")
    response = admin_client.post(url, {"host": "Kikan.Example.JP:443"})
    assert response.status_code == 302
    assert list(AllowedWebhookHost.objects.values_list("host", flat=True)) == ["kikan.example.jp"]

    response = admin_client.post(url, {"host": "kikan.example.jp"})
    assert response.status_code == 400
    assert "このホストはすでに許可されています。" in response.content.decode()
    response = admin_client.post(url, {"host": "https://kikan.example.jp/hook"})
    assert response.status_code == 400
    assert (
        "ホスト名は example.jp または example.jp:8443 の形で入力してください"
        "（https:// やパスは含めません）。" in response.content.decode()
    )
    response = admin_client.post(url, {"host": ""})
    assert "ホスト名を入力してください。" in response.content.decode()

    admin_client.post(url, {"host": "kikan.example.jp:8443"})
    assert "kikan.example.jp:8443" in admin_client.get(url).content.decode()
    host = AllowedWebhookHost.objects.get(host="kikan.example.jp:8443")
    response = admin_client.post(
        reverse("webhooks:host_delete", kwargs={"allowed_host_id": host.pk})
    )
    assert response.status_code == 302
    assert not AllowedWebhookHost.objects.filter(pk=host.pk).exists()


def test_webhook_pages_pass_the_isolation_harness(world):  # noqa: F811
    """The harness over the webhook URLs only (the full run lives in tests/tenants)."""
    from tests.tenants import test_isolation

    clients = test_isolation._clients(world, Client)
    original = test_isolation.back_office_urls
    try:
        test_isolation.back_office_urls = lambda: [
            (name, params) for name, params in original() if name.startswith("webhooks:")
        ]
        problems, unfillable, checked = isolation_problems(world, clients)
    finally:
        test_isolation.back_office_urls = original
    assert not unfillable
    assert checked == 9
    assert not problems, problems


BLOCKED = "接続先が内部ネットワークのアドレスのため、接続できません"


@pytest.mark.parametrize(
    "host", ["127.1", "2130706433", "0x7f.0.0.1", "[::ffff:127.0.0.1]", "169.254.169.254"]
)
def test_an_internal_host_cannot_be_allowed(settings, admin_client, municipality, host):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []
    response = admin_client.post(
        reverse("webhooks:hosts"), {"host": host, "municipality": municipality.pk}
    )
    assert response.status_code == 400
    assert BLOCKED in response.content.decode()
    assert not AllowedWebhookHost.objects.exists()


@pytest.mark.parametrize("host", ["localhost:8443", "[fd00::1]:8443", "10.0.0.5:8443"])
def test_an_internal_target_cannot_be_saved(settings, admin_client, municipality, api_client, host):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []
    # Even a host row written before the rule (or by hand) does not let the URL be saved.
    AllowedWebhookHost.objects.create(municipality=municipality, host=host)
    response = admin_client.post(
        reverse("webhooks:new"),
        {"client": api_client.pk, "url": f"https://{host}/hook", "events": ["submitted"]},
    )
    assert response.status_code == 400
    assert BLOCKED in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_the_operator_allows_a_core_system_on_lgwan(
    settings, admin_client, municipality, api_client
):
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["10.0.0.0/8"]
    response = admin_client.post(
        reverse("webhooks:hosts"), {"host": "10.0.0.5:8443", "municipality": municipality.pk}
    )
    assert response.status_code == 302
    response = admin_client.post(
        reverse("webhooks:new"),
        {"client": api_client.pk, "url": "https://10.0.0.5:8443/hook", "events": ["submitted"]},
    )
    assert response.status_code == 200
    assert WebhookSubscription.objects.get().url == "https://10.0.0.5:8443/hook"


def test_a_target_moved_inside_after_saving_is_refused_at_delivery(
    settings, receiver, municipality
):
    """The receiver's name was allowed when saved; once the operator no longer allows the
    internal address, delivery is refused after resolution, with a category as the error."""
    from madoguchi.webhooks import events as webhook_events

    subscription = subscribe(make_client(municipality), receiver.url())
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = []
    from django.db import transaction

    with transaction.atomic():
        webhook_events.enqueue_ping(subscription)
    deliver_webhooks()
    row = WebhookDelivery.objects.get()
    assert receiver.requests == []
    assert BLOCKED in row.last_error
