"""The CPU-bound part of the intake: open the ZIP, verify the signature, parse the data.

No Django and no database here, so a batch can be checked in worker processes (one per
core) while the importing process writes the previous results: on the 2-core reference
machine verification alone is a large share of the import time (bench/mynaportal_bench.py).

`check_many(items, trust=..., pulled_at=..., now=...)` returns, in input order, a `Checked`
or a `Rejected` per package; it never raises for a bad package. `start(...)` does the same
but returns at once (the intake writes the previous batch while the workers check this
one). Each item carries マイナポータル's reception time, at which its signature is judged.
Worker processes are started with "forkserver" (they never inherit the parent's database
connections) and kept for the life of the process; a different trust store (an anchor or CRL
loaded meanwhile) starts a new pool. When processes cannot be used (one core, a daemonic
Celery child, a broken pool), the same function runs in one thread of the importing process,
which checks a batch while the process writes the previous one (the database works
meanwhile): the result is the same, only slower.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import CancelledError, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime

from .package import ApplicationData, PackageError, open_package, parse_data, parse_element

logger = logging.getLogger(__name__)

# Below this many packages the hand-off to worker processes costs more than it saves.
MIN_PARALLEL = 8
CHUNK = 8


# (マイナポータルの受付番号 or "", the package, マイナポータル's reception time or None)
Item = tuple[str, bytes, datetime | None]


@dataclass
class Checked:
    data: ApplicationData
    identity: dict
    attachments: dict[str, bytes]
    # name → SHA-256 (hex) of each attachment, computed once by the verification.
    digests: dict[str, str] = field(default_factory=dict)


@dataclass
class Rejected:
    reason: str
    procedure_code: str = ""


def check_one(
    raw: bytes,
    source_reference: str,
    *,
    trust,
    received_at: datetime | None,
    pulled_at: datetime,
    now: datetime,
):
    """Parse and verify one package: Checked, or Rejected with a Japanese reason.

    The signature is judged at マイナポータル's reception time of the application
    (`received_at`, from the 受取等API); a package that came without one is judged at the
    time of the pull (`pulled_at`), which the case then says."""
    from madoguchi.identity import jpki

    try:
        package = open_package(raw)
    except PackageError as exc:
        return Rejected(exc.reason)
    if received_at is not None:
        at, at_source = received_at, jpki.AT_RECEIVED
    else:
        at, at_source = pulled_at, jpki.AT_PULLED
    try:
        result = jpki.verify_package(
            package.signed_xml,
            package.attachments,
            trust=trust,
            at=at,
            at_source=at_source,
            now=now,
        )
    except Exception as exc:  # a verifier surprise is a reason too, never a lost package
        logger.warning("mynaportal: verification raised %s", type(exc).__name__)
        return Rejected(f"電子署名を検証できませんでした（{type(exc).__name__}）。")
    if not result.valid or result.data_xml is None:
        return Rejected(result.reason or "電子署名が正しくありません。")
    # The verified attachments' digests were computed from these very bytes: not again.
    digests = {n: d for n, d in result.attachments.items() if n in package.attachments}
    try:
        if result.data_root is not None:  # the element verified: the XML is parsed once
            data = parse_element(result.data_root, package.attachments, digests=digests)
        else:
            data = parse_data(result.data_xml, package.attachments)
    except PackageError as exc:
        return Rejected(exc.reason)
    if source_reference and data.receipt_number != source_reference:
        return Rejected(
            f"申請データの受付番号（{data.receipt_number}）が取得した受付番号と一致しません。",
            data.procedure_code,
        )
    identity = {
        **result.identity(now),
        "atena_source": "",
        "received_at": received_at.isoformat() if received_at else None,
    }
    return Checked(data=data, identity=identity, attachments=package.attachments, digests=digests)


# --- worker processes -------------------------------------------------------------------------

_worker_trust = None


def _init_worker(trust) -> None:
    global _worker_trust
    _worker_trust = trust


def _check_chunk(chunk, pulled_at: datetime, now: datetime):
    return [
        check_one(raw, ref, trust=_worker_trust, received_at=received, pulled_at=pulled_at, now=now)
        for ref, raw, received in chunk
    ]


_lock = threading.Lock()
_pool: tuple[str, ProcessPoolExecutor] | None = None


def worker_count() -> int:
    configured = os.environ.get("MYNAPORTAL_VERIFY_PROCESSES")
    if configured is not None:
        return max(int(configured), 0)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores if (cores or 1) > 1 else 0


def _executor(trust) -> ProcessPoolExecutor | None:
    global _pool
    workers = worker_count()
    if workers < 2 or multiprocessing.current_process().daemon:
        return None
    with _lock:
        if _pool is not None and _pool[0] == trust.digest:
            return _pool[1]
        if _pool is not None:
            _pool[1].shutdown(wait=False, cancel_futures=True)
        executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=(trust,),
        )
        _pool = (trust.digest, executor)
        return executor


def shutdown() -> None:
    """Stop the worker processes (tests, the benchmark); the next check starts new ones."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool[1].shutdown(wait=True, cancel_futures=True)
            _pool = None


def check_many(items: list[Item], *, trust, pulled_at: datetime, now: datetime) -> list:
    """[(source_reference, raw, received_at)] → [Checked | Rejected], same order."""
    return start(items, trust=trust, pulled_at=pulled_at, now=now)()


def _check_inline(items: list[Item], trust, pulled_at: datetime, now: datetime) -> list:
    return [
        check_one(raw, ref, trust=trust, received_at=received, pulled_at=pulled_at, now=now)
        for ref, raw, received in items
    ]


_thread_lock = threading.Lock()
_thread: ThreadPoolExecutor | None = None


def _checking_thread() -> ThreadPoolExecutor:
    """One thread of this process that checks batches while the caller writes the previous
    one: no second process, yet the process verifies while it waits for the database."""
    global _thread
    with _thread_lock:
        if _thread is None:
            _thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mynaportal-check")
        return _thread


def start(items: list[Item], *, trust, pulled_at: datetime, now: datetime):
    """Start checking in the worker processes and return at once; calling the returned
    function waits for the results (so the caller can write the previous batch meanwhile).
    Without workers (MYNAPORTAL_VERIFY_PROCESSES=0, one core, a daemonic Celery child), a
    batch is checked by one thread of this process, which overlaps the verification with
    the caller's database writes. `received_at` of an item may be None: that package is
    judged at `pulled_at`."""
    executor = _executor(trust) if len(items) >= MIN_PARALLEL else None
    futures = None
    if executor is not None:
        chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
        try:
            futures = [executor.submit(_check_chunk, chunk, pulled_at, now) for chunk in chunks]
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            _broken(exc)
    threaded = None
    if futures is None and len(items) > 1:
        try:
            threaded = _checking_thread().submit(_check_inline, items, trust, pulled_at, now)
        except RuntimeError:  # interpreter shutting down: inline
            threaded = None

    def results() -> list:
        if futures is not None:
            try:
                return [result for future in futures for result in future.result()]
            except (BrokenProcessPool, CancelledError, OSError, RuntimeError) as exc:
                _broken(exc)
        if threaded is not None:
            try:
                return threaded.result()
            except Exception as exc:  # the same check inline; a package never gets lost
                logger.warning("mynaportal: checking thread failed (%s); inline", exc)
        return _check_inline(items, trust, pulled_at, now)

    return results


def _broken(exc: BaseException) -> None:
    # A worker died (killed, out of memory): this batch is checked inline, the next one
    # starts new workers.
    logger.warning("mynaportal: verification workers failed (%s); checking inline", exc)
    shutdown()
