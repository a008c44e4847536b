"""What a member of staff does to an application — `lifecycle` operations with the member
as the actor (`lifecycle.Actor.staff`): change its status, assign it, write notes and
messages. The right to handle the application (`applications.permissions.can_handle`) is checked
by `lifecycle`; the rules, the optimistic lock and the events are all there."""

from . import lifecycle
from .lifecycle import (
    ERRORS,
    STALE_MESSAGE,
    ActionError,
    Actor,
    BulkResult,
    NotAllowedError,
    StaleApplicationError,
    TransitionError,
)


def change_status(application, to_status, *, user, message="", expected_version, department=None):
    return lifecycle.change_status(
        application,
        to_status,
        actor=Actor.staff(user),
        message=message,
        expected_version=expected_version,
        department=department,
    )


def bulk_change_status(applications, to_status, *, user, message="", department=None):
    return lifecycle.bulk_change_status(
        applications, to_status, actor=Actor.staff(user), message=message, department=department
    )


def assign(application, assignee, *, user, expected_version):
    return lifecycle.assign(
        application, assignee, actor=Actor.staff(user), expected_version=expected_version
    )


def bulk_assign(applications, assignee, *, user):
    return lifecycle.bulk_assign(applications, assignee, actor=Actor.staff(user))


def add_note(application, text, *, user):
    return lifecycle.add_note(application, text, actor=Actor.staff(user))


def send_message(application, text, *, user):
    return lifecycle.send_message(application, text, actor=Actor.staff(user))


__all__ = [
    "ERRORS",
    "STALE_MESSAGE",
    "ActionError",
    "BulkResult",
    "NotAllowedError",
    "StaleApplicationError",
    "TransitionError",
    "add_note",
    "assign",
    "bulk_assign",
    "bulk_change_status",
    "change_status",
    "send_message",
]
