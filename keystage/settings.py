"""Django settings, read from the environment; every knob is listed in SETTINGS_HELP."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KEYSTAGE_VAR_DIR", BASE_DIR / "var"))

# Each environment variable Keystage reads, with what it is for (documented in the README).
SETTINGS_HELP = {
    "DATABASE_URL": "database to use: sqlite:///path or postgres://user@host:port/name "
    "(default: var/keystage.sqlite3)",
    "SECRET_KEY": "signing key for sessions and password-reset links; required in production",
    "DEBUG": "1 to show debug pages (never in production)",
    "ALLOWED_HOSTS": "comma-separated host names the app answers to (default 127.0.0.1,localhost)",
    "KEYSTAGE_VAR_DIR": "folder for the SQLite file, stored uploads, outgoing mail and logs",
    "EMAIL_BACKEND": "smtp to send mail by SMTP; default writes each email to var/mail/",
    "EMAIL_HOST": "SMTP server (with EMAIL_BACKEND=smtp)",
    "EMAIL_PORT": "SMTP port (default 587)",
    "EMAIL_HOST_USER": "SMTP user name",
    "EMAIL_HOST_PASSWORD": "SMTP password",
    "EMAIL_USE_TLS": "1 to use STARTTLS (default 1)",
    "DEFAULT_FROM_EMAIL": "the From address of emails Keystage sends",
    "KEYSTAGE_FILE_KEYS": "comma-separated Fernet keys that encrypt stored transfer files, newest "
    "first (older keys only decrypt, for rotation); default: a key derived from SECRET_KEY",
    "TRANSFER_RETENTION_DAYS": "days a transfer file is kept before it is deleted (default 90)",
    "SESSION_IDLE_MINUTES": "minutes of inactivity after which a user is logged out (default 30)",
    "LOGIN_LOCKOUT_ATTEMPTS": "failed logins for one user name from one address before that "
    "pair must wait (default 5)",
    "LOGIN_LOCKOUT_MINUTES": "the first wait; it doubles with each further lockout of the same "
    "pair within a day, up to 24 hours (default 15)",
    "PASSWORD_RESET_EMAILS_PER_HOUR": "reset emails sent to one account in an hour (default 3)",
    "PASSWORD_RESET_REQUESTS_PER_HOUR": "reset requests taken from one address in an hour "
    "(default 20)",
    "SECURE_COOKIES": "1 to send cookies over HTTPS only (set in production behind TLS)",
    "KEYSTAGE_UPLOAD_MAX_BYTES": "largest upload in one request, in bytes (default 1 GiB)",
    "KEYSTAGE_UPLOAD_LA_IN_FLIGHT_BYTES": "bytes of one LA's uploads waiting or being imported "
    "at once (default 4 GiB)",
    "KEYSTAGE_UPLOAD_WAITING_DAYS": "days a file waiting for confirmation is kept (default 7)",
    "KEYSTAGE_EXPORTS_AT_ONCE": "exports (CSV, XLSX downloads) one server process builds at once; "
    "further downloads wait their turn (default 1)",
    "KEYSTAGE_JOB_HEARTBEAT_SECONDS": "how often the worker marks a running job alive "
    "(default 10)",
    "KEYSTAGE_JOB_STALE_SECONDS": "a running job with no heartbeat for this long, whose worker "
    "is gone, is failed or queued again (default 120)",
    "KEYSTAGE_JOB_MAX_ATTEMPTS": "runs a job safe to retry gets before a stale one is failed "
    "(default 2)",
    "HSTS_SECONDS": "Strict-Transport-Security max-age; default 31536000 (a year) when "
    "SECURE_COOKIES is on, else 0 (no header)",
    "HSTS_INCLUDE_SUBDOMAINS": "1 to add includeSubDomains to the HSTS header (default 0)",
    "CSP_REPORT_ONLY": "1 to send the Content Security Policy as report-only (default 0: enforced)",
}


def _env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes"}


DEBUG = _env_flag("DEBUG")
# Only the test run (pytest, and the processes it starts: conftest.py sets KEYSTAGE_TESTS) and
# DEBUG may fall back to a built-in key.
TESTING = "pytest" in sys.modules or _env_flag("KEYSTAGE_TESTS")
SECRET_KEY_FILE = VAR_DIR / "secret_key"


def _secret_key() -> str:
    """SECRET_KEY from the environment, else var/secret_key (`make run` writes one), else refuse."""
    key = os.environ.get("SECRET_KEY", "").strip()
    if not key and SECRET_KEY_FILE.is_file():
        key = SECRET_KEY_FILE.read_text().strip()
    if key:
        return key
    if DEBUG or TESTING:
        # Known to everyone, so only for a local debug copy or the test run.
        return "keystage-development-only-key-never-used-in-production-0123456789"
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random value "
        f"(or put one in {SECRET_KEY_FILE.name} in the var folder; `make run` writes one), "
        "or set DEBUG=1 for a local copy that is not in production."
    )


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    host.strip() for host in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "keystage.core",
    "keystage.accounts",
    "keystage.audit",
    "keystage.schools",
    "keystage.jobs",
    "keystage.collection",
    "keystage.context",
    "keystage.pupils",
    "keystage.socialcare",
    "keystage.transfer",
    "keystage.analysis",
    "keystage.cleaning",
    "keystage.returns",
    "keystage.synth",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "keystage.core.staticfiles.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "keystage.core.sessions.RefreshIdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "keystage.core.inputs.RefuseNulBytesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "keystage.core.cache_control.PrivateNoStoreMiddleware",
    # Last, as django-axes asks: it turns a refused login into the login page's own answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "keystage.urls"
WSGI_APPLICATION = "keystage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "keystage" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "keystage.core.context_processors.navigation",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'keystage.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the busy timeout waits for a lock
    # instead of failing at once when both write.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: once a table is analysed, PostgreSQL 12+ compiles any statement its
    # planner costs over 100,000, about 0.1 s each time, more than most of this app's statements
    # take to run (the cold national picture: 131 s with it, 108 s without; bench/RESULTS.md).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["options"] = " ".join(
        filter(None, [DATABASES["default"]["OPTIONS"].get("options"), "-c jit=off"]))

# Exports one server process builds at once (keystage.core.downloads.export_slot).
KEYSTAGE_EXPORTS_AT_ONCE = int(os.environ.get("KEYSTAGE_EXPORTS_AT_ONCE", "1"))

# Background jobs: the worker touches a running job's heartbeat every few seconds; a job whose
# heartbeat is older than the stale limit (and whose worker is gone) is failed, or queued again
# when its kind is safe to run twice, up to the attempts limit.
KEYSTAGE_JOB_HEARTBEAT_SECONDS = float(os.environ.get("KEYSTAGE_JOB_HEARTBEAT_SECONDS", "10"))
KEYSTAGE_JOB_STALE_SECONDS = float(os.environ.get("KEYSTAGE_JOB_STALE_SECONDS", "120"))
KEYSTAGE_JOB_MAX_ATTEMPTS = int(os.environ.get("KEYSTAGE_JOB_MAX_ATTEMPTS", "2"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "keystage.accounts.backends.ThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling by django-axes (docs/adr/0001-login-throttling.md): failures are counted in
# the database per user name AND source address, so a guesser locks out only their own pair
# and the real user logs in from elsewhere; a lockout never touches existing sessions.
LOGIN_LOCKOUT_ATTEMPTS = int(os.environ.get("LOGIN_LOCKOUT_ATTEMPTS", "5"))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_ENABLED = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = LOGIN_LOCKOUT_ATTEMPTS
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = "keystage.accounts.throttle.cool_off"
AXES_USERNAME_CALLABLE = "keystage.accounts.throttle.username_for"
AXES_LOCKOUT_CALLABLE = "keystage.accounts.throttle.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a right guess among wrong ones must not clear the count
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # the failures the growing cool-off counts
AXES_ENABLE_ADMIN = False
AXES_IPWARE_PROXY_COUNT = None
AXES_VERBOSE = False
PASSWORD_RESET_EMAILS_PER_HOUR = int(os.environ.get("PASSWORD_RESET_EMAILS_PER_HOUR", "3"))
PASSWORD_RESET_REQUESTS_PER_HOUR = int(os.environ.get("PASSWORD_RESET_REQUESTS_PER_HOUR", "20"))

# Sessions end after a spell of inactivity (renewed on each request) and when the browser closes.
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# Sessions last SESSION_IDLE_MINUTES from the last request: keystage.core.sessions moves the
# expiry on when it is more than a minute old, rather than writing the session on every request.
SESSION_ENGINE = "keystage.core.sessions"
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_flag("SECURE_COOKIES")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HSTS only makes sense behind TLS: on by default when cookies are HTTPS-only.
SECURE_HSTS_SECONDS = int(
    os.environ.get("HSTS_SECONDS", "31536000" if SESSION_COOKIE_SECURE else "0")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = False

# Content Security Policy by django-csp (docs/adr/0002-content-security-policy.md): only our own
# origin; the one inline script (govuk-frontend's js-enabled class) carries the request's nonce.
_csp = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
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
if _env_flag("CSP_REPORT_ONLY"):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp
else:
    CONTENT_SECURITY_POLICY = _csp

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True
# GOV.UK dates ("2 December 2026") come from our en-GB format module, which Django reads before
# its own en-GB formats (locale formats win over DATE_FORMAT settings, so none are set here).
# Date-times ("2 December 2026 at 3:04pm") go through the govuk_datetime filter.
FORMAT_MODULE_PATH = ["keystage.core.locale_formats"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
GOVUK_FRONTEND_DIR = BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"
CHARTJS_DIR = BASE_DIR / "node_modules" / "chart.js" / "dist"
STATICFILES_DIRS = [BASE_DIR / "keystage" / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # govuk-frontend's built files from node_modules, served under /static/govuk/
    "keystage.core.staticfiles.GovukFrontendFinder",
    # Chart.js's built file, served under /static/chartjs/
    "keystage.core.staticfiles.ChartJsFinder",
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = VAR_DIR / "uploads"
# A request larger than this spools its files to disk (Django's TemporaryFileUploadHandler).
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Uploads are bounded in size per request and per LA in flight (queued, importing or waiting
# for confirmation), and a file waiting for confirmation is deleted after some days.
KEYSTAGE_UPLOAD_MAX_BYTES = int(os.environ.get("KEYSTAGE_UPLOAD_MAX_BYTES", str(1024**3)))
KEYSTAGE_UPLOAD_LA_IN_FLIGHT_BYTES = int(
    os.environ.get("KEYSTAGE_UPLOAD_LA_IN_FLIGHT_BYTES", str(4 * 1024**3))
)
KEYSTAGE_UPLOAD_WAITING_DAYS = int(os.environ.get("KEYSTAGE_UPLOAD_WAITING_DAYS", "7"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 2000

_email_backend = os.environ.get("EMAIL_BACKEND", "file").strip().lower()
if _email_backend == "smtp":
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif _email_backend == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_flag("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Keystage <no-reply@keystage.invalid>")
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

# Transfer files (CTFs between schools) are kept encrypted and deleted after this many days.
KEYSTAGE_FILE_KEYS = [k.strip() for k in os.environ.get("KEYSTAGE_FILE_KEYS", "").split(",")
                      if k.strip()]
TRANSFER_RETENTION_DAYS = int(os.environ.get("TRANSFER_RETENTION_DAYS", "90"))

# Grid page sizes a user may choose; every table pages at the user's choice.
PAGE_SIZE_CHOICES = (10, 25, 50, 100, 250)
DEFAULT_PAGE_SIZE = 25

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"keystage": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
