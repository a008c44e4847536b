"""Secrets as files (MADOGUCHI_SECRETS_DIR) and the beat probe."""

import os
import time

import pytest

from madoguchi.ops.probe import beat_alive, main
from madoguchi.ops.secrets import load_secrets_dir


def test_secret_files_become_variables_unless_already_set(tmp_path):
    # The layout of a mounted Kubernetes Secret: symlinks to ..data/<key>.
    data = tmp_path / "..2026_12_03"
    data.mkdir()
    (data / "SECRET_KEY").write_text("s3cr3t-value\n")
    (data / "DATABASE_URL").write_text("postgres://u:p@db/x")
    (tmp_path / "..data").symlink_to(data.name)
    for key in ("SECRET_KEY", "DATABASE_URL"):
        (tmp_path / key).symlink_to(f"..data/{key}")
    (tmp_path / "not-a-variable.txt").write_text("ignored")
    environ = {"DATABASE_URL": "from-the-environment"}
    loaded = load_secrets_dir(tmp_path, environ)
    assert loaded == ["SECRET_KEY"]
    assert environ == {"SECRET_KEY": "s3cr3t-value", "DATABASE_URL": "from-the-environment"}


def test_a_missing_secrets_directory_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="is not a directory"):
        load_secrets_dir(tmp_path / "missing", {})
    assert load_secrets_dir("", {}) == []


def test_beat_probe_follows_the_schedule_file(tmp_path):
    schedule = tmp_path / "celerybeat-schedule"
    assert not beat_alive(str(schedule))
    schedule.write_bytes(b"")
    assert beat_alive(str(schedule))
    old = time.time() - 3600
    os.utime(schedule, (old, old))
    assert not beat_alive(str(schedule))
    assert main(["probe", "beat", str(schedule)]) == 1
    assert main(["probe"]) == 2
