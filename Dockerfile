# syntax=docker/dockerfile:1
# SoundClone Studio: one image for every process.
#   web (default):  gunicorn, configured by gunicorn.conf.py from the environment
#   poller:         python manage.py poll_clones --loop
#   release step:   python manage.py migrate --noinput
# See README.md, "Deployment", for the environment it needs.

# --- Builder: a virtual environment with the pinned dependencies, and the static files collected ---------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv
WORKDIR /app

# The project's metadata and packages first: the dependency layer is rebuilt only when they change.
COPY pyproject.toml ./
COPY soundclone_site/ soundclone_site/
COPY clones/ clones/
RUN pip install .

COPY . .
# Throwaway settings, only so that Django starts: no real secret or key exists at build time, and the
# placeholders below never reach the runtime image's environment.
RUN SECRET_KEY=build-only-not-a-secret DATA_DIR=/tmp/build-data python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-data \
    && python -m compileall -q /app/soundclone_site /app/clones

# --- Runtime: slim, non-root, nothing but the environment and the application ---------------------------
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    # The code in /app, not the copy pip put in site-packages: templates and static files live beside it.
    PYTHONPATH=/app \
    DATA_DIR=/data \
    LOG_FORMAT=json \
    PORT=8000 \
    GUNICORN_WORKER_TMP_DIR=/dev/shm

RUN groupadd --system --gid 10001 soundclone \
    && useradd --system --uid 10001 --gid soundclone --create-home --home-dir /home/soundclone soundclone \
    && mkdir -p /data \
    && chown soundclone:soundclone /data

COPY --from=builder /opt/venv /opt/venv
# Owned by root and read-only to the app user: a compromised process cannot rewrite the code.
COPY --from=builder /app /app
WORKDIR /app

USER soundclone
# The SQLite file (when DATABASE_URL is not set), the archived previews and nothing else that must last.
VOLUME ["/data"]
EXPOSE 8000

# Python, not curl (the slim image has none). It sends a Host the site accepts (the first of ALLOWED_HOSTS)
# and asks /healthz, which is exempt from the https redirect. The poller's container has no web server:
# compose.yaml turns this check off there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-c", "import os, sys, urllib.request; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.'); host = 'localhost' if host in ('', '*') else host; request = urllib.request.Request('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', headers={'Host': host}); sys.exit(0 if urllib.request.urlopen(request, timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "soundclone_site.wsgi:application", "-c", "gunicorn.conf.py"]
