"""Settings for the test suite: the machine's PostgreSQL and Redis unless told otherwise.

Set PARLEY_TEST_EMBEDDED=1 to run against SQLite and the in-memory layer instead (the
suite then skips what truly needs PostgreSQL, and says so).
"""

import os
import uuid

if os.environ.get("PARLEY_TEST_EMBEDDED") != "1":
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
else:
    os.environ.setdefault("CHANNEL_LAYER_BACKEND", "memory")
    # No Redis runs beside the embedded tier: kombu's in-memory transport takes the tasks
    # the services queue (nothing consumes them here, as with the real broker).
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# Redis pub/sub channels ignore the DB number, and cache keys and Celery's queues outlive a
# run: each run gets its own prefix (subprocesses inherit it through the environment), so
# a parallel or earlier run's leftovers (a cached position, a queued task) never reach it.
os.environ.setdefault(
    "REDIS_KEY_PREFIX",
    f"t-{os.environ.get('PARLEY_TEST_DB_NAME', 'parley')}-{uuid.uuid4().hex[:8]}",
)
# Servers the tests start (runparley, daphne) serve static files from the sources: they
# would otherwise run collectstatic (half a minute of compression) in every temporary data
# folder (tests/test_static.py covers when runparley collects).
os.environ.setdefault("STATIC_FROM_FINDERS", "true")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
# live_server runs the ORM from the browser test's thread; Django refuses that by default.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault(
    "PARLEY_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test")
)

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Every test Client builds the middleware again, and WhiteNoise without autorefresh scans
# every static file through the finders when it is built (60 ms, a tenth of tests/chat's
# time); with it, a file is looked up when asked for. The servers the tests start (browser
# and live tiers) use config.settings, as production does.
WHITENOISE_AUTOREFRESH = True
DEBUG = False
PARLEY = {**PARLEY, "WS_RATE_PER_SECOND": 50.0, "WS_RATE_BURST": 100}  # noqa: F405
# Batched writes (heartbeats, customers' last_seen_at) are stored when a test flushes them,
# not by a background thread at a moment that races the test's assertions.
for _name in ("HEARTBEAT_FLUSH_SECONDS", "CUSTOMER_SEEN_FLUSH_SECONDS"):
    if _name not in os.environ:
        PARLEY[_name] = 3600.0
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Parallel runs (several developers or helpers on one machine) each set their own name.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":  # noqa: F405
    # Connections opened by consumer threads must not outlive a test (teardown drops the DB,
    # after closing the pool, which the suite uses as production does).
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.pg_backend"  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("PARLEY_TEST_DB_NAME", "test_parley")}  # noqa: F405
    # DATABASE_REPLICA_URL's alias, as a mirror of the test database (no pool: a test that
    # uses it closes it, so nothing holds the database when the run drops it). Reports
    # read the primary unless a test sets REPORTS_DATABASE (tests/supervision/).
    DATABASES["replica"] = {  # noqa: F405
        **{k: v for k, v in DATABASES["default"].items() if k != "OPTIONS"},  # noqa: F405
        "OPTIONS": {
            k: v
            for k, v in DATABASES["default"].get("OPTIONS", {}).items()  # noqa: F405
            if k != "pool"
        },
        "CONN_MAX_AGE": 0,
        "TEST": {"MIRROR": "default"},
    }
    # Keep DB_THREADS under the pool (README): each socket database thread can hold a pooled
    # connection, and a test's own threads need one too (runs set a small pool to share
    # PostgreSQL's 100 connections).
    if "DB_THREADS" not in os.environ and DATABASE_POOL_MAX_SIZE > 0:  # noqa: F405
        PARLEY["DB_THREADS"] = max(2, min(PARLEY["DB_THREADS"], DATABASE_POOL_MAX_SIZE - 2))  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The same SQLite, whose test flush keeps the reference data (tests/sqlite_backend).
    DATABASES["default"]["ENGINE"] = "tests.sqlite_backend"  # noqa: F405
if os.environ.get("PARLEY_TEST_EMBEDDED") == "1":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # No Redis in this tier: quotas fail open (chat/quotas.py) for the whole run rather than
    # refusing everyone after QUOTA_FAIL_OPEN_SECONDS. Their own tests need Redis.
    PARLEY["QUOTA_FAIL_OPEN_SECONDS"] = 10.0**9
# Webhook tests post to a receiver on loopback; rules run right after the commit.
PARLEY_INTEGRATIONS = {
    **PARLEY_INTEGRATIONS,  # noqa: F405
    "WEBHOOK_ALLOW_PRIVATE": True,
    "WEBHOOK_TIMEOUT": 2.0,
    "RULES_DISPATCH": "inline",
}
