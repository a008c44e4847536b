"""The cluster load test, with faults: a whole madoguchi cluster on this machine, Locust
against it, faults during the run, checks after it, figures printed.

    .venv/bin/python bench/load/cluster.py                 # make loadtest (full)
    .venv/bin/python bench/load/cluster.py --short         # CI: a few minutes, faults included
    .venv/bin/python bench/load/cluster.py --sweep 4,8,16  # submissions/s at several user counts

Cluster: 2 gunicorn app servers (WEB_CONCURRENCY workers each) behind HAProxy (Debian's,
installed by tools/ensure-haproxy.sh), 2 Celery workers, 1 beat, PostgreSQL (a dedicated
database, dropped afterwards; the server of LOADTEST_PG_URL), its own Redis on a free port
(never the machine's 6379), moto's S3 server, and a mail peer (bench/load/sink.py) that
records what it is sent. Data: the demo (seed_demo --demo-totp) plus LOADTEST_CASES
applications (--cases).

Phases: (1) the trivial page (/healthz) alone: the framework's limit on this hardware;
(2) the scenario (bench/load/locustfile.py: residents filing 水道使用開始届, 児童手当 and 粗大ごみ
with attachments, staff paging the inbox and changing statuses, a core system polling the
API), during which one app server is killed with SIGKILL, one worker is killed with SIGKILL
(both restarted as an orchestrator would) and Redis is restarted; (3) with --sweep, the
scenario at each user count without faults, and the per-request CPU of a form step against
the front page; then a summary: per user count the complete submissions/s, p50/p95 per
request, errors and the app servers' CPU per complete submission, and the form step's CPU
per request against the front page's with the load average.

Where the machine's CPU goes (--sweep): beside each user count's summary line, the CPU time
per complete submission of each part: the app servers, Celery (2 workers and beat), HAProxy,
S3 (moto), Redis, the mail peer (utime + stime of their process groups, and of children their
group leaders reaped), Locust (it shares the cores; the getrusage of our reaped children
around its run: Locust is the only child that exits in that window, checked), PostgreSQL and
the machine's busy time from /proc/stat (both cores; busy = all but idle and iowait), "other"
being the machine's time less the sum (other work on the machine, the kernel's own threads,
this script). PostgreSQL counts the whole server, not only the test's database: every
process named postgres plus what its postmaster reaped (backends that disconnected), so
nothing else should use that server during a sweep. Beside it: what the test database's
backends alive long enough to be seen by a sampling each second used (the app servers'
persistent connections; not a Celery task's, which opens and closes its own), and how many
connections to the test database were opened per complete submission (pg_stat_database).

Pass criteria, checked after the run (exit status 1 when one fails): every submission the
client saw accepted exists exactly once with all its attachments (rows and objects in the
bucket); every status e-mail was delivered and none twice to the same peer (by Message-ID);
request errors only within a few seconds of the app server kill (requests in flight on it).
Every process started here is stopped on exit, failure or signal.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("LOADTEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = f"madoguchi_loadtest_{os.getpid()}"
BUCKET = "madoguchi-loadtest"
APP_KILL_GRACE = 6.0  # seconds after the kill in which failures count as "in flight"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, check, timeout: float = 90.0, process=None) -> None:
    """Poll `check` until it is true (no fixed sleeps): fail after `timeout` or when
    `process` has exited."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({process.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as response:
        return response.status == 200


class Cluster:
    def __init__(self, work: Path, *, cases: int, web_concurrency: int):
        self.work = work
        self.cases = cases
        self.web_concurrency = web_concurrency
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports = {
            name: free_port()
            for name in ["lb", "app1", "app2", "redis", "s3", "smtp", "sink", "stats"]
        }
        self.admin_url = PG_URL.replace("postgres://", "postgresql://", 1)
        self.db_url = PG_URL.rsplit("/", 1)[0] + "/" + DB_NAME
        self.db_created = False
        self.env = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "SECRET_KEY": "loadtest-secret-key-not-for-production-0123456789abcdef",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.ports['lb']}",
            "STORAGE_S3_BUCKET": BUCKET,
            "STORAGE_S3_ENDPOINT_URL": f"http://127.0.0.1:{self.ports['s3']}",
            "STORAGE_S3_REGION": "us-east-1",
            "STORAGE_S3_ADDRESSING_STYLE": "path",
            "AWS_ACCESS_KEY_ID": "loadtest",
            "AWS_SECRET_ACCESS_KEY": "loadtest",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.ports["smtp"]),
            "EMAIL_TIMEOUT": "10",
            # Every simulated resident comes from this one machine's address: the per-client
            # mail and upload limits (meant for one person or one abuser) would refuse the
            # crowd. The per-address and per-draft limits stay as in production.
            "MAIL_LIMIT_PER_CLIENT": "1000000",
            "ATTACHMENT_QUOTA_FILES_PER_CLIENT": "1000000",
            "ATTACHMENT_QUOTA_BYTES_PER_CLIENT": str(1 << 40),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "WARNING",
            "MADOGUCHI_VAR_DIR": str(work / "var"),
            "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
            "WEB_CONCURRENCY": str(web_concurrency),
            "GUNICORN_MAX_REQUESTS": "0",
            "LOADTEST_SCENARIO": str(work / "scenario.json"),
            "LOADTEST_CASES": str(cases),
            "LOADTEST_SINK": f"http://127.0.0.1:{self.ports['sink']}",
            "LOADTEST_ACCEPTED": str(work / "accepted.jsonl"),
            "LOADTEST_FAILURES": str(work / "failures.jsonl"),
            # This checkout's code (a worktree's too, whatever the virtualenv points at).
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
        self.env.pop("CELERY_QUEUE", None)
        (work / "var").mkdir()
        (work / "logs").mkdir()

    # --- processes ----------------------------------------------------------------------

    def start(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        log = open(self.work / "logs" / f"{name}.log", "ab")
        process = subprocess.Popen(
            argv,
            env=kwargs.pop("env", self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped (or killed) whole
            cwd=ROOT,
            **kwargs,
        )
        self.processes[name] = process
        return process

    def stop(self, name: str, sig=signal.SIGTERM, timeout: float = 15.0) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(10)

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        if self.db_created:
            self.sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")

    def sql(self, statement: str, *, database: str | None = None, params=()):
        import psycopg

        url = (
            self.admin_url
            if database is None
            else self.db_url.replace("postgres://", "postgresql://", 1)
        )
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def start_redis(self) -> None:
        process = self.start(
            "redis",
            [
                "redis-server", "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.work),
            ],
        )  # fmt: skip
        wait_until("redis", lambda: port_open(self.ports["redis"]), process=process)

    def start_app(self, name: str) -> None:
        env = {**self.env, "GUNICORN_BIND": f"127.0.0.1:{self.ports[name]}"}
        process = self.start(
            name,
            [str(BIN / "gunicorn"), "-c", "python:madoguchi.ops.gunicorn_conf", "madoguchi.wsgi"],
            env=env,
        )
        wait_until(
            name, lambda: http_ok(f"http://127.0.0.1:{self.ports[name]}/healthz"), process=process
        )

    def start_worker(self, name: str) -> None:
        log = self.work / "logs" / f"{name}.log"
        size = log.stat().st_size if log.exists() else 0
        process = self.start(
            name,
            [
                str(BIN / "celery"), "-A", "madoguchi", "worker", "--pool=solo", "-l", "info",
                "-n", f"{name}-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
            ],
        )  # fmt: skip

        def ready() -> bool:
            with open(log, "rb") as handle:
                handle.seek(size)
                return b" ready." in handle.read()

        wait_until(name, ready, timeout=120, process=process)

    def up(self) -> None:
        t0 = time.monotonic()
        subprocess.run(["bash", str(ROOT / "tools" / "ensure-haproxy.sh")], check=True)
        self.sql(f"CREATE DATABASE {DB_NAME}")
        self.db_created = True
        self.start_redis()
        s3 = self.start(
            "s3",
            [str(BIN / "python"), "-m", "moto.server", "-H", "127.0.0.1", "-p",
             str(self.ports["s3"])],
        )  # fmt: skip
        wait_until("s3", lambda: http_ok(f"http://127.0.0.1:{self.ports['s3']}/moto-api/"),
                   process=s3)  # fmt: skip
        import boto3

        boto3.client(
            "s3",
            endpoint_url=self.env["STORAGE_S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="loadtest",
            aws_secret_access_key="loadtest",
        ).create_bucket(Bucket=BUCKET)
        sink = self.start(
            "sink",
            [str(BIN / "python"), str(HERE / "sink.py"), str(self.ports["smtp"]),
             str(self.ports["sink"]), str(self.work / "mail.jsonl")],
        )  # fmt: skip
        wait_until("mail peer", lambda: port_open(self.ports["smtp"]), process=sink)
        print(f"preparing the database ({self.cases:,} generated applications) ...", flush=True)
        prepared = subprocess.run(
            [str(BIN / "python"), str(HERE / "prepare.py")], env=self.env, cwd=ROOT
        )
        if prepared.returncode:
            raise RuntimeError("prepare.py failed")
        self.start_app("app1")
        self.start_app("app2")
        config = self.work / "haproxy.cfg"
        config.write_text(HAPROXY.format(maxconn=self.web_concurrency, **self.ports))
        lb = self.start("haproxy", ["haproxy", "-f", str(config), "-db"])
        wait_until("load balancer", lambda: http_ok(self.url("/readyz")), process=lb)
        self.start_worker("worker1")
        self.start_worker("worker2")
        self.start(
            "beat",
            [str(BIN / "celery"), "-A", "madoguchi", "beat", "-l", "info", "-s",
             str(self.work / "beat-schedule")],
        )  # fmt: skip
        print(f"cluster up in {time.monotonic() - t0:.0f} s", flush=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.ports['lb']}{path}"

    # --- faults ---------------------------------------------------------------------------

    def kill(self, name: str) -> float:
        """SIGKILL the whole process group (a gunicorn master and its workers, as a node
        or container dying takes them all); returns when it happened."""
        process = self.processes.pop(name)
        at = time.time()
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        return at

    def restart_redis(self) -> float:
        at = time.time()
        self.stop("redis")
        self.start_redis()
        return at

    def cpu_seconds(self, names: list[str]) -> float:
        """utime + stime of every process in the named process groups."""
        groups = {self.processes[n].pid for n in names if n in self.processes}
        return sum(p.cpu for p in proc_table() if p.pgrp in groups)

    def cpu_snapshot(self) -> dict:
        """CPU seconds used so far, by part (see COMPONENTS and the module's docstring), with
        the machine's busy time and the wall clock: two snapshots' difference is a breakdown."""
        table = proc_table()
        out: dict = {"at": time.monotonic(), "machine": machine_busy_seconds()}
        for label, names in COMPONENTS:
            groups = {self.processes[n].pid for n in names if n in self.processes}
            # A group leader's reaped children too (a gunicorn worker that was replaced).
            out[label] = sum(
                p.cpu + (p.children if p.pid == p.pgrp else 0.0) for p in table if p.pgrp in groups
            )
        postgres = {p.pid: p for p in table if p.comm == "postgres"}
        out["PostgreSQL"] = sum(
            p.cpu + (p.children if p.ppid not in postgres else 0.0)  # + the postmaster's reaped
            for p in postgres.values()
        )
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["Locust"] = children.ru_utime + children.ru_stime
        return out


# The parts of the CPU breakdown the cluster started, by process group (Cluster.start names).
COMPONENTS = [
    ("app servers", ["app1", "app2"]),
    ("Celery", ["worker1", "worker2", "beat"]),
    ("HAProxy", ["haproxy"]),
    ("S3 (moto)", ["s3"]),
    ("Redis", ["redis"]),
    ("mail sink", ["sink"]),
]
TICKS = os.sysconf("SC_CLK_TCK")


class Proc:
    """One line of /proc/PID/stat: CPU seconds of its own and of its reaped children."""

    __slots__ = ("pid", "comm", "ppid", "pgrp", "cpu", "children")

    def __init__(self, pid: int, text: str):
        name_end = text.rindex(")")
        fields = text[name_end + 2 :].split()  # fields[0] is field 3 (state) of proc(5)
        self.pid = pid
        self.comm = text[text.index("(") + 1 : name_end]
        self.ppid, self.pgrp = int(fields[1]), int(fields[2])
        self.cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
        self.children = (int(fields[13]) + int(fields[14])) / TICKS  # cutime + cstime


def proc_table() -> list[Proc]:
    table = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                table.append(Proc(int(entry.name), (entry / "stat").read_text()))
            except (OSError, ValueError):
                continue  # exited meanwhile
    return table


def machine_busy_seconds() -> float:
    """CPU seconds the machine was busy since boot, all cores: /proc/stat's total less idle
    and iowait (guest time is already inside user and nice)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / TICKS


BACKEND = re.compile(rb"^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])")


def backend_database(pid: int) -> str | None:
    """The database a PostgreSQL client backend is connected to (from its process title:
    "postgres: [cluster: ]user database host(port) state"); None for the server's own
    processes."""
    try:
        match = BACKEND.match(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return None
    return match.group(1).decode(errors="replace") if match else None


class DatabaseSampler(threading.Thread):
    """CPU seconds of the test database's backends from now on, sampled every `interval`
    seconds (a backend that exits loses at most its last interval)."""

    def __init__(self, interval: float = 1.0):
        super().__init__(daemon=True)
        self.interval = interval
        self.stopped = threading.Event()
        self.first: dict[int, float] = {}  # pid: CPU at the start (0 for a backend born later)
        self.last: dict[int, float] = {}
        self.database: dict[int, str | None] = {}
        self.scan(initial=True)
        self.start()

    def scan(self, initial: bool = False) -> None:
        for p in proc_table():
            if p.comm != "postgres":
                continue
            if self.database.get(p.pid) is None:  # a new backend may not have its title yet
                self.database[p.pid] = backend_database(p.pid)
            self.first.setdefault(p.pid, p.cpu if initial else 0.0)
            self.last[p.pid] = p.cpu

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.scan()

    def stop(self) -> float:
        self.stopped.set()
        self.join()
        self.scan()
        return sum(
            self.last[pid] - self.first[pid]
            for pid, database in self.database.items()
            if database == DB_NAME
        )


def cpu_breakdown(
    before: dict, after: dict, done: int, test_database: float, sessions: int | None
) -> str:
    """The breakdown line: ms of CPU per complete submission by part, the machine's busy
    time and "other" (the machine's time less the parts); `test_database`: CPU seconds of
    the test database's sampled backends (part of PostgreSQL's), `sessions`: connections
    opened to it."""
    if not done:
        return "CPU per complete submission: - (no complete submission)"
    labels = [label for label, _names in COMPONENTS] + ["Locust", "PostgreSQL"]
    used = {label: after[label] - before[label] for label in labels}
    machine = after["machine"] - before["machine"]
    wall = after["at"] - before["at"]
    ms = {label: seconds / done * 1000 for label, seconds in used.items()}
    parts = ", ".join(f"{label} {value:.0f}" for label, value in ms.items())
    line = (
        f"CPU ms per complete submission: {parts} = {sum(ms.values()):.0f}; machine "
        f"{machine / done * 1000:.0f} (busy {machine / (wall * (os.cpu_count() or 1)):.0%} of "
        f"{os.cpu_count()} cores), other {(machine - sum(used.values())) / done * 1000:.0f}"
    )
    line += (
        f"; PostgreSQL: the test database's long-lived backends {test_database / done * 1000:.0f}"
    )
    if sessions is not None:
        line += f", {sessions / done:.1f} new connections to it per complete submission"
    return line


def database_sessions(cluster: Cluster) -> int | None:
    """Connections opened to the test database so far (PostgreSQL 14 and later)."""
    try:
        rows = cluster.sql(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", params=(DB_NAME,)
        )
        return int(rows[0][0])
    except Exception:
        return None


HAPROXY = """
global
    maxconn 4000
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 30s
    retries 3
    option redispatch 1
    option http-keep-alive
frontend site
    bind 127.0.0.1:{lb}
    default_backend app
backend app
    # A sync gunicorn worker serves one request at a time: HAProxy sends each server at
    # most as many as it has workers and queues the rest itself (a queue it can move to
    # the other server), instead of piling them into the kernel's backlog of one. The
    # health check waits its turn like any request, hence its long timeout. A dead server
    # refuses the connection: the first refusal marks it down (observe layer4) and the
    # request is sent to the other one (redispatch), so only requests in flight on it fail.
    # When every check fails because the servers are only slow (one server left after a
    # kill, long requests ahead of the check), fail open: the same servers as unchecked
    # backups keep taking requests instead of a 503 "no server available" for everyone.
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
    timeout check 20s
    option allbackups
    default-server inter 1s fall 2 rise 1 maxconn {maxconn}
    server app1 127.0.0.1:{app1} check observe layer4 error-limit 1 on-error mark-down
    server app2 127.0.0.1:{app2} check observe layer4 error-limit 1 on-error mark-down
    server app1-open 127.0.0.1:{app1} backup
    server app2-open 127.0.0.1:{app2} backup
"""


# --- locust -------------------------------------------------------------------------------


def locust(cluster: Cluster, classes: list[str], users: int, seconds: int, tag: str) -> dict:
    prefix = cluster.work / tag
    argv = [
        str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless",
        "-u", str(users), "-r", str(max(1, users)), "-t", f"{seconds}s",
        "--host", cluster.url(""), "--csv", str(prefix), "--only-summary",
        "--loglevel", "ERROR", "--stop-timeout", "0", *classes,
    ]  # fmt: skip
    process = cluster.start(f"locust-{tag}", argv)
    try:
        process.wait(seconds + 120)
    finally:
        cluster.stop(f"locust-{tag}")
    return read_stats(Path(f"{prefix}_stats.csv"), seconds)


def read_stats(path: Path, seconds: int) -> dict:
    rows = {}
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows[row["Name"]] = {
                "type": row["Type"],
                "count": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50": float(row["50%"] or 0),
                "p95": float(row["95%"] or 0),
                "p99": float(row["99%"] or 0),
                "rps": float(row["Requests/s"] or 0),
            }
    rows["_seconds"] = seconds
    return rows


def print_stats(title: str, stats: dict) -> None:
    seconds = stats["_seconds"]
    print(f"\n{title}")
    print(f"  {'request':<34} {'count':>7} {'errors':>6} {'p50':>7} {'p95':>7} {'p99':>7}  ms")
    for name, row in stats.items():
        if name.startswith("_") or row["type"] in ("FLOW", "MAIL") or name == "Aggregated":
            continue
        print(
            f"  {name:<34} {row['count']:>7} {row['failures']:>6} "
            f"{row['p50']:>7.0f} {row['p95']:>7.0f} {row['p99']:>7.0f}"
        )
    total = stats.get("Aggregated", {"count": 0, "failures": 0, "p50": 0, "p95": 0, "p99": 0})
    print(
        f"  {'all requests':<34} {total['count']:>7} {total['failures']:>6} "
        f"{total['p50']:>7.0f} {total['p95']:>7.0f} {total['p99']:>7.0f}"
        f"   ({total['count'] / seconds:.1f} requests/s)"
    )
    done = stats.get("完了した申請", {"count": 0})["count"]
    print(f"  complete submissions: {done} in {seconds} s = {done / seconds:.2f}/s")


# --- checks ---------------------------------------------------------------------------------


def drain_outbox(cluster: Cluster, timeout: float) -> int:
    """Wait for the outbox to empty (the minute sweep delivers what a lost task left)."""
    query = "SELECT count(*) FROM outbox_outboxmessage WHERE state = 'pending'"
    deadline = time.monotonic() + timeout
    while True:
        pending = cluster.sql(query, database=DB_NAME)[0][0]
        if pending == 0 or time.monotonic() > deadline:
            return pending
        time.sleep(1)


CHECKS = ("submissions", "e-mails", "errors")


def check(cluster: Cluster, faults: list[tuple[str, float]]) -> list[tuple[str, str]]:
    """(check, problem) for each problem found; CHECKS names the three checks."""
    problems: list[tuple[str, str]] = []
    accepted = [
        json.loads(line)
        for line in (cluster.work / "accepted.jsonl").read_text().splitlines()
        if line.strip()
    ] if (cluster.work / "accepted.jsonl").exists() else []  # fmt: skip
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=cluster.env["STORAGE_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="loadtest",
        aws_secret_access_key="loadtest",
    )
    lg_code = json.loads((cluster.work / "scenario.json").read_text())["lg_code"]
    missing_objects = 0
    for entry in accepted:
        rows = cluster.sql(
            "SELECT a.id, a.status FROM applications_application a "
            "JOIN tenants_municipality m ON m.id = a.municipality_id "
            "WHERE m.lg_code = %s AND a.receipt_number = %s",
            database=DB_NAME,
            params=(lg_code, entry["receipt_number"]),
        )
        if len(rows) != 1 or rows[0][1] == "draft":
            problems.append(
                ("submissions", f"accepted {entry['receipt_number']}: {len(rows)} rows {rows}")
            )
            continue
        files = cluster.sql(
            "SELECT file, size FROM applications_attachment WHERE application_id = %s",
            database=DB_NAME,
            params=(rows[0][0],),
        )
        if len(files) != entry["attachments"]:
            problems.append(
                (
                    "submissions",
                    f"{entry['receipt_number']}: {len(files)} attachments, "
                    f"{entry['attachments']} sent",
                )
            )
        for name, size in files:
            try:
                head = s3.head_object(Bucket=BUCKET, Key=name)
                if head["ContentLength"] != size:
                    missing_objects += 1
            except Exception:
                missing_objects += 1
    if missing_objects:
        problems.append(("submissions", f"{missing_objects} attachments not in the bucket"))

    pending = drain_outbox(cluster, timeout=180)
    states = dict(
        cluster.sql(
            "SELECT state, count(*) FROM outbox_outboxmessage WHERE kind = 'email' GROUP BY state",
            database=DB_NAME,
        )
    )
    if pending:
        problems.append(("e-mails", f"{pending} outbox messages still pending after 180 s"))
    if states.get("failed"):
        problems.append(("e-mails", f"{states['failed']} e-mails failed"))
    sent_ids = {
        f"<outbox-{pk}.{int(created.timestamp())}@127.0.0.1>"
        for pk, created in cluster.sql(
            "SELECT id, created_at FROM outbox_outboxmessage "
            "WHERE kind = 'email' AND state = 'sent'",
            database=DB_NAME,
        )
    }
    received: dict[str, int] = {}
    mail_log = cluster.work / "mail.jsonl"
    for line in mail_log.read_text().splitlines() if mail_log.exists() else []:
        message_id = json.loads(line)["message_id"]
        received[message_id] = received.get(message_id, 0) + 1
    lost = sent_ids - set(received)
    twice = {m: n for m, n in received.items() if n > 1}
    if lost:
        problems.append(("e-mails", f"{len(lost)} e-mails marked sent never reached the peer"))
    if twice:
        problems.append(("e-mails", f"{len(twice)} e-mails reached the peer more than once"))

    failures_file = cluster.work / "failures.jsonl"
    failures = [
        json.loads(line) for line in failures_file.read_text().splitlines()
    ] if failures_file.exists() else []  # fmt: skip
    kills = [at for kind, at in faults if kind == "app server killed"]
    outside = [
        f for f in failures if not any(at - 0.5 <= f["at"] <= at + APP_KILL_GRACE for at in kills)
    ]
    if outside:
        sample = ", ".join(sorted({f"{f['name']} ({f['error']})" for f in outside})[:6])
        problems.append(
            ("errors", f"{len(outside)} request errors outside the app server kill: {sample}")
        )
    print("\nchecks")
    print(f"  accepted submissions checked: {len(accepted)} (rows, attachments, bucket objects)")
    print(f"  e-mails: {states}; delivered once each: {len(sent_ids) - len(lost)}; "
          f"duplicates: {len(twice)}")  # fmt: skip
    print(f"  request errors: {len(failures)} ({len(failures) - len(outside)} in flight on the "
          f"killed app server)")  # fmt: skip
    return problems


# --- main -----------------------------------------------------------------------------------


def run_with_faults(cluster: Cluster, users: int, seconds: int, faults_on: bool):
    """The scenario with the three faults at 25 %, 45 % and 65 % of the run."""

    faults: list[tuple[str, float]] = []
    errors: list[BaseException] = []

    def inject():
        try:
            start = time.monotonic()

            def at(fraction):
                remaining = start + seconds * fraction - time.monotonic()
                if remaining > 0:
                    stop.wait(remaining)
                return not stop.is_set()

            if at(0.25):
                faults.append(("app server killed", cluster.kill("app1")))
                cluster.start_app("app1")
            if at(0.45):
                faults.append(("worker killed", cluster.kill("worker1")))
                cluster.start_worker("worker1")
            if at(0.65):
                faults.append(("redis restarted", cluster.restart_redis()))
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    stop = threading.Event()
    thread = threading.Thread(target=inject, daemon=True)
    if faults_on:
        thread.start()
    try:
        stats = locust(cluster, ["Resident", "Staff", "CoreSystem"], users, seconds, "scenario")
    finally:
        stop.set()
        if faults_on:
            thread.join(120)
    if errors:
        raise errors[0]
    return stats, faults


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="CI: small data, short phases")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--sweep", default="", help="user counts, e.g. 4,8,16 (no faults)")
    parser.add_argument("--web-concurrency", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    short = args.short
    users = args.users or (9 if short else 18)
    seconds = args.seconds or (60 if short else 300)
    cases = args.cases if args.cases is not None else (2_000 if short else 1_000_000)
    trivial_seconds = 15 if short else 30

    def interrupted(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    work = Path(tempfile.mkdtemp(prefix="madoguchi-loadtest-"))
    cluster = Cluster(work, cases=cases, web_concurrency=args.web_concurrency)
    problems: list[tuple[str, str]] = []
    try:
        cluster.up()
        print(
            f"\ncluster: 2 app servers x {args.web_concurrency} gunicorn workers behind "
            f"HAProxy, 2 Celery workers, beat, PostgreSQL, Redis, S3 (moto); "
            f"{cases:,} generated applications + the demo; {os.cpu_count()} cores; "
            f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        trivial = locust(cluster, ["Trivial"], users, trivial_seconds, "trivial")
        trivial_rps = trivial["/healthz"]["count"] / trivial_seconds
        stats, faults = run_with_faults(cluster, users, seconds, not args.no_faults)
        print_stats(f"scenario: {users} users for {seconds} s", stats)
        total = stats["Aggregated"]["count"] / seconds
        print(
            f"  trivial page (/healthz) alone: {trivial_rps:.0f} requests/s, "
            f"p50 {trivial['/healthz']['p50']:.0f} ms; scenario {total:.1f} requests/s = "
            f"{total / trivial_rps:.2f} of it"
        )
        print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for kind, at in faults:
            print(f"  fault: {kind} at {time.strftime('%H:%M:%S', time.localtime(at))}")
        problems = check(cluster, faults)
        summaries = []
        per_submission: list[tuple[int, float]] = []  # (users, app CPU s per submission)
        for level in [int(x) for x in args.sweep.split(",") if x.strip()]:
            alive = [n for n, p in cluster.processes.items() if p.poll() is None]
            sessions = database_sessions(cluster)
            before = cluster.cpu_snapshot()
            sampler = DatabaseSampler()
            try:
                swept = locust(cluster, ["Resident", "Staff", "CoreSystem"], level, seconds,
                               f"sweep{level}")  # fmt: skip
            finally:
                test_database = sampler.stop()
            after = cluster.cpu_snapshot()
            if sessions is not None and (now := database_sessions(cluster)) is not None:
                sessions = now - sessions
            else:
                sessions = None
            # Locust's figure is all our reaped children's: no other may have exited.
            exited = [n for n in alive if n not in cluster.processes
                      or cluster.processes[n].poll() is not None]  # fmt: skip
            used = after["app servers"] - before["app servers"]
            print_stats(f"sweep: {level} users for {seconds} s, no faults", swept)
            done = stats_done(swept)
            breakdown = cpu_breakdown(before, after, done, test_database, sessions)
            if exited:
                breakdown += f" (void: {', '.join(exited)} exited during the run)"
            print(f"  {breakdown}")
            summaries.append(sweep_summary(level, swept, used))
            summaries.append(f"  {breakdown}")
            if done:
                per_submission.append((level, used / done))
        if args.sweep:
            step_ms, front_ms = cpu_compare(cluster, users, trivial_seconds * 2)
            print("\nsummary")
            for line in summaries:
                print(f"  {line}")
            print(
                f"  server CPU per request: form step {step_ms:.1f} ms, front page "
                f"{front_ms:.1f} ms = {step_ms / front_ms:.1f}x (aim within 3x); load average "
                f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
            )
            # The same code costs up to 1.6x more CPU on one machine than on another (and
            # from one hour to the next on a shared one): counted in front pages served by
            # the same cluster in the same run, the cost of a submission can be compared
            # between runs and machines.
            for level, cpu in per_submission:
                print(
                    f"  {level} users: app server CPU per complete submission = "
                    f"{cpu * 1000 / front_ms:.1f} front pages' worth"
                )
    except BaseException as exc:
        problems.append(("run", f"the run stopped: {type(exc).__name__}: {exc}"))
        if not isinstance(exc, Exception):
            raise
    finally:
        cluster.stop_all()
        if problems:
            print("\nFAILED:\n  " + "\n  ".join(f"{name}: {text}" for name, text in problems))
            print(f"logs kept in {work}")
        elif args.keep:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    failed = {name for name, _text in problems}
    if "run" in failed:
        failed = set(CHECKS)
    # The plain closing line CI reads: one per check after the faults.
    print(f"\nloadtest: {len(CHECKS) - len(failed)} passed, {len(failed)} failed")
    return 1 if problems else 0


def sweep_summary(users: int, stats: dict, app_cpu: float) -> str:
    """One line per user count: complete submissions/s, p50/p95 of every request, errors,
    and the app servers' CPU time per complete submission (every request of the scenario,
    staff and API included, divided by the submissions)."""
    seconds = stats["_seconds"]
    total = stats.get("Aggregated", {"count": 0, "failures": 0, "p50": 0, "p95": 0})
    done = stats_done(stats)
    per_submission = f"{app_cpu / done * 1000:.0f} ms" if done else "-"
    return (
        f"{users} users: {done / seconds:.2f} complete submissions/s, p50 {total['p50']:.0f} ms "
        f"p95 {total['p95']:.0f} ms per request, {total['failures']} errors in "
        f"{total['count']} requests; app server CPU {app_cpu:.1f} s = {per_submission} per "
        f"complete submission"
    )


def stats_done(stats: dict) -> int:
    """Complete submissions of a run."""
    return stats.get("完了した申請", {"count": 0})["count"]


def cpu_compare(cluster: Cluster, users: int, seconds: int) -> tuple[float, float]:
    """Server CPU per request of a form step (validated and saved) against the front page:
    (form step ms, front page ms)."""
    results = {}
    for cls, name in [("Front", "トップページ"), ("FormStep", "入力送信（1ステップ）")]:
        before = cluster.cpu_seconds(["app1", "app2"])
        stats = locust(cluster, [cls], users, seconds, f"cpu-{cls}")
        used = cluster.cpu_seconds(["app1", "app2"]) - before
        count = stats[name]["count"] + stats.get("準備", {"count": 0})["count"]
        results[cls] = used / max(1, count) * 1000
        print(f"  server CPU per request, {name}: {results[cls]:.1f} ms ({count} requests, "
              f"p50 {stats[name]['p50']:.0f} ms)")  # fmt: skip
    print(
        f"  form step / front page: {results['FormStep'] / results['Front']:.1f}x (aim within 3x)"
    )
    return results["FormStep"], results["Front"]


if __name__ == "__main__":
    sys.exit(main())
