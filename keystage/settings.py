"""Django settings, read from the environment; every knob is listed in SETTINGS_HELP."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

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
    "SESSION_IDLE_MINUTES": "minutes of inactivity after which a user is logged out (default 30)",
    "LOGIN_LOCKOUT_ATTEMPTS": "failed logins in a row that lock an account (default 5)",
    "LOGIN_LOCKOUT_MINUTES": "how long a locked account stays locked (default 15)",
    "SECURE_COOKIES": "1 to send cookies over HTTPS only (set in production behind TLS)",
}


def _env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes"}


DEBUG = _env_flag("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    # A fixed development key keeps sessions valid across restarts of a local copy; production
    # deployments must set SECRET_KEY (the README says so, and check --deploy flags it).
    "keystage-development-only-key-change-me-in-production-0123456789"
)
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
    "keystage.cleaning",
    "keystage.returns",
    "keystage.synth",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "keystage.core.staticfiles.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["keystage.accounts.backends.LockoutModelBackend"]
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

LOGIN_LOCKOUT_ATTEMPTS = int(os.environ.get("LOGIN_LOCKOUT_ATTEMPTS", "5"))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))

# Sessions end after a spell of inactivity (renewed on each request) and when the browser closes.
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_flag("SECURE_COOKIES")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True
DATE_FORMAT = "j F Y"
# GOV.UK style: "2 December 2026", "2 December 2026 at 15:04"; templates and filters use these.
DATETIME_FORMAT = r"j F Y \a\t H:i"
# Django's own en-GB formats win over the two above unless our format module comes first.
FORMAT_MODULE_PATH = ["keystage.core.locale_formats"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
GOVUK_FRONTEND_DIR = BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"
STATICFILES_DIRS = [BASE_DIR / "keystage" / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # govuk-frontend's built files from node_modules, served under /static/govuk/
    "keystage.core.staticfiles.GovukFrontendFinder",
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = VAR_DIR / "uploads"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
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
