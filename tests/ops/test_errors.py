"""Error reporting (SENTRY_DSN): what reaches the service locates the fault and names no
one. The real SDK builds the event (with local variables and request data, as it would by
default) and our scrubber runs as its before_send; the transport keeps what would be sent."""

import json

import sentry_sdk
from sentry_sdk.transport import Transport

from madoguchi.ops import context
from madoguchi.ops.errors import scrub_event

NAME = "鳩山由紀恵"
MY_NUMBER = "987654321098"
EMAIL = "yukie.hatoyama@example.jp"


class KeepingTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


def test_an_exception_report_carries_no_personal_data():
    transport = KeepingTransport()
    client = sentry_sdk.Client(
        "https://public@sentry.example.invalid/1",
        transport=transport,
        before_send=scrub_event,
        include_local_variables=True,  # what the scrubber must remove
        default_integrations=False,
        send_default_pii=True,
    )

    def failing(applicant_name, individual_number):
        raise ValueError(f"bad row {applicant_name} {individual_number}")

    with sentry_sdk.new_scope() as scope, context.bound("req-sentry-000001"):
        scope.set_client(client)
        scope.set_user({"username": NAME, "email": EMAIL})
        scope.add_breadcrumb(message=f"looked up {NAME}", data={"individual_number": MY_NUMBER})
        scope.set_extra("answers", {"applicant_name": NAME})
        try:
            failing(NAME, MY_NUMBER)
        except ValueError as exc:
            event_id = sentry_sdk.capture_exception(exc)
        client.flush()
    assert event_id
    text = "".join(
        item.payload.get_bytes().decode() for env in transport.envelopes for item in env.items
    )
    assert text, "the SDK sent nothing"
    assert NAME not in text, text[max(0, text.find(NAME) - 400) :]
    assert MY_NUMBER not in text, text[max(0, text.find(MY_NUMBER) - 400) :]
    assert EMAIL not in text
    event = next(
        json.loads(item.payload.get_bytes())
        for env in transport.envelopes
        for item in env.items
        if item.type == "event"
    )
    exception = event["exception"]["values"][0]
    assert exception["type"] == "ValueError"
    assert exception["value"] == "[scrubbed]"
    assert any(f["function"] == "failing" for f in exception["stacktrace"]["frames"])
    assert event["tags"]["request_id"] == "req-sentry-000001"


def test_request_data_is_dropped():
    event = {
        "request": {
            "url": "https://shinsei.example.lg.jp/131016/status/SECRETTOKEN/?q=鳩山",
            "query_string": "q=鳩山",
            "data": {"applicant_name__family": "鳩山"},
            "cookies": {"sessionid": "abc"},
            "headers": {"Cookie": "sessionid=abc", "User-Agent": "UA", "Referer": "x?q=鳩山"},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"ip_address": "203.0.113.9"},
    }
    scrubbed = json.dumps(scrub_event(event), ensure_ascii=False)
    for secret in ("鳩山", "SECRETTOKEN", "sessionid", "203.0.113.9"):
        assert secret not in scrubbed, secret
    assert event["request"]["headers"] == {"User-Agent": "UA"}
