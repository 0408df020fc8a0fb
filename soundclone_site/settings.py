"""Settings for SoundClone Studio, read from the environment (and `.env` when present).

Every variable is listed, with a comment, in `.env.example`.
"""

import ipaddress
import os
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# pytest imports this module itself; the test run must not depend on a developer's environment for a key.
TESTING = "pytest" in sys.modules

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _read_secret(name: str) -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker secrets); '' when neither is set."""
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return env.str(name, default="").strip()


def _owner_only(path: Path, *, create: bool = False) -> None:
    """Make `path` readable and writable by its owner only (0600), creating it empty so when asked."""
    if create:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError:
            return  # no such folder, say: whoever opens the file next reports it
    try:
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:
        pass  # someone else's file: not ours to change


# --- The voice service -------------------------------------------------------------------------------------

SOUNDCLONE_API_KEY = _read_secret("SOUNDCLONE_API_KEY")
# Without a key we run against the bundled simulator: the demo mode that `make run` starts.
DEMO_MODE = not SOUNDCLONE_API_KEY
# The demo's simulator listens 765 above the web port (8765 for 8000), so that a second copy of the studio on
# another PORT gets a simulator of its own; run_studio passes the port it chose to every process it starts.
SOUNDCLONE_SIMULATOR_PORT = env.int("SOUNDCLONE_SIMULATOR_PORT", default=env.int("PORT", default=8000) + 765)
SOUNDCLONE_BASE_URL = env.str(
    "SOUNDCLONE_BASE_URL",
    default=(
        f"http://127.0.0.1:{SOUNDCLONE_SIMULATOR_PORT}/kyyReactApiServer"
        if DEMO_MODE
        else "https://zcbservice.aizfw.cn/kyyReactApiServer"
    ),
).rstrip("/")
if DEMO_MODE:
    # The simulator accepts any bearer token; sending one keeps the demo on the same code path as production.
    SOUNDCLONE_API_KEY = "demo-key"  # noqa: S105
# Connecting should be quick on a healthy network; a slow connect means the service is unreachable.
SOUNDCLONE_CONNECT_TIMEOUT = env.float("SOUNDCLONE_CONNECT_TIMEOUT", default=5.0)
# Creating a task makes the service fetch the media first, so it may take a while to answer.
SOUNDCLONE_CREATE_TIMEOUT = env.float("SOUNDCLONE_CREATE_TIMEOUT", default=30.0)
# A status query is a cheap read; waiting long for one only delays every other task in the poller.
SOUNDCLONE_QUERY_TIMEOUT = env.float("SOUNDCLONE_QUERY_TIMEOUT", default=10.0)
# The contract asks for polls every 5 to 10 s; the poller never goes below this per task.
SOUNDCLONE_POLL_INTERVAL = env.float("SOUNDCLONE_POLL_INTERVAL", default=5.0)
# A task still running after this long is flagged "Taking longer than usual" (still polled)...
SOUNDCLONE_TASK_SLOW_AFTER = env.int("SOUNDCLONE_TASK_SLOW_AFTER", default=30 * 60)
# ...and after this long it is marked failed: the service is not going to finish it.
SOUNDCLONE_TASK_HARD_LIMIT = env.int("SOUNDCLONE_TASK_HARD_LIMIT", default=24 * 60 * 60)
# Finished previews are copied into our own storage (the service's links expire). The copy refuses private,
# loopback and link-local addresses, except these host:port pairs (the simulator's, in demo mode).
SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS = env.list(
    "SOUNDCLONE_ARCHIVE_ALLOWED_HOSTS",
    default=[f"127.0.0.1:{SOUNDCLONE_SIMULATOR_PORT}", f"localhost:{SOUNDCLONE_SIMULATOR_PORT}"]
    if DEMO_MODE
    else [],
)
# A preview is a few seconds of speech: anything far larger is not what we asked for.
SOUNDCLONE_ARCHIVE_MAX_BYTES = env.int("SOUNDCLONE_ARCHIVE_MAX_BYTES", default=20 * 1024 * 1024)
SOUNDCLONE_ARCHIVE_TIMEOUT = env.float("SOUNDCLONE_ARCHIVE_TIMEOUT", default=30.0)
# While a poller works on a task it holds it this long; if the poller dies, the task is picked up after it.
SOUNDCLONE_POLL_LEASE_SECONDS = env.float("SOUNDCLONE_POLL_LEASE_SECONDS", default=60.0)
# How many tasks one worker process (poll_clones --loop) works on at once: a call that hangs until its
# deadline then holds up only its own task (see the README's reliability section for the measured delay).
SOUNDCLONE_WORKERS = env.int("SOUNDCLONE_WORKERS", default=4)
# The timeouts above bound each wait for the network; these bound a whole call (connect, headers and body):
# a server that drips one byte a second would otherwise hold a call for minutes. Each is shorter than the
# lease, so a task is never worked on by two pollers at once because one call outlived its lease.
SOUNDCLONE_CREATE_DEADLINE = env.float("SOUNDCLONE_CREATE_DEADLINE", default=20.0)
SOUNDCLONE_QUERY_DEADLINE = env.float("SOUNDCLONE_QUERY_DEADLINE", default=10.0)
SOUNDCLONE_ARCHIVE_DEADLINE = env.float("SOUNDCLONE_ARCHIVE_DEADLINE", default=30.0)
for _name, _seconds in {
    "SOUNDCLONE_CREATE_DEADLINE": SOUNDCLONE_CREATE_DEADLINE,
    "SOUNDCLONE_QUERY_DEADLINE": SOUNDCLONE_QUERY_DEADLINE,
    "SOUNDCLONE_ARCHIVE_DEADLINE": SOUNDCLONE_ARCHIVE_DEADLINE,
}.items():
    if not 0 < _seconds < SOUNDCLONE_POLL_LEASE_SECONDS:
        raise ImproperlyConfigured(
            f"{_name} is {_seconds:g} seconds; it must be more than 0 and less than "
            f"SOUNDCLONE_POLL_LEASE_SECONDS ({SOUNDCLONE_POLL_LEASE_SECONDS:g}), so that no call to the "
            "voice service outlives a poller's hold on its task."
        )
# --- Clips from a file, a recording or a link (issue 11) ---------------------------------------------------

# The service fetches a clip from a public link. For a file, a recording, or a cut or converted clip, the
# studio keeps the file and gives the service a link to it: presigned by the S3 bucket when S3_BUCKET is set,
# else signed by the studio under PUBLIC_BASE_URL, the address at which the service reaches the studio. Demo
# mode serves it on loopback, where the simulator downloads it.
PUBLIC_BASE_URL = env.str(
    "PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}" if DEMO_MODE else ""
).rstrip("/")
# How long a clip's link works for the service (it fetches the clip within minutes of the create request).
CLIP_LINK_LIFETIME = env.int("CLIP_LINK_LIFETIME", default=24 * 60 * 60)
# Larger uploads and links are refused as they stream in, before they fill memory or disk.
CLIP_MAX_BYTES = env.int("CLIP_MAX_BYTES", default=200 * 1024 * 1024)
# Checking a link: the whole download (connect, headers, every byte) ends by this deadline.
SOUNDCLONE_LINK_DEADLINE = env.float("SOUNDCLONE_LINK_DEADLINE", default=45.0)
# Link checks refuse private and loopback addresses, except these host:port pairs (tests' local servers).
SOUNDCLONE_LINK_ALLOWED_HOSTS = env.list("SOUNDCLONE_LINK_ALLOWED_HOSTS", default=[])
# While a worker checks a clip it holds it this long (download, then decoding); a worker that died leaves it
# to the next one after that. Longer than the download's deadline, so no clip is checked twice at once.
SOUNDCLONE_CHECK_LEASE_SECONDS = env.float("SOUNDCLONE_CHECK_LEASE_SECONDS", default=120.0)
if not 0 < SOUNDCLONE_LINK_DEADLINE < SOUNDCLONE_CHECK_LEASE_SECONDS:
    raise ImproperlyConfigured(
        f"SOUNDCLONE_LINK_DEADLINE is {SOUNDCLONE_LINK_DEADLINE:g} seconds; it must be more than 0 and less "
        f"than SOUNDCLONE_CHECK_LEASE_SECONDS ({SOUNDCLONE_CHECK_LEASE_SECONDS:g})."
    )

# How often an open list asks our database for news of its unfinished rows: no more often than the worker asks
# the service about a young task (SOUNDCLONE_POLL_INTERVAL), since the database cannot know more sooner. Older
# rows are asked about 1.6 times less often, hidden tabs 6 times less often (static/js/app.js).
SOUNDCLONE_BROWSER_REFRESH_SECONDS = env.float(
    "SOUNDCLONE_BROWSER_REFRESH_SECONDS", default=SOUNDCLONE_POLL_INTERVAL
)

# --- Django core -------------------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = _read_secret("SECRET_KEY")
if not SECRET_KEY:
    if DEMO_MODE or TESTING:
        # Demo mode and tests need no setup: keep one generated key in the data folder so that every
        # worker and every restart share it (sessions survive a restart).
        key_file = DATA_DIR / ".demo_secret_key"
        if not key_file.exists():
            # Owner-only from the start: whoever reads the key can forge anyone's session.
            _owner_only(key_file, create=True)
            key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        _owner_only(key_file)  # one an earlier version made readable by all
        SECRET_KEY = key_file.read_text(encoding="utf-8").strip()
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or in .env (see .env.example); "
            'generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "clones",
]

MIDDLEWARE = [
    # First, so that it sees every response last: a 204 leaves with no header it cannot use.
    "soundclone_site.middleware.BareNoContentMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so that static files carry the policy too (an SVG opened directly is a document).
    "soundclone_site.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages compress about fivefold. Django's gzip pads each response with random bytes (Heal the BREACH)
    # and CSRF tokens are masked per response, so compressing pages that carry them is safe.
    "soundclone_site.middleware.CompressPagesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "soundclone_site.middleware.SessionIdleRenewalMiddleware",
    "soundclone_site.middleware.PersonalTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a database that cannot be reached into a plain 503 page instead of a 500.
    "soundclone_site.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "soundclone_site.urls"
WSGI_APPLICATION = "soundclone_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clones.context_processors.studio",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'soundclone.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web workers and the poller write to one file: take the write lock up front (no upgrade deadlocks)
    # and wait for it rather than failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    if TESTING:
        # A file, not memory: tests start pollers in other processes and post forms from several threads,
        # which must all see one database as they would in production.
        # One per test run, so that runs side by side never share it.
        DATABASES["default"]["TEST"] = {
            "NAME": str(Path(tempfile.gettempdir()) / f"soundclone-test-{os.getpid()}.sqlite3")
        }
    # The file holds every password hash: owner-only. SQLite creates its -wal and -shm files with the
    # database file's mode, so creating the database 0600 covers all three; older ones are tightened here.
    if not str(DATABASES["default"]["NAME"]).startswith((":memory:", "file:")):
        _database_file = Path(DATABASES["default"]["NAME"])
        _owner_only(_database_file, create=True)
        for _suffix in ("-wal", "-shm"):
            _owner_only(_database_file.with_name(_database_file.name + _suffix))
# Reusing connections roughly doubles PostgreSQL's throughput (see the benchmark); the health check drops a
# connection the server closed before it is used.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing a password properly takes ~0.3 s on purpose; tests sign in hundreds of times.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "clones:task-list"
LOGOUT_REDIRECT_URL = "login"

# --- Languages and time ------------------------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------------------

STATIC_URL = "static/"
# The image collects static files at build time into the default; tests collect into a temporary folder.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Archived previews go to MEDIA_ROOT, or to an S3-compatible bucket when S3_BUCKET is set.
S3_BUCKET = env.str("S3_BUCKET", default="")
DEFAULT_STORAGE = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "access_key": _read_secret("S3_ACCESS_KEY_ID") or None,
            "secret_key": _read_secret("S3_SECRET_ACCESS_KEY") or None,
            "location": env.str("S3_PREFIX", default="soundclone"),
            # Previews are served through our signed-in view, never by public bucket URLs.
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    if S3_BUCKET
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
)
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        # Hashed, compressed, cached forever; tests skip the collectstatic step that this needs.
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
WHITENOISE_USE_FINDERS = TESTING
MEDIA_ROOT = DATA_DIR / "media"
# Uploads are streamed to a temporary file here, never held in memory; the folder is on the same disk as
# MEDIA_ROOT so that keeping an upload is a rename. Temporary files are removed after each request.
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=str(DATA_DIR / "tmp"))
# Owner-only, like the database: what is in it is staff's clips on their way in.
Path(FILE_UPLOAD_TEMP_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_HANDLERS = ["clones.uploads.CappedUploadHandler"]

# --- Security ----------------------------------------------------------------------------------------------
# README.md ("Deployment") lists the production values; `manage.py check --deploy` is clean with them.

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# A secure-only cookie is never sent over plain http: on behind HTTPS, off so that `make run` on a laptop
# (http://localhost) still signs in.
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# The container's HEALTHCHECK asks over plain http from inside: a redirect would read as a failure.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    # Only safe when the proxy overwrites this header: a client could otherwise claim HTTPS itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The proxies (addresses or networks) whose X-Forwarded-For is believed. The sign-in throttle counts failures
# per address: behind a proxy every request comes from the proxy's address, so the client's is read from that
# header, walking from the right past these proxies (entries further left can be forged). From any other
# address the header is ignored: whoever connects directly could have written anything in it.
TRUSTED_PROXY_ADDRESSES = env.list(
    "TRUSTED_PROXY_ADDRESSES", default=["127.0.0.1", "::1"] if BEHIND_TLS_PROXY else []
)
for _proxy in TRUSTED_PROXY_ADDRESSES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXY_ADDRESSES has {_proxy!r}, which is neither an address nor a network "
            "such as 10.0.0.0/8."
        ) from None
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=8 * 60 * 60)
# SessionIdleRenewalMiddleware renews an active session (at most once a minute, not on every status
# refresh), so the age above is an idle timeout rather than a fixed lifetime.

# Content-Security-Policy on every response (soundclone_site.security.ContentSecurityPolicyMiddleware): no
# inline script or style and no eval anywhere, so htmx runs with allowEval and its indicator styles off
# (the htmx-config meta tag in base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # The nonce is sent only on a page that asks for it (request.csp_nonce): the New clone form, whose
        # waveform library (static/vendor/wavesurfer) writes one <style> into its shadow root.
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        # A preview plays from our copy or, until it is copied, from the service's signed https URL. The
        # middleware adds the configured service's own origin: the simulator's in demo mode and tests.
        "media-src": [SELF, "https:", "blob:"],  # blob: the form plays a recording back before it is sent
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Sign-in -----------------------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # Refuses sign-ins while an account or an address is locked out; it authenticates no one itself.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins are counted per account and address together: reaching the limit pauses sign-in for that
# account from that address until the cool-off ends or an administrator deletes the lock in the admin
# ("Access attempts"). Counted apart, five wrong passwords for a made-up name locked out every colleague
# behind the same office address, and a stranger could lock anyone's account from anywhere. The sign-in
# page warns before the last tries (soundclone_site/sign_in.py).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "soundclone_site.security.client_ip_address"

# --- Email: reminders before an unused voice lapses (issue 12) --------------------------------------------

# EMAIL_URL as django-environ reads it, e.g. smtp+tls://user:password@smtp.example.com:587 . Unset: no email
# is sent (reminders are off), except in demo mode, where emails are written to the console.
EMAIL_URL = _read_secret("EMAIL_URL") or ("consolemail://" if DEMO_MODE else "")
EMAIL_CONFIGURED = bool(EMAIL_URL)
if EMAIL_URL:
    # EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, …
    globals().update(env.email_url_config(EMAIL_URL))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SoundClone Studio <studio@localhost>")
# The studio's own address, for links in emails (a background job has no request to take it from).
STUDIO_BASE_URL = env.str("STUDIO_BASE_URL", default="http://localhost:8000")

# --- Logging -----------------------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# json: one JSON object per line, for a log collector; plain: readable at a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # On the handler, so that it sees every record that is written, whichever logger it came from.
        "redact_secrets": {"()": "soundclone_site.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {"()": "soundclone_site.logging.PlainFormatter"},
        "json": {"()": "soundclone_site.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact_secrets"]},
    },
    # One handler, on the root: every logger below propagates to it, so each event is written exactly once.
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "clones": {"level": LOG_LEVEL},
        # Failed sign-ins and lockouts (warnings, with the account and address): the trail an administrator
        # needs. Its INFO lines (successful sign-ins, a banner at every start) are left out.
        "axes": {"level": "WARNING"},
        # Listing "django" replaces Django's default handlers (which would write request errors twice).
        "django": {"level": "WARNING"},
    },
}
