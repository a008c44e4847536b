"""Sample application histories for the demo municipality (みほん市), so that a fresh `make run` shows
an inbox with work in it and a KPI dashboard with six months of figures.

Every application is recorded through the real code paths — the form engine validates each step,
`services` saves, submits, resubmits and withdraws, `staff_actions` changes statuses per
department — each on a clock set to its moment (time-machine), so everything derived from
time (処理期限, department progress, the KPI aggregates, the event log) is what production
would hold for such a history. The residents are fictional and are never mailed: the
messages their applications queue are cancelled in the same transaction.

Created once, and only while the municipality has no application at all: a municipality
that has started using the demo never gets sample data mixed into its own.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from madoguchi.applications import services, staff_actions
from madoguchi.applications.models import Application, Channel, Status
from madoguchi.catalog.models import Procedure
from madoguchi.formengine import validation
from madoguchi.outbox.models import OutboxMessage
from madoguchi.tenants.models import Department, Municipality

PROCEDURE_SLUG = "suido_shiyou_kaishi"  # 水道使用開始届: 水道課 and 下水道課 both handle it
APPLICATIONS = 90
RECENT_APPLICATIONS = 8  # received in the last two days: still 受付 or 処理中 in the inbox
ABANDONED_DRAFTS = 30
DAYS = 183  # about six months back from today
SEED = 20261127  # the same sample every time

FAMILY_NAMES = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
]
GIVEN_NAMES = [
    ("花子", "ハナコ"),
    ("太郎", "タロウ"),
    ("美咲", "ミサキ"),
    ("健一", "ケンイチ"),
    ("陽菜", "ヒナ"),
    ("翔太", "ショウタ"),
    ("由美", "ユミ"),
    ("大輔", "ダイスケ"),
]
STREETS = ["本町", "中央", "栄町", "緑が丘", "みなと", "桜台"]
RETURN_REASONS = [
    "お客さま番号の記載が誤っています。検針票で確認して修正してください。",
    "使用場所の住所に建物名と部屋番号を追記してください。",
    "使用開始日が入居日と異なっています。入居日を確認して修正してください。",
]
REJECT_REASON = "使用場所が本市の給水区域外のため、水道事業者（みほん県企業局）へ届け出てください。"
COMMENTS = [
    "引越しの準備中にスマートフォンから届け出られて助かりました。",
    "お客さま番号がどこに書いてあるのか、わかりにくかったです。",
    "入力項目が少なく、すぐに終わりました。",
]


DEPARTMENT_DONE = {"water_completed": "suido", "sewer_completed": "gesuido"}


class SampleApplicationError(RuntimeError):
    """A sample no longer fits the procedure's form (the template changed)."""


@dataclass
class Staff:
    admin: object
    water: object  # 水道課
    sewer: object  # 下水道課
    departments: dict[str, Department]


@dataclass
class Story:
    """One application: how it arrived and what happened to it, each step at its moment."""

    channel: str
    opened_at: dt.datetime
    person: tuple[tuple[str, str], tuple[str, str]]
    address: str
    steps_done: int = 4  # steps completed: all 4 and then submitted, or fewer (gave up)
    actions: list[tuple[dt.datetime, str, str]] = field(default_factory=list)
    rating: int | None = None
    comment: str = ""


@transaction.atomic  # all of the sample or none: a failed run leaves the municipality empty
def ensure_sample_applications(municipality: Municipality) -> int:
    """Record the sample histories once; the number of applications made (0 when skipped)."""
    if Application.objects.filter(municipality=municipality).exists():
        return 0
    procedure = Procedure.objects.filter(
        municipality=municipality, slug=PROCEDURE_SLUG, current_version__isnull=False
    ).first()
    staff = _staff(municipality)
    if procedure is None or staff is None:
        return 0
    rng = random.Random(SEED)
    now = timezone.now()
    stories = [_story(rng, now) for _ in range(APPLICATIONS)]
    stories += [_story(rng, now, days_ago=rng.uniform(0.05, 2)) for _ in range(RECENT_APPLICATIONS)]
    stories += [_draft_story(rng, now) for _ in range(ABANDONED_DRAFTS)]
    stories.sort(key=lambda s: s.opened_at)  # 受付番号 in the order of receipt
    for story in stories:
        _record(procedure, staff, story)
    return len(stories)


def _staff(municipality: Municipality) -> Staff | None:
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["admin", "suido", "gesuido"])
    }
    departments = {d.code: d for d in Department.objects.filter(municipality=municipality)}
    if len(users) < 3 or not {"suido", "gesuido"} <= departments.keys():
        return None
    return Staff(users["admin"], users["suido"], users["gesuido"], departments)


# ----------------------------------------------------------------------------- the stories


def _moment(now: dt.datetime, days_ago: float, rng: random.Random) -> dt.datetime:
    """A moment during office hours (Asia/Tokyo) `days_ago` days back."""
    local = timezone.localtime(now) - dt.timedelta(days=days_ago)
    return local.replace(hour=rng.randint(9, 16), minute=rng.randint(0, 59), second=0)


def _opened(now: dt.datetime, days_ago: float, rng: random.Random) -> dt.datetime:
    """When a form was opened: office hours `days_ago` days back, and over by now."""
    at = _moment(now, days_ago, rng)
    while at > now - dt.timedelta(minutes=30):
        at -= dt.timedelta(days=1)
    return at


def _later(at: dt.datetime, days: float, rng: random.Random) -> dt.datetime:
    return _moment(at, -days, rng) if days >= 1 else at + dt.timedelta(hours=rng.randint(1, 5))


def _person(rng: random.Random):
    return rng.choice(FAMILY_NAMES), rng.choice(GIVEN_NAMES)


def _address(rng: random.Random) -> str:
    street = rng.choice(STREETS)
    return (
        f"みほん県みほん市{street}{rng.randint(1, 5)}丁目{rng.randint(1, 20)}-{rng.randint(1, 9)}"
    )


def _story(rng: random.Random, now: dt.datetime, days_ago: float | None = None) -> Story:
    if days_ago is None:
        days_ago = rng.uniform(0.5, DAYS)
    # Online take-up grows over the half-year: more portal filings in recent months.
    online_share = 0.45 + 0.3 * (1 - days_ago / DAYS)
    draw = rng.random()
    if draw < online_share:
        channel = Channel.PORTAL
    elif draw < online_share + (1 - online_share) * 0.7:
        channel = Channel.COUNTER
    else:
        channel = Channel.PAPER
    story = Story(channel, _opened(now, days_ago, rng), _person(rng), _address(rng))
    at = story.opened_at + dt.timedelta(minutes=rng.randint(4, 15))  # submitted
    if channel == Channel.PORTAL and rng.random() < 0.45:
        story.rating = rng.choices([5, 4, 3, 2, 1], weights=[5, 4, 2, 1, 1])[0]
        story.comment = rng.choice(COMMENTS) if rng.random() < 0.4 else ""
    fate = rng.random()
    # Work takes days; applications received in the last week or so are still being handled.
    in_progress = _later(at, rng.choice([0, 1, 1, 2, 3]), rng)
    if in_progress > now:
        return story
    story.actions.append((in_progress, "in_progress", ""))
    at = in_progress
    if fate < 0.04:
        story.actions.append((_later(at, rng.randint(1, 3), rng), "withdrawn", ""))
        return _until(story, now)
    if fate < 0.08:
        story.actions.append((_later(at, rng.randint(1, 4), rng), "rejected", REJECT_REASON))
        return _until(story, now)
    if fate < 0.28:
        returned = _later(at, rng.randint(0, 3), rng)
        story.actions.append((returned, "returned", rng.choice(RETURN_REASONS)))
        at = _later(returned, rng.randint(1, 6), rng)  # the resident corrects and resubmits
        story.actions.append((at, "resubmitted", ""))
        at = _later(at, rng.randint(0, 2), rng)
        story.actions.append((at, "in_progress", ""))
    water_done = _later(at, rng.randint(1, 8), rng)
    story.actions.append((water_done, "water_completed", "開栓の手配が済みました。"))
    story.actions.append((_later(water_done, rng.randint(0, 4), rng), "sewer_completed", ""))
    return _until(story, now)


def _until(story: Story, now: dt.datetime) -> Story:
    """Only what has happened by now."""
    story.actions = [a for a in story.actions if a[0] <= now]
    return story


def _draft_story(rng: random.Random, now: dt.datetime) -> Story:
    """A resident who opened the form on the portal and gave up part-way."""
    story = Story(
        Channel.PORTAL, _opened(now, rng.uniform(0.5, DAYS), rng), _person(rng), _address(rng)
    )
    story.steps_done = rng.choices([0, 1, 2, 3], weights=[4, 3, 2, 2])[0]
    return story


def _step_input(story: Story, opened: dt.date) -> list[tuple[str, dict]]:
    """What the resident (or the clerk copying a paper form) types on each step."""
    (family, family_kana), (given, given_kana) = story.person
    start = opened + dt.timedelta(days=10)
    return [
        ("filer", {"filer_type": "user"}),
        (
            "place",
            {
                "start_date__year": str(start.year),
                "start_date__month": str(start.month),
                "start_date__day": str(start.day),
                "place_postal_code": "100-0001",  # a code Japan Post uses (みほん市 is fictional)
                "place_address": story.address,
                "customer_number": "",
                "building_type": "detached",
                "usage": "household",
                "uses_well_water": "no",
            },
        ),
        (
            "user",
            {
                "user_type": "individual",
                "user_name__family": family,
                "user_name__given": given,
                "user_name__family_kana": family_kana,
                "user_name__given_kana": given_kana,
                "user_phone": "0120-000-000",
                "user_email": "",
            },
        ),
        (
            "billing",
            {
                "billing_destination": "same",
                "payment_method": "payment_slip",
                "remarks": "",
                "opening_notice": "1",
                "privacy_notice": "1",
            },
        ),
    ]


# ----------------------------------------------------------------------------- recording


def _record(procedure: Procedure, staff: Staff, story: Story) -> None:
    entered_by = staff.water if story.channel in (Channel.COUNTER, Channel.PAPER) else None
    with time_machine.travel(story.opened_at, tick=False), transaction.atomic():
        application, _token = services.start_draft(
            procedure, channel=story.channel, entered_by=entered_by
        )
        form = application.form_version.form
        answers: dict = {}
        steps = _step_input(story, timezone.localdate())
        for index, (step_key, raw) in enumerate(steps[: story.steps_done]):
            result = _validated(form, step_key, raw, answers)
            answers = services.answers_with_step(application, step_key, result.answers)
            services.save_step(
                application,
                step_key,
                raw=raw,
                answers=result.answers,
                completed=True,
                step_index=index,
                reached=index + 1,
            )
        if story.steps_done < len(steps):
            return  # given up: a draft the funnel counts
    with time_machine.travel(story.opened_at + dt.timedelta(minutes=8), tick=False):
        with transaction.atomic():
            services.submit(application, base_url=settings.PUBLIC_BASE_URL)
            if story.rating is not None:
                services.record_feedback(application, rating=story.rating, comment=story.comment)
            _silence(application)
    for at, action, message in story.actions:
        with time_machine.travel(at, tick=False), transaction.atomic():
            application.refresh_from_db()
            _act(application, staff, story, action, message)
            _silence(application)


def _act(application: Application, staff: Staff, story: Story, action: str, message: str):
    version = application.lock_version
    if action == "resubmitted":
        # The resident corrects the place (building and room added) and sends it again.
        step_key, raw = _step_input(story, timezone.localdate())[1]
        raw = {**raw, "place_address": f"{raw['place_address']}　みほんハイツ101"}
        form = application.form_version.form
        result = _validated(form, step_key, raw, services.editable_answers(application))
        services.save_step(
            application, step_key, raw=raw, answers=result.answers, completed=False, step_index=1
        )
        services.resubmit(application, base_url=settings.PUBLIC_BASE_URL)
    elif action == "withdrawn":
        services.withdraw(application, reason="引越しの予定がなくなったため")
    elif action in DEPARTMENT_DONE:
        # Each department finishes its own part; the application is 完了 once both have.
        code = DEPARTMENT_DONE[action]
        staff_actions.change_status(
            application,
            Status.COMPLETED,
            user=staff.water if code == "suido" else staff.sewer,
            message=message,
            expected_version=version,
            department=staff.departments[code],
        )
    else:  # in_progress, returned (by 水道課), rejected (by the 管理者, for the whole application)
        if action == Status.IN_PROGRESS and application.status == Status.IN_PROGRESS:
            return  # a resubmission already went back to 処理中, where staff had left it
        user = staff.admin if action == "rejected" else staff.water
        if action == "in_progress" and application.assigned_to_id is None:
            # The 水道課 member who takes the application up becomes its 担当者.
            application = staff_actions.assign(
                application, staff.water, user=staff.water, expected_version=version
            )
            version = application.lock_version
        staff_actions.change_status(
            application, action, user=user, message=message, expected_version=version
        )


def _validated(form, step_key: str, raw: dict, answers: dict):
    """The step's answers as the form engine makes them from what was typed."""
    result = validation.validate_step(form, step_key, raw, answers)
    if not result.ok:
        raise SampleApplicationError(f"{step_key}: {[e.message for e in result.errors]}")
    return result


def _silence(application: Application) -> None:
    """Fictional residents get no mail: cancel what their application queued, before it is sent."""
    OutboxMessage.objects.filter(
        reference=f"application:{application.pk}", state=OutboxMessage.State.PENDING
    ).update(state=OutboxMessage.State.CANCELLED)
