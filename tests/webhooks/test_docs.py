"""The verification snippet in docs/webhooks.md is run, as written, against a real delivery."""

import json
import re
from pathlib import Path

import pytest

from tests.applications.conftest import make_procedure
from tests.applications.test_services import submitted_application

from .conftest import deliver_webhooks, make_client, subscribe

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def snippet() -> str:
    match = re.search(r"<!-- verify-snippet[^>]*-->\s*```python\n(.*?)```", DOC.read_text(), re.S)
    assert match, "docs/webhooks.md lost its verify-snippet block"
    return match.group(1)


def verify_function():
    namespace: dict = {}
    exec(compile(snippet(), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_signature"]


@pytest.mark.django_db
def test_documented_snippet_verifies_a_real_delivery(receiver, municipality):
    verify_signature = verify_function()
    procedure = make_procedure(municipality)
    subscription = subscribe(make_client(municipality), receiver.url())
    submitted_application(procedure)
    deliver_webhooks()

    (request,) = receiver.requests
    assert verify_signature(subscription.secret, request.headers, request.body)
    # A changed body, another secret, a replay after 5 minutes: refused.
    tampered = json.dumps({**json.loads(request.body), "type": "application.withdrawn"}).encode()
    assert not verify_signature(subscription.secret, request.headers, tampered)
    assert not verify_signature("whsec_other", request.headers, request.body)
    timestamp = int(request.headers["X-Madoguchi-Timestamp"])
    assert verify_signature(subscription.secret, request.headers, request.body, now=timestamp + 299)
    assert not verify_signature(
        subscription.secret, request.headers, request.body, now=timestamp + 301
    )
    assert not verify_signature(subscription.secret, {}, request.body)
