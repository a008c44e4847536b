"""What a core system (基幹システム) does to an application through the API: acknowledge it
(連携済み), change its status with a message to the applicant, add an internal note.

The same rules as staff changes (`staff_actions`, `workflow`): one transaction, the
optimistic lock on `lock_version`, an `ApplicationEvent` with actor_type "client" and the
client, and the same outbox mail to the applicant (and, through the event, to マイナポータル).
Scope checks (may this client see / do this) belong to the caller (madoguchi.api).

A client's status change is always case-wide, also for a case routed to several
departments: every department's open part follows a decision (完了 / 却下).
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from . import staff_actions
from .models import Application, ApplicationEvent
from .staff_actions import ActionError, StaleApplicationError, TransitionError

__all__ = [
    "ActionError",
    "StaleApplicationError",
    "TransitionError",
    "acknowledge",
    "add_note",
    "change_status",
]

# Without expected_version the change is made against whatever version is current; a
# concurrent writer between reading and claiming the row makes it try again.
_ATTEMPTS = 3


def change_status(
    application: Application,
    to_status: str,
    *,
    client,
    message: str = "",
    expected_version: int | None = None,
) -> Application:
    """Move the whole case to `to_status`. Raises StaleApplicationError (expected_version is
    not the current lock_version) or TransitionError (the rules refuse the change)."""
    message = staff_actions._clean(message)
    for attempt in range(_ATTEMPTS):
        version = expected_version
        if version is None:
            version = Application.objects.values_list("lock_version", flat=True).get(
                pk=application.pk
            )
        try:
            with transaction.atomic():
                current = staff_actions._claim(application, version)
                staff_actions._change_application(
                    current, to_status, user=None, message=message, client=client
                )
            return current
        except StaleApplicationError:
            if expected_version is not None or attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def acknowledge(application: Application, *, client) -> bool:
    """Record that `client` took the case into its system (連携済み). Idempotent: the first
    call records the acknowledgement and an ACKNOWLEDGED event and returns True; later calls
    change nothing and return False."""
    from madoguchi.api.models import Acknowledgement

    try:
        with transaction.atomic():
            _ack, created = Acknowledgement.objects.get_or_create(
                client=client, application=application
            )
            if created:
                staff_actions._record(
                    application,
                    ApplicationEvent.Kind.ACKNOWLEDGED,
                    user=None,
                    client=client,
                    data={"client_id": client.client_id},
                )
    except IntegrityError:
        # A concurrent request acknowledged it first.
        return False
    return created


@transaction.atomic
def add_note(application: Application, text: str, *, client) -> ApplicationEvent:
    """An internal note (職員へのメモ) from the core system: staff history only."""
    text = staff_actions._clean(text)
    if not text:
        raise ActionError(_("メモを入力してください。"))
    return staff_actions._record(
        application, ApplicationEvent.Kind.NOTE, user=None, client=client, message=text
    )
