from celery import shared_task


@shared_task(name="analytics.refold_pending")
def refold_pending_task() -> int:
    """Fold again the cases whose events could not be folded when they were recorded."""
    from madoguchi.ops.locks import single_flight

    from .maintenance import refold_pending

    with single_flight("analytics-refold-pending") as acquired:
        return refold_pending() if acquired else 0
