"""S3-compatible object storage (django-storages), the production default storage: every
call refused inside a database transaction (see `file_storage`). A module of its own so
that the embedded default never imports boto3."""

from storages.backends.s3 import S3Storage

from .file_storage import NoTransactionStorage


class ObjectStorage(NoTransactionStorage, S3Storage):
    """The settings' STORAGE_S3_* options."""
