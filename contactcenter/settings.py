"""Settings for the contact center, read from the environment in this one place.

Embedded defaults let `make run` start on a bare machine: no DATABASE_URL means a SQLite
file, no REDIS_URL means Channels' in-memory layer and Celery tasks run eagerly in-process.
With DEBUG off, SECRET_KEY and FIELD_ENCRYPTION_KEY must be given.
"""

import base64
import hashlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# --- Secrets --------------------------------------------------------------------------

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)


def _require_secret(name: str) -> str:
    value = env.str(name, default="")
    if not value and not DEBUG:
        raise ImproperlyConfigured(
            f"{name} is not set. It is required when DEBUG is off; "
            f"set {name} in the environment (see README, Configuration)."
        )
    return value


SECRET_KEY = _require_secret("SECRET_KEY") or _DEV_SECRET_KEY

_field_keys = _require_secret("FIELD_ENCRYPTION_KEY")
if _field_keys:
    # Several comma-separated Fernet keys rotate: the first encrypts, all decrypt.
    FIELD_ENCRYPTION_KEY = [k.strip() for k in _field_keys.split(",") if k.strip()]
else:
    # DEBUG only: a stable development key derived from the development secret, so data
    # written by one `make run` stays readable by the next.
    FIELD_ENCRYPTION_KEY = [
        base64.urlsafe_b64encode(hashlib.sha256(b"field-key:" + SECRET_KEY.encode()).digest()).decode()
    ]

# --- Hosts and URLs -------------------------------------------------------------------

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public address platforms use to reach our webhooks; the admin builds URLs from it.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Applications ---------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "encrypted_model_fields",
    "axes",
    "contactcenter",
    "integrations",
    "conversations",
    "scenarios",
    "agentdesk",
    "simulator",
    "api",
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
    # A NUL in a query parameter reaches PostgreSQL (admin filters) and fails there: 400 first.
    "contactcenter.middleware.RejectNulMiddleware",
    # Last: turns a locked-out login (django-axes) into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "contactcenter.urls"

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

WSGI_APPLICATION = "contactcenter.wsgi.application"
ASGI_APPLICATION = "contactcenter.asgi.application"

# --- Database -------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if DATABASE_IS_POSTGRES:
    # Under ASGI each request runs on a fresh thread, so persistent connections leak;
    # psycopg's pool bounds and reuses them instead (performance.md, section 4).
    _pool_max = env.int("DATABASE_POOL_MAX_SIZE", default=10)
    if _pool_max > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": _pool_max,
            "timeout": 10,
        }
else:
    # SQLite as a concurrent server (architecture.md, section 5): WAL lets readers go on while
    # one writer writes; IMMEDIATE takes the write lock when a transaction begins, so a writer
    # waits (busy timeout) instead of failing with "database is locked" when it upgrades a
    # read lock mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
# Tests may start server processes (Daphne, Celery) that must see the test database, so
# SQLite tests use a file, never the in-memory default.
_default_test_name = None if DATABASE_IS_POSTGRES else str(BASE_DIR / "var" / "test.sqlite3")
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="") or _default_test_name}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Channels, Celery, cache ---------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
CHANNELS_PREFIX = env.str("CHANNELS_PREFIX", default="cc")
# Tests run in parallel (pytest-xdist sets PYTEST_XDIST_WORKER=gwN in each worker): like its own
# test database, each worker gets its own Redis database and channel-layer prefix (pub/sub
# channels are shared by all databases), so brokers, hints and rate limits never mix. The
# servers and Celery workers a test starts get the resulting values explicitly.
_XDIST_WORKER = env.str("PYTEST_XDIST_WORKER", default="")
if REDIS_URL and _XDIST_WORKER.startswith("gw"):
    _url = urlsplit(REDIS_URL)
    _db = int(_url.path.strip("/") or 0) + int(_XDIST_WORKER[2:])
    REDIS_URL = urlunsplit(_url._replace(path=f"/{_db % 16}"))
    CHANNELS_PREFIX = f"{CHANNELS_PREFIX}-{_XDIST_WORKER}"

if REDIS_URL:
    # The pub/sub layer is the lighter and faster of channels_redis' two layers; it is
    # at-most-once like the other, and the desktop resyncs from the database anyway.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNELS_PREFIX},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Eager (in-process) without a broker; tests set it explicitly to keep most tasks in-process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=DEBUG)

# --- Auth, i18n, static ---------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/agent/login/"

# Login throttling (django-axes) for the admin, the desktop and the API's Basic auth: every
# one of them calls django.contrib.auth.authenticate with the request, which axes guards.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_MINUTES", default=15.0) / 60  # hours
# Per user name and client address: a typo-prone office behind one NAT address does not lock
# itself out, and a guesser cannot lock out an agent from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
# Behind a proxy the client address is the last X-Forwarded-For hop the proxy added.
AXES_IPWARE_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
# Serve straight from the app and project folders, so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Every request body is bounded while it arrives (contactcenter.bodylimit): webhooks, admin
# forms and API calls are all far smaller. The proxy should refuse earlier (README).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)

# Chat attachments (pictures, files, voice) in both directions go through Django's storage
# API: files under var/media by default; any django-storages backend in production, e.g.
# MEDIA_STORAGE_BACKEND=storages.backends.s3.S3Storage with its AWS_* settings (README).
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": env.str("MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Our own ceiling on one attachment, either way (each platform's own limit may be lower).
MEDIA_MAX_BYTES = env.int("MEDIA_MAX_BYTES", default=25 * 1024 * 1024)
# How long a signed link to one of our files, offered to a platform to fetch, stays valid.
MEDIA_LINK_SECONDS = env.int("MEDIA_LINK_SECONDS", default=3600)
# The agent's attachment upload is the one body allowed past MAX_REQUEST_BODY_BYTES.
MEDIA_UPLOAD_PATH_PREFIX = "/agent/attachments/"

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG and PUBLIC_BASE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Served over https (the production shape behind a TLS proxy): the proxy says which scheme
# the client used, plain http is redirected, and browsers are told to stay on https.
_HTTPS = not DEBUG and PUBLIC_BASE_URL.startswith("https")
if env.bool("SECURE_PROXY_SSL_HEADER", default=_HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_HTTPS)
# The proxy's own health check may come over plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _HTTPS else 0)
# Subdomains and the preload list are the domain owner's decision (check --deploy W005/W021).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

# --- REST API -------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Contact Center API",
    "VERSION": "1.0.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI and Redoc from the installed drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# Requests per API token (or per user on a session), DRF rate syntax; over it: 429 + Retry-After.
API_TOKEN_THROTTLE_RATE = env.str("API_TOKEN_THROTTLE_RATE", default="1200/min")

# --- Messenger platforms --------------------------------------------------------------

TELEGRAM_API_BASE = env.str("TELEGRAM_API_BASE", default="https://api.telegram.org")
FACEBOOK_GRAPH_API_BASE = env.str("FACEBOOK_GRAPH_API_BASE", default="https://graph.facebook.com/v19.0")
LINE_API_BASE = env.str("LINE_API_BASE", default="https://api.line.me")
VIBER_API_BASE = env.str("VIBER_API_BASE", default="https://chatapi.viber.com/pa")
VONAGE_API_BASE = env.str("VONAGE_API_BASE", default="https://api.nexmo.com")
VONAGE_REST_BASE = env.str("VONAGE_REST_BASE", default="https://rest.nexmo.com")
# An account's "API base URL" override may only name public https hosts, or start with one
# of these prefixes (the simulator's own address, where the simulator is served).
_simulator_api = [f"{PUBLIC_BASE_URL}/simulator/api/"] if env.bool("SIMULATOR_ENABLED", default=DEBUG) else []
PLATFORM_API_BASE_ALLOWED = env.list("PLATFORM_API_BASE_ALLOWED", default=_simulator_api)
# Connect and read timeouts (seconds) for every platform call.
PLATFORM_HTTP_TIMEOUT = (
    env.float("PLATFORM_CONNECT_TIMEOUT", default=5.0),
    env.float("PLATFORM_READ_TIMEOUT", default=15.0),
)

# --- Agent Desktop ----------------------------------------------------------------------

# An agent with no open desktop stays logged in this long (a dropped network is not a logout).
AGENTDESK_PRESENCE_GRACE_SECONDS = env.int("AGENTDESK_PRESENCE_GRACE_SECONDS", default=60)
AGENTDESK_HEARTBEAT_SECONDS = env.int("AGENTDESK_HEARTBEAT_SECONDS", default=5)

# A customer writes to an account on no enabled scenario entry (the admin flags such accounts):
# "close" tells them UNROUTED_CHAT_MESSAGE (empty: nothing) and closes the chat, so nobody waits
# in silence; "keep" leaves the chat open, unrouted, until an entry takes the account.
UNROUTED_CHAT_ACTION = env.str("UNROUTED_CHAT_ACTION", default="close")
if UNROUTED_CHAT_ACTION not in ("close", "keep"):
    raise ImproperlyConfigured('UNROUTED_CHAT_ACTION must be "close" or "keep".')
UNROUTED_CHAT_MESSAGE = env.str(
    "UNROUTED_CHAT_MESSAGE", default="Sorry, nobody can answer on this channel yet. Please try again later."
)

# The messenger simulator: on by default under `make run`, off in production.
SIMULATOR_ENABLED = env.bool("SIMULATOR_ENABLED", default=DEBUG)

# --- Logging --------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # json | text
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "contactcenter.logging.RedactSecretsFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # urllib3 logs request lines, and a Telegram URL carries the bot token.
        "urllib3": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
        # In-process (eager) tasks, the embedded beat's sweepers among them, would log every run.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}

# --- Outbound delivery (integrations.delivery) ---------------------------------------

from kombu import Queue  # noqa: E402

# Sends have their own queue so a dedicated worker can take them (`-Q outbound`), and so has
# the webhook inbox processor (`-Q inbox`): the customer's message is never queued behind
# scenario steps and sweeps. A worker started without -Q consumes all three. Late
# acknowledgement is set on the send task itself.
CELERY_TASK_QUEUES = (Queue("celery"), Queue("inbox"), Queue("outbound"))
CELERY_TASK_ROUTES = {
    "integrations.tasks.send_outbound": {"queue": "outbound"},
    "integrations.tasks.process_inbox": {"queue": "inbox"},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# An unacknowledged task comes back after this long (kombu's default, made explicit): no
# countdown may come near it (SCHEDULER_MAX_COUNTDOWN); the sweeper covers lost tasks sooner.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
OUTBOUND_SWEEP_INTERVAL = env.float("OUTBOUND_SWEEP_INTERVAL", default=15.0)  # seconds between sweeps (beat)
OUTBOUND_SENDING_TIMEOUT = env.float("OUTBOUND_SENDING_TIMEOUT", default=90.0)  # "sending" this long = worker lost
OUTBOUND_QUEUED_GRACE = env.float("OUTBOUND_QUEUED_GRACE", default=30.0)  # queued and due this long = task lost
OUTBOUND_MAX_ATTEMPTS = env.int("OUTBOUND_MAX_ATTEMPTS", default=8)
OUTBOUND_MAX_AGE = env.float("OUTBOUND_MAX_AGE", default=24 * 3600.0)  # seconds; older queued messages fail
OUTBOUND_BACKOFF_BASE = env.float("OUTBOUND_BACKOFF_BASE", default=2.0)
OUTBOUND_BACKOFF_CAP = env.float("OUTBOUND_BACKOFF_CAP", default=300.0)
# Off only to measure raw send capacity (`make bench`): the platforms' caps are then not kept.
OUTBOUND_RATE_LIMIT = env.bool("OUTBOUND_RATE_LIMIT", default=True)
# The sender (integrations.sender) claims this many due messages a round and sends them side by
# side on at most this many threads per process.
OUTBOUND_BATCH_SIZE = env.int("OUTBOUND_BATCH_SIZE", default=50)
OUTBOUND_SEND_THREADS = env.int("OUTBOUND_SEND_THREADS", default=50)

# --- Outgoing event webhooks (api.event_webhooks) -------------------------------------

EVENT_WEBHOOK_TIMEOUT = (
    env.float("EVENT_WEBHOOK_CONNECT_TIMEOUT", default=3.0),
    env.float("EVENT_WEBHOOK_READ_TIMEOUT", default=10.0),
)
EVENT_WEBHOOK_MAX_ATTEMPTS = env.int("EVENT_WEBHOOK_MAX_ATTEMPTS", default=10)
EVENT_WEBHOOK_BACKOFF_BASE = env.float("EVENT_WEBHOOK_BACKOFF_BASE", default=5.0)  # seconds
EVENT_WEBHOOK_BACKOFF_CAP = env.float("EVENT_WEBHOOK_BACKOFF_CAP", default=3600.0)
EVENT_WEBHOOK_SENDING_TIMEOUT = env.float("EVENT_WEBHOOK_SENDING_TIMEOUT", default=120.0)

# --- Scheduling (contactcenter.scheduling): countdowns and the one beat schedule ---------

# Countdowns longer than this are left to the sweepers (a row keeps its own deadline).
SCHEDULER_MAX_COUNTDOWN = env.float(
    "SCHEDULER_MAX_COUNTDOWN", default=env.float("OUTBOUND_MAX_COUNTDOWN", default=60.0)
)
# A webhook process wakes the inbox processor at most once per this many seconds (the calls
# in between share one trailing wake-up): integrations.wakeup. 0 = a wake-up per delivery.
INBOX_WAKE_WINDOW = env.float("INBOX_WAKE_WINDOW", default=0.005)
OUTBOUND_WAKE_WINDOW = env.float("OUTBOUND_WAKE_WINDOW", default=0.005)  # the same for the outbound sender
# Processed inbox rows (the dedupe keys of platform events) are deleted after this many days.
INBOX_RETENTION_DAYS = env.float("INBOX_RETENTION_DAYS", default=7.0)
CHAT_EVENT_SWEEP_INTERVAL = env.float("CHAT_EVENT_SWEEP_INTERVAL", default=2.0)
# A chat event not dispatched this long after it was recorded is dispatched by the sweeper.
CHAT_EVENT_GRACE = env.float("CHAT_EVENT_GRACE", default=5.0)
CELERY_BEAT_SCHEDULE = {
    "webhook inbox": {"task": "integrations.tasks.process_inbox", "schedule": 1.0},
    "chat events": {"task": "conversations.tasks.sweep_chat_events", "schedule": CHAT_EVENT_SWEEP_INTERVAL},
    "outbound sweep": {"task": "integrations.tasks.sweep_outbound", "schedule": OUTBOUND_SWEEP_INTERVAL},
    "media fetch sweep": {"task": "integrations.tasks.sweep_media", "schedule": 30.0},
    "scenario timers": {"task": "scenarios.tasks.fire_due_timers", "schedule": 1.0},
    "chat inactivity": {"task": "scenarios.tasks.sweep_inactivity", "schedule": 1.0},
    "agent desk deadlines": {"task": "agentdesk.tasks.sweep_deadlines", "schedule": 2.0},
    "event webhook sweep": {"task": "api.tasks.sweep_event_webhooks", "schedule": 15.0},
    "webhook inbox retention": {"task": "integrations.tasks.prune_inbox", "schedule": 3600.0},
}
# Under the embedded default (eager tasks: no worker, no beat) the server process runs the
# beat schedule itself (contactcenter.embedded.start_beat). Tests start it where they need it.
EMBEDDED_BEAT = env.bool("EMBEDDED_BEAT", default=CELERY_TASK_ALWAYS_EAGER)
