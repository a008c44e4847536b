"""マイナポータル intake benchmark (PostgreSQL): import 10,000 signed packages with one
attachment each, and, in the same run, the rate of bare signature verification of the same
packages; prints both and their ratio. Asserts nothing.

    .venv/bin/python bench/mynaportal_bench.py      # or: python bench/run.py mynaportal

BENCH_DATABASE_URL as for bench/inbox_bench.py (a dedicated database). BENCH_PACKAGES
(default 10,000), BENCH_VERIFY (default 1,000 packages verified bare, in this process).
MYNAPORTAL_VERIFY_PROCESSES sets the verification worker processes of the import (default:
one per core; 0 = inline). Aim: ≥ 200 packages/s on the 2-core reference machine.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402
from inbox_bench import setup_django  # noqa: E402

TOTAL = int(os.environ.get("BENCH_PACKAGES", "10000"))
VERIFY = int(os.environ.get("BENCH_VERIFY", "1000"))
LG_CODE = "131024"  # 中央区: its own municipality, apart from the inbox data
ATTACHMENT = b"%PDF-1.4\n" + b"0" * 100_000 + b"\n%%EOF\n"


def main() -> None:
    setup_django()
    from django.conf import settings

    settings.JPKI_ALLOW_TEST_CA = True
    from django.db import connection

    from madoguchi.catalog.loader import load_standard_templates
    from madoguchi.catalog.models import Procedure
    from madoguchi.channels.models import MynaportalMapping
    from madoguchi.channels.mynaportal import checking, intake
    from madoguchi.channels.mynaportal import package as pkg
    from madoguchi.identity import jpki
    from madoguchi.tenants.models import Municipality
    from madoguchi_dev.testca import TestCA

    municipality, _ = Municipality.objects.get_or_create(
        lg_code=LG_CODE, defaults={"name": "中央区", "prefecture": "東京都"}
    )
    if not Procedure.objects.filter(municipality=municipality, slug="jidou_teate_genkyo").exists():
        load_standard_templates(municipality, keys=["jidou_teate_genkyo"], publish=True)
    procedure = Procedure.objects.get(municipality=municipality, slug="jidou_teate_genkyo")
    MynaportalMapping.objects.get_or_create(
        municipality=municipality,
        procedure_code="jidou_teate_genkyo",
        defaults={"procedure": procedure},
    )
    ca = TestCA.create()
    card = ca.issue_card(
        name="山田 花子", sex="2", birth=dt.date(1985, 4, 1), address="東京都千代田区千代田1-1"
    )
    trust = ca.trust_store()
    run = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    jst = dt.timezone(dt.timedelta(hours=9))

    print(f"signing {TOTAL} packages (not timed) ...", flush=True)
    packages = []
    files = [("kenko.pdf", "insurance_document", "application/pdf", ATTACHMENT)]
    infos = pkg.attachment_infos(files)
    for i in range(TOTAL):
        receipt = f"B{run}{i:06d}"
        data_xml = pkg.build_data_xml(
            receipt_number=receipt,
            lg_code=LG_CODE,
            procedure_code="jidou_teate_genkyo",
            submitted_at=dt.datetime.now(jst),
            items={"recipient_name.family": "山田", "recipient_name.given": "花子"},
            attachments=infos,
        )
        received_at = dt.datetime.now(dt.UTC)
        signed = card.sign(data_xml, {"kenko.pdf": ATTACHMENT}, signing_time=received_at)
        # As a pull hands them over: with マイナポータル's reception time of each application.
        packages.append((receipt, pkg.build_zip(signed, {"kenko.pdf": ATTACHMENT}), received_at))

    # Bare verification (the floor any import is bounded by).
    sample = packages[:VERIFY]
    opened = [(pkg.open_package(raw), received) for _r, raw, received in sample]
    start = time.perf_counter()
    for p, received in opened:
        assert jpki.verify_package(p.signed_xml, p.attachments, trust=trust, at=received).valid
    verify_rate = len(opened) / (time.perf_counter() - start)

    # The production path of `pull` (intake.import_batches, batches of intake.BATCH_SIZE):
    # signatures checked in worker processes while the previous batch is written, one
    # transaction per batch. The 受付 status
    # messages are written with their cases and left to the outbox worker (a separate
    # process in production), as `pull` does; they are counted, not delivered, here.
    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    message_ids: list[int] = []
    start = time.perf_counter()
    imported = 0
    batches = (packages[i : i + intake.BATCH_SIZE] for i in range(0, TOTAL, intake.BATCH_SIZE))
    with connection.execute_wrapper(count):
        for _batch, outcomes in intake.import_batches(
            municipality, batches, trust=trust, message_ids=message_ids
        ):
            imported += sum(o.kind == intake.IMPORTED for o in outcomes)
    elapsed = time.perf_counter() - start
    checking.shutdown()
    rate = TOTAL / elapsed
    print(
        f"mynaportal import: {imported}/{TOTAL} packages in {elapsed:.1f} s = {rate:.0f} packages/s"
        f" ({statements[0] / TOTAL:.1f} SQL statements per package,"
        f" {checking.worker_count()} verification processes,"
        f" {len(message_ids)} status messages left for the outbox worker)"
    )
    report.emit(
        "mynaportal",
        "import (packages/s)",
        median=rate,
        unit="pkg/s",
        target="≥ 200 pkg/s",
        limit=verify_rate,
        limit_label="bare verify",
        statements=round(statements[0] / TOTAL, 1),
    )
    print(f"bare signature verification: {verify_rate:.0f} packages/s ({len(opened)} verified)")
    print(f"import / bare verification ratio: {rate / verify_rate:.2f}  (aim: ≥ 200 packages/s)")


if __name__ == "__main__":
    main()
