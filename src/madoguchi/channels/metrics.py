"""The マイナポータル quarantine on /metrics (registered with `ops.metrics` by
ChannelsConfig.ready)."""

from __future__ import annotations

import logging

from prometheus_client.core import GaugeMetricFamily

from .models import QuarantinedPackage

logger = logging.getLogger("madoguchi.ops.metrics")


def quarantine_gauges():
    try:
        n = QuarantinedPackage.objects.filter(state=QuarantinedPackage.State.QUARANTINED).count()
    except Exception as exc:
        logger.warning("metrics: quarantine not readable (%s)", type(exc).__name__)
        return
    yield GaugeMetricFamily(
        "madoguchi_mynaportal_quarantined", "マイナポータル packages in quarantine.", value=n
    )
