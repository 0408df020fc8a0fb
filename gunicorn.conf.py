"""gunicorn settings, read from the environment so one image fits every host."""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Submitting waits for the voice service (SOUNDCLONE_CREATE_TIMEOUT, 30 s by default): stay well above it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "") else None
errorlog = "-"
# The addresses whose X-Forwarded-Proto gunicorn believes: the TLS proxy's (Docker: its network's range).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Workers' heartbeat files: on a tmpfs in containers, where /tmp may be slow overlay storage or read-only.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None

if os.environ.get("LOG_FORMAT", "plain").lower() == "json":
    # gunicorn's own lines (start-up, worker restarts, the access log when on) as JSON too, through the
    # same formatter and redaction filter as the application's (soundclone_site/logging.py).
    logconfig_dict = {
        "filters": {"redact_secrets": {"()": "soundclone_site.logging.RedactSecretsFilter"}},
        "formatters": {"json": {"()": "soundclone_site.logging.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["redact_secrets"],
                "stream": "ext://sys.stdout",
            },
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["redact_secrets"],
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": "WARNING", "handlers": ["error_console"]},
        # Not propagated: Django's LOGGING gives the root logger its own handler in each worker, and a
        # propagated line would be written twice.
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
