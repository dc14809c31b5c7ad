"""Wedge settings, read from the environment (see README "Configuration")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config.env import (
    env_bool,
    env_choice,
    env_database,
    env_float,
    env_int,
    env_list,
    env_owner_database,
    env_str,
    env_url,
)
from wedges.policy.codes import MAX_STAGE_HOURS, MIN_OBSERVATION_WINDOW_HOURS

# Lets admin classes and querysets be subscripted at runtime (ModelAdmin[Event]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("WEDGE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
_DEV_SECRET = "insecure-development-key-only-for-debug-mode"
# A local instance (`make run`) keeps a generated key in var/secret_key, so
# management commands run from a shell find the same key as the servers.
_LOCAL_SECRET = VAR_DIR / "secret_key"
SECRET_KEY = env_str(
    "SECRET_KEY",
    _LOCAL_SECRET.read_text().strip()
    if _LOCAL_SECRET.is_file()
    else (_DEV_SECRET if DEBUG else None),
)
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set to a real secret when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "pgtrigger",
    "axes",
    "csp",
    "org",
    "audit",
    "webhooks",
    "policies",
    "wedges",
    "providers",
    "waivers",
    "gates",
    "freezes",
    "governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "org.middleware.IdleSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it sees the sign-in view's response and can replace it.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "org.context_processors.navigation",
            ],
        },
    },
]

# The application connects as DATABASE_URL's role. On PostgreSQL that role
# should own nothing: DATABASE_OWNER_URL (the "owner" alias) names the role that
# owns the schema; `migrate` runs as it and grants the application role only
# what it needs (audit.roles), so the application cannot disable the audit
# triggers or rewrite the trail. SQLite has no roles and needs neither.
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'wedge.sqlite3'}")}
_OWNER_DATABASE = env_owner_database("DATABASE_OWNER_URL", DATABASES["default"])
if _OWNER_DATABASE is not None:
    DATABASES["owner"] = _OWNER_DATABASE
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"

AUTHENTICATION_BACKENDS = [
    # First: refuses every attempt while a user name or an address is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (clean `check --deploy` when DEBUG is off) -------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # pages carry the token in their markup; no script reads the cookie
# Idle expiry: a session ends this long after its last request
# (org.middleware.IdleSessionMiddleware keeps it alive while it is used).
SESSION_COOKIE_AGE = env_int("WEDGE_SESSION_IDLE_SECONDS", 8 * 3600, minimum=60)
# Reverse proxies in front of the app that append to X-Forwarded-For; the
# client address that lockouts and throttles count by (org.clients).
WEDGE_TRUSTED_PROXIES = env_int("WEDGE_TRUSTED_PROXIES", 0, minimum=0)

# Sign-in protection (django-axes): after WEDGE_SIGN_IN_FAILURE_LIMIT failures
# for one user name, or from one address, sign-in is refused for both for
# WEDGE_SIGN_IN_LOCKOUT_MINUTES, even with the right password.
AXES_FAILURE_LIMIT = env_int("WEDGE_SIGN_IN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("WEDGE_SIGN_IN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A fixed lockout: attempts while locked are refused but not counted, so
# they neither extend it nor fill the attempt log.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "org.views.sign_in_locked_out"
AXES_CLIENT_IP_CALLABLE = "org.clients.client_ip"
AXES_VERBOSE = False

# API tokens: failing keys per client address and minute before 429s.
WEDGE_API_TOKEN_FAILURES_PER_MINUTE = env_int("WEDGE_API_TOKEN_FAILURES_PER_MINUTE", 20, minimum=1)

# Content-Security-Policy on every response (django-csp): everything from this
# origin, no inline script or style, no eval. data: images are Pico's icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns anonymous calls into 401s.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wedge API",
    "DESCRIPTION": "Control plane for staged rollouts: proposals, rollout wedges, waivers, audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {
        "EventCodeEnum": "audit.codes.EventCode",
        "WedgeStateEnum": "wedges.models.State",
    },
}
# Largest request body the API accepts; bigger bodies get a 413-shaped 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("WEDGE_MAX_BODY_BYTES", 256 * 1024, minimum=1024)
WEDGE_MAX_JSON_DEPTH = 32

# --- Celery -----------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes={"redis", "rediss"})
# The cache holds the failed-token throttle's counts: shared by every process
# on Redis; per process in the embedded default.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    # Embedded default: a broker on the filesystem, so `make run` needs no Redis.
    # Every process that may queue a task (runserver, shell, a management
    # command) makes the folders itself: the transport and the result backend
    # refuse to start without them.
    _broker_dir = VAR_DIR / "broker"
    _results_dir = VAR_DIR / "results"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    _results_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Without it the exchange tables land in ./control of whatever
        # directory the process started in.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{_results_dir}"
# Two kinds of work, two queues, two worker pools (see Procfile): the engine's
# periodic work must never wait behind deliveries to a slow receiver.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Each queue with its own direct exchange and routing key, so a message
# published by exchange and key reaches that queue alone.
# Metric polls have a pool of their own: a poll round waits on metric providers
# for up to their timeout, and must delay neither the tick nor a delivery.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("engine", "webhooks", "metrics", CELERY_TASK_DEFAULT_QUEUE)
]
CELERY_TASK_ROUTES = {
    "wedges.tasks.*": {"queue": "engine"},  # the tick
    "waivers.tasks.*": {"queue": "engine"},  # waiver expiry
    "audit.tasks.*": {"queue": "engine"},
    "webhooks.tasks.*": {"queue": "webhooks"},  # fan-out, deliveries, the outbox re-drive
    "providers.tasks.*": {"queue": "metrics"},  # polling the metric providers
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# The rollout engine's clocks (seconds).
WEDGE_TICK_SECONDS = env_float("WEDGE_TICK_SECONDS", 5.0, minimum=0.5)
WEDGE_OUTBOX_REDRIVE_SECONDS = env_float("WEDGE_OUTBOX_REDRIVE_SECONDS", 15.0, minimum=1.0)
WEDGE_SNAPSHOT_FRESHNESS_SECONDS = env_int("WEDGE_SNAPSHOT_FRESHNESS_SECONDS", 600, minimum=1)
WEDGE_WAIVER_EXPIRY_SECONDS = env_float("WEDGE_WAIVER_EXPIRY_SECONDS", 300.0, minimum=1.0)
# Metric snapshots older than this are pruned (the audit trail keeps a copy of
# every decision's snapshot, and each wedge keeps its latest), by beat every
# WEDGE_SNAPSHOT_PRUNE_SECONDS in short batches.
WEDGE_SNAPSHOT_RETENTION_DAYS = env_int("WEDGE_SNAPSHOT_RETENTION_DAYS", 30, minimum=1)
WEDGE_SNAPSHOT_PRUNE_SECONDS = env_float("WEDGE_SNAPSHOT_PRUNE_SECONDS", 600.0, minimum=1.0)
# The longest duration_hours and observation_window_hours a submitted wedge may
# declare; the policy core's limit (a year) is the most it can be.
WEDGE_MAX_STAGE_HOURS = env_float(
    "WEDGE_MAX_STAGE_HOURS", MAX_STAGE_HOURS, minimum=MIN_OBSERVATION_WINDOW_HOURS
)
if WEDGE_MAX_STAGE_HOURS > MAX_STAGE_HOURS:
    raise ImproperlyConfigured(
        f"WEDGE_MAX_STAGE_HOURS must be at most {MAX_STAGE_HOURS:g}, got {WEDGE_MAX_STAGE_HOURS:g}."
    )
# Webhook deliveries: per-attempt timeout, attempts before giving up, backoff cap.
WEDGE_WEBHOOK_TIMEOUT_SECONDS = env_float("WEDGE_WEBHOOK_TIMEOUT_SECONDS", 5.0, minimum=0.1)
WEDGE_WEBHOOK_MAX_ATTEMPTS = env_int("WEDGE_WEBHOOK_MAX_ATTEMPTS", 12, minimum=1)
WEDGE_WEBHOOK_BACKOFF_CAP_SECONDS = env_int("WEDGE_WEBHOOK_BACKOFF_CAP_SECONDS", 300, minimum=1)
# Attempts one subscription may have in flight at once: a slow receiver holds
# at most this many delivery workers.
WEDGE_WEBHOOK_MAX_IN_FLIGHT = env_int("WEDGE_WEBHOOK_MAX_IN_FLIGHT", 1, minimum=1)
# The circuit breaker: this many failures in a row open a subscription's
# circuit for the cooldown (doubling while trial attempts fail, at most the backoff cap).
WEDGE_WEBHOOK_CIRCUIT_FAILURES = env_int("WEDGE_WEBHOOK_CIRCUIT_FAILURES", 5, minimum=1)
WEDGE_WEBHOOK_CIRCUIT_COOLDOWN_SECONDS = env_int(
    "WEDGE_WEBHOOK_CIRCUIT_COOLDOWN_SECONDS", 30, minimum=1
)
WEDGE_WEBHOOK_MAX_SUBSCRIPTIONS_PER_SECTION = env_int(
    "WEDGE_WEBHOOK_MAX_SUBSCRIPTIONS_PER_SECTION", 20, minimum=1
)
# Where deliveries may go (webhooks/destinations.py). By default public addresses
# only, checked at registration and again at every attempt after resolving the
# name; a local instance, the tests and receivers on one's own network allow
# private ones. Plain http only with DEBUG on, unless allowed.
WEDGE_WEBHOOK_ALLOW_PRIVATE = env_bool("WEDGE_WEBHOOK_ALLOW_PRIVATE", False)
WEDGE_WEBHOOK_ALLOW_HTTP = env_bool("WEDGE_WEBHOOK_ALLOW_HTTP", DEBUG)
# Where people reach this instance (https://wedge.example.com): the links in
# Slack, Teams and CDEvents notifications to a proposal's page. Unset: the
# messages carry no link.
WEDGE_SITE_URL = (env_url("WEDGE_SITE_URL", schemes={"http", "https"}) or "").rstrip("/")

# --- Metric providers (providers/) -------------------------------------------
# Every interval, each running wedge with metric queries is polled; its values
# go through the same snapshot service as a push. After this many failures in a
# row of one query the wedge is paused (RWG-002).
WEDGE_METRICS_POLL_SECONDS = env_float("WEDGE_METRICS_POLL_SECONDS", 10.0, minimum=1.0)
WEDGE_METRICS_FAILURE_LIMIT = env_int("WEDGE_METRICS_FAILURE_LIMIT", 3, minimum=1)
# Wedges one poll task claims: the due wedges are spread over the metrics
# pool's processes in batches of this size.
WEDGE_METRICS_BATCH = env_int("WEDGE_METRICS_BATCH", 200, minimum=1)
# Threads that write a batch's results to the database (0: the polling thread itself).
WEDGE_METRICS_RECORDERS = env_int("WEDGE_METRICS_RECORDERS", 2, minimum=0)
# A default provider named "prometheus", besides those an admin configures.
WEDGE_PROMETHEUS_URL = env_url("WEDGE_PROMETHEUS_URL", schemes={"http", "https"})
WEDGE_PROMETHEUS_BEARER_TOKEN = env_str("WEDGE_PROMETHEUS_BEARER_TOKEN", "")
WEDGE_PROMETHEUS_TIMEOUT_SECONDS = env_float("WEDGE_PROMETHEUS_TIMEOUT_SECONDS", 5.0, minimum=0.1)
if WEDGE_PROMETHEUS_TIMEOUT_SECONDS > 60:
    raise ImproperlyConfigured(
        f"WEDGE_PROMETHEUS_TIMEOUT_SECONDS must be at most 60, got "
        f"{WEDGE_PROMETHEUS_TIMEOUT_SECONDS:g}."
    )

# --- Audit anchors --------------------------------------------------------------
# Beat records the audit chain's head (id, hash, time) outside the database
# every interval; `verify_audit --anchors FILE` checks every recorded head is
# still in the chain, so a rewrite that recomputes every later hash is caught.
# Sinks: "log" (a JSON line in the log), "file" (appended JSON lines), "webhook"
# (a signed POST; X-Wedge-Signature as for webhook deliveries).
WEDGE_AUDIT_ANCHOR_SECONDS = env_float("WEDGE_AUDIT_ANCHOR_SECONDS", 3600.0, minimum=1.0)
# How often beat re-verifies the whole audit chain for the audit page (audit.checkpoint).
WEDGE_AUDIT_VERIFY_SECONDS = env_float("WEDGE_AUDIT_VERIFY_SECONDS", 3600.0, minimum=1.0)
WEDGE_AUDIT_ANCHOR_SINK = env_choice("WEDGE_AUDIT_ANCHOR_SINK", "log", {"log", "file", "webhook"})
WEDGE_AUDIT_ANCHOR_FILE = Path(
    env_str("WEDGE_AUDIT_ANCHOR_FILE", str(VAR_DIR / "audit-anchors.jsonl"))
)
WEDGE_AUDIT_ANCHOR_URL = env_url("WEDGE_AUDIT_ANCHOR_URL", schemes={"http", "https"})
WEDGE_AUDIT_ANCHOR_SECRET = env_str("WEDGE_AUDIT_ANCHOR_SECRET", "")
if WEDGE_AUDIT_ANCHOR_SINK == "webhook" and not (
    WEDGE_AUDIT_ANCHOR_URL and WEDGE_AUDIT_ANCHOR_SECRET
):
    raise ImproperlyConfigured(
        "WEDGE_AUDIT_ANCHOR_SINK=webhook needs WEDGE_AUDIT_ANCHOR_URL and "
        "WEDGE_AUDIT_ANCHOR_SECRET (or WEDGE_AUDIT_ANCHOR_SECRET_FILE)."
    )

# --- Email --------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "wedge@localhost")
# Where people reach this site: links in emails are absolute (a mail client has
# no page to be relative to). `make run` sets it to its own address.
WEDGE_SITE_URL = (
    env_url("WEDGE_SITE_URL", schemes={"http", "https"}) or "http://127.0.0.1:8000"
).rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
