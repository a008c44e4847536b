"""Request validation and the documented shape of every response (OpenAPI components)."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from madoguchi.applications.models import Channel, Status

API_STATUSES = [s for s in Status.values if s != Status.DRAFT]


# --- requests ------------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.ChoiceField(
        choices=["client_credentials"], help_text="常に client_credentials"
    )
    client_id = serializers.CharField(
        required=False, help_text="HTTP Basic 認証で送る場合は省略できます"
    )
    client_secret = serializers.CharField(
        required=False, help_text="HTTP Basic 認証で送る場合は省略できます"
    )


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=API_STATUSES, help_text="変更後の申請処理状況")
    message = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        default="",
        help_text="申請者へのメッセージ（要再申請・却下では必須）。メールとステータス画面で申請者に届きます。",
    )
    expected_version = serializers.IntegerField(
        required=False,
        min_value=0,
        allow_null=True,
        default=None,
        help_text="詳細の version。指定すると、その後に更新されていた場合 409 になります（楽観的排他）。",
    )


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000, help_text="職員へのメモ（申請者には見えません）")


# --- responses -----------------------------------------------------------------------------


class TokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text="有効期間（秒）")


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="誤りのある項目（リクエスト全体の場合は空文字）")
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField(
        help_text="問題の種類（urn:madoguchi:problem:… または about:blank）"
    )
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="日本語の説明")
    instance = serializers.CharField()
    errors = ProblemErrorSerializer(many=True, required=False)


class ProcedureRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ApplicationSummarySerializer(serializers.Serializer):
    receipt_number = serializers.CharField(help_text="受付番号（団体内で一意）")
    procedure = serializers.CharField(help_text="手続の識別子（slug）。例: jidou_teate_nintei")
    status = serializers.ChoiceField(choices=API_STATUSES)
    channel = serializers.ChoiceField(choices=Channel.values)
    submitted_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="楽観的排他の版（lock_version）")
    acknowledged = serializers.BooleanField(help_text="このクライアントが連携済みにしたか")
    url = serializers.CharField(help_text="詳細の URL")


def _iso(moment) -> str | None:
    """A DateTimeField's output: ISO 8601 in the current time zone, UTC written as Z."""
    if not moment:
        return None
    text = timezone.localtime(moment).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def application_summaries(rows: list[dict]) -> list[dict]:
    """What `ApplicationSummarySerializer(rows, many=True).data` gives, for rows that already
    have its fields (the list's page): written out, since its field machinery cost a page of
    100 rows about 40 % of the whole request's CPU. The schema stays that serializer's; a
    test holds the two outputs equal."""
    return [
        {
            "receipt_number": str(row["receipt_number"]),
            "procedure": str(row["procedure"]),
            "status": row["status"],
            "channel": row["channel"],
            "submitted_at": _iso(row["submitted_at"]),
            "updated_at": _iso(row["updated_at"]),
            "version": int(row["version"]),
            "acknowledged": bool(row["acknowledged"]),
            "url": str(row["url"]),
        }
        for row in rows
    ]


class ApplicationPageSerializer(serializers.Serializer):
    results = ApplicationSummarySerializer(many=True)
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(
        allow_null=True,
        help_text="最後の行の次の位置。次のページ（または後日の続き）に cursor として渡します",
    )
    next = serializers.CharField(allow_null=True, help_text="次のページの URL（has_more のとき）")


@extend_schema_field(OpenApiTypes.ANY)
class AnyValueField(serializers.JSONField):
    pass


class AnswerSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="項目名（その様式の版での表示名）")
    type = serializers.CharField(help_text="項目の型（text, date, name, file, repeat …）")
    value = AnyValueField(
        help_text="正規化した回答。repeat は項目キーをキーとする回答オブジェクトの配列"
    )


class FormVersionRefSerializer(serializers.Serializer):
    procedure = serializers.CharField()
    number = serializers.IntegerField(help_text="様式の版番号")


class ApplicantSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    name_kana = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)


class BasicFourSerializer(serializers.Serializer):
    name = serializers.CharField(allow_null=True)
    address = serializers.CharField(allow_null=True)
    birth_date = serializers.CharField(allow_null=True, help_text="YYYY-MM-DD")
    sex = serializers.CharField(allow_null=True)


class IdentitySerializer(serializers.Serializer):
    atena_number = serializers.CharField(allow_null=True, help_text="宛名番号（判明している場合）")
    basic_four = BasicFourSerializer(help_text="基本4情報（判明している項目のみ、ほかは null）")
    source = serializers.CharField(
        allow_null=True, help_text="本人確認の根拠（例: jpki）。未確認は null"
    )


class ProxySerializer(serializers.Serializer):
    is_proxy = serializers.BooleanField()
    name = serializers.CharField(allow_blank=True)
    business_name = serializers.CharField(allow_null=True)
    corporate_number = serializers.CharField(allow_null=True)


class AttachmentSerializer(serializers.Serializer):
    uid = serializers.CharField()
    field_key = serializers.CharField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.CharField(
        allow_null=True, help_text="ダウンロード URL（権限がなければ null）"
    )


class ApplicationDetailSerializer(serializers.Serializer):
    receipt_number = serializers.CharField()
    municipality = serializers.CharField(help_text="全国地方公共団体コード")
    procedure = ProcedureRefSerializer()
    form_version = FormVersionRefSerializer()
    status = serializers.ChoiceField(choices=API_STATUSES)
    status_label = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.values)
    submitted_at = serializers.DateTimeField()
    resubmitted_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    applicant = ApplicantSerializer()
    identity = IdentitySerializer()
    proxy = ProxySerializer()
    answers = serializers.DictField(child=AnswerSerializer(), help_text="項目キー → 回答")
    attachments = AttachmentSerializer(many=True)


class AcknowledgementSerializer(serializers.Serializer):
    receipt_number = serializers.CharField()
    acknowledged_at = serializers.DateTimeField()
    created = serializers.BooleanField(help_text="今回はじめて記録したか")


class StatusResultSerializer(serializers.Serializer):
    receipt_number = serializers.CharField()
    status = serializers.ChoiceField(choices=API_STATUSES)
    version = serializers.IntegerField()


class NoteResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
