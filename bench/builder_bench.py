"""様式作成 on a 100-field form, on PostgreSQL: open the builder, save a change to one field,
refresh the phone preview. Server time through Django's test client (every middleware,
the database, the templates; no network).

Database: BUILDER_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
madoguchi_builder_bench), created and migrated when missing. BENCH_RUNS (default 20) requests
each; the median is compared with the limit.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchdb  # noqa: E402
import report  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "20"))
LIMITS_MS = {"open": 1000.0, "save": 150.0, "preview": 200.0}


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    url = benchdb.database_url(
        "BUILDER_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi_builder_bench"
    )
    benchdb.setup_django(url, prefix="madoguchi-builder-bench-")
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from form_bench import hundred_field_form

    from madoguchi.catalog.models import FormVersion, Procedure
    from madoguchi.tenants.models import Department, Municipality, StaffMembership

    municipality, _ = Municipality.objects.get_or_create(
        lg_code="131016", defaults={"name": "千代田区"}
    )
    department, _ = Department.objects.get_or_create(
        municipality=municipality, code="kodomo", defaults={"name": "こども家庭課"}
    )
    procedure, created = Procedure.objects.get_or_create(
        municipality=municipality,
        slug="builder-bench",
        defaults={"name": "100項目の手続", "reading": "ひゃっこうもく", "category": "other"},
    )
    if created:
        procedure.departments.add(department)
        FormVersion.new_draft(procedure, schema=hundred_field_form()).publish()
        procedure.refresh_from_db()
    if not FormVersion.objects.filter(procedure=procedure, status="draft").exists():
        FormVersion.new_draft(procedure)
    user, _ = get_user_model().objects.get_or_create(username="builder-bench")
    StaffMembership.objects.get_or_create(
        user=user, municipality=municipality, department=department, role="form_editor"
    )
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or (
        TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    builder_url = reverse("builder:form_edit", args=[procedure.pk])
    field_url = reverse("builder:field_edit", args=[procedure.pk, "f50"])
    preview_url = reverse("builder:form_preview", args=[procedure.pk])
    draft = FormVersion.objects.get(procedure=procedure, status="draft")
    fields = sum(1 for _ in draft.form.all_fields())

    def open_builder():
        response = client.get(builder_url)
        assert response.status_code == 200, response.status_code

    def save_field(i=[0]):  # noqa: B006 - a counter across calls
        i[0] += 1
        response = client.post(
            field_url, {"label": f"項目50（{i[0]}）", "key": "f50", "required": "on"}
        )
        assert response.status_code == 302, response.content[:2000]

    def preview():
        response = client.get(preview_url)
        assert response.status_code == 200, response.status_code

    for call in (open_builder, save_field, preview):  # warm up
        call()
    figures = {
        "open": [timed(open_builder) for _ in range(RUNS)],
        "save": [timed(save_field) for _ in range(RUNS)],
        "preview": [timed(preview) for _ in range(RUNS)],
    }
    names = {
        "open": "open the builder",
        "save": "save a change to one field",
        "preview": "preview refresh (phone)",
    }
    print(f"builder on a {fields}-field form, PostgreSQL, {RUNS} requests each (median, p95):")
    for key, values in figures.items():
        median = statistics.median(values)
        p95 = sorted(values)[int(len(values) * 0.95) - 1]
        limit = LIMITS_MS[key]
        report.emit("builder", names[key], median=median, p95=p95, target=f"< {limit:.0f} ms")
        print(
            f"  {names[key]:<28} {median:7.1f} ms  p95 {p95:7.1f} ms  "
            f"limit {limit:.0f} ms  ratio {median / limit:.2f}"
        )


if __name__ == "__main__":
    main()
