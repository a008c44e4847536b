"""The suite-wide check that no log line carries the fixtures' personal data
(tests/conftest.py) catches a leak, also under pytest-xdist, where each worker checks its own
records. Runs a small pytest session in a subprocess with the suite's conftest as a plugin."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LEAKING = """
import logging

def test_logs_a_name():
    logging.getLogger("madoguchi.portal").warning("申請者 %s", "".join(["山田", "花子"]))

def test_logs_nothing_personal():
    logging.getLogger("madoguchi.portal").warning("申請 %s を受け付けました", 42)
"""

CLEAN = """
import logging

def test_logs_ids_only():
    logging.getLogger("madoguchi.portal").warning("申請 %s を受け付けました", 42)

def test_also_clean():
    logging.getLogger("madoguchi.outbox").info("sent %s", 7)
"""


def _run(tmp_path, source: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_inner.py").write_text(source, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "--rootdir", str(tmp_path), "-c", os.devnull, *args, "test_inner.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


def test_a_name_in_a_log_line_fails_the_run_under_xdist(tmp_path):
    result = _run(tmp_path, LEAKING, "-n", "2")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "personal data of the fixtures in 1 of" in result.stdout
    assert "madoguchi.portal WARNING: 山田花子" in result.stdout
    assert "2 passed, 1 error" in result.stdout


def test_a_run_without_personal_data_passes(tmp_path):
    result = _run(tmp_path, CLEAN, "-n", "0")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "2 passed" in result.stdout
