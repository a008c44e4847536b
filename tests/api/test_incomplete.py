"""An API call whose operation submits answers the form refuses answers 422 (problem+json)
with the field errors: the lifecycle's `IncompleteApplication`, whichever view raised it."""

import json

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from madoguchi.applications import lifecycle, services
from madoguchi.applications.models import Application, Status

from .conftest import ANSWERS, make_procedure

pytestmark = pytest.mark.django_db

INCOMPLETE = (
    "入力が済んでいない項目か、誤りのある項目があるため、申請できません。"
    "この画面の項目を確認してください。"
)


class SubmitView(APIView):
    """A view that submits a draft, as an API operation filing answers would."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    def post(self, request, pk: int):
        lifecycle.submit(Application.objects.get(pk=pk), base_url="http://testserver")
        return Response({"submitted": True})


def test_incomplete_answers_are_422_with_the_field_errors(municipality):
    procedure = make_procedure(municipality)
    application, _token = services.start_draft(procedure)
    wrong_check_digit = dict(
        ANSWERS, children=[{"child_name": "山田太郎", "child_number": "1" * 12}]
    )
    del wrong_check_digit["email"]
    services.save_step(
        application, "applicant", raw={}, answers=wrong_check_digit, completed=True, step_index=0
    )
    request = APIRequestFactory().post(f"/api/v1/test/{application.pk}", {}, format="json")
    response = SubmitView.as_view()(request, pk=application.pk)
    response.render()
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"] == "urn:madoguchi:problem:validation"
    assert body["title"] == "入力内容に誤りがあります"
    assert body["detail"] == INCOMPLETE
    assert body["step"] == "applicant"
    assert body["errors"] == [
        {"field": "email", "detail": "メールアドレスを入力してください。"},
        {
            "field": "children.0.child_number",
            "detail": "個人番号が正しくありません。入力した番号をもう一度ご確認ください。",
        },
    ]
    application.refresh_from_db()
    assert application.status == Status.DRAFT
