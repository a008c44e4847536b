"""Django settings. Everything that differs between deployments comes from the environment.

Embedded default (no environment set): SQLite and local files under ./var, mail printed to the
console, background jobs run inline. Production: set DATABASE_URL (PostgreSQL), REDIS_URL
(Celery broker), SECRET_KEY, ALLOWED_HOSTS and, for object storage, the STORAGE_* variables.
"""

import importlib.util
import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent

# Secrets mounted as files (Kubernetes Secret volume, Docker secrets): every file of
# MADOGUCHI_SECRETS_DIR named like a variable below (SECRET_KEY, DATABASE_URL, ...) sets that
# variable, unless the environment already does.
from madoguchi.ops.secrets import load_secrets_dir  # noqa: E402

load_secrets_dir(os.environ.get("MADOGUCHI_SECRETS_DIR", ""))
VAR_DIR = Path(os.environ.get("MADOGUCHI_VAR_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _embedded_secret_key() -> str:
    """A per-installation key kept in var/, so the embedded default needs no configuration
    and sessions survive a restart. Production must set SECRET_KEY explicitly."""
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


DEBUG = _env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or _embedded_secret_key()
# Earlier keys, kept while rotating SECRET_KEY (sessions, signed links, encrypted fields).
SECRET_KEY_FALLBACKS = _env_list("SECRET_KEY_FALLBACKS", "")
# Fernet keys for secrets stored encrypted (core.encrypted); first encrypts, all decrypt.
# When empty, a key is derived from SECRET_KEY (and its fallbacks).
FIELD_ENCRYPTION_KEYS = _env_list("FIELD_ENCRYPTION_KEYS", "")
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")

# The public base URL used in links sent by e-mail (save & resume, status page).
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# The TrueType font PDFs (receipts) embed; empty: Debian's fonts-ipamj-mincho (IPAmj明朝),
# which covers JIS X 0213 and 𠮷 (madoguchi.core.pdf_font).
PDF_FONT_PATH = os.environ.get("MADOGUCHI_PDF_FONT", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "madoguchi.core",
    "madoguchi.tenants",
    "madoguchi.catalog",
    "madoguchi.formengine",
    "madoguchi.applications",
    "madoguchi.portal",
    "madoguchi.outbox",
    "madoguchi.audit",
    "madoguchi.exports",
    "madoguchi.channels",
    "madoguchi.api",
    "madoguchi.webhooks",
    "madoguchi.linkage",
    "madoguchi.analytics",
    "madoguchi.identity",
    "madoguchi.ops",
    "madoguchi.translations",
    "madoguchi.builder",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
]
# Development and demo tools (demo seed, test CA, マイナポータル simulator) live in their own
# package outside the runtime core; production turns them off with MADOGUCHI_DEV_TOOLS=0
# (`madoguchi check --deploy` warns while they are on).
if _env_bool("MADOGUCHI_DEV_TOOLS", True) and importlib.util.find_spec("madoguchi_dev"):
    INSTALLED_APPS.append("madoguchi_dev")

MIDDLEWARE = [
    # First: health/readiness/metrics, request id, deployment role, access log (madoguchi.ops).
    "madoguchi.ops.middleware.OpsMiddleware",
    # HEAD wherever GET; Cache-Control: no-store unless a view allows caching.
    "madoguchi.core.middleware.HttpSemanticsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before sessions and everything else that reads input: strips NUL and lone surrogates
    # from cookies, query strings and form data, 404s out-of-range integer URL arguments
    # (madoguchi.core.boundary).
    "madoguchi.core.boundary.InputBoundaryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Once per process: warn when mailed links (PUBLIC_BASE_URL) name another host.
    "madoguchi.core.link_base.LinkBaseCheckMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "madoguchi.tenants.otp_middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: locks an account after repeated failed logins.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, the session's user read by compiled SQL (tenants.auth_backend).
    "madoguchi.tenants.auth_backend.ModelBackend",
]
# Lock an account (by user name, whatever the address) for 30 minutes after 5 failures.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.5"))
AXES_LOCKOUT_PARAMETERS = ["username"]
# Locking by address too would lock every member of staff behind the town hall's single
# proxy address when one of them mistypes: the account is what is protected here.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "madoguchi.tenants.views.lockout_response"
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "madoguchi")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

ROOT_URLCONF = "madoguchi.urls"
WSGI_APPLICATION = "madoguchi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "madoguchi.tenants.context_processors.municipality",
                "madoguchi.tenants.context_processors.staff_roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'madoguchi.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the status page read while a submission writes; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The tests' database is a file too, as the embedded default's is. Django's default for
    # SQLite, in memory with a shared cache, locks whole tables between the threads of one
    # process (the browser tests' live server, the embedded default's pull and mail
    # threads), and a writer that meets such a lock fails at once ("database table is
    # locked") where, on a file, it waits out the timeout as in production.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # The KPI indexes carry INCLUDE columns for PostgreSQL's index-only scans; SQLite builds
    # the same indexes without them, which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Short OLTP queries: PostgreSQL's JIT compilation costs 150-300 ms per inbox query on a
    # million rows and saves nothing (measured in bench/inbox_bench.py).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account:login"
LOGIN_REDIRECT_URL = "staff:application_list"

LANGUAGE_CODE = "ja"
# The portal's own texts are translated (gettext) to English; the other languages are there
# for form and procedure texts staff translate (madoguchi.translations), the portal's own
# texts falling back to Japanese. ja-x-easy: やさしい日本語 (see translations/languages.py).
LANGUAGES = [
    ("ja", "日本語"),
    ("en", "English"),
    ("ja-x-easy", "やさしい日本語"),
    ("zh-hans", "中文(简体)"),
    ("ko", "한국어"),
    ("vi", "Tiếng Việt"),
    ("pt", "Português"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-not-served/"  # attachments are only served through permission-checked views

STORAGES = {
    # No call to storage inside a database transaction (madoguchi.ops.file_storage).
    "default": {"BACKEND": "madoguchi.ops.file_storage.LocalStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if os.environ.get("STORAGE_S3_BUCKET"):
    # S3-compatible object storage in production (django-storages): attachments, exports,
    # linkage files. Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the
    # platform's role). Files are streamed: uploads in multipart chunks, downloads read from
    # the response body (madoguchi.ops.storage.open_stream), never whole into memory.
    from botocore.config import Config as _BotoConfig

    from madoguchi.ops.storage import transfer_config as _transfer_config

    STORAGES["default"] = {
        "BACKEND": "madoguchi.ops.object_storage.ObjectStorage",
        "OPTIONS": {
            "bucket_name": os.environ["STORAGE_S3_BUCKET"],
            "endpoint_url": os.environ.get("STORAGE_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("STORAGE_S3_REGION") or None,
            "location": os.environ.get("STORAGE_S3_PREFIX", ""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
            "addressing_style": os.environ.get("STORAGE_S3_ADDRESSING_STYLE") or None,
            # A file opened for reading spills to a temporary file past 2 MiB.
            "max_memory_size": 2 * 1024 * 1024,
            # Uploads in 8 MiB parts, one at a time (about 32 MiB of heap per upload, any size).
            "transfer_config": _transfer_config(),
            "client_config": _BotoConfig(
                connect_timeout=float(os.environ.get("STORAGE_S3_CONNECT_TIMEOUT", "5")),
                read_timeout=float(os.environ.get("STORAGE_S3_READ_TIMEOUT", "60")),
                retries={"max_attempts": 3, "mode": "standard"},
                signature_version="s3v4",
            ),
        },
    }

# Uploads: the form engine enforces per-field limits; these are the outer bounds.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# Residents' uploads before submission, per hour: bytes and files per draft and per client
# address (0: no limit). Counted in the shared cache (madoguchi.applications.attachments).
ATTACHMENT_QUOTA_BYTES_PER_DRAFT = int(
    os.environ.get("ATTACHMENT_QUOTA_BYTES_PER_DRAFT", str(60 * 1024 * 1024))
)
ATTACHMENT_QUOTA_FILES_PER_DRAFT = int(os.environ.get("ATTACHMENT_QUOTA_FILES_PER_DRAFT", "30"))
ATTACHMENT_QUOTA_BYTES_PER_CLIENT = int(
    os.environ.get("ATTACHMENT_QUOTA_BYTES_PER_CLIENT", str(300 * 1024 * 1024))
)
ATTACHMENT_QUOTA_FILES_PER_CLIENT = int(os.environ.get("ATTACHMENT_QUOTA_FILES_PER_CLIENT", "150"))
# Confirmation and resume-link mails a resident can have sent, per hour: to one address and
# from one client address (0: no limit).
MAIL_LIMIT_PER_ADDRESS = int(os.environ.get("MAIL_LIMIT_PER_ADDRESS", "5"))
MAIL_LIMIT_PER_CLIENT = int(os.environ.get("MAIL_LIMIT_PER_CLIENT", "20"))

# Sessions: the form data itself lives in a server-side draft, not in the session, so an
# expired session never loses what the resident typed.
SESSION_COOKIE_AGE = 60 * 60 * 8
# Django's database sessions, their read compiled once per process (madoguchi.core.sessions).
SESSION_ENGINE = "madoguchi.core.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and _env_bool("HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000

# マイナンバーカード signatures (identity.jpki): the project's test CA is refused unless this is
# set (tests and demos only); CRLs are loaded with `madoguchi load_trust crl`. A signature is
# judged at マイナポータル's reception time; the signer's own SigningTime may lie at most
# JPKI_SIGNING_TIME_BEFORE_MINUTES before it and JPKI_SIGNING_TIME_AFTER_MINUTES after it
# (docs/jpki.md).
JPKI_ALLOW_TEST_CA = _env_bool("JPKI_ALLOW_TEST_CA", False)
JPKI_REQUIRE_CRL = _env_bool("JPKI_REQUIRE_CRL", False)
JPKI_SIGNING_TIME_BEFORE_MINUTES = float(os.environ.get("JPKI_SIGNING_TIME_BEFORE_MINUTES", "10"))
JPKI_SIGNING_TIME_AFTER_MINUTES = float(os.environ.get("JPKI_SIGNING_TIME_AFTER_MINUTES", "5"))
JPKI_CRL_HISTORY_DAYS = int(os.environ.get("JPKI_CRL_HISTORY_DAYS", "90"))
# Certificate policies a 署名用電子証明書 must carry (comma-separated OIDs); empty: the JPKI
# signing policies of identity.jpki.JPKI_SIGNING_POLICIES.
JPKI_SIGNING_POLICY_OIDS = [
    oid.strip() for oid in os.environ.get("JPKI_SIGNING_POLICY_OIDS", "").split(",") if oid.strip()
] or None

# Behind a load balancer that sets X-Forwarded-For, take the client address from it: read
# from the right, skipping TRUSTED_PROXIES (addresses or networks of our own proxies; empty:
# the one balancer in front, whatever its address). madoguchi.core.client_address.
USE_X_FORWARDED_FOR = _env_bool("USE_X_FORWARDED_FOR", False)
TRUSTED_PROXIES = _env_list("TRUSTED_PROXIES", "")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", False)
# Seconds for connecting to the mail server and for each of its answers (a server that
# accepts and never answers holds one outbox message this long, never a resident).
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "madoguchi@example.lg.jp")

# Outgoing calls (madoguchi.core.outbound, madoguchi.outbox.delivery).
MADOGUCHI_OUTBOUND_CONNECT_TIMEOUT = float(
    os.environ.get("MADOGUCHI_OUTBOUND_CONNECT_TIMEOUT", "5")
)
WEBHOOKS_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOKS_TIMEOUT_SECONDS", "10"))
MYNAPORTAL_TIMEOUT_SECONDS = float(os.environ.get("MYNAPORTAL_TIMEOUT_SECONDS", "30"))
# Internal hosts (names) or networks (CIDR) that webhooks and the マイナポータル URL may reach
# although they are not public addresses: core systems on LGWAN. Empty: public addresses only.
MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = _env_list("MADOGUCHI_OUTBOUND_ALLOWED_HOSTS", "")
# How long a worker's claim on an outbox message holds before another may take it over, and
# how long a request waits for its mail in the embedded default (delivery runs in a thread).
MADOGUCHI_OUTBOX_CLAIM_SECONDS = float(os.environ.get("MADOGUCHI_OUTBOX_CLAIM_SECONDS", "300"))
MADOGUCHI_OUTBOX_WAIT_SECONDS = float(os.environ.get("MADOGUCHI_OUTBOX_WAIT_SECONDS", "1"))

# Background jobs: Celery on Redis in production; inline (eager) in the embedded default.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE

# Logs: JSON lines in production (LOG_FORMAT=json), plain text otherwise; every line has the
# request id; no personal data (madoguchi.ops.logs).
from madoguchi.ops.logs import logging_config as _logging_config  # noqa: E402

LOGGING = _logging_config(
    fmt=os.environ.get("LOG_FORMAT", "plain"), level=os.environ.get("LOG_LEVEL", "INFO")
)

# Static files are served by WhiteNoise; finders let the embedded default run without a
# collectstatic step (production runs collectstatic at deploy time).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# ---------------------------------------------------------------------------------------------
# REST API for core systems (/api/v1/, madoguchi.api): OAuth2 client-credentials tokens,
# problem+json errors, per-client rate limits, OpenAPI 3 by drf-spectacular (ReDoc from the
# sidecar's static files, no CDN).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["madoguchi.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["madoguchi.api.authentication.IsApiClient"],
    "DEFAULT_THROTTLE_CLASSES": ["madoguchi.api.throttling.ClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["madoguchi.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "madoguchi.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNICODE_JSON": True,
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "madoguchi 基幹システム連携API",
    "DESCRIPTION": (
        "申請管理から基幹システムへの連携API（取得・連携済み・処理状況・メモ）。"
        "認証は OAuth2 client credentials（POST /api/v1/token）。"
        "エラーは application/problem+json（RFC 9457）。利用者向けの説明は docs/api/README.md。"
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVERS": [{"url": "/", "description": "この環境"}],
}
# Rows younger than this are left to the next list request (a not yet committed transaction
# may hold an older cursor key): the cursor neither skips nor repeats. Seconds.
API_LIST_SETTLE_SECONDS = float(os.environ.get("API_LIST_SETTLE_SECONDS", "2"))

# ---------------------------------------------------------------------------------------------
# Production at scale (madoguchi.ops; docs/deploy.md): deployment role, shared cache,
# health, metrics, error reporting. Every app server is stateless: sessions, drafts, CSRF,
# TOTP, lockouts, job progress are in PostgreSQL; rate limits and caches in Redis; files in
# object storage.

# 三層の対策: "public" serves the resident and business portals only, "internal" the back
# office (申請管理, API, admin); "all" both (madoguchi.ops.roles).
MADOGUCHI_ROLE = os.environ.get("MADOGUCHI_ROLE", "all").strip().lower()

# The cache shared by every app server (rate limits, throttles): Redis at CACHE_URL, or at
# REDIS_URL when only that is set. A Redis outage makes the cache miss (logged), it does not
# fail requests. Without either, each process keeps its own (the embedded default).
MADOGUCHI_CACHE_URL = os.environ.get("CACHE_URL") or REDIS_URL
if MADOGUCHI_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": MADOGUCHI_CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "madoguchi"),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 1.0,
                "SOCKET_TIMEOUT": 1.0,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "madoguchi.ops.cache"

# Celery with several workers and a broker that may restart: reconnect, and hand a task
# whose worker died back to the queue (every task is safe to run twice).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 4
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    "socket_connect_timeout": 4,
    "socket_timeout": 10,
    "retry_on_timeout": True,
}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0.2,
    "interval_step": 0.5,
    "interval_max": 1.0,
}
CELERY_WORKER_SEND_TASK_EVENTS = False

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Readiness and requests fail fast when the database is unreachable.
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    )
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django's backend with a health check that sends nothing to a connection the server has
    # not closed (ops/postgresql/base.py): a round trip less per request.
    DATABASES["default"]["ENGINE"] = "madoguchi.ops.postgresql"

# /metrics (Prometheus) answers only with "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Optional error reporting (Sentry or a compatible service), with personal data scrubbed.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from madoguchi.ops.errors import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        release=os.environ.get("SENTRY_RELEASE") or None,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )
