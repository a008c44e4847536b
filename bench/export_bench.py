"""Export benchmark: a 100,000-row CSV in CP932 with one column per form field (repeat groups
flattened), built by the real export job (`exports.runner.run`). Prints figures.

    .venv/bin/python bench/export_bench.py       # or: make bench / python bench/run.py export

Uses the benchmark databases of bench/dataset.py (generated when missing; procedure bench-00
holds exactly 10 % of the cases: 1,000, 10,000 and 100,000 rows at the default sizes 10k,
100k and 1M, run one after the other and printed side by side; --size or BENCH_SIZES). Each
export runs in a fresh child process so that its peak memory is measured on its own, and each
is followed by the limit, `COPY … | iconv` of the same rows, so that both meet the same
machine: BENCH_EXPORT_RUNS (default 3) pairs, every run printed, the medians and their ratio
reported. Then one more run for the peak of Python allocations (tracemalloc, which slows the
run down, so it is not timed). Aims: < 10 s and < 150 MB.
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

RUNS = int(os.environ.get("BENCH_EXPORT_RUNS", "3"))
RESULT_MARK = "EXPORT_RESULT "


def run_export(trace: bool) -> None:
    """One export in this (child) process. Timed mode prints its figures as one JSON line
    for the parent; trace mode prints the peak of Python allocations."""
    import json

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
        result = {
            "state": job.state,
            "rows": job.done_rows,
            "columns": _columns(job),
            "file_mb": size / 2**20,
            "reported": reported,
            "seconds": elapsed,
            "cpu": cpu,
            "load": load_before,
            "rss_growth_mb": (after - before) / 1024,
            "rss_peak_mb": after / 1024,
            "procedure_id": procedure.pk,
        }
        print(RESULT_MARK + json.dumps(result), flush=True)
    job.file.delete(save=False)
    job.delete()


def timed_export() -> dict:
    """One timed export in a fresh child process (so that its peak memory is its own)."""
    import json

    env = {**os.environ, "EXPORT_BENCH_CHILD": "time"}
    done = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"export child failed (exit {done.returncode})")
    out = done.stdout
    lines = [line for line in out.splitlines() if line.startswith(RESULT_MARK)]
    return json.loads(lines[-1][len(RESULT_MARK) :])


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
    """RUNS exports, each followed by the limit (COPY | iconv) on the same rows, so that
    both see the same machine; the medians and their ratio are reported. The first export
    of a freshly generated database reads its pages from disk: the median leaves it out of
    the way without hiding it (every run is printed)."""
    import statistics

    inbox_bench.prepare(size)  # the data, generated once
    print(f"export_bench  {size // 10:,}-row CSV (CP932), procedure bench-00 with all form columns")
    exports, limits = [], []
    for i in range(RUNS):
        result = timed_export()
        exports.append(result)
        limit = copy_iconv_seconds(result["procedure_id"])
        limits.append(limit)
        print(
            f"  run {i + 1}: export {result['seconds']:6.2f} s (CPU of the export process"
            f" {result['cpu']:.2f} s, load {result['load']:.1f})   COPY | iconv {limit:5.2f} s"
        )
    first = exports[0]
    print(
        f"  state={first['state']} rows={first['rows']:,} columns={first['columns']}"
        f" file={first['file_mb']:.1f} MB  unencodable chars reported={first['reported']}"
    )
    elapsed = statistics.median(r["seconds"] for r in exports)
    cpu = statistics.median(r["cpu"] for r in exports)
    limit = statistics.median(limits) if all(limits) else 0.0
    rows = first["rows"]
    print(
        f"  time (median of {RUNS})                 {elapsed:7.2f} s   {rows / elapsed:,.0f} rows/s"
        f"   (CPU of the export process {cpu:.2f} s; the rest is the database and waiting"
        f" for a core)"
    )
    growth = max(r["rss_growth_mb"] for r in exports)
    print(
        f"  peak RSS growth during the export     {growth:7.1f} MB"
        f"  (process peak {max(r['rss_peak_mb'] for r in exports):.0f} MB)"
    )
    report.emit("export", "peak RSS growth", median=growth, unit="MB", target="< 150 MB")
    report.emit(
        "export",
        "CSV CP932, procedure bench-00 (10 % of the cases)",
        median=elapsed,
        p95=max(r["seconds"] for r in exports),
        unit="s",
        target="< 10 s at 100k rows",
        limit=limit or None,
        limit_label="COPY | iconv",
    )
    if limit:
        print(
            f"  COPY … | iconv (median of {RUNS})       {limit:7.2f} s   ratio {elapsed / limit:5.1f}x"
        )
    print(f"  load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    env = {**os.environ, "EXPORT_BENCH_CHILD": "trace"}
    subprocess.run([sys.executable, __file__], env=env, check=True)
    print("  aims: < 10 s, < 150 MB")


if __name__ == "__main__":
    sys.exit(main())
