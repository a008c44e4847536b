"""The trigger-maintained per-procedure status counts always equal a real count, whatever
path changed the rows (ORM save, conditional UPDATE, bulk delete)."""

from collections import Counter

import pytest
from django.db import connection, transaction
from django.db.models import Count

from madoguchi.applications import services
from madoguchi.applications.models import Application, ApplicationStatusCount
from madoguchi.applications.status_counts import CHANGES, FLUSH, totals

from .test_services import submitted_application


def stored_counts() -> Counter:
    return Counter(
        {(row.procedure_id, row.status): row.count for row in ApplicationStatusCount.objects.all()}
    )


def pending_changes() -> Counter:
    """This transaction's changes, moved into the stored counts when it commits (PostgreSQL)."""
    pending = Counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT procedure_id, status, change FROM {CHANGES}")
            for procedure_id, status, change in cursor.fetchall():
                pending[(procedure_id, status)] += change
    return pending


def table_counts() -> dict:
    counts = stored_counts()
    counts.update(pending_changes())
    return {key: n for key, n in counts.items() if n}


def real_counts() -> dict:
    rows = Application.objects.values("procedure_id", "status").annotate(n=Count("pk"))
    return {(row["procedure_id"], row["status"]): row["n"] for row in rows}


@pytest.mark.django_db
def test_counts_follow_inserts_updates_and_deletes(procedure, other_procedure):
    first, _ = submitted_application(procedure)
    second, _ = submitted_application(procedure)
    submitted_application(other_procedure)
    services.start_draft(procedure)  # a draft counts as a draft
    assert table_counts() == real_counts()

    services.withdraw(first)
    Application.objects.filter(pk=second.pk).update(status="in_progress")  # bulk UPDATE path
    assert table_counts() == real_counts()

    Application.objects.filter(pk=second.pk).update(procedure=other_procedure)
    assert table_counts() == real_counts()

    for model in ("applicationevent", "answerrevision", "departmentprogress"):
        from django.apps import apps

        apps.get_model("applications", model).objects.filter(application=first)._raw_delete(
            "default"
        )
    Application.objects.filter(pk=first.pk)._raw_delete("default")
    assert table_counts() == real_counts()


@pytest.mark.django_db
def test_lost_triggers_are_reinstalled_and_counts_rebuilt(procedure):
    """SQLite drops a table's triggers when Django rebuilds the table in a migration."""
    from django.db import connection

    from madoguchi.applications.status_counts import ensure_triggers

    assert ensure_triggers(connection) is False  # installed by the migrations
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in ("status_count_insert", "status_count_delete", "status_count_update"):
                cursor.execute(f"DROP TRIGGER {name}")
        else:
            cursor.execute(
                "DROP TRIGGER status_count_insert_delete ON applications_application; "
                "DROP TRIGGER status_count_update ON applications_application"
            )
    submitted_application(procedure)  # not counted: no triggers
    assert table_counts() != real_counts()
    assert ensure_triggers(connection) is True
    assert table_counts() == real_counts()
    submitted_application(procedure)
    assert table_counts() == real_counts()


@pytest.mark.django_db
def test_totals_are_exact_inside_the_writing_transaction(procedure, other_procedure):
    submitted_application(procedure)
    submitted_application(procedure)
    services.start_draft(procedure)
    submitted_application(other_procedure)
    assert totals([procedure.pk], ["received", "draft", "completed"]) == {
        "received": 2,
        "draft": 1,
    }
    assert totals([procedure.pk, other_procedure.pk], ["received"]) == {"received": 3}
    assert totals([], ["received"]) == {}


@pytest.mark.django_db(transaction=True)
def test_committed_changes_are_moved_into_the_counts_and_rolled_back_ones_vanish(procedure):
    # On SQLite an earlier transactional test's flush empties the counts before the
    # applications, whose delete trigger then leaves negative rows for procedures that no
    # longer exist; start from the empty table a fresh database has.
    assert not Application.objects.exists()
    ApplicationStatusCount.objects.all().delete()
    first, _ = submitted_application(procedure)
    with transaction.atomic():
        services.withdraw(first)
        with pytest.raises(RuntimeError), transaction.atomic():
            submitted_application(procedure)
            raise RuntimeError("a savepoint rolled back: its changes go with it")
        submitted_application(procedure)
    assert pending_changes() == Counter()  # nothing left behind after commit
    assert {key: n for key, n in stored_counts().items() if n} == real_counts()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {FLUSH}")
            assert cursor.fetchone()[0] == 0
