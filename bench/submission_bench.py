"""A resident's complete submission, in process: the journey of the load test's Resident
(bench/load/locustfile.py) through Django's test client on PostgreSQL — every middleware,
the database, the templates; no HTTP server, no network — with the CPU time of this process
and the SQL statements of each request, per request kind and per complete submission, beside
the portal front page.

    .venv/bin/python bench/submission_bench.py          # or: python bench/run.py submission
    SUBMISSION_BENCH_PROFILE=/tmp/sub.prof ...          # cProfile of the measured journeys
    SUBMISSION_BENCH_SAMPLE=1 ...                       # CPU sampling: where the time goes

The journey (as a browser, as the Locust resident): the procedure page, 申請をはじめる (for
児童手当, the e-mail check: its link is read from the outbox), then per step GET the step and
POST it (redirected to the next), the confirmation page, 送信, and the receipt page. The
journeys are those of the load test (水道使用開始届 ×2, 児童手当 ×1, 粗大ごみ ×2, the
answers and attachments of bench/load/prepare.py), so "per submission" is the load test's
mix.

Database: SUBMISSION_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
madoguchi_submission_bench), prepared as bench/load/prepare.py prepares the load test's
(migrations, the demo, LOADTEST_CASES generated applications, default 2,000 as --short): the
first run fills it, later runs reuse it (each run adds its submissions). Cache: Redis at
SUBMISSION_BENCH_REDIS_URL when set (as the cluster has it), else the process's own. Mail
is written to the outbox as always, but no delivery task is handed to a broker (no worker
here). Attachments go to local disk (the cluster's go to S3).

BENCH_ROUNDS (default 12) journeys per procedure after one warm-up journey each; CPU is
`time.process_time`, so the figures hold on a busy machine. Nothing here asserts a time.
"""

from __future__ import annotations

import base64
import cProfile
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "bench" / "load"), str(ROOT), str(ROOT / "src")]
import report  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "12"))
DATABASE_URL = os.environ.get(
    "SUBMISSION_BENCH_DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/madoguchi_submission_bench",
)
KINDS = [
    "手続の案内",
    "開始",
    "メール確認",
    "入力画面",
    "入力送信",
    "確認画面",
    "送信",
    "受付完了",
]
STEP = re.compile(r"/apply/(?P<token>[A-Za-z0-9_-]+)/(?P<step>[a-z0-9_]+)/")
RECEIPT = re.compile(r'id="receipt-number">([^<]+)<')


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def setup() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-submission-bench-"))
    (workdir / "static").mkdir()  # WhiteNoise looks for collectstatic output
    ensure_database(DATABASE_URL)
    os.environ.update(
        {
            "MADOGUCHI_VAR_DIR": str(workdir),
            "DATABASE_URL": DATABASE_URL,
            "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            # One client address for every journey (as in the load test): the per-client
            # mail and upload limits would refuse the crowd.
            "MAIL_LIMIT_PER_CLIENT": "1000000",
            "ATTACHMENT_QUOTA_FILES_PER_CLIENT": "1000000",
            "ATTACHMENT_QUOTA_BYTES_PER_CLIENT": str(1 << 40),
            "LOG_LEVEL": "WARNING",
            "PUBLIC_BASE_URL": "http://testserver",
        }
    )
    os.environ.setdefault("SECRET_KEY", "submission-bench-secret-key-not-for-production-0123")
    os.environ.setdefault("LOADTEST_CASES", "2000")
    os.environ["BENCH_APPLICATIONS"] = os.environ["LOADTEST_CASES"]  # as prepare.main sets it
    redis = os.environ.get("SUBMISSION_BENCH_REDIS_URL", "")
    if redis:
        os.environ["CACHE_URL"] = redis
    for name in ("REDIS_URL", "STORAGE_S3_BUCKET"):
        os.environ.pop(name, None)
    import django

    django.setup()
    # No worker takes delivery tasks here: messages stay in the outbox (as with a broker).
    from madoguchi.outbox import delivery

    delivery._run_after_commit = lambda task, *args: None
    # As each gunicorn worker does when it starts (madoguchi.ops.gunicorn_conf).
    from madoguchi.jp import banks

    banks.warm()


def prepare_data() -> tuple[str, list[dict]]:
    """The load test's data (bench/load/prepare.py): (lg_code, journeys)."""
    import prepare
    from django.core.management import call_command

    from madoguchi.applications.models import Application
    from madoguchi.tenants.models import Municipality
    from madoguchi_dev.demo import DEMO_LG_CODE

    call_command("migrate", verbosity=0)
    municipality = Municipality.objects.filter(lg_code=DEMO_LG_CODE).first()
    if municipality is None:
        call_command("seed_demo", demo_totp=True, verbosity=0, stdout=open(os.devnull, "w"))
        municipality = Municipality.objects.get(lg_code=DEMO_LG_CODE)
    if not Application.objects.filter(procedure__slug="bench-01").exists():
        prepare.load_cases(municipality)
    return municipality.lg_code, prepare.residents(municipality)


class Meter:
    """CPU milliseconds and SQL statements per request kind."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.sql: dict[str, list[int]] = defaultdict(list)
        self.statements = 0
        self.recording = True
        # SUBMISSION_BENCH_SQL=1: the statements of the first measured journey, per request.
        self.log: list[str] | None = [] if os.environ.get("SUBMISSION_BENCH_SQL") else None
        self.printed: set[str] = set()
        # SUBMISSION_BENCH_PROFILE_KIND=送信 (comma-separated kinds): cProfile of those
        # requests alone, printed at the end (cumulative, top 60).
        self.profilers = {
            kind: cProfile.Profile(time.process_time)
            for kind in filter(None, os.environ.get("SUBMISSION_BENCH_PROFILE_KIND", "").split(","))
        }

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        if self.log is not None and self.recording:
            self.log.append(sql)
        return execute(sql, params, many, context)

    def request(self, kind: str, call):
        statements, start = self.statements, time.process_time()
        logged = len(self.log) if self.log is not None else 0
        profiler = self.profilers.get(kind) if self.recording else None
        if profiler is not None:
            profiler.enable()
        response = call()
        if profiler is not None:
            profiler.disable()
        if self.log is not None and self.recording and kind not in self.printed:
            self.printed.add(kind)
            print(f"-- {kind}: {self.statements - statements} statements")
            for sql in self.log[logged:]:
                print(f"   {sql[:300]}")
        if self.recording:
            self.cpu[kind].append((time.process_time() - start) * 1000)
            self.sql[kind].append(self.statements - statements)
        return response


def outbox_link(address: str) -> str:
    from madoguchi.outbox.models import OutboxMessage

    message = (
        OutboxMessage.objects.filter(payload__to=[address])
        .order_by("-pk")
        .values("payload")
        .first()
    )
    match = re.search(r"https?://[^/\s]+(/\S+)", message["payload"]["body"])
    return match.group(1)


def post_form(client, url: str, data: dict):
    """POST as a browser (and the load test's resident) does: multipart/form-data only when
    the form carries files, else urlencoded. The test client's default, multipart for
    everything, would time Django's multipart parser on every step."""
    from urllib.parse import urlencode

    from django.core.files.uploadedfile import SimpleUploadedFile

    pairs = [
        (name, item)
        for name, value in data.items()
        for item in (value if isinstance(value, (list, tuple)) else [value])
        if item is not None
    ]
    if any(isinstance(item, SimpleUploadedFile) for _name, item in pairs):
        return client.post(url, data)
    return client.post(url, urlencode(pairs), content_type="application/x-www-form-urlencoded")


def journey(client, meter: Meter, lg: str, procedure: dict, variant: dict, n: int) -> dict:
    """One complete submission; returns {kind: (cpu ms, statements)} summed over it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    slug = procedure["slug"]
    before = {k: (sum(meter.cpu[k]), sum(meter.sql[k])) for k in KINDS}
    meter.request("手続の案内", lambda: client.get(f"/{lg}/procedures/{slug}/"))
    address = f"bench{n}-{time.time_ns()}@example.jp"
    response = meter.request(
        "開始", lambda: post_form(client, f"/{lg}/procedures/{slug}/start/", {"email": address})
    )
    assert response.status_code == 302, ("start", response.status_code)
    url = response["Location"]
    if procedure["email_check"]:
        link = outbox_link(address)
        response = meter.request("メール確認", lambda: client.get(link))
        assert response.status_code == 302, ("email link", response.status_code)
        url = response["Location"]
    for step in variant["steps"]:
        match = STEP.search(url)
        assert match and match.group("step") == step["key"], (url, step["key"])
        page = meter.request("入力画面", lambda u=url: client.get(u))
        assert page.status_code == 200, ("step page", page.status_code)
        data = {**step["data"], "_action": "next"}
        for name, specs in step["files"].items():
            data[name] = [
                SimpleUploadedFile(file_name, base64.b64decode(content), content_type)
                for file_name, content, content_type in specs
            ]
        response = meter.request("入力送信", lambda u=url, d=data: post_form(client, u, d))
        assert response.status_code == 302, ("step", step["key"], response.status_code)
        url = response["Location"]
    assert url.endswith("/confirm/"), url
    meter.request("確認画面", lambda: client.get(url))
    response = meter.request("送信", lambda: post_form(client, url, {}))
    assert response.status_code == 302, ("submit", response.status_code)
    receipt_url = response["Location"]
    page = meter.request("受付完了", lambda: client.get(receipt_url))
    assert page.status_code == 200 and RECEIPT.search(page.content.decode()), "receipt"
    return {k: (sum(meter.cpu[k]) - before[k][0], sum(meter.sql[k]) - before[k][1]) for k in KINDS}


class Sampler:
    """A statistical profiler: every millisecond of this process's CPU time (SIGPROF) the
    stack is noted; inclusive and own shares per function, printed at the end. Unlike
    cProfile it does not slow the many small calls of the ORM and the templates more than
    the rest, so its shares are those of an unprofiled run."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.inclusive: dict[str, int] = defaultdict(int)
        self.own: dict[str, int] = defaultdict(int)
        self.samples = 0

    def _sample(self, signum, frame) -> None:
        self.samples += 1
        seen = set()
        first = True
        while frame is not None:
            code = frame.f_code
            name = (
                f"{code.co_filename.split('site-packages/')[-1].split('/src/')[-1]}:{code.co_name}"
            )
            if first:
                self.own[name] += 1
                first = False
            if name not in seen:
                seen.add(name)
                self.inclusive[name] += 1
            frame = frame.f_back

    def start(self) -> None:
        import signal

        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def stop(self) -> None:
        import signal

        signal.setitimer(signal.ITIMER_PROF, 0, 0)

    def print(self, top: int = 60) -> None:
        total = max(1, self.samples)
        print(f"  CPU samples: {self.samples} (1 ms each); inclusive share, own share")
        for name, n in sorted(self.inclusive.items(), key=lambda kv: -kv[1])[:top]:
            print(
                f"    {n / total * 100:5.1f}%  {self.own.get(name, 0) / total * 100:5.1f}%  {name}"
            )
        print("  own share, top")
        for name, n in sorted(self.own.items(), key=lambda kv: -kv[1])[:25]:
            print(f"    {n / total * 100:5.1f}%  {name}")


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) + f" ({os.cpu_count()} cores)"


def main() -> None:
    setup()
    from django.db import connection
    from django.test import Client

    lg, procedures = prepare_data()
    meter = Meter()
    client = Client()
    # The load test's mix: each procedure as often as its weight.
    mix = [p for p in procedures for _ in range(p["weight"])]
    load_before = load_average()
    with connection.execute_wrapper(meter):
        meter.recording = False
        for n, procedure in enumerate(procedures):  # warm-up: templates, first plans
            journey(client, meter, lg, procedure, procedure["variants"][0], n)
            meter.request("トップページ", lambda: client.get(f"/{lg}/"))
        meter.recording = True
        profile = os.environ.get("SUBMISSION_BENCH_PROFILE")
        profiler = cProfile.Profile(time.process_time) if profile else None
        totals: dict[str, list[tuple[float, int]]] = defaultdict(list)
        sampler = Sampler() if os.environ.get("SUBMISSION_BENCH_SAMPLE") else None
        if profiler:
            profiler.enable()
        if sampler:
            sampler.start()
        for n in range(ROUNDS):
            for i, procedure in enumerate(mix):
                variant = procedure["variants"][n % len(procedure["variants"])]
                per_kind = journey(client, meter, lg, procedure, variant, 1000 + n * 10 + i)
                cpu = sum(c for c, _s in per_kind.values())
                sql = sum(s for _c, s in per_kind.values())
                totals[procedure["slug"]].append((cpu, sql))
                totals["mix"].append((cpu, sql))
                meter.request("トップページ", lambda: client.get(f"/{lg}/"))
        if sampler:
            sampler.stop()
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    load_after = load_average()

    def median(values):
        return statistics.median(values) if values else 0.0

    front = median(meter.cpu["トップページ"])
    print(
        f"resident submission (in process, PostgreSQL, cache "
        f"{'Redis' if os.environ.get('CACHE_URL') else 'local'})  rounds={ROUNDS} x "
        f"{len(mix)} journeys  python {sys.version.split()[0]}"
    )
    print(f"  load average {load_before} before, {load_after} after")
    print(f"  {'request':<14} {'n':>5} {'cpu median':>11} {'cpu mean':>9} {'sql':>6}  x front")
    for kind in ["トップページ", *KINDS]:
        cpu, sql = meter.cpu[kind], meter.sql[kind]
        if not cpu:
            continue
        print(
            f"  {kind:<14} {len(cpu):>5} {median(cpu):>8.1f} ms {statistics.mean(cpu):>6.1f} ms "
            f"{statistics.mean(sql):>6.1f}  {median(cpu) / front:5.1f}"
        )
        report.emit(
            "submission", f"{kind}, CPU", median=median(cpu), statements=statistics.mean(sql)
        )
    for slug in [*(p["slug"] for p in procedures), "mix"]:
        rows = totals[slug]
        cpu = [c for c, _s in rows]
        sql = [s for _c, s in rows]
        requests = "" if slug == "mix" else ""
        print(
            f"  per complete submission, {slug:<20} cpu median {median(cpu):6.1f} ms  "
            f"mean {statistics.mean(cpu):6.1f} ms  sql {statistics.mean(sql):5.1f}{requests}"
        )
    if sampler:
        sampler.print(int(os.environ.get("SUBMISSION_BENCH_SAMPLE_TOP", "60")))
    for kind, kind_profiler in meter.profilers.items():
        import pstats

        print(f"  cProfile of {kind}")
        pstats.Stats(kind_profiler).sort_stats("cumulative").print_stats(60)
    mix_cpu = [c for c, _s in totals["mix"]]
    report.emit(
        "submission",
        "complete submission (load-test mix), CPU",
        median=median(mix_cpu),
        statements=statistics.mean(s for _c, s in totals["mix"]),
    )
    per_second = 2000 / statistics.mean(mix_cpu)
    print(
        f"  2 cores of this CPU alone would serve {per_second:.1f} submissions/s "
        f"(app CPU only; PostgreSQL, workers and the balancer not counted)"
    )


if __name__ == "__main__":
    main()
