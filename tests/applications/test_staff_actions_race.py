"""Two members of staff change the same application at the same moment, on real separate
database connections (threads). Only meaningful on PostgreSQL (row locks); SQLite serialises
writers anyway and is skipped."""

import threading

import pytest
from django.db import connection, transaction

from madoguchi.applications import staff_actions
from madoguchi.applications.models import Application
from madoguchi.tenants.models import StaffMembership

from .test_services import submitted_application

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locking"),
]


def _staff(django_user_model, municipality, name):
    user = django_user_model.objects.create_user(name)
    StaffMembership.objects.create(user=user, municipality=municipality, role="admin")
    return user


def test_concurrent_changes_with_the_same_version_one_wins(procedure, django_user_model):
    application, _token = submitted_application(procedure)
    first = _staff(django_user_model, procedure.municipality, "first")
    second = _staff(django_user_model, procedure.municipality, "second")
    claimed = threading.Event()
    release = threading.Event()
    outcome = {}

    def slow_first():
        try:
            with transaction.atomic():
                staff_actions.change_status(
                    application, "completed", user=first, expected_version=0
                )
                claimed.set()
                release.wait(10)  # hold the row lock: the other request arrives meanwhile
            outcome["first"] = "ok"
        except Exception as exc:  # pragma: no cover - reported below
            outcome["first"] = exc
        finally:
            claimed.set()
            connection.close()

    def second_request():
        try:
            staff_actions.change_status(
                application,
                "returned",
                user=second,
                message="書類が足りません。",
                expected_version=0,
            )
            outcome["second"] = "ok"
        except Exception as exc:
            outcome["second"] = exc
        finally:
            connection.close()

    a = threading.Thread(target=slow_first)
    a.start()
    assert claimed.wait(10)
    b = threading.Thread(target=second_request)
    b.start()
    b.join(0.5)
    assert b.is_alive(), "the second UPDATE should wait for the first transaction's row lock"
    release.set()
    a.join(10)
    b.join(10)

    assert outcome["first"] == "ok"
    assert isinstance(outcome["second"], staff_actions.StaleApplicationError)
    current = Application.objects.get(pk=application.pk)
    assert (current.status, current.lock_version) == ("completed", 1)
    assert list(
        current.events.filter(kind="status_changed").values_list("to_status", flat=True)
    ) == ["completed"]


def test_many_simultaneous_requests_exactly_one_wins(procedure, django_user_model):
    application, _token = submitted_application(procedure)
    users = [_staff(django_user_model, procedure.municipality, f"s{i}") for i in range(6)]
    barrier = threading.Barrier(len(users))
    results = []

    def request(user):
        try:
            barrier.wait(10)
            staff_actions.change_status(application, "in_progress", user=user, expected_version=0)
            results.append("ok")
        except staff_actions.StaleApplicationError:
            results.append("stale")
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(results) == ["ok"] + ["stale"] * (len(users) - 1)
    current = Application.objects.get(pk=application.pk)
    assert current.lock_version == 1
    assert current.events.filter(kind="status_changed").count() == 1
