"""The storage classes the settings name: no call to storage inside a database transaction.

In production storage is S3 (`object_storage.ObjectStorage`), so each save, open, delete or
listing is a network call, and one made inside a transaction keeps the transaction open and
its row locks held for as long as S3 takes (a save is a HEAD and a PUT, each with a 60 s
read timeout and three attempts). Both classes refuse such a call
(`core.outbound.InsideTransactionError`); the embedded default's local folder refuses the
same calls as S3 does, so the test suite finds one on any machine (the transaction a test
case wraps around each test does not count, `core.outbound.in_transaction`). Building a
file's URL reaches nothing: it is not checked."""

import os

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.utils import validate_file_name

from madoguchi.core.outbound import ensure_no_transaction


class NoTransactionStorage:
    """Mixed in before a storage class: each call that reaches the storage is checked."""

    # Whether a save waits on the network (S3): then a batch's files are stored by several
    # threads at once (`ops.parallel_storage`). A local folder's save is CPU and page cache
    # only, which threads would only share out under the GIL, at a cost.
    saves_wait_on_network = False

    def save(self, name, content, max_length=None):
        # Checked here first: a save begins with `exists` (the free name), then `_save`.
        ensure_no_transaction("storage save")
        return super().save(name, content, max_length=max_length)

    def _save(self, name, content):
        ensure_no_transaction("storage save")
        return super()._save(name, content)

    def save_new(self, name, content):
        """Store `content` under `name`, which the caller has just made unique (a random
        uuid4 in it), without first looking for a free name as `save` does: on S3 that
        lookup is a HEAD request per file, a third of a small file's upload. The local
        folder still never overwrites a file (it opens the file exclusively and takes the
        next free name when one exists); on S3 two callers would have to draw the same
        uuid4. Returns the name stored."""
        ensure_no_transaction("storage save")
        validate_file_name(name, allow_relative_path=True)
        saved = self._save(name, content)
        validate_file_name(saved, allow_relative_path=True)
        return saved

    def _open(self, name, mode="rb"):
        ensure_no_transaction("storage open")
        return super()._open(name, mode)

    def delete(self, name):
        ensure_no_transaction("storage delete")
        return super().delete(name)

    def exists(self, name):
        ensure_no_transaction("storage exists")
        return super().exists(name)

    def listdir(self, path):
        ensure_no_transaction("storage listdir")
        return super().listdir(path)

    def size(self, name):
        ensure_no_transaction("storage size")
        return super().size(name)

    def get_modified_time(self, name):
        ensure_no_transaction("storage get_modified_time")
        return super().get_modified_time(name)


class LocalStorage(NoTransactionStorage, FileSystemStorage):
    """The embedded default: MEDIA_ROOT on the local disk."""

    def save_new(self, name, content):
        """As `NoTransactionStorage.save_new`. Bytes held in memory (a ContentFile: the
        intake's attachments) whose folder exists are written with one exclusive open and
        one write: Django's `_save` adds a makedirs, a lock and chunking per file, about
        half the CPU time of storing a 100 kB attachment. Anything else — no folder yet,
        the name taken (the general way then takes the next free name), a file on disk —
        goes the general way."""
        ensure_no_transaction("storage save")
        validate_file_name(name, allow_relative_path=True)
        data = content.read() if isinstance(content, ContentFile) else None
        if isinstance(data, bytes) and not self._allow_overwrite:
            path = self.path(name)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            try:
                fd = os.open(path, flags, 0o666)
            except OSError:  # no folder yet, or the name is taken
                pass
            else:
                try:
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(data)
                    if self.file_permissions_mode is not None:
                        os.chmod(path, self.file_permissions_mode)
                except BaseException:
                    os.unlink(path)  # never a partial file under the name
                    raise
                # `path` is the name joined to the location and normalised (safe_join):
                # what follows the location is os.path.relpath's answer, without its cost.
                return path[len(os.path.join(self.location, "")) :].replace("\\", "/")
        if isinstance(content, ContentFile):
            content.seek(0)
        return super().save_new(name, content)
