"""gunicorn settings for the container image: `gunicorn -c python:madoguchi.ops.gunicorn_conf
madoguchi.wsgi`. Every value can be changed with the environment variable named beside it.

Graceful shutdown: on SIGTERM gunicorn stops accepting connections and lets each worker
finish the request it is serving for up to GUNICORN_GRACEFUL_TIMEOUT seconds (the pod's
terminationGracePeriodSeconds must be longer, and a preStop pause lets the load balancer
stop sending new requests first: docs/deploy.md).
"""

import multiprocessing
import os
import shutil

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(min(4, multiprocessing.cpu_count() * 2))))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle a worker now and then (memory fragmentation); jitter so they do not all go at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "500"))
# The heartbeat file of each worker: in memory, not on the (read-only) image.
worker_tmp_dir = os.environ.get(
    "GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None
)
# The app logs each request itself (madoguchi.access: URL name, status, duration) — never
# the path or query string, which gunicorn's access log would print.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Addresses of the load balancer whose X-Forwarded-* headers are believed.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips
preload_app = False
# Limits of the request line and headers (defaults of gunicorn, written out).
limit_request_line = 8190
limit_request_fields = 100


def on_starting(server):
    # Prometheus multiprocess files of a previous run would add stale counts.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def post_worker_init(worker):
    """Load the bank and branch codes (zengin-code, about 1.3 s of CPU) as each worker starts,
    not in the first request that asks for a bank account: that resident would wait for it
    after every worker restart."""
    from madoguchi.jp import banks

    banks.warm()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
