"""The REST API for core systems (/api/v1/). See docs/api/README.md for vendors."""

import base64
import binascii
import datetime
import types
from collections.abc import Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.encoding import iri_to_uri
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import renderers, serializers
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from madoguchi.applications import lifecycle, workflow
from madoguchi.applications.attachments import submitted_uids as submitted_attachment_uids
from madoguchi.applications.models import Application, Attachment
from madoguchi.audit.log import log_access
from madoguchi.audit.models import AccessLog
from madoguchi.core import keyset
from madoguchi.core.boundary import FILTER_DATE_MAX, FILTER_DATE_MIN
from madoguchi.core.filenames import download_name

from . import problems
from . import serializers as s
from .authentication import BearerTokenAuthentication, IsApiClient
from .credentials import authenticate_client, issue_token
from .models import Acknowledgement
from .parsers import StrictJSONParser
from .problems import Problem
from .throttling import ClientRateThrottle, TokenRateThrottle

PROBLEM = problems.CONTENT_TYPE
TAG_APPLICATIONS = "申請"
TAG_ACTIONS = "連携・処理状況"
TAG_AUTH = "認証"


def _problems(*codes: int, body: bool = False) -> dict:
    """Problem responses; `body`: also 400 (malformed body) and 415 (unsupported type)."""
    return {
        (code, PROBLEM): s.ProblemSerializer for code in (*codes, *((400, 415) if body else ()))
    }


def acknowledge(application: Application, *, client) -> bool:
    """Record that `client` took the application into its system (連携済み). Idempotent: the
    first call keeps the acknowledgement and records the event (returns True); later calls
    change nothing (False)."""
    try:
        with transaction.atomic():
            _ack, created = Acknowledgement.objects.get_or_create(
                client=client, application=application
            )
            if created:
                lifecycle.acknowledge(application, actor=lifecycle.Actor.api_client(client))
    except IntegrityError:
        # A concurrent request acknowledged it first.
        return False
    return created


class ClientView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsApiClient]
    throttle_classes = [ClientRateThrottle]

    @property
    def client(self):
        return self.request.user.client

    @property
    def scope(self):
        return self.request.user.scope

    def get_application(self, receipt_number: str, action: str | None = None) -> Application:
        """The case, if the client may read it (else 404), and may do `action` (else 403)."""
        application = self.scope.readable_case(receipt_number)
        if application is None:
            raise Problem(404, f"受付番号「{receipt_number}」の申請は見つかりません。", "not-found")
        if action and not self.scope.allows(action, application.procedure_id):
            raise Problem(403, ACTION_DENIED[action], "forbidden")
        return application

    def log_read(self, application: Application, what: str, ref: str, **detail) -> None:
        """閲覧ログ (API_READ) with the client: AccessLog has no client column, so the client
        is in object_ref and detail; user is empty (the request has no member of staff)."""
        shim = types.SimpleNamespace(META=self.request.META, user=None)
        log_access(
            shim,
            AccessLog.Action.API_READ,
            application=application,
            object_ref=f"api_client:{self.client.client_id} {ref}",
            client_id=self.client.client_id,
            client=self.client.pk,
            read=what,
            **detail,
        )


ACTION_DENIED = {
    "can_read_attachments": "この連携先には添付書類を読み取る権限がありません。",
    "can_acknowledge": "この連携先には連携済みを記録する権限がありません。",
    "can_write_status": "この連携先には処理状況を更新する権限がありません。",
    "can_write_notes": "この連携先には職員へのメモを追加する権限がありません。",
}


# --- token ---------------------------------------------------------------------------------


class TokenView(APIView):
    """OAuth2 client credentials (RFC 6749 §4.4)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [TokenRateThrottle]
    parser_classes = [FormParser, StrictJSONParser]

    def handle_exception(self, exc):
        """Every refused token request is an OAuth2 error response (RFC 6749 §5.2): a body
        that cannot be read or a parameter of the wrong shape is 400 `invalid_request`."""
        response = super().handle_exception(exc)
        data = response.data if isinstance(response.data, dict) else None
        if data is not None and "error" not in data and response.status_code in (400, 415, 422):
            response.status_code = 400
            data["status"] = 400
            data["error"] = "invalid_request"
        return response

    @extend_schema(
        tags=[TAG_AUTH],
        summary="アクセストークンの取得（OAuth2 client credentials）",
        operation_id="issueToken",
        description=(
            "client_id と client_secret を送り、1時間有効なアクセストークンを受け取ります。"
            "資格情報はリクエスト本文（application/x-www-form-urlencoded または JSON）か "
            "HTTP Basic 認証で送ります。以後のリクエストには `Authorization: Bearer <token>` を付けます。"
            "誤りは RFC 6749 §5.2 の `error` を含む problem+json で返します: 400 "
            "`invalid_request`（パラメーターの不足・重複、資格情報の二重送信、本文の誤り）、"
            "400 `unsupported_grant_type`（client_credentials 以外）、400 `invalid_scope`"
            "（scope は指定できません）、401 `invalid_client`（資格情報の誤り）。"
        ),
        request={
            "application/x-www-form-urlencoded": s.TokenRequestSerializer,
            "application/json": s.TokenRequestSerializer,
        },
        responses={200: s.TokenSerializer, **_problems(401, 429, body=True)},
        auth=[],
    )
    def post(self, request):
        _check_token_request(request)
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client_id = data.validated_data.get("client_id", "")
        secret = data.validated_data.get("client_secret", "")
        basic = _basic_credentials(request)
        if basic is not None:
            client_id, secret = basic
        client = authenticate_client(client_id, secret) if client_id and secret else None
        if client is None:
            problem = Problem(
                401,
                "client_id または client_secret が正しくありません。",
                "invalid-client",
                error="invalid_client",
            )
            if basic is not None:
                # RFC 6749 §5.2: a client that authenticated with HTTP Basic is told which
                # scheme to use again.
                problem.auth_header = 'Basic realm="madoguchi-api"'
            raise problem
        token, expires_in = issue_token(client)
        response = Response(
            {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
        )
        response["Cache-Control"] = "no-store"
        return response


def _token_error(error: str, detail: str, status_code: int = 400) -> Problem:
    """An OAuth2 token error (RFC 6749 §5.2): `error` is the RFC's code, the rest is the same
    problem+json every other API error has."""
    return Problem(status_code, detail, error.replace("_", "-"), error=error)


def _check_token_request(request) -> None:
    """The token request's own errors, before the credentials are looked at (RFC 6749 §5.2):
    a missing or repeated parameter and two ways of sending credentials at once are
    `invalid_request`, a grant other than client_credentials is `unsupported_grant_type`, and a
    requested `scope` is `invalid_scope` (a token carries the grants the client was registered
    with; it cannot ask for other ones)."""
    data = request.data
    if not isinstance(data, Mapping):  # a JSON array or scalar
        raise _token_error(
            "invalid_request",
            "リクエスト本文はパラメーターの組（フォームまたは JSON オブジェクト）で送ってください。",
        )
    getlist = getattr(data, "getlist", None)
    for name in ("grant_type", "client_id", "client_secret", "scope"):
        if getlist is not None and len(getlist(name)) > 1:
            raise _token_error("invalid_request", f"{name} が2回以上指定されています。")
    grant_type = data.get("grant_type")
    if not isinstance(grant_type, str) or not grant_type.strip():
        raise _token_error(
            "invalid_request", "grant_type を指定してください（client_credentials）。"
        )
    if grant_type != "client_credentials":
        raise _token_error(
            "unsupported_grant_type",
            f"grant_type「{grant_type[:40]}」には対応していません。client_credentials を指定してください。",
        )
    if _basic_credentials(request) is not None and (
        data.get("client_id") or data.get("client_secret")
    ):
        raise _token_error(
            "invalid_request",
            "資格情報は HTTP Basic 認証とリクエスト本文のどちらか一方で送ってください。",
        )
    if data.get("scope"):
        raise _token_error(
            "invalid_scope",
            "scope は指定できません。権限は連携先の登録（団体の管理者）で決まります。",
        )


def _basic_credentials(request) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


# --- list ----------------------------------------------------------------------------------


class FilterDateTimeField(serializers.DateTimeField):
    """A date-time filter within the range every filter may name (madoguchi.core.boundary):
    0001-01-01 or 9999-12-31 would overflow on conversion to UTC or in the database."""

    out_of_range = (
        f"{FILTER_DATE_MIN.isoformat()} から {FILTER_DATE_MAX.isoformat()} までの"
        "日時を指定してください。"
    )

    def to_internal_value(self, value):
        # Checked before DRF applies the time zone, which overflows at the calendar's ends.
        text = str(value)
        try:
            parsed = parse_datetime(text) or parse_date(text)
        except ValueError:
            parsed = None
        if parsed is not None and not FILTER_DATE_MIN.year <= parsed.year <= FILTER_DATE_MAX.year:
            raise serializers.ValidationError(self.out_of_range)
        try:
            moment = super().to_internal_value(value)
        except OverflowError as exc:
            raise serializers.ValidationError(self.out_of_range) from exc
        if not FILTER_DATE_MIN.year <= moment.year <= FILTER_DATE_MAX.year:
            raise serializers.ValidationError(self.out_of_range)
        return moment


class ListQuerySerializer(serializers.Serializer):
    procedure = serializers.SlugField(
        required=False, help_text="手続の識別子（slug）。例: jidou_teate_nintei"
    )
    status = serializers.ChoiceField(choices=s.API_STATUSES, required=False)
    received_since = FilterDateTimeField(
        required=False, help_text="この日時以降に受け付けた申請（ISO 8601）"
    )
    updated_since = FilterDateTimeField(
        required=False, help_text="この日時以降に更新された申請（ISO 8601）"
    )
    not_acknowledged = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: このクライアントがまだ連携済みにしていない申請",
    )
    order = serializers.ChoiceField(
        choices=["received", "updated"],
        required=False,
        default="received",
        help_text="並び順: received（受付日時の古い順）または updated（更新日時の古い順）",
    )
    cursor = serializers.CharField(required=False, help_text="前のページの next_cursor")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=500, default=100, help_text="1ページの件数"
    )


ORDER_FIELDS = {"received": "submitted_at", "updated": "updated_at"}


def encode_cursor(order: str, moment: datetime.datetime, pk: int) -> str:
    return keyset.encode_cursor((order,), moment, pk)


def decode_cursor(cursor: str, order: str) -> tuple[datetime.datetime, int]:
    decoded = keyset.decode_cursor(cursor, (order,))
    if decoded is None:
        raise Problem(
            422,
            "cursor が正しくありません。",
            "validation",
            errors=[
                {
                    "field": "cursor",
                    "detail": "前のページの next_cursor を、同じ order のまま指定してください。",
                }
            ],
        )
    return decoded[1], decoded[2]


class ApplicationListView(ClientView):
    @extend_schema(
        tags=[TAG_APPLICATIONS],
        summary="申請の一覧（カーソルページング）",
        operation_id="listApplications",
        description=(
            "権限の範囲の申請を、受付日時（または更新日時）の古い順に返します。"
            "`next_cursor` を次のリクエストの `cursor` に渡すと続きを取得できます。"
            "カーソルは（日時, ID）の位置なので、取得中に申請が追加されても抜けも重複も起きません。"
            "一覧には個人情報を含みません（詳細で取得します）。"
        ),
        parameters=[ListQuerySerializer],
        responses={200: s.ApplicationPageSerializer, **_problems(401, 422, 429)},
    )
    def get(self, request):
        query = ListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        order = q["order"]
        key = ORDER_FIELDS[order]
        rows = self.scope.readable()
        if q.get("procedure"):
            rows = rows.filter(procedure__slug=q["procedure"])
        if q.get("status"):
            rows = rows.filter(status=q["status"])
        if q.get("received_since"):
            rows = rows.filter(submitted_at__gte=q["received_since"])
        if q.get("updated_since"):
            rows = rows.filter(updated_at__gte=q["updated_since"])
        acknowledged = Acknowledgement.objects.filter(
            client_id=self.client.pk, application_id=OuterRef("pk")
        )
        if q["not_acknowledged"]:
            rows = rows.filter(~Exists(acknowledged))
        settle = getattr(settings, "API_LIST_SETTLE_SECONDS", 2)
        if settle:
            # Rows whose key is younger than this may belong to a transaction that has not
            # committed yet, behind rows already visible: leaving them to the next request
            # is what keeps the cursor from skipping them.
            rows = rows.filter(
                **{f"{key}__lt": timezone.now() - datetime.timedelta(seconds=settle)}
            )
        if q.get("cursor"):
            moment, pk = decode_cursor(q["cursor"], order)
            rows = rows.filter(keyset.after(key, moment, pk, descending=False))
        limit = q["limit"]
        page = list(
            rows.annotate(acknowledged=Exists(acknowledged))
            .order_by(*keyset.ordering(key, descending=False))
            .values(
                "pk",
                "receipt_number",
                "procedure__slug",
                "status",
                "channel",
                "submitted_at",
                "updated_at",
                "lock_version",
                "acknowledged",
            )[: limit + 1]
        )
        has_more = len(page) > limit
        page = page[:limit]
        base = reverse("api:application-list")
        # The detail URLs share everything up to the 受付番号 (as build_absolute_uri writes it).
        detail_prefix = request.build_absolute_uri(f"{base}/")
        results = [
            {
                "receipt_number": row["receipt_number"],
                "procedure": row["procedure__slug"],
                "status": row["status"],
                "channel": row["channel"],
                "submitted_at": row["submitted_at"],
                "updated_at": row["updated_at"],
                "version": row["lock_version"],
                "acknowledged": row["acknowledged"],
                "url": detail_prefix + iri_to_uri(row["receipt_number"]),
            }
            for row in page
        ]
        next_cursor = q.get("cursor")
        if page:
            next_cursor = encode_cursor(order, page[-1][key], page[-1]["pk"])
        next_url = None
        if has_more:
            params = request.query_params.copy()
            params["cursor"] = next_cursor
            next_url = request.build_absolute_uri(f"{base}?{params.urlencode()}")
        data = {
            "results": s.application_summaries(results),
            "has_more": has_more,
            "next_cursor": next_cursor,
            "next": next_url,
        }
        return Response(data)


# --- detail --------------------------------------------------------------------------------


def _answers(fields, values: dict, *, with_individual_number: bool) -> dict:
    out = {}
    for f in fields:
        if f.key not in values:
            continue
        if f.type == "individual_number" and not with_individual_number:
            continue  # without the grant the field does not exist for the client
        value = values[f.key]
        if f.type == "repeat" and isinstance(value, list):
            value = [
                _answers(f.fields, item, with_individual_number=with_individual_number)
                for item in value
                if isinstance(item, dict)
            ]
        out[f.key] = {"label": f.label, "type": f.type, "value": value}
    return out


def _text_or_none(value) -> str | None:
    if value in (None, "", {}):
        return None
    if isinstance(value, dict):  # e.g. a name as {family, given}
        return "　".join(str(v) for v in value.values() if v) or None
    return str(value)


def _identity(application: Application) -> dict:
    """宛名番号 and 基本4情報 where the case knows them (from the identity record: JPKI
    certificate or resident registry); unknown values are null, the shape is always the same."""
    identity = application.identity if isinstance(application.identity, dict) else {}
    basic = identity.get("basic_four") if isinstance(identity.get("basic_four"), dict) else {}
    return {
        "atena_number": application.atena_number or None,
        "basic_four": {key: _text_or_none(basic.get(key)) for key in BASIC_FOUR},
        "source": _text_or_none(identity.get("source")),
    }


BASIC_FOUR = ("name", "address", "birth_date", "sex")


class ApplicationDetailView(ClientView):
    @extend_schema(
        tags=[TAG_APPLICATIONS],
        summary="申請の詳細",
        operation_id="getApplication",
        description=(
            "回答は様式の項目キーをキーとし、項目名と型を添えて返します。"
            "個人番号（type individual_number）の項目は、個人番号を読み取る権限がない限り応答に含まれません。"
            "この読み取りは閲覧ログに記録されます。"
        ),
        responses={200: s.ApplicationDetailSerializer, **_problems(401, 404, 429)},
    )
    def get(self, request, receipt_number: str):
        application = self.get_application(receipt_number)
        with_number = self.scope.allows("can_read_individual_number", application.procedure_id)
        may_download = self.scope.allows("can_read_attachments", application.procedure_id)
        form = application.form_version.form
        ack = (
            Acknowledgement.objects.filter(client=self.client, application=application)
            .values_list("acknowledged_at", flat=True)
            .first()
        )
        number_keys = {f.key for f in form.all_fields() if f.type == "individual_number"}
        attachments = [
            {
                "uid": a.uid,
                "field_key": a.field_key,
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "url": request.build_absolute_uri(
                    reverse("api:attachment", args=[application.receipt_number, a.uid])
                )
                if may_download
                else None,
            }
            for a in application.attachments.filter(
                uid__in=submitted_attachment_uids(application)
            ).order_by("uploaded_at", "pk")
        ]
        business = application.proxy_business
        data = {
            "receipt_number": application.receipt_number,
            "municipality": application.municipality.lg_code,
            "procedure": {"slug": application.procedure.slug, "name": application.procedure.name},
            "form_version": {
                "procedure": application.procedure.slug,
                "number": application.form_version.number,
            },
            "status": application.status,
            "status_label": workflow.label(application.status),
            "channel": application.channel,
            "submitted_at": application.submitted_at,
            "resubmitted_at": application.resubmitted_at,
            "updated_at": application.updated_at,
            "finished_at": application.finished_at,
            "due_at": application.due_at,
            "version": application.lock_version,
            "acknowledged_at": ack,
            "applicant": {
                "name": application.applicant_name,
                "name_kana": application.applicant_name_kana,
                "email": application.applicant_email,
            },
            "identity": _identity(application),
            "proxy": {
                "is_proxy": application.is_proxy or business is not None,
                "name": application.proxy_name or (business.name if business else ""),
                "business_name": business.name if business else None,
                "corporate_number": (business.corporate_number or None) if business else None,
            },
            "answers": _answers(
                [f for step in form.steps for f in step.fields],
                application.answers or {},
                with_individual_number=with_number,
            ),
            "attachments": attachments,
        }
        self.log_read(
            application,
            "application",
            f"application:{application.pk}",
            individual_number=bool(with_number and number_keys),
        )
        return Response(s.ApplicationDetailSerializer(data).data)


class PassthroughRenderer(renderers.BaseRenderer):
    """Lets a file response through content negotiation whatever the Accept header."""

    media_type = "*/*"
    format = "bin"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict):  # an error raised before the file: problem+json
            return renderers.JSONRenderer().render(data, None, renderer_context)
        return data


class AttachmentView(ClientView):
    renderer_classes = [renderers.JSONRenderer, PassthroughRenderer]

    @extend_schema(
        tags=[TAG_APPLICATIONS],
        summary="添付書類のダウンロード",
        operation_id="downloadAttachment",
        description="添付書類の内容。SHA-256 は詳細の attachments[].sha256 で確認できます。閲覧ログに記録されます。",
        responses={
            (200, "*/*"): OpenApiTypes.BINARY,
            **_problems(401, 403, 404, 429),
        },
    )
    def get(self, request, receipt_number: str, uid: str):
        application = self.get_application(receipt_number, "can_read_attachments")
        attachment = Attachment.objects.filter(application=application, uid=uid).first()
        if attachment is None or uid not in submitted_attachment_uids(application):
            raise Problem(404, "指定された添付書類は見つかりません。", "not-found")
        self.log_read(
            application, "attachment", f"attachment:{attachment.uid}", attachment=attachment.uid
        )
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=download_name(attachment.original_name, attachment.content_type),
            content_type=attachment.content_type or "application/octet-stream",
        )
        response["X-Content-SHA256"] = attachment.sha256
        response["Cache-Control"] = "private, no-store"
        return response


# --- actions -------------------------------------------------------------------------------


class AcknowledgeView(ClientView):
    @extend_schema(
        tags=[TAG_ACTIONS],
        summary="連携済みの記録（冪等）",
        operation_id="acknowledgeApplication",
        description=(
            "基幹システムに取り込んだことを記録します。初回は 201 で経過（連携済み）を記録し、"
            "2回目以降は何も変えずに 200 を返します。"
        ),
        request=None,
        responses={
            201: s.AcknowledgementSerializer,
            200: s.AcknowledgementSerializer,
            **_problems(401, 403, 404, 429),
        },
    )
    def post(self, request, receipt_number: str):
        application = self.get_application(receipt_number, "can_acknowledge")
        created = acknowledge(application, client=self.client)
        ack = Acknowledgement.objects.get(client=self.client, application=application)
        data = {
            "receipt_number": application.receipt_number,
            "acknowledged_at": ack.acknowledged_at,
            "created": created,
        }
        return Response(s.AcknowledgementSerializer(data).data, status=201 if created else 200)


MESSAGE_REQUIRED = {workflow.MSG_RETURN_NEEDS_MESSAGE, workflow.MSG_REJECT_NEEDS_REASON}


class StatusView(ClientView):
    @extend_schema(
        tags=[TAG_ACTIONS],
        summary="処理状況の変更",
        operation_id="changeStatus",
        description=(
            "職員の変更と同じ規則で申請全体の処理状況を変更し、申請者にメールで知らせます"
            "（マイナポータル経由の申請にも反映されます）。要再申請・却下では message が必須です。"
            "expected_version を指定すると、その版から更新されていた場合は 409 になります。"
        ),
        request=s.StatusChangeSerializer,
        examples=[
            OpenApiExample(
                "処理中にする",
                value={"status": "in_progress", "message": "審査を開始しました。"},
                request_only=True,
            )
        ],
        responses={
            200: s.StatusResultSerializer,
            **_problems(401, 403, 404, 409, 422, 429, body=True),
        },
    )
    def post(self, request, receipt_number: str):
        application = self.get_application(receipt_number, "can_write_status")
        body = s.StatusChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            changed = lifecycle.change_status(
                application,
                data["status"],
                actor=lifecycle.Actor.api_client(self.client),
                message=data.get("message") or "",
                expected_version=data.get("expected_version"),
            )
        except lifecycle.StaleApplicationError:
            raise Problem(
                409,
                "この申請は、指定された版（expected_version）のあとに更新されています。"
                "最新の内容を取得してから、もう一度操作してください。",
                "stale",
            ) from None
        except lifecycle.TransitionError as exc:
            if exc.template in MESSAGE_REQUIRED:
                raise Problem(
                    422,
                    exc.message,
                    "validation",
                    errors=[{"field": "message", "detail": exc.message}],
                ) from None
            raise Problem(409, exc.message, "transition-refused") from None
        except lifecycle.ActionError as exc:
            raise Problem(409, exc.message, "transition-refused") from None
        return Response(
            {
                "receipt_number": changed.receipt_number,
                "status": changed.status,
                "version": changed.lock_version,
            }
        )


class NoteView(ClientView):
    @extend_schema(
        tags=[TAG_ACTIONS],
        summary="職員へのメモの追加",
        operation_id="addNote",
        description="申請の経過に職員へのメモを追加します。申請者には表示されません。",
        request=s.NoteSerializer,
        responses={201: s.NoteResultSerializer, **_problems(401, 403, 404, 422, 429, body=True)},
    )
    def post(self, request, receipt_number: str):
        application = self.get_application(receipt_number, "can_write_notes")
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            event = lifecycle.add_note(
                application,
                body.validated_data["text"],
                actor=lifecycle.Actor.api_client(self.client),
            )
        except lifecycle.ActionError as exc:
            raise Problem(
                422, exc.message, "validation", errors=[{"field": "text", "detail": exc.message}]
            ) from None
        data = {"id": event.pk, "created_at": event.created_at}
        return Response(s.NoteResultSerializer(data).data, status=201)


__all__ = [
    "AcknowledgeView",
    "ApplicationDetailView",
    "ApplicationListView",
    "AttachmentView",
    "NoteView",
    "StatusView",
    "TokenView",
]
