"""Status rules (madoguchi.applications.workflow): pure, no database."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.applications import workflow as wf
from madoguchi.applications.models import DepartmentProgress, Status
from madoguchi.applications.workflow import TransitionError

ALL = list(wf.STATUSES)
LABEL = {value: str(label) for value, label in Status.choices}

# The expected table, written out independently of the module.
STAFF_ALLOWED = {
    ("received", "in_progress"),
    ("received", "returned"),
    ("received", "completed"),
    ("received", "rejected"),
    ("in_progress", "returned"),
    ("in_progress", "completed"),
    ("in_progress", "rejected"),
    ("returned", "in_progress"),
}
APPLICANT_ALLOWED = {
    ("draft", "received"),
    ("received", "withdrawn"),
    ("in_progress", "withdrawn"),
    ("returned", "withdrawn"),
    ("returned", "received"),
    ("returned", "in_progress"),
}


def test_labels_match_the_model_choices():
    assert {k: str(v) for k, v in LABEL.items()} == wf.LABELS
    assert set(wf.DEPARTMENT_STATES) == set(DepartmentProgress.State.values)


@pytest.mark.parametrize(("from_status", "to_status"), list(itertools.product(ALL, ALL)))
def test_every_pair_for_staff(from_status, to_status):
    allowed = (from_status, to_status) in STAFF_ALLOWED
    assert wf.can_transition(from_status, to_status) is allowed
    assert (to_status in wf.allowed_targets(from_status)) is allowed
    if allowed:
        wf.check_transition(from_status, to_status, message="書類を添付してください。")
    else:
        with pytest.raises(TransitionError) as excinfo:
            wf.check_transition(from_status, to_status, message="理由")
        assert LABEL[to_status] in excinfo.value.message
        if from_status != to_status:
            assert f"「{LABEL[from_status]}」の申請を「{LABEL[to_status]}」に" in (
                excinfo.value.message
            )


@pytest.mark.parametrize(("from_status", "to_status"), list(itertools.product(ALL, ALL)))
def test_every_pair_for_the_applicant(from_status, to_status):
    allowed = (from_status, to_status) in APPLICANT_ALLOWED
    assert wf.can_transition(from_status, to_status, actor=wf.APPLICANT) is allowed
    if allowed:
        wf.check_transition(from_status, to_status, actor=wf.APPLICANT)
    else:
        with pytest.raises(TransitionError):
            wf.check_transition(from_status, to_status, actor=wf.APPLICANT)


@given(st.sampled_from(ALL), st.sampled_from(ALL), st.text(max_size=20))
def test_property_finished_states_allow_nothing_and_errors_name_both_states(
    from_status, to_status, message
):
    if from_status in wf.FINISHED:
        assert wf.allowed_targets(from_status) == []
        assert wf.allowed_targets(from_status, actor=wf.APPLICANT) == []
    try:
        wf.check_transition(from_status, to_status, message=message)
    except TransitionError as exc:
        assert exc.message == str(exc)
        assert exc.message.endswith("。")
        if exc.template == wf.MSG_RETURN_NEEDS_MESSAGE:
            assert to_status == "returned" and not message.strip()
        elif exc.template == wf.MSG_REJECT_NEEDS_REASON:
            assert to_status == "rejected" and not message.strip()
        elif from_status == to_status:
            assert exc.message == f"この申請はすでに「{LABEL[to_status]}」です。"
        else:
            assert f"「{LABEL[from_status]}」" in exc.message
            assert f"「{LABEL[to_status]}」" in exc.message
    else:
        assert (from_status, to_status) in STAFF_ALLOWED
        if to_status in ("returned", "rejected"):
            assert message.strip()


@given(st.sampled_from(ALL), st.sampled_from(ALL))
def test_property_staff_and_applicant_never_share_a_transition(from_status, to_status):
    # Withdrawal and resubmission belong to the applicant; decisions to the staff. The one
    # change both make is 要再申請 → 処理中: staff resolving it otherwise (by telephone), or the
    # applicant resubmitting an application staff had been processing.
    if (from_status, to_status) == ("returned", "in_progress"):
        return
    assert not (
        wf.can_transition(from_status, to_status)
        and wf.can_transition(from_status, to_status, actor=wf.APPLICANT)
    )


def test_exact_messages():
    with pytest.raises(TransitionError) as excinfo:
        wf.check_transition("completed", "in_progress")
    assert excinfo.value.message == "「完了」の申請を「処理中」に変更することはできません。"

    for blank in ("", "   ", "\n　\n"):
        with pytest.raises(TransitionError) as excinfo:
            wf.check_transition("in_progress", "returned", message=blank)
        assert excinfo.value.message == (
            "要再申請にするときは、申請者に修正してほしい内容をメッセージに入力してください。"
        )

    with pytest.raises(TransitionError) as excinfo:
        wf.check_transition("received", "withdrawn")
    assert excinfo.value.message == (
        "「受付」の申請を「取り下げ」に変更することはできません。取り下げは申請者だけが行えます。"
    )

    with pytest.raises(TransitionError) as excinfo:
        wf.check_transition("returned", "received", message="x")
    assert excinfo.value.message == (
        "「要再申請」の申請を「受付」に変更することはできません。"
        "申請者が内容を修正して再申請すると、要再申請にする前の状況に戻ります。"
    )

    with pytest.raises(TransitionError) as excinfo:
        wf.check_transition("in_progress", "in_progress")
    assert excinfo.value.message == "この申請はすでに「処理中」です。"

    with pytest.raises(TransitionError) as excinfo:
        wf.check_transition("received", "archived")
    assert excinfo.value.message == "「archived」という処理状況はありません。"

    with pytest.raises(TransitionError) as excinfo:
        wf.check_department_transition(
            "in_progress", "completed", "in_progress", department="水道課"
        )
    assert excinfo.value.message == (
        "水道課の処理状況を「完了」から「処理中」に変更することはできません。"
    )

    with pytest.raises(TransitionError) as excinfo:
        wf.check_department_transition("returned", "received", "in_progress", department="水道課")
    assert excinfo.value.message == (
        "「要再申請」の申請は、担当課ごとの処理状況を変更できません。"
        "申請者の再申請を待つか、申請全体を「処理中」に戻してください。"
    )

    with pytest.raises(TransitionError) as excinfo:
        wf.check_department_transition("in_progress", "completed", "completed", department="水道課")
    assert excinfo.value.message == "水道課の処理状況はすでに「完了」です。"


def test_allowed_targets_in_display_order():
    assert wf.allowed_targets("received") == ["in_progress", "returned", "completed", "rejected"]
    assert wf.allowed_targets("in_progress") == ["returned", "completed", "rejected"]
    assert wf.allowed_targets("returned") == ["in_progress"]
    assert wf.allowed_targets("returned", actor=wf.APPLICANT) == [
        "received",
        "in_progress",
        "withdrawn",
    ]
    assert wf.allowed_targets("nonsense") == []


DEPT_ALLOWED = {
    ("received", "in_progress"),
    ("received", "completed"),
    ("received", "rejected"),
    ("in_progress", "completed"),
    ("in_progress", "rejected"),
}


@pytest.mark.parametrize(
    ("from_state", "to_state"), list(itertools.product(wf.DEPARTMENT_STATES, ALL))
)
@pytest.mark.parametrize("case_status", ALL)
def test_every_department_pair(case_status, from_state, to_state):
    open_case = case_status in ("received", "in_progress")
    if open_case and (from_state, to_state) in DEPT_ALLOWED:
        wf.check_department_transition(case_status, from_state, to_state, department="水道課")
    else:
        with pytest.raises(TransitionError):
            wf.check_department_transition(case_status, from_state, to_state, department="水道課")


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], None),
        (["received"], "received"),
        (["received", "received"], "received"),
        (["in_progress", "received"], "in_progress"),
        (["completed", "received"], "in_progress"),
        (["rejected", "in_progress"], "in_progress"),
        (["completed", "completed"], "completed"),
        (["rejected", "rejected"], "rejected"),
        (["completed", "rejected"], "completed"),
        (["rejected"], "rejected"),
    ],
)
def test_overall_status_rule(states, expected):
    assert wf.overall_status(states) == expected


@given(st.lists(st.sampled_from(wf.DEPARTMENT_STATES), min_size=1, max_size=6))
def test_property_overall_status(states):
    overall = wf.overall_status(states)
    assert overall in ("received", "in_progress", "completed", "rejected")
    finished = all(s in ("completed", "rejected") for s in states)
    assert (overall in wf.FINISHED) is finished
    assert wf.overall_status(reversed(states)) == overall  # order does not matter
    if overall == "received":
        assert set(states) == {"received"}


@given(
    st.lists(st.sampled_from(wf.DEPARTMENT_STATES), min_size=1, max_size=4),
    st.data(),
)
def test_property_derived_changes_are_always_legal(states, data):
    """Whatever one department does, the derived overall change is a legal staff change."""
    before = wf.overall_status(states)
    index = data.draw(st.integers(0, len(states) - 1))
    targets = wf.allowed_department_targets(states[index])
    if not targets or before in wf.FINISHED:
        return
    states = list(states)
    states[index] = data.draw(st.sampled_from(targets))
    after = wf.overall_status(states)
    if after != before:
        # The department's message (required for a rejection) goes with the derived change.
        wf.check_transition(before, after, message="理由")


def test_rejection_needs_the_reasons():
    with pytest.raises(TransitionError) as excinfo:
        wf.check_transition("in_progress", "rejected", message="  ")
    assert excinfo.value.message == (
        "却下するときは、却下の理由を申請者へのメッセージに入力してください。"
    )
    wf.check_transition("in_progress", "rejected", message="要件を満たしていないため。")
