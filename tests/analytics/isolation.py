"""URL arguments of the analytics views for the isolation harness (tests/tenants)."""

from madoguchi.applications import services


def _feedback_event(world):
    services.record_feedback(world.target, rating=3, comment="ふつうでした")
    return world.target.events.filter(kind="feedback").latest("pk").pk


ARGUMENTS = {
    "event_id": lambda world: [_feedback_event(world)],
}
