"""申請処理状況 (status) rules: which change is allowed, from where, by whom. Pure Python.

    受付 received ──→ 処理中 in_progress ──→ 完了 completed / 却下 rejected
        │  └──────────────────────────────→ 完了 / 却下 (a simple case may be decided at once)
        └──→ 要再申請 returned ←── 処理中         (staff; always with a message saying what to fix)
             要再申請 ──→ 受付 / 処理中 (the applicant resubmits the corrected answers: back
                                      to the status before 要再申請)
             要再申請 ──→ 処理中      (staff: resolved otherwise, e.g. by telephone)
    受付 / 処理中 / 要再申請 ──→ 取り下げ withdrawn   (the applicant only)

Finished states (完了, 却下, 取り下げ) allow nothing. A case routed to several departments
also has one state per department (受付 → 処理中 → 完了 / 却下); the status the applicant sees
is derived from them by `overall_status`. 要再申請 is always case-wide.

No Django imports: the back office, the portal, the API and the tests share these rules.
Messages are complete Japanese sentences; `TransitionError.template` and `.params` let a
caller translate them (the labels below are also the msgids of `Status` in `applications.models`).
"""

from collections.abc import Iterable

DRAFT = "draft"
RECEIVED = "received"
IN_PROGRESS = "in_progress"
RETURNED = "returned"
COMPLETED = "completed"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"

STATUSES = (DRAFT, RECEIVED, IN_PROGRESS, RETURNED, COMPLETED, REJECTED, WITHDRAWN)
FINISHED = frozenset({COMPLETED, REJECTED, WITHDRAWN})
DEPARTMENT_STATES = (RECEIVED, IN_PROGRESS, COMPLETED, REJECTED)


def gettext_noop(text: str) -> str:
    """Marks a msgid for makemessages; the caller translates (this module stays Django-free)."""
    return text


# The one definition of the status labels: `Status` and `DepartmentProgress.State` in
# `applications.models` take their choices from here.
LABELS = {
    DRAFT: gettext_noop("入力中"),
    RECEIVED: gettext_noop("受付"),
    IN_PROGRESS: gettext_noop("処理中"),
    RETURNED: gettext_noop("要再申請"),
    COMPLETED: gettext_noop("完了"),
    REJECTED: gettext_noop("却下"),
    WITHDRAWN: gettext_noop("取り下げ"),
}

STAFF = "staff"
APPLICANT = "applicant"

# Changes a member of staff may make (the back office offers exactly these).
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset(),
    RECEIVED: frozenset({IN_PROGRESS, RETURNED, COMPLETED, REJECTED}),
    IN_PROGRESS: frozenset({RETURNED, COMPLETED, REJECTED}),
    RETURNED: frozenset({IN_PROGRESS}),
    COMPLETED: frozenset(),
    REJECTED: frozenset(),
    WITHDRAWN: frozenset(),
}

# Changes the applicant makes: submit, resubmit after 要再申請, withdraw while not finished.
APPLICANT_TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({RECEIVED}),
    RECEIVED: frozenset({WITHDRAWN}),
    IN_PROGRESS: frozenset({WITHDRAWN}),
    RETURNED: frozenset({RECEIVED, IN_PROGRESS, WITHDRAWN}),
    COMPLETED: frozenset(),
    REJECTED: frozenset(),
    WITHDRAWN: frozenset(),
}

# One department's progress on a case routed to several departments.
DEPARTMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    RECEIVED: frozenset({IN_PROGRESS, COMPLETED, REJECTED}),
    IN_PROGRESS: frozenset({COMPLETED, REJECTED}),
    COMPLETED: frozenset(),
    REJECTED: frozenset(),
}

# Message templates (msgids); `%(from)s` / `%(to)s` are status labels.
MSG_NOT_ALLOWED = "「%(from)s」の申請を「%(to)s」に変更することはできません。"
MSG_SAME = "この申請はすでに「%(to)s」です。"
MSG_UNKNOWN = "「%(to)s」という処理状況はありません。"
MSG_RETURN_NEEDS_MESSAGE = (
    "要再申請にするときは、申請者に修正してほしい内容をメッセージに入力してください。"
)
MSG_WITHDRAW_BY_APPLICANT = (
    "「%(from)s」の申請を「%(to)s」に変更することはできません。取り下げは申請者だけが行えます。"
)
MSG_RECEIVED_BY_RESUBMISSION = (
    "「%(from)s」の申請を「%(to)s」に変更することはできません。"
    "申請者が内容を修正して再申請すると、要再申請にする前の状況に戻ります。"
)
MSG_DEPARTMENT_NOT_ALLOWED = (
    "%(department)sの処理状況を「%(from)s」から「%(to)s」に変更することはできません。"
)
MSG_DEPARTMENT_SAME = "%(department)sの処理状況はすでに「%(to)s」です。"
MSG_DEPARTMENT_WHILE = "「%(from)s」の申請は、担当課ごとの処理状況を変更できません。%(hint)s"
HINT_RETURNED = "申請者の再申請を待つか、申請全体を「処理中」に戻してください。"
# 行政手続法 第8条: a refusal must state its reasons.
MSG_REJECT_NEEDS_REASON = "却下するときは、却下の理由を申請者へのメッセージに入力してください。"


class TransitionError(Exception):
    """A refused status change. `message`: one complete Japanese sentence for the user;
    `template` and `params`: the same message untranslated, for gettext."""

    def __init__(self, template: str, **params: str) -> None:
        self.template = template
        self.params = params
        self.message = template % _labelled(params) if params else template
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def label(status: str) -> str:
    return LABELS.get(status, status)


def _labelled(params: dict[str, str]) -> dict[str, str]:
    return {k: (label(v) if k in {"from", "to"} else v) for k, v in params.items()}


def is_finished(status: str) -> bool:
    return status in FINISHED


def allowed_targets(status: str, *, actor: str = STAFF) -> list[str]:
    """Statuses the actor may move an application in `status` to, in display order."""
    table = APPLICANT_TRANSITIONS if actor == APPLICANT else TRANSITIONS
    targets = table.get(status, frozenset())
    return [s for s in STATUSES if s in targets]


def can_transition(from_status: str, to_status: str, *, actor: str = STAFF) -> bool:
    return to_status in allowed_targets(from_status, actor=actor)


def check_transition(
    from_status: str, to_status: str, *, message: str = "", actor: str = STAFF
) -> None:
    """Raise `TransitionError` unless `actor` may change `from_status` to `to_status`.

    要再申請 needs a non-blank `message` (what the applicant should correct), and so does
    却下: 行政手続法 §8 requires the reasons to be given with a refusal."""
    if to_status not in LABELS:
        raise TransitionError(MSG_UNKNOWN, to=to_status)
    if from_status == to_status:
        raise TransitionError(MSG_SAME, to=to_status)
    if not can_transition(from_status, to_status, actor=actor):
        if actor == STAFF and to_status == WITHDRAWN and from_status not in FINISHED | {DRAFT}:
            raise TransitionError(
                MSG_WITHDRAW_BY_APPLICANT, **{"from": from_status, "to": to_status}
            )
        if actor == STAFF and from_status == RETURNED and to_status == RECEIVED:
            raise TransitionError(
                MSG_RECEIVED_BY_RESUBMISSION, **{"from": from_status, "to": to_status}
            )
        raise TransitionError(MSG_NOT_ALLOWED, **{"from": from_status, "to": to_status})
    if to_status == RETURNED and not (message or "").strip():
        raise TransitionError(MSG_RETURN_NEEDS_MESSAGE)
    if to_status == REJECTED and not (message or "").strip():
        raise TransitionError(MSG_REJECT_NEEDS_REASON)


def allowed_department_targets(state: str) -> list[str]:
    targets = DEPARTMENT_TRANSITIONS.get(state, frozenset())
    return [s for s in DEPARTMENT_STATES if s in targets]


def check_department_transition(
    application_status: str, from_state: str, to_state: str, *, department: str
) -> None:
    """Raise `TransitionError` unless one department may move its part from `from_state` to
    `to_state` while the whole application is in `application_status`."""
    if to_state not in LABELS:
        raise TransitionError(MSG_UNKNOWN, to=to_state)
    if application_status == RETURNED:
        raise TransitionError(
            MSG_DEPARTMENT_WHILE, **{"from": application_status}, hint=HINT_RETURNED
        )
    if application_status in FINISHED or application_status == DRAFT:
        raise TransitionError(MSG_NOT_ALLOWED, **{"from": application_status, "to": to_state})
    if from_state == to_state:
        raise TransitionError(MSG_DEPARTMENT_SAME, department=department, to=to_state)
    if to_state not in allowed_department_targets(from_state):
        raise TransitionError(
            MSG_DEPARTMENT_NOT_ALLOWED,
            department=department,
            **{"from": from_state, "to": to_state},
        )


def overall_status(states: Iterable[str]) -> str | None:
    """The status the applicant sees, derived from every department's state.

    - every department still 受付 → 受付;
    - every department finished: all 却下 → 却下, otherwise (all 完了, or some 完了 and some
      却下) → 完了 — the applicant got a decision and at least part of what was asked; the
      message of the department that refused says which part;
    - otherwise (any 処理中, or some finished and some not yet) → 処理中.
    None when there are no departments.
    """
    states = list(states)
    if not states:
        return None
    if all(s == RECEIVED for s in states):
        return RECEIVED
    if all(s in (COMPLETED, REJECTED) for s in states):
        return REJECTED if all(s == REJECTED for s in states) else COMPLETED
    return IN_PROGRESS
