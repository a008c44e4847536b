"""Signals other parts subscribe to, so the application core does not import them.

`event_recorded(sender=ApplicationEvent, event=...)` is sent inside the transaction that
recorded the event: a receiver that writes (e.g. a webhook delivery into the outbox) commits
or rolls back together with the change that caused it.
"""

from django.dispatch import Signal

event_recorded = Signal()
