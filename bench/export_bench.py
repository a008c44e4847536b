"""Export benchmark: a 100,000-row CSV in CP932 with one column per form field (repeat groups
flattened), built by the real export job (`exports.runner.run`). Prints figures.

    .venv/bin/python bench/export_bench.py       # or: make bench / python bench/run.py export

Uses the benchmark databases of bench/dataset.py (generated when missing; procedure bench-00
holds exactly 10 % of the cases: 1,000, 10,000 and 100,000 rows at the default sizes 10k,
100k and 1M, run one after the other and printed side by side; --size or BENCH_SIZES). The export
runs in a fresh child process so that its peak memory is measured on its own:
wall time, peak RSS growth during the export (resource.getrusage maxrss) and, in a second
run, the peak of Python allocations (tracemalloc, which slows the run down, so it is not
timed). Aims: < 10 s and < 150 MB.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dataset  # noqa: E402
import inbox_bench  # noqa: E402
import report  # noqa: E402


def run_export(trace: bool) -> None:
    inbox_bench.setup_django()
    from madoguchi.catalog.models import Procedure
    from madoguchi.exports import runner
    from madoguchi.exports.models import ExportJob
    from madoguchi.tenants.models import Municipality

    municipality = Municipality.objects.get(lg_code=inbox_bench.LG_CODE)
    procedure = Procedure.objects.get(municipality=municipality, slug="bench-00")
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.get(username="bench-admin")
    job = ExportJob.objects.create(
        municipality=municipality,
        requested_by=admin,
        procedure=procedure,
        format=ExportJob.Format.CSV,
        encoding=ExportJob.Encoding.CP932,
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    load_before = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), time.process_time()
    runner.run(job.pk)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak_python = tracemalloc.get_traced_memory()[1] if trace else 0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    job.refresh_from_db()
    size = job.file.size if job.file else 0
    reported = sum(1 for e in job.report if "omitted" not in e)
    if trace:
        print(f"  peak Python allocations (tracemalloc) {peak_python / 2**20:7.1f} MB")
        report.emit("export", "peak Python allocations", median=peak_python / 2**20, unit="MB")
    else:
        print(
            f"  state={job.state} rows={job.done_rows:,} columns={_columns(job)}"
            f" file={size / 2**20:.1f} MB  unencodable chars reported={reported}"
        )
        print(
            f"  time                                  {elapsed:7.2f} s   "
            f"{job.done_rows / elapsed:,.0f} rows/s   (CPU of the export process {cpu:.2f} s;"
            f" the rest is the database and waiting for a core: load average at the start"
            f" {load_before:.1f})"
        )
        report.emit(
            "export",
            "peak RSS growth",
            median=(after - before) / 1024,
            unit="MB",
            target="< 150 MB",
        )
        print(
            f"  peak RSS growth during the export     {(after - before) / 1024:7.1f} MB"
            f"  (process peak {after / 1024:.0f} MB)"
        )
    if not trace:
        limit = copy_iconv_seconds(procedure.pk)
        report.emit(
            "export",
            "CSV CP932, procedure bench-00 (10 % of the cases)",
            median=elapsed,
            unit="s",
            target="< 10 s at 100k rows",
            limit=limit or None,
            limit_label="COPY | iconv",
        )
        if limit:
            print(
                f"  COPY … | iconv (same rows and columns) {limit:7.2f} s   ratio {elapsed / limit:5.1f}x"
            )
        print(f"  load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    job.file.delete(save=False)
    job.delete()


def copy_iconv_seconds(procedure_id: int) -> float:
    """The limit: PostgreSQL writing the same rows (the fixed columns and the answers as
    JSON text) as CSV, converted to CP932 by iconv, to /dev/null."""
    import shutil

    if not (shutil.which("psql") and shutil.which("iconv")):
        print("  (psql or iconv missing: no COPY figure)")
        return 0.0
    url = dataset.database_url(inbox_bench.TOTAL)
    query = (
        "COPY (SELECT receipt_number, submitted_at, status, channel, applicant_name, answers "
        f"FROM applications_application WHERE procedure_id = {int(procedure_id)} "
        "AND status <> 'draft' ORDER BY submitted_at DESC, id DESC) TO STDOUT WITH (FORMAT csv)"
    )
    start = time.perf_counter()
    subprocess.run(
        f"psql '{url}' -Atc \"{query}\" | iconv -c -f UTF-8 -t CP932 > /dev/null",
        shell=True,
        check=True,
    )
    return time.perf_counter() - start


def _columns(job) -> int:
    with job.file.open("rb") as f:
        return f.readline().decode("cp932").count(",") + 1


def main() -> int:
    if os.environ.get("EXPORT_BENCH_CHILD"):
        run_export(trace=os.environ["EXPORT_BENCH_CHILD"] == "trace")
        return 0
    return dataset.bench_main(__file__, run)


def run(size: int) -> None:
    inbox_bench.prepare(size)  # the data, generated once
    print(f"export_bench  {size // 10:,}-row CSV (CP932), procedure bench-00 with all form columns")
    for mode in ("time", "trace"):
        env = {**os.environ, "EXPORT_BENCH_CHILD": mode}
        subprocess.run([sys.executable, __file__], env=env, check=True)
    print("  aims: < 10 s, < 150 MB")


if __name__ == "__main__":
    sys.exit(main())
