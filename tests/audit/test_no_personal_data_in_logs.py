"""Application log files must never carry personal data (DESIGN: "logs carry ids, not names
or numbers"). A resident applies through the portal, a member of staff opens the inbox and
the case, changes nothing, exports the list and downloads it; every log record emitted on
the way (DEBUG and up, any logger) is checked for the applicant's name, e-mail address,
phone number and 個人番号."""

import logging

import pytest
from django.urls import reverse

from madoguchi.applications.models import Application
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.jp.check_digits import individual_number_check_digit
from madoguchi.tenants.models import Department, StaffMembership
from tests.conftest import login_with_2fa

pytestmark = pytest.mark.django_db

MY_NUMBER = "98765432109" + str(individual_number_check_digit("98765432109"))
FAMILY, GIVEN = "鳩山", "由紀恵"
FAMILY_KANA, GIVEN_KANA = "ハトヤマ", "ユキエ"
EMAIL = "yukie.hatoyama@example.jp"
PHONE = "090-1234-5678"

FORM = {
    "title": "ログ確認用の申請",
    "steps": [
        {
            "key": "main",
            "title": "申請者",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス", "required": True},
                {"key": "phone", "type": "phone", "label": "電話番号", "required": True},
                {
                    "key": "my_number",
                    "type": "individual_number",
                    "label": "個人番号",
                    "required": True,
                },
            ],
        }
    ],
}

SECRETS = [
    FAMILY,
    GIVEN,
    FAMILY_KANA,
    GIVEN_KANA,
    EMAIL,
    PHONE,
    PHONE.replace("-", ""),
    MY_NUMBER,
]


def test_submit_and_staff_work_leave_no_personal_data_in_logs(
    client, municipality, django_user_model, caplog, settings, django_capture_on_commit_callbacks
):
    settings.MADOGUCHI_JOBS_INLINE = True
    department = Department.objects.create(municipality=municipality, code="kodomo", name="こども")
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug="logcheck",
        name="ログ確認",
        reading="ろぐ",
        category="other",
    )
    procedure.departments.add(department)
    FormVersion.new_draft(procedure, schema=FORM).publish()
    caplog.set_level(logging.DEBUG)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/131016/procedures/logcheck/start/")
    assert response.status_code == 302
    step_url = response["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            step_url,
            {
                "_action": "next",
                "applicant_name__family": FAMILY,
                "applicant_name__given": GIVEN,
                "applicant_name__family_kana": FAMILY_KANA,
                "applicant_name__given_kana": GIVEN_KANA,
                "email": EMAIL,
                "email__confirm": EMAIL,
                "phone": PHONE,
                "my_number": MY_NUMBER,
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    confirm_url = response["Location"]
    assert confirm_url.endswith("/confirm/")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm_url)
    assert response.status_code == 302
    application = Application.objects.get(procedure=procedure)
    assert application.receipt_number and application.applicant_name.startswith(FAMILY)

    admin = django_user_model.objects.create_user("admin1", password="x-test-password-123")
    StaffMembership.objects.create(user=admin, municipality=municipality, role="admin")
    login_with_2fa(client, admin)
    for url in (
        reverse("staff:inbox", args=[department.pk]),
        reverse("staff:inbox", args=[department.pk]) + f"?q={FAMILY}",
        reverse("staff:application_detail", args=[application.pk]),
        reverse("staff:application_print", args=[application.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert (
        FAMILY
        in client.get(reverse("staff:application_detail", args=[application.pk])).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/staff/exports/new/",
            {"department": department.pk, "format": "csv", "procedure_choice": procedure.pk},
        )
    job_url = response["Location"]
    download = client.get(job_url + "download/")
    assert FAMILY.encode() in b"".join(download.streaming_content)
    assert client.get("/staff/audit/").status_code == 200

    records = caplog.records
    assert records, "expected some log records (requests, mail, jobs)"
    for record in records:
        text = record.getMessage() + " " + repr(record.args) + " " + (record.exc_text or "")
        for secret in SECRETS:
            assert secret not in text, (record.name, record.levelname, secret)
