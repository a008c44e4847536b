"""What staff do to an application: change its status, assign it, write notes and messages.

Every action checks the right to handle the application (`tenants.permissions.can_handle`),
runs in one transaction, records an `ApplicationEvent` with the member of staff, the time and
the message, and sends e-mail only through the durable outbox.

Optimistic locking: a change comes from a screen that showed the application at some
`lock_version`. The change first *claims* the row with
``UPDATE … SET lock_version = lock_version + 1 WHERE id = … AND lock_version = <expected>``;
if no row matched, someone else changed the application after the screen was opened and the
change is refused (`StaleApplicationError`) instead of silently overwriting theirs. Of two
concurrent requests with the same expected version exactly one matches: on PostgreSQL the
second UPDATE waits for the first transaction and then re-checks its WHERE clause; SQLite
serialises writers. Every later check runs on the claimed (locked) row, and any refusal rolls
the claim back.

Cases routed to several departments (`DepartmentProgress`): `change_status(...,
department=D)` moves D's part and derives the status the applicant sees with
`workflow.overall_status` (see there for the rule). 要再申請 is always case-wide.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.tenants import permissions

from . import messages, services, workflow
from .models import Application, ApplicationEvent, DepartmentProgress, Status
from .workflow import TransitionError

MAX_TEXT = 4000


class ActionError(Exception):
    """A staff action that was refused; `message` is one Japanese sentence for the screen."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotAllowedError(ActionError):
    """The user may not do this to this application (a view shows it as 404)."""


class StaleApplicationError(ActionError):
    """The application changed after the screen was opened (optimistic lock)."""


# Every error an action may raise for a user to read (`.message`).
ERRORS = (ActionError, TransitionError)

STALE_MESSAGE = (
    "この申請は、画面を開いたあとにほかの職員が更新しました。"
    "最新の内容を確認してから、もう一度操作してください。"
)


@dataclass
class BulkResult:
    changed: list[Application] = field(default_factory=list)
    # (受付番号, reason)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _translated(exc: TransitionError) -> TransitionError:
    """The workflow's message in the active language (msgids are the Japanese texts)."""
    params = {
        key: (_(workflow.label(value)) if key in {"from", "to"} else value)
        for key, value in exc.params.items()
    }
    translated = TransitionError(exc.template, **exc.params)
    translated.message = _(exc.template) % params if params else _(exc.template)
    translated.args = (translated.message,)
    return translated


def _check(check, *args, **kwargs) -> None:
    try:
        check(*args, **kwargs)
    except TransitionError as exc:
        raise _translated(exc) from None


def _require_handle(user, application: Application) -> None:
    if not permissions.can_handle(user, application):
        raise NotAllowedError(_("この申請を処理する権限がありません。"))


def _claim(application: Application, expected_version: int) -> Application:
    """Increment lock_version if it still is `expected_version`, else StaleApplicationError.
    Returns the current row (locked until the end of the transaction)."""
    claimed = Application.objects.filter(pk=application.pk, lock_version=expected_version).update(
        lock_version=F("lock_version") + 1, updated_at=timezone.now()
    )
    if claimed != 1:
        raise StaleApplicationError(_(STALE_MESSAGE))
    return Application.objects.select_related("municipality", "procedure", "proxy_business").get(
        pk=application.pk
    )


def _clean(text: str) -> str:
    return (text or "").strip()[:MAX_TEXT]


def _record(application, kind, *, user, client=None, **fields) -> ApplicationEvent:
    """Record an event by a member of staff (`user`) or, with `client`, by a core system
    through the API (madoguchi.applications.client_actions)."""
    if client is not None:
        return services.record_event(
            application,
            kind,
            actor_type=ApplicationEvent.Actor.CLIENT,
            actor_client=client,
            **fields,
        )
    return services.record_event(
        application, kind, actor_type=ApplicationEvent.Actor.STAFF, actor_user=user, **fields
    )


def _notify_status(application: Application, *, message: str, department_name: str = "") -> None:
    subject, body = messages.status_changed(
        application, message=message, department_name=department_name
    )
    services.notify_applicant(application, subject, body)


def _set_status(application: Application, to_status: str) -> None:
    """Write the new overall status (the row is claimed; lock_version already incremented)."""
    previous = application.status
    application.status = to_status
    update_fields = ["status", "updated_at"]
    if to_status in workflow.FINISHED:
        application.finished_at = timezone.now()
        update_fields.append("finished_at")
    if previous == Status.RETURNED:
        # Resolved otherwise: the resident's unfinished correction is dropped.
        application.draft_values = {}
        application.resume_token_digest = ""
        update_fields += ["draft_values", "resume_token_digest"]
    application.save(update_fields=update_fields)


def change_status(
    application: Application,
    to_status: str,
    *,
    user,
    message: str = "",
    expected_version: int,
    department=None,
) -> Application:
    """Move the application (or, with `department`, that department's part of it) to
    `to_status`. Raises NotAllowedError, StaleApplicationError or TransitionError."""
    message = _clean(message)
    _require_handle(user, application)
    with transaction.atomic():
        current = _claim(application, expected_version)
        if department is not None:
            _change_department(
                current, to_status, user=user, message=message, department=department
            )
        else:
            _change_application(current, to_status, user=user, message=message)
    return current


def _departments(application: Application) -> list:
    return list(application.procedure.departments.all())


def _change_application(
    application: Application, to_status: str, *, user, message: str, client=None
) -> None:
    """The case-wide change. With `client` (a core system through the API) instead of `user`,
    the same rules apply except the per-department permission check: a client's status
    change is always case-wide."""
    from_status = application.status
    _check(workflow.check_transition, from_status, to_status, message=message)
    departments = _departments(application)
    finishing = to_status in (Status.COMPLETED, Status.REJECTED)
    if finishing and len(departments) > 1 and client is None:
        handled = {d.pk for d in permissions.handled_departments(user, application)}
        if not {d.pk for d in departments} <= handled:
            raise NotAllowedError(
                _("この申請は複数の担当課で処理します。担当課ごとに処理状況を変更してください。")
            )
    _set_status(application, to_status)
    # Keep every department's row in line with a case-wide decision; a single department
    # simply mirrors the case (要再申請 is not a department state and leaves rows alone).
    if to_status in DepartmentProgress.State.values and (finishing or len(departments) == 1):
        DepartmentProgress.objects.filter(application=application).exclude(
            state__in=[DepartmentProgress.State.COMPLETED, DepartmentProgress.State.REJECTED]
        ).update(state=to_status, updated_by=user, updated_at=timezone.now())
    _record(
        application,
        ApplicationEvent.Kind.STATUS_CHANGED,
        user=user,
        client=client,
        from_status=from_status,
        to_status=to_status,
        message=message,
    )
    _notify_status(application, message=message)


def _change_department(
    application: Application, to_status: str, *, user, message: str, department
) -> None:
    departments = _departments(application)
    if department.pk not in {d.pk for d in departments}:
        raise NotAllowedError(
            _("%(department)sはこの申請の担当課ではありません。") % {"department": department.name}
        )
    if department.pk not in {d.pk for d in permissions.handled_departments(user, application)}:
        raise NotAllowedError(
            _("%(department)sの処理状況を変更する権限がありません。")
            % {"department": department.name}
        )
    if to_status == Status.RETURNED:
        # 要再申請 is case-wide: the applicant corrects one application, not a department's part.
        raise TransitionError(
            _("要再申請は申請全体に対して行います。担当課を指定せずに変更してください。")
        )
    if to_status == Status.REJECTED and not message.strip():
        # A department's refusal reaches the applicant too: it must give its reasons.
        raise TransitionError(workflow.MSG_REJECT_NEEDS_REASON)
    progress, _created = DepartmentProgress.objects.select_for_update().get_or_create(
        application=application,
        department=department,
        defaults={"municipality_id": application.municipality_id},
    )
    from_state = progress.state
    _check(
        workflow.check_department_transition,
        application.status,
        from_state,
        to_status,
        department=department.name,
    )
    progress.state = to_status
    progress.updated_by = user
    progress.save(update_fields=["state", "updated_by", "updated_at"])

    states = dict(
        DepartmentProgress.objects.filter(application=application).values_list(
            "department_id", "state"
        )
    )
    overall = workflow.overall_status(states.get(d.pk, Status.RECEIVED) for d in departments)
    previous = application.status
    overall_changed = overall is not None and overall != previous
    _record(
        application,
        ApplicationEvent.Kind.DEPARTMENT_STATUS_CHANGED,
        user=user,
        from_status=from_state,
        to_status=to_status,
        message=message,
        data={
            "department": department.pk,
            "department_name": department.name,
            "overall_changed": overall_changed,
        },
    )
    if overall_changed:
        # Derived changes follow the same rules (they always do by construction).
        _check(workflow.check_transition, previous, overall, message=message)
        _set_status(application, overall)
        _record(
            application,
            ApplicationEvent.Kind.STATUS_CHANGED,
            user=user,
            from_status=previous,
            to_status=overall,
            message=message,
            data={"department": department.pk, "department_name": department.name},
        )
    if overall_changed or message:
        _notify_status(application, message=message, department_name=department.name)


def bulk_change_status(
    applications, to_status: str, *, user, message: str = "", department=None
) -> BulkResult:
    """`change_status` for each application, each in its own transaction, against the
    lock_version the given instance carries. One e-mail per application changed; refusals
    are reported with their reason and do not stop the others."""
    result = BulkResult()
    for application in applications:
        try:
            changed = change_status(
                application,
                to_status,
                user=user,
                message=message,
                expected_version=application.lock_version,
                department=department,
            )
        except ERRORS as exc:
            result.refused.append((application.receipt_number or "", exc.message))
        else:
            result.changed.append(changed)
    return result


def _display_name(user) -> str:
    return (user.get_full_name() or user.get_username()).strip()


def assign(application: Application, assignee, *, user, expected_version: int) -> Application:
    """Make `assignee` (or nobody, with None) the member of staff in charge."""
    _require_handle(user, application)
    if assignee is not None and not permissions.can_handle(assignee, application):
        raise NotAllowedError(
            _("%(name)sさんはこの申請の担当者にできません（この申請を処理する権限がありません）。")
            % {"name": _display_name(assignee)}
        )
    new = assignee.pk if assignee is not None else None
    current = Application.objects.get(pk=application.pk)
    if current.lock_version != expected_version:
        raise StaleApplicationError(_(STALE_MESSAGE))
    if current.assigned_to_id == new:
        return current  # nothing to change
    with transaction.atomic():
        current = _claim(application, expected_version)
        previous = current.assigned_to_id
        current.assigned_to = assignee
        current.save(update_fields=["assigned_to", "updated_at"])
        _record(
            current,
            ApplicationEvent.Kind.ASSIGNED,
            user=user,
            data={"assigned_to": new, "previous": previous},
        )
    return current


def bulk_assign(applications, assignee, *, user) -> BulkResult:
    result = BulkResult()
    for application in applications:
        try:
            changed = assign(
                application, assignee, user=user, expected_version=application.lock_version
            )
        except ERRORS as exc:
            result.refused.append((application.receipt_number or "", exc.message))
        else:
            result.changed.append(changed)
    return result


@transaction.atomic
def add_note(application: Application, text: str, *, user) -> ApplicationEvent:
    """An internal note (職員へのメモ): in the staff history only, never shown or sent to the
    applicant. Does not change the application (no lock_version bump)."""
    text = _clean(text)
    if not text:
        raise ActionError(_("メモを入力してください。"))
    _require_handle(user, application)
    return _record(application, ApplicationEvent.Kind.NOTE, user=user, message=text)


@transaction.atomic
def send_message(application: Application, text: str, *, user) -> ApplicationEvent:
    """A message to the applicant (申請者へのメッセージ): on the status page and by e-mail."""
    text = _clean(text)
    if not text:
        raise ActionError(_("申請者へのメッセージを入力してください。"))
    _require_handle(user, application)
    application = Application.objects.select_related(
        "municipality", "procedure", "proxy_business"
    ).get(pk=application.pk)
    if application.status == Status.DRAFT:
        raise ActionError(_("送信前の申請にはメッセージを送れません。"))
    event = _record(application, ApplicationEvent.Kind.MESSAGE, user=user, message=text)
    subject, body = messages.message_sent(application, text)
    services.notify_applicant(application, subject, body)
    return event


__all__ = [
    "ERRORS",
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
