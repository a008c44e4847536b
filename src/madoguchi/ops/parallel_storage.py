"""Many new files stored at once: the uploads of one batch run side by side.

On S3 every file is a request of its own, a network round trip of tens of milliseconds in
production, so a batch of a hundred files stored one after the other waits a hundred round
trips (the マイナポータル intake fell from ~600 to ~40 packages/s against S3 that way:
bench/mynaportal_bench.py with BENCH_S3=1). A pool of threads, kept for the life of the
process, stores up to STORAGE_UPLOAD_THREADS files at once (default 8; botocore releases the
GIL while it waits for the network). A storage whose saves do not wait on the network (the
local folder: `saves_wait_on_network` is False) is written in the caller's thread, one file
after the other: there threads would add their hand-offs and nothing to wait behind (0.1 ms
of CPU per 100 kB file, bench/mynaportal_bench.py with BENCH_PHASES=1).

The rule that storage is never called inside a database transaction is checked in the
caller's thread: the pool's threads have no database connection of their own, so the check
the storage makes again in them would always pass.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from madoguchi.core.outbound import ensure_no_transaction

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def configured_threads() -> int:
    return max(int(os.environ.get("STORAGE_UPLOAD_THREADS", "8")), 1)


def upload_threads() -> int:
    """Files stored at once: STORAGE_UPLOAD_THREADS when saves wait on the network, else 1."""
    if not getattr(default_storage, "saves_wait_on_network", False):
        return 1
    return configured_threads()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=configured_threads(), thread_name_prefix="storage-upload"
            )
        return _pool


def _save(name: str, content: bytes) -> str:
    return default_storage.save_new(name, ContentFile(content))


def _attempt(name: str, content: bytes) -> str | Exception:
    try:
        return _save(name, content)
    except Exception as exc:
        return exc


def store_new_files(files: list[tuple[str, bytes]]) -> list[str | Exception]:
    """Store each (name, content) under its name, which the caller made unique (see
    `file_storage.NoTransactionStorage.save_new`). Returns, in the same order, the name
    stored or the exception storing that file raised; returns once every file is stored or
    has failed, so the caller knows every file that is there (to delete those it will not
    keep)."""
    ensure_no_transaction("storage save")
    results: list[str | Exception | None] = [None] * len(files)
    pool = _executor() if len(files) > 1 and upload_threads() > 1 else None
    futures = {}
    for index, (name, content) in enumerate(files):
        if pool is not None:
            try:
                futures[index] = pool.submit(_save, name, content)
                continue
            except RuntimeError:  # the interpreter is shutting down: the rest here
                pool = None
        results[index] = _attempt(name, content)
    for index, future in futures.items():
        try:
            results[index] = future.result()
        except Exception as exc:
            results[index] = exc
    return results
