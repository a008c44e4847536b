"""The trigger-maintained per-procedure status counts always equal a real count, whatever
path changed the rows (ORM save, conditional UPDATE, bulk delete)."""

import pytest
from django.db.models import Count

from madoguchi.applications import services
from madoguchi.applications.models import Application, ApplicationStatusCount

from .test_services import submitted_application


def table_counts() -> dict:
    return {
        (row.procedure_id, row.status): row.count
        for row in ApplicationStatusCount.objects.all()
        if row.count
    }


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
