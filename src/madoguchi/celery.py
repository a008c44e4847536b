"""Celery application. In the embedded default tasks run eagerly (inline); set REDIS_URL to
send them to workers started with `celery -A madoguchi worker`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
app = Celery("madoguchi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
