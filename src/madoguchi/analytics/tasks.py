from celery import shared_task


@shared_task(name="analytics.refold_pending")
def refold_pending_task() -> int:
    """Fold again the cases whose events could not be folded when they were recorded."""
    from .maintenance import refold_pending

    return refold_pending()
