"""The per-process cache of the municipalities the portal reads (tenants.scoping)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from madoguchi.tenants import scoping
from madoguchi.tenants.models import Municipality

# Committed rows: the cache keeps only rows read outside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    scoping.clear_cache()
    yield
    scoping.clear_cache()


def _municipality_reads(queries) -> int:
    return sum(1 for q in queries if 'FROM "tenants_municipality"' in q["sql"])


def test_a_second_request_reads_no_municipality(client, municipality):
    assert client.get("/131016/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/131016/")
    assert response.status_code == 200
    assert _municipality_reads(queries) == 0, [q["sql"][:200] for q in queries]
    assert "千代田区" in response.content.decode()


def test_each_request_gets_its_own_object(municipality):
    first = scoping.active_municipality("131016")
    first.name = "changed in one request"
    second = scoping.active_municipality("131016")
    assert second is not first
    assert second.name == "千代田区" and second.pk == municipality.pk


def test_an_edit_is_seen_at_once_in_the_same_process(client, municipality):
    assert client.get("/131016/").status_code == 200
    municipality.name = "新千代田区"
    municipality.save()
    assert "新千代田区" in client.get("/131016/").content.decode()
    municipality.is_active = False
    municipality.save()
    assert client.get("/131016/").status_code == 404


def test_a_deletion_is_seen_at_once(client, municipality):
    assert client.get("/131016/").status_code == 200
    municipality.delete()
    assert client.get("/131016/").status_code == 404


def test_another_process_edit_is_seen_after_the_cache_time(client, municipality, monkeypatch):
    assert client.get("/131016/").status_code == 200
    # As another process would: no signal here.
    Municipality.objects.filter(pk=municipality.pk).update(name="別の名前")
    assert "別の名前" not in client.get("/131016/").content.decode()
    clock = scoping.time.monotonic() + scoping.CACHE_SECONDS + 1
    monkeypatch.setattr(scoping.time, "monotonic", lambda: clock)
    assert "別の名前" in client.get("/131016/").content.decode()


def test_unknown_and_inactive_municipalities_are_not_kept(client, municipality):
    assert client.get("/012131/").status_code == 404
    Municipality.objects.create(lg_code="012131", name="苫小牧市")
    assert client.get("/012131/").status_code == 200
    assert ("default", "012131") in scoping._cache
    inactive = Municipality.objects.create(lg_code="012050", name="室蘭市", is_active=False)
    assert client.get("/012050/").status_code == 404
    inactive.is_active = True
    Municipality.objects.filter(pk=inactive.pk).update(is_active=True)  # no signal
    assert client.get("/012050/").status_code == 200


def test_inside_a_transaction_the_database_is_read(municipality):
    from django.db import transaction

    scoping.active_municipality("131016")
    with transaction.atomic():
        Municipality.objects.filter(pk=municipality.pk).update(name="未確定")
        assert scoping.active_municipality("131016").name == "未確定"
        transaction.set_rollback(True)
    assert scoping.active_municipality("131016").name == "千代田区"
