"""Secrets as files: a Kubernetes Secret mounted as a volume (one file per key) instead of
environment variables, which a crash dump, `/proc/<pid>/environ` or a child process would
show. Each file of the directory whose name is a variable name becomes that variable when
the environment does not already set it; its content is taken without the final newline."""

from __future__ import annotations

import os
import re
from pathlib import Path

_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def load_secrets_dir(directory: str | os.PathLike, environ=os.environ) -> list[str]:
    """Load the secrets of `directory` into `environ`; returns the names loaded."""
    if not directory:
        return []
    root = Path(directory)
    if not root.is_dir():
        raise RuntimeError(f"MADOGUCHI_SECRETS_DIR {directory} is not a directory")
    loaded = []
    for entry in sorted(root.iterdir()):
        # Kubernetes mounts keys as symlinks to ..data/<key>; its own entries start with "..".
        if not _NAME.match(entry.name) or not entry.is_file():
            continue
        if entry.name in environ:
            continue
        environ[entry.name] = entry.read_text(encoding="utf-8").rstrip("\r\n")
        loaded.append(entry.name)
    return loaded
