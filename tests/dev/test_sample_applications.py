"""The demo's sample case histories (seed_demo --sample-cases): recorded through the real
services, once, never mailed, and enough for the inbox and every KPI figure to show."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from madoguchi.analytics import figures
from madoguchi.applications.models import Application, ApplicationEvent
from madoguchi.outbox.models import OutboxMessage
from madoguchi.tenants.models import Municipality
from madoguchi_dev import sample_applications
from madoguchi_dev.demo import DEMO_LG_CODE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_sample_cases_once_with_every_kind_of_history():
    output = seed("--sample-cases")
    total = (
        sample_applications.APPLICATIONS
        + sample_applications.RECENT_APPLICATIONS
        + sample_applications.ABANDONED_DRAFTS
    )
    assert f"見本の申請: {total}件を作成しました" in output
    municipality = Municipality.objects.get(lg_code=DEMO_LG_CODE)
    statuses = dict(
        Application.objects.filter(municipality=municipality)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    assert statuses["draft"] == sample_applications.ABANDONED_DRAFTS
    assert {"received", "in_progress", "completed", "rejected", "withdrawn"} <= statuses.keys()
    kinds = set(ApplicationEvent.objects.values_list("kind", flat=True))
    assert {"submitted", "status_changed", "resubmitted", "withdrawn", "feedback"} <= kinds
    # 完了 is reached per department: 水道課 and 下水道課 each finish their part.
    completed = Application.objects.filter(status="completed").first()
    assert set(completed.department_progress.values_list("state", flat=True)) == {"completed"}
    # Fictional residents: nothing is waiting to be mailed.
    assert not OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).exists()

    # Running it again adds nothing.
    assert "申請がすでにあるため作成しませんでした" in seed("--sample-cases")
    assert Application.objects.count() == total


def test_the_dashboard_has_figures_for_six_months():
    seed("--sample-cases")
    municipality = Municipality.objects.get(lg_code=DEMO_LG_CODE)
    admin = get_user_model().objects.get(username="admin")
    today = timezone.localdate()
    scope = figures.build_scope(
        admin, municipality, start=today - dt.timedelta(days=200), end=today
    )
    months = [m for m in figures.volume(scope)["months"] if m["total"]]
    assert len(months) >= 6
    total = figures.volume(scope)["total"]
    assert 0.4 < total["online_rate"] < 0.9  # portal filings, and counter and paper ones
    decided = figures.processing(scope, {})["total"]
    assert decided["municipality"]["count"] > 50
    assert decided["municipality"]["median_days"] > 1
    assert decided["returned_applications"] > 5


def test_no_sample_cases_where_the_municipality_already_has_an_application():
    seed()
    municipality = Municipality.objects.get(lg_code=DEMO_LG_CODE)
    from madoguchi.applications import services
    from madoguchi.catalog.models import Procedure

    # any procedure a resident can start at the portal (not one that needs a signature)
    procedure = (
        Procedure.objects.filter(municipality=municipality).exclude(identity_level="jpki").first()
    )
    services.start_draft(procedure)
    assert sample_applications.ensure_sample_applications(municipality) == 0
    assert Application.objects.count() == 1


def test_a_sample_that_no_longer_fits_the_form_leaves_no_half_sample(monkeypatch):
    """A changed template that a sample no longer satisfies stops the run with the step and
    the form's message, and leaves the municipality without any sample case."""
    seed()
    municipality = Municipality.objects.get(lg_code=DEMO_LG_CODE)
    original = sample_applications._step_input

    def without_phone(story, opened):
        steps = original(story, opened)
        if sample_applications.Application.objects.count() >= 5:
            steps[2] = ("user", {**steps[2][1], "user_phone": ""})
        return steps

    monkeypatch.setattr(sample_applications, "_step_input", without_phone)
    with pytest.raises(sample_applications.SampleApplicationError) as error:
        sample_applications.ensure_sample_applications(municipality)
    assert str(error.value) == "user: ['使用者の電話番号を入力してください。']"
    assert not Application.objects.exists()


def test_cases_taken_up_have_their_handler():
    seed("--sample-cases")
    taken_up = Application.objects.exclude(status__in=["draft", "received", "withdrawn"])
    assert taken_up.exists()
    assert set(taken_up.values_list("assigned_to__username", flat=True)) == {"suido"}
