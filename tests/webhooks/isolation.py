"""URL arguments of the webhook pages for the isolation harness (tests/tenants/test_isolation.py):
a subscription and an allowed host of the world's municipality."""


def _subscription(world):
    from madoguchi.api.models import ApiClient
    from madoguchi.webhooks.models import WebhookDelivery, WebhookSubscription

    client, _ = ApiClient.objects.get_or_create(
        client_id="isolation-webhooks",
        defaults={"municipality": world.municipality, "name": "連携テスト", "secret_hash": "!"},
    )
    subscription = WebhookSubscription.objects.filter(client=client).first()
    if subscription is None:
        subscription = WebhookSubscription.objects.create(
            client=client, url="https://kikan.example.jp/hook", events=["submitted"]
        )
        # A delivery about the target application, so a leaky log page would show its number.
        import uuid

        WebhookDelivery.objects.create(
            subscription=subscription,
            event_id=uuid.uuid4(),
            event_kind="submitted",
            receipt_number=world.target.receipt_number,
        )
    return [subscription.pk]


def _allowed_host(world):
    from madoguchi.webhooks.models import AllowedWebhookHost

    host, _ = AllowedWebhookHost.objects.get_or_create(
        municipality=world.municipality, host="kikan.example.jp"
    )
    return [host.pk]


ARGUMENTS = {
    "subscription_id": _subscription,
    "allowed_host_id": _allowed_host,
}
