"""The application list: filters and a cursor that neither skips nor repeats."""

import datetime
import threading

import pytest
from django.utils import timezone

from madoguchi.applications.models import Application

from .conftest import submit_application

pytestmark = pytest.mark.django_db


def pull_all(api, query="", limit=2, between_pages=None):
    """Every page of the list; `between_pages(n)` runs after page n."""
    seen, url, n = [], f"/api/v1/applications?limit={limit}{query}", 0
    while True:
        body = api.get(url).json()
        seen += [r["receipt_number"] for r in body["results"]]
        n += 1
        if between_pages:
            between_pages(n)
        if not body["has_more"]:
            return seen, body["next_cursor"]
        url = body["next"]


def test_pages_cover_everything_once_in_receipt_order(api, procedure):
    applications = [submit_application(procedure, with_attachment=False) for _ in range(5)]
    seen, _cursor = pull_all(api)
    assert seen == [c.receipt_number for c in applications]


def test_cursor_neither_skips_nor_repeats_under_concurrent_inserts(api, procedure):
    existing = [submit_application(procedure, with_attachment=False) for _ in range(5)]
    added = []

    def insert(n):
        if n <= 3:  # while paging, new applications arrive
            added.append(submit_application(procedure, with_attachment=False))

    seen, cursor = pull_all(api, between_pages=insert)
    assert len(seen) == len(set(seen)), "an application was repeated"
    assert set(c.receipt_number for c in existing) <= set(seen), "an application was skipped"
    assert seen[: len(existing)] == [c.receipt_number for c in existing]
    # The ones added during the pull come after, in order, and the final cursor continues:
    later = [a.receipt_number for a in added if a.receipt_number not in seen]
    more = submit_application(procedure, with_attachment=False)
    body = api.get(f"/api/v1/applications?cursor={cursor}").json()
    assert [r["receipt_number"] for r in body["results"]] == later + [more.receipt_number]


@pytest.mark.django_db(transaction=True)
def test_cursor_with_threads_inserting_concurrently(municipality, settings):
    """Real concurrency (PostgreSQL: the in-memory SQLite test database is one connection): a
    thread submits applications while the pages are read; the list's settle window keeps the row of
    a not yet committed transaction for a later request."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (several connections)")
    from .conftest import http, make_client, make_procedure

    settings.API_LIST_SETTLE_SECONDS = 1
    procedure = make_procedure(municipality)
    api = http(make_client(municipality))
    existing = [submit_application(procedure, with_attachment=False) for _ in range(6)]
    Application.objects.update(submitted_at=timezone.now() - datetime.timedelta(seconds=5))
    stop, errors = threading.Event(), []

    def writer():
        try:
            while not stop.is_set():
                submit_application(procedure, with_attachment=False)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen, _cursor = pull_all(api, limit=1)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert len(seen) == len(set(seen))
    assert set(c.receipt_number for c in existing) <= set(seen)


def test_equal_timestamps_are_ordered_by_id(api, procedure):
    applications = [submit_application(procedure, with_attachment=False) for _ in range(4)]
    moment = timezone.now() - datetime.timedelta(minutes=5)
    Application.objects.filter(pk__in=[c.pk for c in applications]).update(submitted_at=moment)
    seen, _ = pull_all(api, limit=1)
    assert seen == [c.receipt_number for c in sorted(applications, key=lambda c: c.pk)]


def test_settle_window_leaves_the_newest_rows_for_later(api, procedure, settings):
    old = submit_application(procedure, with_attachment=False)
    Application.objects.filter(pk=old.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(seconds=30)
    )
    submit_application(procedure, with_attachment=False)
    settings.API_LIST_SETTLE_SECONDS = 10
    seen, _ = pull_all(api)
    assert seen == [old.receipt_number]


def test_filters(api, procedure, municipality):
    from .conftest import make_procedure

    a = submit_application(procedure, with_attachment=False)
    b = submit_application(procedure, with_attachment=False)
    c = submit_application(make_procedure(municipality, slug="kaigo"), with_attachment=False)
    Application.objects.filter(pk=b.pk).update(status="in_progress")
    old = timezone.now() - datetime.timedelta(days=10)
    Application.objects.filter(pk=a.pk).update(submitted_at=old, updated_at=old)

    def numbers(query):
        response = api.get(f"/api/v1/applications?{query}")
        assert response.status_code == 200, response.content
        return [r["receipt_number"] for r in response.json()["results"]]

    assert numbers("procedure=kaigo") == [c.receipt_number]
    assert numbers("status=in_progress") == [b.receipt_number]
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    from urllib.parse import quote

    assert numbers(f"received_since={quote(since)}") == [b.receipt_number, c.receipt_number]
    assert numbers(f"updated_since={quote(since)}&order=updated") == [
        b.receipt_number,
        c.receipt_number,
    ]
    api.post(f"/api/v1/applications/{b.receipt_number}/acknowledge")
    assert numbers("not_acknowledged=true") == [a.receipt_number, c.receipt_number]
    rows = api.get("/api/v1/applications").json()["results"]
    assert [r["acknowledged"] for r in rows] == [False, True, False]


def test_order_updated_brings_a_changed_application_to_the_end(api, procedure):
    a = submit_application(procedure, with_attachment=False)
    b = submit_application(procedure, with_attachment=False)
    seen, cursor = pull_all(api, "&order=updated")
    assert seen == [a.receipt_number, b.receipt_number]
    api.post(
        f"/api/v1/applications/{a.receipt_number}/status",
        {"status": "in_progress", "message": ""},
        format="json",
    )
    body = api.get(f"/api/v1/applications?order=updated&cursor={cursor}").json()
    assert [r["receipt_number"] for r in body["results"]] == [a.receipt_number]
    assert body["results"][0]["status"] == "in_progress"


@pytest.mark.parametrize(
    "query, field",
    [
        ("cursor=garbage", "cursor"),
        ("status=draft", "status"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("received_since=yesterday", "received_since"),
    ],
)
def test_bad_query_is_422_with_the_field(api, db, query, field):
    response = api.get(f"/api/v1/applications?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == field
    assert response["Content-Type"] == "application/problem+json"


def test_cursor_of_the_other_order_is_refused(api, procedure):
    submit_application(procedure, with_attachment=False)
    _seen, cursor = pull_all(api)
    response = api.get(f"/api/v1/applications?order=updated&cursor={cursor}")
    assert response.status_code == 422


def test_each_row_links_its_detail(api, procedure):
    application = submit_application(procedure, with_attachment=False)
    (row,) = api.get("/api/v1/applications").json()["results"]
    assert row["url"] == f"http://testserver/api/v1/applications/{application.receipt_number}"
    assert api.get(row["url"]).json()["receipt_number"] == application.receipt_number
