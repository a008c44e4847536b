"""`Authorization: Bearer <access token>` (tokens from POST /api/v1/token)."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from madoguchi.core.prepared import PreparedQuery

from .credentials import token_digest
from .models import ApiToken
from .scope import Scope

# Read at every request of a client system: its SQL (three tables) compiled once per process
# (core.prepared), not at each request.
_token = PreparedQuery(
    ApiToken,
    lambda digest: ApiToken.objects.select_related("client", "client__municipality").filter(
        token_digest=digest
    ),
    (),
    strings=("digest",),
)


class ClientPrincipal:
    """request.user for an API request: the client system, never a Django user (so nothing
    that expects a member of staff can mistake it for one)."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, client, scope: Scope) -> None:
        self.client = client
        self.scope = scope

    def __str__(self) -> str:
        return f"api-client:{self.client.client_id}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = token.strip()
        if not token:
            raise exceptions.AuthenticationFailed("アクセストークンが指定されていません。")
        row = _token.first(digest=token_digest(token))
        if row is None or not row.client.is_active:
            raise exceptions.AuthenticationFailed("アクセストークンが正しくありません。")
        if row.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                "アクセストークンの有効期限が切れています。新しいトークンを取得してください。"
            )
        return ClientPrincipal(row.client, Scope.for_client(row.client)), row

    def authenticate_header(self, request):
        return 'Bearer realm="madoguchi-api"'


class IsApiClient(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, ClientPrincipal)


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "POST /api/v1/token で取得したアクセストークン（有効期間1時間）。",
        }
