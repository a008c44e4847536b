"""Fills the load test's database (run by bench/load/cluster.py, never by hand on a database
you want to keep): migrations, the demo municipality with its standard templates and demo
staff (seed_demo --demo-totp), LOADTEST_CASES generated applications in that municipality
(bench/inbox_bench.py's COPY loader, on benchmark procedures whose form matches the generated
answers), staff accounts for the load users, an API client, and the answers the simulated
residents post (tests/formgen.py, generated from each procedure's published form).

Writes LOADTEST_SCENARIO (JSON) for the locustfile, which itself never touches Django.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "src")]

CASES = int(os.environ.get("LOADTEST_CASES", "10000"))
STAFF_USERS = int(os.environ.get("LOADTEST_STAFF_ACCOUNTS", "20"))
VARIANTS = 12  # different answer sets per procedure
# The resident journeys: (procedure slug, how often relative to the others).
PROCEDURES = [("suido_shiyou_kaishi", 2), ("jidou_teate_nintei", 1), ("sodai_gomi", 2)]
PASSWORD = "loadtest-password-2026"


def main() -> None:
    os.environ["BENCH_APPLICATIONS"] = str(CASES)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", demo_totp=True, verbosity=0, stdout=open(os.devnull, "w"))

    from madoguchi.tenants.models import Municipality
    from madoguchi_dev.demo import DEMO_LG_CODE

    municipality = Municipality.objects.get(lg_code=DEMO_LG_CODE)
    load_cases(municipality)
    staff = ensure_staff(municipality)
    token = ensure_api_client(municipality)
    scenario = {
        "lg_code": municipality.lg_code,
        "staff": staff,
        "staff_password": PASSWORD,
        "totp_key_hex": demo_key(),
        "api_token": token,
        "procedures": residents(municipality),
    }
    Path(os.environ["LOADTEST_SCENARIO"]).write_text(json.dumps(scenario, ensure_ascii=False))


def load_cases(municipality) -> None:
    """CASES applications on 20 benchmark procedures of the demo municipality (COPY, as the
    inbox bench loads them), then the 受付番号 counters moved past the generated numbers so
    that live submissions continue the sequence."""
    import benchdb
    import inbox_bench
    from django.db.models import Max

    from madoguchi.applications.models import Application, ReceiptCounter

    if not CASES:
        return
    t0 = time.perf_counter()
    departments, procedures = benchdb.ensure_departments_and_procedures(
        municipality,
        departments=inbox_bench.DEPARTMENTS,
        procedures=inbox_bench.PROCEDURES,
        slug="bench-{i:02d}",
        name="ベンチマーク手続{i:02d}",
        reading="べんちまーくてつづき",
        form=inbox_bench.FORM,
    )
    from django.contrib.auth import get_user_model

    handler, _ = get_user_model().objects.get_or_create(username="loadtest-handler")
    inbox_bench.generate(municipality, procedures, {"bench-handler": handler})
    # The generated numbers are YYYY-NNNNNN (zero-padded): the largest string is the last.
    last = {}
    for year in range(2000, 2100):
        top = Application.objects.filter(
            municipality=municipality, receipt_number__startswith=f"{year}-"
        ).aggregate(top=Max("receipt_number"))["top"]
        if top:
            last[year] = int(top.split("-")[1])
    for year, value in last.items():
        ReceiptCounter.objects.update_or_create(
            municipality=municipality, year=year, defaults={"last_value": value}
        )
    print(f"prepare: {CASES:,} applications in {time.perf_counter() - t0:.0f} s", flush=True)


def ensure_staff(municipality) -> list[str]:
    """One account per simulated member of staff (a TOTP code is accepted once per account
    and 30-second step, so two users never share one): 管理者 of the whole municipality,
    with a device on the demo's published key."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from madoguchi.tenants.models import StaffMembership
    from madoguchi_dev.demo import DEMO_TOTP_KEY_HEX

    names = []
    for i in range(STAFF_USERS):
        user, created = get_user_model().objects.get_or_create(username=f"loadstaff{i:02d}")
        if created:
            user.set_password(PASSWORD)
            user.save()
            StaffMembership.objects.create(
                user=user, municipality=municipality, role=StaffMembership.Role.ADMIN
            )
            TOTPDevice.objects.create(
                user=user, name="loadtest", key=DEMO_TOTP_KEY_HEX, confirmed=True
            )
        names.append(user.username)
    return names


def demo_key() -> str:
    from madoguchi_dev.demo import DEMO_TOTP_KEY_HEX

    return DEMO_TOTP_KEY_HEX


def ensure_api_client(municipality) -> str:
    from madoguchi.api.credentials import issue_token
    from madoguchi.api.models import ApiClient, ApiGrant

    client, _ = ApiClient.objects.get_or_create(
        client_id="loadtest-kikan",
        defaults={
            "municipality": municipality,
            "name": "基幹システム（負荷試験）",
            "rate_limit_per_minute": 10**6,
        },
    )
    ApiGrant.objects.get_or_create(client=client, procedure=None)
    return issue_token(client)[0]


def residents(municipality) -> list[dict]:
    """For each journey: VARIANTS answer sets, each as the posts of its steps in order."""
    from madoguchi.catalog.models import Procedure
    from tests import formgen

    out = []
    for slug, weight in PROCEDURES:
        procedure = Procedure.objects.get(municipality=municipality, slug=slug)
        form = procedure.current_version.form
        variants = []
        for seed in range(VARIANTS):
            filled = formgen.generate(form, seed=seed)
            steps = []
            for step_key in filled.step_keys:
                files = {
                    name: [
                        [u.name, base64.b64encode(u.getvalue()).decode(), u.content_type]
                        for u in uploads
                    ]
                    for name, uploads in filled.uploads(step_key).items()
                }
                steps.append({"key": step_key, "data": filled.post_data(step_key), "files": files})
            attachments = sum(len(files) for files in filled.files.values())
            variants.append({"steps": steps, "attachments": attachments})
        out.append(
            {
                "slug": slug,
                "name": procedure.name,
                "weight": weight,
                "email_check": procedure.identity_level == "email",
                "variants": variants,
            }
        )
    return out


if __name__ == "__main__":
    main()
