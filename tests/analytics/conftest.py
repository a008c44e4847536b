"""Case histories with known timings, built through the real services (submit, staff status
changes, resubmission, withdrawal, feedback) on a clock set to each moment (time-machine),
so the KPI aggregates are maintained exactly as in production, event by event."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from madoguchi.applications import services, staff_actions
from madoguchi.applications.models import Application, Channel, Status
from tests.applications.conftest import make_procedure
from tests.applications.test_services import ANSWERS
from tests.conftest import make_staff

TOKYO = ZoneInfo("Asia/Tokyo")
BASE = "http://testserver"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Staff users are created with a password; a fast hasher keeps these tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=TOKYO)


def submitted(procedure, when, *, channel=Channel.PORTAL, entered_by=None) -> Application:
    if channel in (Channel.COUNTER, Channel.PAPER) and entered_by is None:
        entered_by = procedure._analytics_clerk
    with time_machine.travel(when, tick=False):
        application, _token = services.start_draft(
            procedure, channel=channel, entered_by=entered_by
        )
        services.save_step(
            application, "applicant", raw={}, answers=ANSWERS, completed=True, step_index=0
        )
        services.submit(application, base_url=BASE)
    application.refresh_from_db()
    return application


def change(application, to_status, user, when, message="") -> Application:
    application.refresh_from_db()
    with time_machine.travel(when, tick=False):
        staff_actions.change_status(
            application,
            to_status,
            user=user,
            message=message,
            expected_version=application.lock_version,
        )
    application.refresh_from_db()
    return application


def resubmit(application, when) -> Application:
    application.refresh_from_db()
    with time_machine.travel(when, tick=False):
        services.resubmit(application, base_url=BASE)
    application.refresh_from_db()
    return application


def withdraw(application, when) -> Application:
    application.refresh_from_db()
    with time_machine.travel(when, tick=False):
        services.withdraw(application, reason="都合により")
    application.refresh_from_db()
    return application


def feedback(application, when, rating, comment=""):
    with time_machine.travel(when, tick=False):
        services.record_feedback(application, rating=rating, comment=comment)
    return application.events.order_by("-pk").first()


class History:
    """Procedure A (こども家庭課, target 10 days) with seven cases of known histories, one case
    of 水道課 and one of another municipality. See test_figures.py for the expected figures."""

    def __init__(self, municipality, other_municipality):
        self.municipality = municipality
        self.a = make_procedure(municipality, slug="kodomo-a", department_code="kodomo")
        self.a.target_days = 10
        self.a.name = "児童手当"
        self.a.save()
        self.b = make_procedure(municipality, slug="suido-b", department_code="suido")
        self.b.name = "水道の開始"
        self.b.save()
        self.other = make_procedure(other_municipality, slug="kodomo-a", department_code="kodomo")
        self.handler = make_staff("kpi_handler", municipality, "kodomo")
        self.admin = make_staff("kpi_admin", municipality, role="admin")
        self.water = make_staff("kpi_water", municipality, "suido")
        self.viewer = make_staff("kpi_viewer", municipality, "kodomo", role="viewer")
        self.other_admin = make_staff("kpi_other_admin", other_municipality, role="admin")
        for procedure in (self.a, self.b, self.other):
            procedure._analytics_clerk = self.admin
        self.other._analytics_clerk = self.other_admin
        h = self.handler
        REASON_DOCS = "添付書類が不足しています。"

        # c7: submitted before the period, completed in it: 14 days, all with the municipality
        self.c7 = submitted(self.a, at(12, 20, year=2025))
        change(self.c7, Status.COMPLETED, h, at(1, 3))
        # c1: portal, 4 days
        self.c1 = submitted(self.a, at(1, 5))
        change(self.c1, Status.COMPLETED, h, at(1, 9))
        # c2: portal, returned once (3 days waiting), completed: 10 days total, 7 municipal
        self.c2 = submitted(self.a, at(1, 10))
        change(self.c2, Status.RETURNED, h, at(1, 11), REASON_DOCS)
        resubmit(self.c2, at(1, 14))
        change(self.c2, Status.COMPLETED, h, at(1, 20))
        # c3: counter, returned twice (2 + 1 days waiting), rejected: 19 total, 16 municipal
        self.c3 = submitted(self.a, at(2, 1), channel=Channel.COUNTER, entered_by=h)
        change(self.c3, Status.RETURNED, h, at(2, 2), REASON_DOCS)
        resubmit(self.c3, at(2, 4))
        change(self.c3, Status.RETURNED, h, at(2, 5), "氏名の記載に誤りがあります。")
        resubmit(self.c3, at(2, 6))
        change(self.c3, Status.REJECTED, h, at(2, 20), "要件を満たしていません。")
        # c4: paper, withdrawn
        self.c4 = submitted(self.a, at(2, 10), channel=Channel.PAPER, entered_by=h)
        withdraw(self.c4, at(2, 12))
        # c5: マイナポータル, in progress (open, past its target)
        self.c5 = submitted(self.a, at(3, 1), channel=Channel.MYNAPORTAL)
        change(self.c5, Status.IN_PROGRESS, h, at(3, 2))
        # c6: portal, returned and still waiting for the applicant
        self.c6 = submitted(self.a, at(3, 3))
        change(self.c6, Status.RETURNED, h, at(3, 4), "住所を確認してください。")
        # an abandoned portal draft (opened, no step completed)
        with time_machine.travel(at(1, 20), tick=False):
            self.abandoned, _ = services.start_draft(self.a)
        # 水道課 and another municipality: never in こども家庭課's figures
        self.water_case = submitted(self.b, at(1, 15))
        self.other_case = submitted(self.other, at(1, 15))
        # satisfaction
        feedback(self.c1, at(1, 5, 11), 5, "とても簡単でした")
        self.complaint = feedback(self.c2, at(1, 10, 11), 2, "添付の方法がわかりにくい")
        feedback(self.c3, at(2, 1, 11), 4)
        feedback(self.water_case, at(1, 15, 11), 1, "水道の意見")
        self.now = at(7, 1)


@pytest.fixture
def history(municipality, other_municipality) -> History:
    return History(municipality, other_municipality)
