"""Django settings, read from the environment (see README: Settings)."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from topology.environment import (
    default_docker_host,
    env_file_path,
    load_env_file,
    read_bool,
    read_choice,
    read_docker_tag,
    read_list,
    read_number,
    read_secret_key,
    read_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# Development defaults from the set-up's git-ignored env file; the real environment wins.
load_env_file(env_file_path(BASE_DIR))
VAR_DIR = Path(os.environ.get("TOPOLOGY_VAR_DIR", BASE_DIR / "var"))
RUN_DIR = VAR_DIR / "run"

DEBUG = read_bool("DEBUG", False)
SECRET_KEY = read_secret_key()
# The installation's key for the labels the poller trusts (``topology.endpoint-signature`` on a
# DinD container the project made): derived from SECRET_KEY, so it is per installation.
TOPOLOGY_LABEL_KEY = hmac.new(SECRET_KEY.encode(), b"topology.endpoint-label", "sha256").digest()
ALLOWED_HOSTS = read_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = read_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "channels",
    "topology.inventory",
    "topology.demos",
    "topology.teams",
    "topology.dashboards",
    "django_filters",
    "drf_spectacular",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "topology.request_checks.RejectNulCharacters",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "topology.request_checks.LoginRequiredForPages",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "topology.urls"
ASGI_APPLICATION = "topology.asgi.application"

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

try:
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
            conn_max_age=0,
        )
    }
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a URL Django knows: {error}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = read_url("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix"))
# Unset: the first local socket there is (system Docker, rootless Docker, Podman).
DOCKER_HOST = read_url(
    "DOCKER_HOST", default_docker_host(), ("unix", "tcp", "ssh", "http", "https")
)

# Plain tcp:// to DOCKER_HOST (a socket proxy on a private Compose network, say) must be allowed
# explicitly: anyone on the path to a plain Docker API is root on that host.
DOCKER_HOST_INSECURE = read_bool("TOPOLOGY_DOCKER_HOST_INSECURE", False)

TOPOLOGY_POLL_SECONDS = read_number("TOPOLOGY_POLL_SECONDS", 2.0, minimum=0.2, maximum=3600)
# "events": each daemon's event stream drives targeted reads, a full list when the stream opens
# and every TOPOLOGY_RESYNC_SECONDS (jittered); daemons without a usable stream are polled every
# TOPOLOGY_POLL_SECONDS. "poll": every daemon is polled every TOPOLOGY_POLL_SECONDS (Celery).
TOPOLOGY_INVENTORY_MODE = read_choice("TOPOLOGY_INVENTORY_MODE", "events", ("events", "poll"))
TOPOLOGY_RESYNC_SECONDS = read_number("TOPOLOGY_RESYNC_SECONDS", 60.0, minimum=1, maximum=86400)
TOPOLOGY_STALE_GRACE_SECONDS = read_number("TOPOLOGY_STALE_GRACE_SECONDS", 300.0, minimum=0)
# The largest websocket message the server sends (a snapshot: about 420 bytes a node).
TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES = int(
    read_number(
        "TOPOLOGY_WEBSOCKET_MAX_MESSAGE_BYTES", 16 * 2**20, minimum=2**20, maximum=256 * 2**20
    )
)
# How often each live websocket says the picture is current (wall screens go stale without it).
TOPOLOGY_WEBSOCKET_HEARTBEAT_SECONDS = read_number(
    "TOPOLOGY_WEBSOCKET_HEARTBEAT_SECONDS", 5.0, minimum=0.2, maximum=60
)
TOPOLOGY_DOCKER_CONNECT_TIMEOUT = read_number("TOPOLOGY_DOCKER_CONNECT_TIMEOUT", 2.0, minimum=0.1)
TOPOLOGY_DOCKER_READ_TIMEOUT = read_number("TOPOLOGY_DOCKER_READ_TIMEOUT", 10.0, minimum=0.1)
TOPOLOGY_HEALTH_TIMEOUT = read_number("TOPOLOGY_HEALTH_TIMEOUT", 2.0, minimum=0.1, maximum=30)
TOPOLOGY_MAX_NESTING = int(read_number("TOPOLOGY_MAX_NESTING", 8, minimum=0, maximum=64))
# Live stats: each container some open page shows is sampled at most this often (one-shot
# calls); nobody looking, nothing is sampled. Interactive terminals close after this long
# without a keystroke.
TOPOLOGY_STATS_SECONDS = read_number("TOPOLOGY_STATS_SECONDS", 5.0, minimum=1, maximum=3600)
TOPOLOGY_TERMINAL_IDLE_SECONDS = read_number(
    "TOPOLOGY_TERMINAL_IDLE_SECONDS", 600.0, minimum=5, maximum=86400
)
# Check every graph read back against its invariants (inventory/invariants.py): "off", "log"
# (an error in the log, the graph still served) or "raise" (the tests).
TOPOLOGY_GRAPH_CHECKS = read_choice(
    "TOPOLOGY_GRAPH_CHECKS", "log" if DEBUG else "off", ("off", "log", "raise")
)
# Each poll lists a daemon's networks and volumes (one call each); off, they are not read.
TOPOLOGY_DISCOVER_NETWORKS = read_bool("TOPOLOGY_DISCOVER_NETWORKS", True)
TOPOLOGY_DISCOVER_VOLUMES = read_bool("TOPOLOGY_DISCOVER_VOLUMES", True)
# Each poll lists a daemon's image cache (one call); off, no image is read or drawn.
TOPOLOGY_DISCOVER_IMAGES = read_bool("TOPOLOGY_DISCOVER_IMAGES", True)

# Demos: images come from settings (pinned by tag), never from a request. Where they come from:
# "pull" (the registry only), "offline" (built from this machine's binaries, never pulled) or
# "auto" (pulled, else built offline). TOPOLOGY_OFFLINE=1 is the older spelling of "offline".
TOPOLOGY_DEMO_IMAGES = read_choice("TOPOLOGY_DEMO_IMAGES", "auto", ("auto", "pull", "offline"))
if read_bool("TOPOLOGY_OFFLINE", False):
    if os.environ.get("TOPOLOGY_DEMO_IMAGES", "offline").strip().lower() not in ("", "offline"):
        raise ImproperlyConfigured(
            f"TOPOLOGY_OFFLINE=1 means TOPOLOGY_DEMO_IMAGES=offline, but TOPOLOGY_DEMO_IMAGES is "
            f"{TOPOLOGY_DEMO_IMAGES!r}: set only one of them"
        )
    TOPOLOGY_DEMO_IMAGES = "offline"
TOPOLOGY_DEMO_OFFLINE_TAG = read_docker_tag("TOPOLOGY_DEMO_OFFLINE_TAG", "offline")
TOPOLOGY_DEMO_DIND_IMAGE = os.environ.get("TOPOLOGY_DEMO_DIND_IMAGE", "docker:27.3.1-dind")
TOPOLOGY_DEMO_WORKLOAD_IMAGE = os.environ.get("TOPOLOGY_DEMO_WORKLOAD_IMAGE", "busybox:1.36.1")
TOPOLOGY_DEMO_CLI_IMAGE = os.environ.get("TOPOLOGY_DEMO_CLI_IMAGE", "docker:27.3.1-cli")
TOPOLOGY_DEMO_TTL_MINUTES = read_number("TOPOLOGY_DEMO_TTL_MINUTES", 60, minimum=1, maximum=1440)
TOPOLOGY_DEMO_QUOTA = int(read_number("TOPOLOGY_DEMO_QUOTA", 2, minimum=0, maximum=100))
TOPOLOGY_DEMO_MAX_RUNNING = int(read_number("TOPOLOGY_DEMO_MAX_RUNNING", 6, minimum=0, maximum=500))
TOPOLOGY_DEMO_DIR = Path(os.environ.get("TOPOLOGY_DEMO_DIR", VAR_DIR / "demos"))

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "topology.demos.permissions.TeamOperatorsLaunchDemos",  # team operators may launch demos
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_DIRS += [
    (f"vendor/{package}", NODE_MODULES / package / folder)
    for package, folder in [
        ("cytoscape", "dist"),
        ("dagre", "dist"),
        ("cytoscape-dagre", ""),
        ("layout-base", ""),
        ("cose-base", ""),
        ("cytoscape-fcose", ""),
        ("cytoscape-svg", ""),
        ("swagger-ui-dist", ""),
        ("@xterm/xterm", ""),
        ("@xterm/addon-fit", ""),
    ]
    if (NODE_MODULES / package / folder).is_dir()
]
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = read_bool("SESSION_COOKIE_SECURE", False)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that a request with no or bad credentials gets 401, not 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "topology.api_limits.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "topology.api_limits.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Topology API",
    "DESCRIPTION": "Hosts, Docker daemons (nested ones included), containers, dashboards, demos "
    "and the live graph. Session or `Authorization: Token <key>` authentication.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui-dist",
    "SWAGGER_UI_FAVICON_HREF": "/static/topology/favicon.svg",
    "COMPONENT_SPLIT_REQUEST": True,
}

# redis-py's default read timeout (5 s) is as long as channels_redis's blocking pop: an idle
# websocket consumer's read would time out now and then and take its connection down.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
            "prefix": "topology:channels",
            "capacity": 200,
            # channels_redis's default: a member not seen joining for a day is dropped; every
            # consumer joins again long before (see topology.inventory.consumers).
            "group_expiry": 86400,
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Redis may go away for a while: the worker and beat wait for it, however long (never exit),
# and a request that queues a task finds out within about a second (then answers 503).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 10}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ROUTES = {
    "topology.inventory.tasks.poll_*": {"queue": "poll"},
    "topology.demos.tasks.*": {"queue": "launch"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_BEAT_SCHEDULE_FILENAME = str(RUN_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "topology.celery:OutageAwareScheduler"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"topology": {"level": os.environ.get("TOPOLOGY_LOG_LEVEL", "INFO")}},
}
