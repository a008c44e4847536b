"""/metrics: only with the bearer token; latency by view (never by path), submissions and
status changes counted after commit, outbox backlog and age, quarantine count."""

import datetime

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from madoguchi.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token-0123456789"


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_the_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_latency_by_view(client, settings):
    settings.METRICS_TOKEN = TOKEN
    before = value(
        scrape(client),
        "madoguchi_http_request_duration_seconds_count",
        view="portal:status",
        method="GET",
        status="4xx",
    )
    client.get("/131016/status/" + "T" * 30 + "/")
    samples = scrape(client)
    after = value(
        samples,
        "madoguchi_http_request_duration_seconds_count",
        view="portal:status",
        method="GET",
        status="4xx",
    )
    assert after == before + 1
    assert not any("T" * 30 in str(key) for key in samples)


def test_outbox_backlog_and_age(client, settings, municipality):
    settings.METRICS_TOKEN = TOKEN
    old = OutboxMessage.objects.create(kind="email", payload={}, municipality=municipality)
    OutboxMessage.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    OutboxMessage.objects.create(kind="email", payload={})
    OutboxMessage.objects.create(kind="webhook", payload={}, state="failed")
    samples = scrape(client)
    assert value(samples, "madoguchi_outbox_pending", kind="email") == 2
    assert value(samples, "madoguchi_outbox_pending", kind="webhook") == 0
    assert value(samples, "madoguchi_outbox_failed", kind="webhook") == 1
    age = value(samples, "madoguchi_outbox_oldest_pending_age_seconds", kind="email")
    assert 590 < age < 700
    assert value(samples, "madoguchi_mynaportal_quarantined") == 0


def test_submissions_and_status_changes_are_counted_after_commit(
    client, settings, municipality, django_user_model, django_capture_on_commit_callbacks
):
    from madoguchi.applications import staff_actions
    from tests.api.conftest import make_procedure, submit_application
    from tests.conftest import make_staff

    settings.METRICS_TOKEN = TOKEN
    procedure = make_procedure(municipality)
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        application = submit_application(procedure, with_attachment=False)
    # Not yet committed: not yet counted.
    assert value(scrape(client), "madoguchi_applications_submitted_total", channel="portal") == (
        value(before, "madoguchi_applications_submitted_total", channel="portal")
    )
    for callback in callbacks:
        callback()
    staff = make_staff("kodomo1", municipality, "kodomo")
    with django_capture_on_commit_callbacks(execute=True):
        staff_actions.change_status(
            application, "in_progress", user=staff, expected_version=application.lock_version
        )
    after = scrape(client)
    assert value(after, "madoguchi_applications_submitted_total", channel="portal") == (
        value(before, "madoguchi_applications_submitted_total", channel="portal") + 1
    )
    assert value(after, "madoguchi_status_changes_total", status="in_progress") == (
        value(before, "madoguchi_status_changes_total", status="in_progress") + 1
    )


def test_the_grafana_dashboard_asks_only_for_metrics_we_export(client, settings):
    """deploy/grafana/madoguchi.json: every madoguchi_* series it queries is one /metrics
    serves (a renamed metric would leave an empty panel)."""
    import json
    import re
    from pathlib import Path

    from madoguchi.ops import metrics

    dashboard = json.loads(
        (Path(__file__).resolve().parents[2] / "deploy/grafana/madoguchi.json").read_text()
    )
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"madoguchi_[a-z_]+", target["expr"])
    }
    settings.METRICS_TOKEN = TOKEN
    # Labelled families appear once a child exists (a fresh process has observed nothing).
    metrics.PULL_PACKAGES.labels("imported")
    metrics.PULLS.labels("ok")
    metrics.SUBMITTED.labels("portal")
    metrics.STATUS_CHANGES.labels("completed")
    metrics.REQUEST_DURATION.labels("portal:home", "GET", "2xx")
    exported = {name for name, _labels in scrape(client)}
    exported.add("madoguchi_celery_queue_length")  # served only with a broker
    assert queried - exported == set()
    assert len(dashboard["panels"]) >= 10
