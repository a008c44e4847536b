from celery import shared_task

from . import delivery


@shared_task(name="outbox.deliver_message")
def deliver_message(message_id: int) -> bool:
    return delivery.deliver(message_id)


@shared_task(name="outbox.deliver_messages")
def deliver_messages(message_ids: list[int]) -> int:
    """Deliver several messages in order (see `delivery.hand_off`); returns how many sent."""
    return sum(1 for pk in message_ids if delivery.deliver(pk))


@shared_task(name="outbox.deliver_due")
def deliver_due() -> tuple[int, int]:
    """The periodic sweep; one at a time (each message is locked on its own anyway)."""
    from madoguchi.ops.locks import single_flight

    with single_flight("outbox-deliver-due") as acquired:
        return delivery.deliver_due() if acquired else (0, 0)
