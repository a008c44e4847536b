"""madoguchi (窓口): municipal administrative procedures online, end to end."""

__version__ = "0.1.0"

# Make the Celery app load with Django so @shared_task uses its configuration.
from .celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
