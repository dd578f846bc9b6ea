"""Settings for the playground, read from the environment with tiny typed helpers.

Two modes (see README.md):

- **embedded** (the default): SQLite under ``var/``, a Celery broker on the filesystem
  (kombu's ``filesystem://`` transport) and a SQLite-backed channel layer
  (``playground.ops.layers.SQLiteChannelLayer``). No Redis, no PostgreSQL, yet the real worker
  process and the real WebSocket consumer run, across processes.
- **production** (``PLAYGROUND_MODE=production``): ``DJANGO_SECRET_KEY``, ``DATABASE_URL``
  (PostgreSQL) and ``REDIS_URL`` are required; Redis is the Celery broker and the channel
  layer (channels-redis), DEBUG is off.

Each service can also be switched on alone: ``DATABASE_URL`` and ``REDIS_URL`` are honoured in
any mode (the integration tests and ``bench/stream.py`` rely on that).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from playground.env import env_bool, env_float, env_int, env_list, env_str, require

BASE_DIR = Path(__file__).resolve().parent.parent


def database_from_url(url: str) -> dict:
    """``DATABASE_URL`` to ``DATABASES["default"]`` (dj-database-url) with the project's options.

    ``postgres://user:pass@host:port/name?sslmode=...`` (query parameters go to OPTIONS) or
    ``sqlite:////absolute/path`` (four slashes; three for a path relative to the working folder).
    """
    try:
        database = dj_database_url.parse(url)
    except ValueError as exc:  # an unknown scheme, a port that is not a number
        raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from None
    engine = database["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        database["OPTIONS"] = {**SQLITE_OPTIONS["OPTIONS"], **database.get("OPTIONS", {})}
        return database
    if engine != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"DATABASE_URL: {engine} is not supported (PostgreSQL, SQLite)")
    # DATABASE_POOL_MAX_SIZE > 0: a psycopg connection pool in each process (what Django
    # advises under ASGI, where each request runs in a thread of its own: a connection kept
    # with CONN_MAX_AGE would stay with that thread; a pooled one goes back when the
    # request ends). deploy/serve turns it on for daphne.
    pool_max = env_int("DATABASE_POOL_MAX_SIZE", 0)
    if pool_max > 0:
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": pool_max,
            "timeout": 30,
        }
    database["CONN_MAX_AGE"] = 0 if pool_max > 0 else env_int("DATABASE_CONN_MAX_AGE", 0)
    return database


# SQLite shared by the web process and the worker: WAL lets readers run beside the one writer,
# IMMEDIATE transactions take the write lock up front (no deadlock on upgrade), and a generous
# timeout waits for the other process instead of failing with "database is locked".
SQLITE_OPTIONS = {
    "OPTIONS": {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
}


# --- mode ---------------------------------------------------------------------------------------

MODE = env_str("PLAYGROUND_MODE", "embedded")
if MODE not in ("embedded", "production"):
    raise ImproperlyConfigured(f"PLAYGROUND_MODE must be embedded or production, not {MODE!r}")
PRODUCTION = MODE == "production"

VAR_DIR = Path(env_str("PLAYGROUND_VAR_DIR", str(BASE_DIR / "var")))

if PRODUCTION:
    SECRET_KEY = require("DJANGO_SECRET_KEY")
    DATABASE_URL = require("DATABASE_URL")
    REDIS_URL = require("REDIS_URL")
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "embedded-mode-insecure-key-do-not-use-in-production")
    DATABASE_URL = env_str("DATABASE_URL")
    REDIS_URL = env_str("REDIS_URL")

# Off in both modes unless DJANGO_DEBUG=true: Django's debug pages show tracebacks, settings
# and every URL pattern to whoever triggers an error (the playground's own pages do not:
# playground/ops/errors.py). Static files are served by WhiteNoise either way.
DEBUG = env_bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Pages that may open a WebSocket here (playground/ops/origins.py), besides the request's own
# origin (scheme + Host) and CSRF_TRUSTED_ORIGINS: scheme, host and port must all match.
PLAYGROUND_ALLOWED_ORIGINS = env_list(
    "PLAYGROUND_ALLOWED_ORIGINS",
    [
        f"https://{host}" if PRODUCTION else f"http://{host}:{env_int('PORT', 8000)}"
        for host in ALLOWED_HOSTS
        if host not in ("testserver", "*") and not host.startswith(".")
    ],
)


# --- Django -------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",  # sign-in failures per username and per address (AXES_* below)
    "django_htmx",
    "channels",
    "playground",  # the project: wiring, and the migrations that made today's tables
    "playground.ops",
    "playground.accounts",
    "playground.runs",
    "playground.rehearsals",
    "playground.fleets",
    "playground.anatomy",
    "playground.lessons",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "playground.ops.static_serving.AsyncWhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "playground.ops.errors.method_not_allowed_in_words",  # a 405 is a page in words, not blank
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "playground.accounts.access.VisitorMiddleware",
    "playground.ops.errors.refuse_nul",  # a NUL in a lookup is PostgreSQL's DataError, a 500
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into our 429 page
]

ROOT_URLCONF = "playground.urls"
CSRF_FAILURE_VIEW = "playground.ops.errors.csrf_failure"  # our 403 page, no Django internals
ASGI_APPLICATION = "playground.asgi.application"

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
    },
]

if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "playground.sqlite3",
            **SQLITE_OPTIONS,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("PLAYGROUND_STATIC_ROOT", str(VAR_DIR / "static")))  # collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.min.js straight from the installed plotly package (no CDN, no vendored copy)
    "playground.ops.staticfinders.PlotlyFinder",
]
# Embedded mode serves static files from the finders; production from STATIC_ROOT
# (``manage.py collectstatic``), both through WhiteNoise inside the ASGI app.
# (production falls back to the finders when collectstatic has not been run yet)
WHITENOISE_USE_FINDERS = not PRODUCTION or not STATIC_ROOT.is_dir()
WHITENOISE_AUTOREFRESH = DEBUG
if PRODUCTION:  # hashed names cached forever, gzip copies (playground/staticstorage.py)
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "playground.ops.staticstorage.ManifestStaticFilesStorage"},
    }

# --- accounts and HTTPS ---------------------------------------------------------------------------
# Accounts are Django's own (README "Accounts and limits"); who may see what: playground/access.py.
LOGIN_URL = "/accounts/login/"
# django-axes counts failed sign-ins per username and, separately, per client address: past
# PLAYGROUND_LOGIN_FAILURES failures in PLAYGROUND_LOGIN_COOLOFF_S, that username (from anywhere)
# and that address (any username) are refused with 429 and the time to retry, until the oldest
# counted failure is that old (failures while locked out do not extend it).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("PLAYGROUND_LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = env_int("PLAYGROUND_LOGIN_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("PLAYGROUND_LOGIN_COOLOFF_S", 15 * 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False  # a success from one address must not clear another's count
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "playground.accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "playground.accounts.limits.axes_client_ip"
AXES_DISABLE_ACCESS_LOG = True  # failures are what we count; no row per successful sign-in
AXES_VERBOSE = False
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Production defaults are the secure ones (``manage.py check --deploy`` is clean); each can be
# turned off for a server that speaks plain HTTP (the test suite's loopback servers do).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):  # the proxy terminates TLS and says so
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Structured logs: one line per record, ``key=value`` (LOG_FORMAT=kv, the default) or one JSON
# object (LOG_FORMAT=json), with the run id, kind and attempt on every line about a run
# (``playground/logs.py``). The Celery worker logs through the same handler (it does not take
# over the root logger).
LOG_FORMAT = env_str("LOG_FORMAT", "kv")
if LOG_FORMAT not in ("kv", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be kv or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {"()": "playground.ops.logs.StructuredFormatter", "style": LOG_FORMAT}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}


# --- Channels -----------------------------------------------------------------------------------

# redis-py 8 reads with a 5 s socket timeout by default, and channels-redis waits for a
# viewer's next message with a blocking BZPOPMIN of 5 s: a viewer idle for 5 s had its
# consumer torn down ("Timeout reading from ...", close 1011; channels_redis issue #422).
# The read timeout must outlast the blocking pop (still finite: a dead peer is noticed).
REDIS_LAYER_SOCKET_TIMEOUT_S = env_float("PLAYGROUND_REDIS_LAYER_SOCKET_TIMEOUT_S", 15.0)
# redis-py 8 lets a pool hold at most 100 connections and fails the 101st at once ("Too many
# connections"): a classroom of 200 viewers connecting together each take one for their
# ``group_add``, and the overflow was refused with HTTP 500. Redis itself takes 10,000 clients.
REDIS_LAYER_MAX_CONNECTIONS = env_int("PLAYGROUND_REDIS_LAYER_MAX_CONNECTIONS", 1000)
# Every Redis key of this deployment (broker queues, channel groups) starts with this: two
# playgrounds (or two test runs) can share one Redis server without taking each other's tasks.
REDIS_KEY_PREFIX = env_str("PLAYGROUND_REDIS_PREFIX", "")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": REDIS_LAYER_SOCKET_TIMEOUT_S,
                        "max_connections": REDIS_LAYER_MAX_CONNECTIONS,
                    }
                ],
                "capacity": 1000,
                "expiry": 60,
                "prefix": f"{REDIS_KEY_PREFIX}asgi",
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "playground.ops.layers.SQLiteChannelLayer",
            "CONFIG": {"path": str(VAR_DIR / "channels.sqlite3"), "capacity": 1000, "expiry": 60},
        }
    }


# --- Celery -------------------------------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = (
        {"global_keyprefix": REDIS_KEY_PREFIX} if REDIS_KEY_PREFIX else {}
    )
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "playground.ops.broker:Transport"  # messages shown once whole
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
# A message is acknowledged only after its task returned, and a task whose pool process died
# (SIGKILL, the OOM killer, the hard time limit) is handed back to the broker. Neither is
# enough alone (a whole worker killed, or kombu's filesystem transport, keeps no unacked
# message): the run's lease and the reaper (``playground/leases.py``) make sure no run stays
# "running" without a live worker. Redelivering is harmless: the claim is atomic.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env_int("PLAYGROUND_TASK_TIME_LIMIT_S", 3600)  # a hung run is killed
# A broker that goes away (Redis restarted) does not cancel the runs in progress: they finish,
# their events are in the database, and viewers resume from there.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True


# --- the playground -----------------------------------------------------------------------------

# Events go to the channel layer in batches: at most this many per message, and a batch is
# flushed at least this often (seconds of wall time) while the model produces events.
PLAYGROUND_PUBLISH_BATCH_SIZE = env_int("PLAYGROUND_PUBLISH_BATCH_SIZE", 100)
PLAYGROUND_PUBLISH_INTERVAL_S = float(env_str("PLAYGROUND_PUBLISH_INTERVAL_S", "0.05"))
# Fleet runs publish aggregated frames, a batch at most this often (seconds of wall time): a
# viewer gets a few messages a second however many VMs move (the first frame goes at once).
PLAYGROUND_FLEET_PUBLISH_INTERVAL_S = float(env_str("PLAYGROUND_FLEET_PUBLISH_INTERVAL_S", "0.25"))
PLAYGROUND_FLEET_PUBLISH_BATCH_SIZE = env_int("PLAYGROUND_FLEET_PUBLISH_BATCH_SIZE", 100)
# ...and reach it at most this many frames a second, at most one publish interval's worth at
# once: a big run's cheap end (hosts coming back) would otherwise be hundreds of frames in a
# second to every viewer at once. 0: unpaced.
PLAYGROUND_FLEET_FRAMES_PER_S = env_float("PLAYGROUND_FLEET_FRAMES_PER_S", 40.0)
# ...and at most this many bytes of messages in any second (a sliding window over when they are
# published; a region's frames are up to 120 kB, and two in one second were more than a viewer's
# 200 kB/s, #16). 0: no byte budget.
PLAYGROUND_FLEET_STREAM_BYTES_PER_S = env_float("PLAYGROUND_FLEET_STREAM_BYTES_PER_S", 190_000.0)

# Leases (``playground/runs/leases.py``): a worker running a run renews its lease every
# HEARTBEAT_S seconds; a run whose lease is older than LEASE_S is taken back by the reaper
# (every worker runs one every REAP_INTERVAL_S, and a viewer connecting checks its run, at
# most every REAP_INTERVAL_S per run in a daphne process) and
# queued again, or failed with the reason once it was claimed MAX_ATTEMPTS times. A run queued
# for REQUEUE_AFTER_S without a worker claiming it has its task sent again (a message lost
# with a Redis restart); a duplicate is harmless, the claim is atomic.
PLAYGROUND_RUN_HEARTBEAT_S = env_float("PLAYGROUND_RUN_HEARTBEAT_S", 2.0)
PLAYGROUND_RUN_LEASE_S = env_float("PLAYGROUND_RUN_LEASE_S", 30.0)
PLAYGROUND_RUN_MAX_ATTEMPTS = env_int("PLAYGROUND_RUN_MAX_ATTEMPTS", 3)
PLAYGROUND_REAP_INTERVAL_S = env_float("PLAYGROUND_REAP_INTERVAL_S", 10.0)
PLAYGROUND_REQUEUE_AFTER_S = env_float("PLAYGROUND_REQUEUE_AFTER_S", 120.0)
if not 0 < PLAYGROUND_RUN_HEARTBEAT_S * 2 <= PLAYGROUND_RUN_LEASE_S:
    raise ImproperlyConfigured(
        "PLAYGROUND_RUN_LEASE_S must be at least twice PLAYGROUND_RUN_HEARTBEAT_S (and both > 0)"
    )
if PLAYGROUND_RUN_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("PLAYGROUND_RUN_MAX_ATTEMPTS must be >= 1")
# A viewer's consumer re-joins its run's group and checks the database this often while the
# run is not finished, so a lost group (Redis restarted) or a lost message costs a pause only.
PLAYGROUND_VIEWER_RESYNC_S = env_float("PLAYGROUND_VIEWER_RESYNC_S", 3.0)
# /healthz: each check (database, broker, channel layer) must answer within this many seconds.
PLAYGROUND_HEALTH_TIMEOUT_S = env_float("PLAYGROUND_HEALTH_TIMEOUT_S", 3.0)


# --- limits (playground/limits.py; README "Accounts and limits") ---------------------------------
# Starts per user (or anonymous session) in a sliding window; 0 switches a limit off.
PLAYGROUND_RUNS_PER_MINUTE = env_int("PLAYGROUND_RUNS_PER_MINUTE", 20)
PLAYGROUND_SWEEPS_PER_HOUR = env_int("PLAYGROUND_SWEEPS_PER_HOUR", 10)
# a new plan costs a worker as much as a run (a plan already computed costs nothing)
PLAYGROUND_PLANS_PER_MINUTE = env_int("PLAYGROUND_PLANS_PER_MINUTE", 10)
# fleets saved (preset, upload, form): each is a stored scenario, megabytes for a listed upload
PLAYGROUND_FLEETS_PER_HOUR = env_int("PLAYGROUND_FLEETS_PER_HOUR", 60)
PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE = env_int("PLAYGROUND_SCENARIO_CHECKS_PER_MINUTE", 20)
# Accounts created from one client address in any hour (a new account is a new budget).
PLAYGROUND_SIGNUPS_PER_HOUR = env_int("PLAYGROUND_SIGNUPS_PER_HOUR", 5)
# All anonymous sessions from one client address share this many times the budget.
PLAYGROUND_ANONYMOUS_ADDRESS_FACTOR = env_int("PLAYGROUND_ANONYMOUS_ADDRESS_FACTOR", 3)
# WebSockets open at once from one client address, per web process (a lecture hall behind one
# NAT fits); one more is closed with 4429 (playground/accounts/limits.py). 0: no limit.
PLAYGROUND_WEBSOCKETS_PER_CLIENT = env_int("PLAYGROUND_WEBSOCKETS_PER_CLIENT", 300)
# A request body over this many bytes gets 413 before it is read (an upload is at most 2 MB).
PLAYGROUND_MAX_REQUEST_BYTES = env_int("PLAYGROUND_MAX_REQUEST_BYTES", 4 * 1024 * 1024)
# What one run may cost a worker: a run that goes past any of these fails with the reason.
PLAYGROUND_RUN_MAX_EVENTS = env_int("PLAYGROUND_RUN_MAX_EVENTS", 20_000)  # single-VM events
PLAYGROUND_FLEET_MAX_FRAMES = env_int("PLAYGROUND_FLEET_MAX_FRAMES", 20_000)  # fleet frames
PLAYGROUND_RUN_MAX_WALL_S = env_float("PLAYGROUND_RUN_MAX_WALL_S", 900.0)  # either, wall time
# Views that burn CPU (password hashing) run in a pool thread, not Django's one sync thread
# (playground/ops/offload.py); the test suite turns this off (its transaction is per thread).
PLAYGROUND_VIEWS_IN_WORKER_THREADS = True
