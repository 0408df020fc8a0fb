"""gunicorn settings, read from the environment so one image fits every host."""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# No request waits on the voice service (the worker sends and polls); this only bounds a stuck request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "") else None
# The access log writes a signed clip link (served without sign-in to the voice service) as
# /clips/.../clip.wav: its signature is the key to the clip and never reaches a log.
logger_class = "soundclone_site.access_log.RedactingLogger"
errorlog = "-"
# The addresses whose X-Forwarded-Proto gunicorn believes: the TLS proxy's (Docker: its network's range).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Workers' heartbeat files: on a tmpfs in containers, where /tmp may be slow overlay storage or read-only.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
# gunicorn 25.1+ opens a control socket for `gunicornc` (worker counts, reload, shutdown) at one path per user
# ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl): every instance on a machine shares it, so one answered for
# another. We manage the server with signals and the container's lifecycle; nothing needs the socket.
control_socket_disable = True


def on_starting(server) -> None:
    """Refuse to serve while an account still has the demo password (outside demo mode).

    The image and the Procfile run gunicorn directly, not `run_studio`, so the check is made here too, once,
    in the master before any worker starts. A RuntimeError is how gunicorn stops with one line: "Error: …".
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soundclone_site.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from clones.demo_account import refuse_demo_password

    try:
        if not settings.DEMO_MODE:
            refuse_demo_password()
    finally:
        # Workers are forked from this process: none may inherit its database connection.
        connections.close_all()


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
