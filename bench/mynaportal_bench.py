"""マイナポータル intake benchmark (PostgreSQL): the real intake against bare signature
verification, both in the same number of processes. Asserts nothing.

    .venv/bin/python bench/mynaportal_bench.py      # or: python bench/run.py mynaportal

For each N in BENCH_PROCESSES (default "1,2"), with a fresh set of BENCH_PACKAGES signed
packages (default 4,000; one 100 kB attachment each) written as ZIP files to a local folder
(signing and writing are not timed):

- baseline: N processes, each reads its share of the files from disk and does the work the
  intake cannot skip — open the ZIP (`package.open_package`) and verify the package
  (`jpki.verify_package`: XML-DSig, attachment digests, certificate profile and policy OID,
  path to the trust anchor, revocation at the reception time) against the trust store loaded
  from the database;
- intake: N processes, each reads its share of the same files from disk and imports it with
  `intake.import_batches` as `pull` does (batches of `intake.BATCH_SIZE`, one transaction
  per batch, every row written through `applications.lifecycle.receive`), verifying inline
  (MYNAPORTAL_VERIFY_PROCESSES=0), so that exactly N processes do the work in both.

Before each pair of runs the tables the intake reads and writes are VACUUM ANALYZEd (not
timed), as autovacuum keeps them in production: with stale statistics the duplicate lookup
reads every case of the municipality (see `_analyze`). Packages are read from local disk in
both; the transfer from マイナポータル (the simulator's HTTP) is not part of either figure.
Prints packages/s of each and their ratio (intake / baseline; aim ≥ 0.6, and ≥ 200
packages/s on the 2-core reference machine), SQL statements per package, the CPU count and
the load average before and after each run — and the CPU time per package of the processes
plus their PostgreSQL backends (read from /proc when the server runs on this machine;
autovacuum, WAL and checkpoints are not counted), with the ratio of those: on a machine busy
with other work the rates fall with the load, the CPU time per package much less.

BENCH_DATABASE_URL: a dedicated PostgreSQL database (default bench_intake_mynaportal).
BENCH_PROFILE=1: the first intake run of one process runs under cProfile; the top of the
profile is printed and the stats written to BENCH_PROFILE_OUT (default
/tmp/mynaportal_intake.prof).
BENCH_PHASES=1: the first intake run of one process checks inline (no checking thread) and
prints the CPU time (time.thread_time) of each phase of the intake per package — opening,
verifying and parsing the packages, mapping, the lookups, each table's INSERT, the
attachment files, the events and the KPI fold — measured around the calls themselves
(cProfile inflates the ORM's many small calls; these timers add a few per package).
BENCH_POOL=1: also the production pull mode: one writing process with N verification worker
processes (N + 1 processes, so not comparable with the baseline of N).
BENCH_S3=1: the attachments go to S3, as in production, rather than to a local folder: a
server speaking the S3 protocol (moto's, started here and stopped at the end) on this same
machine, so its own CPU time competes with the intake's (pessimistic against a remote S3,
where each file is instead a network round trip: the intake stores a batch's files at once,
ops.parallel_storage, STORAGE_UPLOAD_THREADS).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchdb  # noqa: E402
import report  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_intake_mynaportal"
TOTAL = int(os.environ.get("BENCH_PACKAGES", "4000"))
PROCESSES = [int(n) for n in os.environ.get("BENCH_PROCESSES", "1,2").split(",") if n.strip()]
PROFILE = os.environ.get("BENCH_PROFILE") == "1"
PROFILE_OUT = os.environ.get("BENCH_PROFILE_OUT", "/tmp/mynaportal_intake.prof")
PHASES = os.environ.get("BENCH_PHASES") == "1"
POOL = os.environ.get("BENCH_POOL") == "1"
S3 = os.environ.get("BENCH_S3") == "1"
LG_CODE = "131024"  # 中央区: its own municipality, apart from the inbox data
PROCEDURE = "jidou_teate_genkyo"
ATTACHMENT = b"%PDF-1.4\n" + b"0" * 100_000 + b"\n%%EOF\n"


def _setup(url: str) -> None:
    os.environ["JPKI_ALLOW_TEST_CA"] = "1"
    benchdb.setup_django(url, prefix="madoguchi-bench-mynaportal-")


def _prepare_catalog():
    from madoguchi.catalog.loader import load_standard_templates
    from madoguchi.catalog.models import Procedure
    from madoguchi.channels.models import MynaportalMapping
    from madoguchi.identity import truststore
    from madoguchi.tenants.models import Municipality
    from madoguchi_dev.testca import TestCA

    municipality, _ = Municipality.objects.get_or_create(
        lg_code=LG_CODE, defaults={"name": "中央区", "prefecture": "東京都"}
    )
    if not Procedure.objects.filter(municipality=municipality, slug=PROCEDURE).exists():
        load_standard_templates(municipality, keys=[PROCEDURE], publish=True)
    procedure = Procedure.objects.get(municipality=municipality, slug=PROCEDURE)
    MynaportalMapping.objects.get_or_create(
        municipality=municipality, procedure_code=PROCEDURE, defaults={"procedure": procedure}
    )
    # A CA of this run, registered as the intake finds it in production: an active trust
    # anchor and its CRL in the database (the processes load the trust store from there).
    from cryptography.hazmat.primitives.serialization import Encoding

    from madoguchi.identity.trust_models import TrustAnchor

    # One signing CA trusted, as in production: those of earlier runs are deactivated.
    TrustAnchor.objects.filter(is_test=True, is_active=True).update(is_active=False)
    ca = TestCA.create()

    truststore.add_trust_anchor(ca.certificate.public_bytes(Encoding.DER), is_test=True)
    card = ca.issue_card(
        name="山田 花子", sex="2", birth=dt.date(1985, 4, 1), address="東京都千代田区千代田1-1"
    )
    other = ca.issue_card(
        name="失効 太郎", sex="1", birth=dt.date(1980, 1, 1), address="東京都千代田区千代田1-2"
    )
    ca.revoke(other.serial)  # a CRL with an entry, as in production
    truststore.add_crl(ca.crl())
    return municipality, card


def _write_packages(card, folder: Path, count: int, tag: str) -> list[str]:
    """`count` signed packages as ZIP files in `folder`; returns their paths in order. The
    reception time of each is in the file name (as the 受取等API reports it beside the
    package)."""
    from madoguchi.channels.mynaportal import package as pkg

    jst = dt.timezone(dt.timedelta(hours=9))
    infos = pkg.attachment_infos(
        [("kenko.pdf", "insurance_document", "application/pdf", ATTACHMENT)]
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        receipt = f"B{tag}{i:06d}"
        data_xml = pkg.build_data_xml(
            receipt_number=receipt,
            lg_code=LG_CODE,
            procedure_code=PROCEDURE,
            submitted_at=dt.datetime.now(jst),
            items={"recipient_name.family": "山田", "recipient_name.given": "花子"},
            attachments=infos,
        )
        received_at = dt.datetime.now(dt.UTC)
        signed = card.sign(data_xml, {"kenko.pdf": ATTACHMENT}, signing_time=received_at)
        path = folder / f"{receipt}_{int(received_at.timestamp() * 1_000_000)}.zip"
        path.write_bytes(pkg.build_zip(signed, {"kenko.pdf": ATTACHMENT}))
        paths.append(str(path))
    return paths


def _read(path: str) -> tuple[str, bytes, dt.datetime]:
    """(マイナポータルの受付番号, the package, its reception time) from a file written above."""
    name = Path(path).stem
    receipt, micros = name.rsplit("_", 1)
    received = dt.datetime.fromtimestamp(int(micros) / 1_000_000, dt.UTC)
    return receipt, Path(path).read_bytes(), received


# --- the work of one process (started with "spawn": each sets up Django itself) ----------------


def _child(mode: str, paths: list[str], barrier, results, profile: bool, phases: bool) -> None:
    import django

    django.setup()
    from django.db import connection

    from madoguchi.tenants.models import Municipality

    municipality = Municipality.objects.get(lg_code=LG_CODE)
    backend = _backend_pid()
    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    profiler = None
    if profile:
        import cProfile

        from madoguchi.channels.mynaportal import checking

        # CPU time (robust on a busy machine), all of it in this thread: the check is made
        # inline rather than in the checking thread, which the profiler would not see.
        profiler = cProfile.Profile(time.process_time)

        def no_thread():
            raise RuntimeError("profiled: check inline")

        checking._checking_thread = no_thread
    timers = _phase_timers() if phases else None
    barrier.wait()
    started = time.time()
    cpu = time.process_time()
    server_cpu = _server_cpu(backend)
    if profiler is not None:
        profiler.enable()
    with connection.execute_wrapper(count):
        ok = (_verify if mode == "verify" else _import)(municipality, paths)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(PROFILE_OUT)
    finished = time.time()
    cpu = time.process_time() - cpu
    server_after = _server_cpu(backend)
    server_cpu = (
        server_after - server_cpu
        if None not in (server_cpu, server_after) and _backend_pid() == backend
        else None
    )
    results.put(
        {
            "started": started,
            "finished": finished,
            "ok": ok,
            "statements": statements[0],
            "cpu": cpu,
            "server_cpu": server_cpu,
            "phases": timers.report(len(paths), cpu) if timers is not None else None,
        }
    )


class _Timers:
    def __init__(self):
        self.seconds: dict[str, float] = {}

    def wrap(self, owner, name: str, label: str) -> None:
        """Time `owner.name` (a module function or a class's method) under `label`."""
        original = getattr(owner, name)
        seconds = self.seconds
        seconds.setdefault(label, 0.0)

        def timed(*args, **kwargs):
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[label] += time.thread_time() - started

        setattr(owner, name, timed)

    def report(self, packages: int, cpu: float) -> list[tuple[str, float]]:
        rows = [("all (process CPU, inline)", cpu)] + list(self.seconds.items())
        return [(label, 1000 * value / packages) for label, value in rows]


def _phase_timers() -> _Timers:
    """Timers around the phases of the intake, checked inline (one thread: thread_time is the
    process's CPU time). Labels are indented under the phase that calls them."""
    from django.core.files.storage import default_storage
    from django.db.models import query

    from madoguchi.analytics import maintenance
    from madoguchi.applications import lifecycle
    from madoguchi.channels.mynaportal import checking, intake, writing
    from madoguchi.core import bulk_insert
    from madoguchi.identity import jpki

    def no_thread():
        raise RuntimeError("phases: check inline")

    checking._checking_thread = no_thread
    timers = _Timers()
    inserts = {}  # model → label, in the order the rows are shown

    def insert(model: str, indent: str) -> None:
        inserts[model] = f"{indent}INSERT {model}"
        timers.seconds[inserts[model]] = 0.0

    timers.wrap(checking, "check_one", "checking (per package)")
    timers.wrap(checking, "open_package", "  open the ZIP (baseline)")
    timers.wrap(jpki, "verify_package", "  verify the signature (baseline)")
    timers.wrap(checking, "parse_element", "  parse the application data")
    timers.wrap(intake, "_existing_applications", "duplicate lookups (2 per batch)")
    timers.wrap(intake, "_prepare", "mapping onto the form")
    timers.wrap(intake, "_resolve_quarantines", "quarantine entries resolved")
    timers.wrap(writing, "store_files", "attachment files (before the transaction)")
    default_storage._setup()
    timers.wrap(type(default_storage._wrapped), "save_new", "  storage save")
    timers.wrap(writing, "write_applications", "writing (one transaction per batch)")
    timers.wrap(writing.serial_links, "atena_numbers_for", "  番号紐付 lookup")
    insert("OutboxMessage", "  ")
    timers.wrap(lifecycle, "receive", "  lifecycle.receive")
    for model in ("Application", "Attachment", "AnswerRevision", "DepartmentProgress"):
        insert(model, "    ")
    insert("ApplicationEvent", "    ")
    timers.wrap(lifecycle, "announce", "    events announced (receivers)")
    timers.wrap(maintenance, "fold_events", "      KPI fold")
    insert("ApplicationFact", "        ")
    original = query.QuerySet.bulk_create
    original_insert = bulk_insert.insert
    inside = [False]  # in bulk_insert.insert: its fallback to bulk_create is counted there

    def timed_insert(model_name: str, call):
        if inside[0]:
            return call()
        label = inserts.get(model_name) or f"INSERT {model_name}"
        inside[0] = True
        started = time.thread_time()
        try:
            return call()
        finally:
            inside[0] = False
            timers.seconds[label] = timers.seconds.get(label, 0.0) + time.thread_time() - started

    def bulk_create(self, objs, *args, **kwargs):
        return timed_insert(self.model.__name__, lambda: original(self, objs, *args, **kwargs))

    def insert(objs):
        objs = list(objs)
        name = type(objs[0]).__name__ if objs else "(none)"
        return timed_insert(name, lambda: original_insert(objs))

    query.QuerySet.bulk_create = bulk_create
    bulk_insert.insert = insert
    return timers


def _backend_pid() -> int:
    """The PostgreSQL backend process serving this process's connection (opened here, before
    the timing: opening a connection is not a per-package cost)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _server_cpu(pid: int) -> float | None:
    """CPU seconds the backend has used (user + system), when the server runs on this
    machine and its /proc is readable; else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _verify(municipality, paths: list[str]) -> int:
    from madoguchi.channels.mynaportal import package as pkg
    from madoguchi.identity import jpki

    trust = jpki.TrustStore.load()
    ok = 0
    for path in paths:
        _ref, raw, received = _read(path)
        opened = pkg.open_package(raw)
        result = jpki.verify_package(
            opened.signed_xml, opened.attachments, trust=trust, at=received
        )
        ok += result.valid
    return ok


def _import(municipality, paths: list[str]) -> int:
    from madoguchi.channels.mynaportal import checking, intake

    def batches():
        for i in range(0, len(paths), intake.BATCH_SIZE):
            yield [_read(p) for p in paths[i : i + intake.BATCH_SIZE]]

    message_ids: list[int] = []
    imported = 0
    for _batch, outcomes in intake.import_batches(municipality, batches(), message_ids=message_ids):
        imported += sum(o.kind == intake.IMPORTED for o in outcomes)
        for o in outcomes:
            if o.kind != intake.IMPORTED:
                print(f"  not imported: {o.kind} {o.reason or o.error}", flush=True)
    checking.shutdown()
    return imported


def _run(
    mode: str,
    paths: list[str],
    processes: int,
    *,
    verify_workers: int = 0,
    profile=False,
    phases=False,
):
    """Run `mode` over `paths` split among `processes` processes; (packages/s, ok, statements
    per package, load average before, after)."""
    context = multiprocessing.get_context("spawn")
    os.environ["MYNAPORTAL_VERIFY_PROCESSES"] = str(verify_workers)
    shares = [paths[i::processes] for i in range(processes)]
    barrier = context.Barrier(processes)
    results = context.Queue()
    load_before = os.getloadavg()
    children = [
        context.Process(
            target=_child,
            args=(mode, share, barrier, results, profile and i == 0, phases and i == 0),
        )
        for i, share in enumerate(shares)
    ]
    for child in children:
        child.start()
    reports = [results.get() for _child in children]
    for child in children:
        child.join()
    load_after = os.getloadavg()
    elapsed = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    ok = sum(r["ok"] for r in reports)
    statements = sum(r["statements"] for r in reports) / len(paths)
    server = [r["server_cpu"] for r in reports]
    return {
        "rate": len(paths) / elapsed,
        "ok": ok,
        "seconds": elapsed,
        "statements": statements,
        "cpu_ms": 1000 * sum(r["cpu"] for r in reports) / len(paths),
        "server_ms": None if None in server else 1000 * sum(server) / len(paths),
        "load": f"{_load(load_before)} → {_load(load_after)}",
        "phases": next((r["phases"] for r in reports if r["phases"]), None),
    }


def _analyze() -> None:
    """VACUUM ANALYZE the tables the intake reads and writes (not timed), as autovacuum
    would keep them on a production server. Without it (a server run with autovacuum off,
    as on the shared bench machine) the statistics stay those of the first run: the planner,
    believing the municipality has no マイナポータル cases, answers the intake's duplicate
    lookup (`source_reference IN (…)`, twice per batch) by reading every case of the
    municipality instead of probing the unique index — a cost that grew with every earlier
    run in the same database (126 ms per lookup at 30,000 cases, 0.2 ms once analyzed)."""
    from django.db import connection

    from madoguchi.analytics.models import ApplicationFact
    from madoguchi.applications.models import (
        AnswerRevision,
        Application,
        ApplicationEvent,
        Attachment,
        DepartmentProgress,
    )
    from madoguchi.channels.models import QuarantinedPackage
    from madoguchi.outbox.models import OutboxMessage

    models = (
        Application,
        Attachment,
        AnswerRevision,
        ApplicationEvent,
        DepartmentProgress,
        ApplicationFact,
        OutboxMessage,
        QuarantinedPackage,
    )
    benchdb.vacuum_analyze(*(model._meta.db_table for model in models))
    connection.close()


def _cpu(result) -> str:
    text = f"{result['cpu_ms']:.2f} CPU ms per package in the process(es)"
    if result["server_ms"] is not None:
        text += f" + {result['server_ms']:.2f} in their PostgreSQL backends"
    return text


def _total_cpu(result) -> float:
    return result["cpu_ms"] + (result["server_ms"] or 0.0)


def _load(values) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _print_profile() -> None:
    import pstats

    print(f"\nprofile of the intake, 1 process ({PROFILE_OUT}):")
    stats = pstats.Stats(PROFILE_OUT)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(25)


@contextlib.contextmanager
def _object_storage():
    """With BENCH_S3=1: moto's S3 server on a free port, a bucket, and the settings'
    STORAGE_S3_* variables pointing at it (read by this process and its children)."""
    if not S3:
        yield "a local folder"
        return
    import boto3

    from madoguchi_dev.s3_server import running_s3_server

    credentials = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
    with running_s3_server(access_key="bench", secret_key="bench") as url:
        os.environ.update(
            credentials,
            STORAGE_S3_BUCKET="bench-intake",
            STORAGE_S3_ENDPOINT_URL=url,
            STORAGE_S3_REGION="us-east-1",
            STORAGE_S3_ADDRESSING_STYLE="path",
        )
        boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(
            Bucket="bench-intake"
        )
        yield f"S3 (moto's server on this machine, {url})"


def main() -> None:
    with _object_storage() as storage:
        _main(storage)


def _main(storage: str) -> None:
    url = benchdb.database_url("BENCH_DATABASE_URL", DEFAULT_URL)
    _setup(url)
    municipality, card = _prepare_catalog()
    from django.db import connection

    connection.close()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    run = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-bench-packages-"))
    print(
        f"{cores} CPUs; {TOTAL} packages per run, read from local disk ({folder}) in both the"
        " baseline and the intake (the simulator's HTTP transfer is not included);"
        f" attachments stored in {storage}",
        flush=True,
    )
    summary = []
    try:
        runs = [(n, False) for n in PROCESSES] + ([(n, True) for n in PROCESSES] if POOL else [])
        for index, (processes, pool) in enumerate(runs):
            print(f"signing {TOTAL} packages (not timed) ...", flush=True)
            paths = _write_packages(card, folder / str(index), TOTAL, f"{run}{index:02d}")
            _analyze()
            base = _run("verify", paths, processes)
            print(
                f"N={processes} baseline (open + verify): {base['rate']:.0f} packages/s"
                f" ({base['ok']}/{TOTAL} valid, {base['seconds']:.1f} s, {_cpu(base)};"
                f" load {base['load']})",
                flush=True,
            )
            if pool:
                got = _run("import", paths, 1, verify_workers=processes)
                label = f"pull mode, 1 writer + {processes} verification workers"
            else:
                got = _run(
                    "import",
                    paths,
                    processes,
                    profile=PROFILE and index == 0,
                    phases=PHASES and processes == 1 and index == 0,
                )
                label = f"N={processes} intake (inline verification)"
            if S3:
                label += ", attachments to S3"
            ratio = got["rate"] / base["rate"]
            # In pull mode the verification processes' CPU time cannot be read (they are
            # the forkserver's children), and the time includes starting them.
            cpu_ratio = None if pool else _total_cpu(base) / _total_cpu(got)
            print(
                f"{label}: {got['rate']:.0f} packages/s ({got['ok']}/{TOTAL} imported,"
                f" {got['seconds']:.1f} s, {got['statements']:.2f} SQL statements per package,"
                f" {_cpu(got)}{' (the writer only)' if pool else ''}; load {got['load']})\n"
                f"{label}: intake / baseline = {ratio:.2f} in packages/s (aim ≥ 0.6)"
                + (
                    " (starting the verification processes included)"
                    if pool
                    else f", {cpu_ratio:.2f} in CPU time per package"
                ),
                flush=True,
            )
            if got["phases"]:
                print("CPU time per package by phase (thread_time, checked inline):")
                for phase, ms in got["phases"]:
                    print(f"  {phase:<42} {ms:6.3f} ms")
            report.emit(
                "mynaportal",
                f"intake, {label} (packages/s)",
                median=got["rate"],
                unit="pkg/s",
                target="≥ 200 pkg/s, ratio ≥ 0.6",
                limit=base["rate"],
                limit_label=f"bare verify, {processes} process(es)",
                statements=round(got["statements"], 2),
            )
            summary.append(
                {
                    "run": label,
                    "processes": processes,
                    "baseline_per_s": round(base["rate"], 1),
                    "intake_per_s": round(got["rate"], 1),
                    "ratio": round(ratio, 3),
                    "cpu_ratio": None if cpu_ratio is None else round(cpu_ratio, 3),
                    "statements_per_package": round(got["statements"], 3),
                    "baseline_cpu_ms": round(_total_cpu(base), 2),
                    "intake_cpu_ms": round(_total_cpu(got), 2),
                }
            )
            shutil.rmtree(folder / str(index), ignore_errors=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("\nsummary (aim: intake ≥ 200 packages/s, ratio ≥ 0.6):")
    for row in summary:
        print(
            f"  {row['run']}: intake {row['intake_per_s']:.0f}/s, baseline"
            f" {row['baseline_per_s']:.0f}/s, ratio {row['ratio']:.2f}"
            + (
                f" (CPU time: {row['intake_cpu_ms']:.2f} vs {row['baseline_cpu_ms']:.2f} ms per"
                f" package, ratio {row['cpu_ratio']:.2f})"
                if row["cpu_ratio"] is not None
                else ""
            )
            + f", {row['statements_per_package']:.2f} statements per package"
        )
    print(json.dumps({"summary": summary}, ensure_ascii=False))
    if PROFILE:
        _print_profile()


if __name__ == "__main__":
    main()
