"""A real HTTP receiver on loopback and helpers to set up clients and subscriptions."""

import datetime
import http.server
import threading
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from madoguchi.api.models import ApiClient, ApiGrant
from madoguchi.outbox import delivery
from madoguchi.outbox.models import OutboxMessage
from madoguchi.webhooks.models import AllowedWebhookHost, Event, WebhookSubscription


@dataclass
class Received:
    path: str
    headers: object  # email.message.Message: case-insensitive .get()
    body: bytes


@dataclass
class Receiver:
    host: str
    port: int
    requests: list[Received] = field(default_factory=list)
    # Status codes to answer with, in order; when empty, 200.
    responses: list[int] = field(default_factory=list)

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.netloc}{path}"


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    # Loopback is internal: the operator's allow-list lets the test receiver through.
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    state = Receiver(host="127.0.0.1", port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            state.requests.append(Received(self.path, self.headers, body))
            status = state.responses.pop(0) if state.responses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def make_client(municipality, client_id="kikan-jidou", *, procedure=None, grant=True, **grant_kw):
    client = ApiClient.objects.create(
        municipality=municipality,
        name=f"基幹システム {client_id}",
        client_id=client_id,
        secret_hash="!",
    )
    if grant:
        ApiGrant.objects.create(client=client, procedure=procedure, **grant_kw)
    return client


def subscribe(client, url, *, events=None, allow=True) -> WebhookSubscription:
    from madoguchi.webhooks.hosts import target_host

    if allow:
        AllowedWebhookHost.objects.get_or_create(
            municipality=client.municipality, host=target_host(url)
        )
    return WebhookSubscription.objects.create(
        client=client, url=url, events=list(events or Event.values)
    )


def make_due() -> None:
    """Let the backoff pass for every pending message."""
    OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def deliver_webhooks() -> None:
    make_due()
    delivery.deliver_due()
