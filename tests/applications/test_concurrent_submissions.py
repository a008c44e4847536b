"""Residents submitting and staff changing statuses at the same moment, in separate processes
on PostgreSQL: no deadlock, no other error, and the per-status counts stay exact.

A submission must lock only its own application row: locking the municipality, procedure or
form version rows with it (a `select_for_update()` over joined tables) made every other
transaction that writes an event or a message for that municipality wait for it, while it
waited for their status counts — a cycle PostgreSQL breaks by failing one of them."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.db.models import Count

from madoguchi.applications.models import Application, ApplicationStatusCount
from madoguchi.tenants.models import StaffMembership

from .conftest import make_procedure

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("CONCURRENCY_TEST_SECONDS", "12"))
ROLES = ["submit", "submit", "submit", "staff-forward", "staff-back"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="processes share the test database (PostgreSQL); SQLite serialises writers",
    ),
]


def _database_url() -> str:
    s = connection.settings_dict
    user = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    return f"postgres://{user}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_submissions_and_status_changes_at_once_never_deadlock(
    municipality, django_user_model, tmp_path
):
    procedure = make_procedure(municipality)
    user = django_user_model.objects.create_user("tanto")
    StaffMembership.objects.create(user=user, municipality=municipality, role="admin")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
        "DATABASE_URL": _database_url(),
        "MADOGUCHI_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
    }
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.applications.concurrency_worker",
                role,
                str(procedure.pk),
                str(user.pk),
                str(SECONDS),
                str(tmp_path / f"result-{index}.json"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for index, role in enumerate(ROLES)
    ]
    results = []
    try:
        for index, child in enumerate(children):
            _out, err = child.communicate(timeout=SECONDS + 120)
            assert child.returncode == 0, err.decode()[-2000:]
            # The summary comes in a file of its own: the console mail backend prints from a
            # background thread, so stdout can hold a notice in the middle of any line.
            results.append(json.loads((tmp_path / f"result-{index}.json").read_text("utf-8")))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()

    print("processes:", [dict(role=role, **r) for role, r in zip(ROLES, results, strict=True)])
    errors = [e for r in results for e in r["errors"]]
    assert errors == []
    submitted = sum(r["done"] for r, role in zip(results, ROLES, strict=True) if role == "submit")
    moved = sum(r["done"] for r, role in zip(results, ROLES, strict=True) if role != "submit")
    assert submitted > 0 and moved > 0, results

    actual = Counter(
        {
            row["status"]: row["n"]
            for row in Application.objects.filter(procedure=procedure)
            .values("status")
            .annotate(n=Count("pk"))
        }
    )
    counted = Counter(
        {
            row.status: row.count
            for row in ApplicationStatusCount.objects.filter(procedure=procedure)
            if row.count
        }
    )
    assert counted == actual
    # Every submission is in the database once, in one of the statuses staff move it through.
    assert actual["draft"] == 0
    assert sum(actual.values()) == submitted
