"""Production readiness without a Docker engine: check --deploy, the image's build steps, its health check.

The production environment is read from README.md ("Deployment"), the page operators follow.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from django.utils import timezone

from clones.models import PollerHeartbeat

BASE_DIR = Path(__file__).resolve().parent.parent
DOCKERFILE = (BASE_DIR / "Dockerfile").read_text(encoding="utf-8")

README = (BASE_DIR / "README.md").read_text(encoding="utf-8")


def _readme_production_environment() -> dict[str, str]:
    """The production variables README.md lists (the first sh block of its Deployment section)."""
    section = README.split("\n## Deployment\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    environment = {}
    for line in block.splitlines():
        assignment = line.split(" #", 1)[0].strip()
        if assignment:
            name, value = assignment.split("=", 1)
            environment[name] = value
    return environment


# Read from the README, so that what operators are told and what is tested cannot drift apart.
PRODUCTION_ENVIRONMENT = _readme_production_environment()


def _clean_environment(**extra: str) -> dict[str, str]:
    """Only what a container would have: none of the developer's own settings leak into the run."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    return {**keep, "PYTHONDONTWRITEBYTECODE": "1", **extra}


@pytest.fixture
def production_environment(tmp_path) -> dict[str, str]:
    # The secrets come from files, as Docker secrets provide them; made up for each run.
    secret_key_file = tmp_path / "secret_key"
    secret_key_file.write_text(secrets.token_urlsafe(50) + "\n", encoding="utf-8")
    api_key_file = tmp_path / "soundclone_api_key"
    api_key_file.write_text("sk-live-made-up-for-this-test\n", encoding="utf-8")
    return _clean_environment(
        **{
            **PRODUCTION_ENVIRONMENT,
            "SECRET_KEY_FILE": str(secret_key_file),
            "SOUNDCLONE_API_KEY_FILE": str(api_key_file),
            "DATA_DIR": str(tmp_path / "data"),
            # Its own static folder: other tests collect into the checkout's while this one reads it.
            "STATIC_ROOT": str(tmp_path / "static"),
        }
    )


def _manage(python: str | Path, *args: str, env: dict[str, str], cwd: Path = BASE_DIR, timeout: int = 120):
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
        [str(python), "manage.py", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_check_deploy_is_clean_with_the_documented_production_settings(production_environment):
    result = _manage(
        sys.executable, "check", "--deploy", "--fail-level", "WARNING", env=production_environment
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_fails_when_a_production_setting_is_left_out(production_environment):
    del production_environment["SECURE_COOKIES"]
    result = _manage(
        sys.executable, "check", "--deploy", "--fail-level", "WARNING", env=production_environment
    )
    assert result.returncode != 0
    assert "security.W012" in result.stderr + result.stdout


def test_the_readme_lists_the_production_settings_check_deploy_needs():
    assert PRODUCTION_ENVIRONMENT["DEBUG"] == "false"
    assert PRODUCTION_ENVIRONMENT["SECURE_COOKIES"] == "true"
    assert {"SECRET_KEY_FILE", "SOUNDCLONE_API_KEY_FILE", "ALLOWED_HOSTS", "SECURE_HSTS_SECONDS"} <= set(
        PRODUCTION_ENVIRONMENT
    )


def test_production_refuses_to_start_without_a_secret_key(production_environment):
    del production_environment["SECRET_KEY_FILE"]
    result = _manage(sys.executable, "check", env=production_environment)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


# --- The Dockerfile's build steps, in a clean virtual environment -----------------------------------------


def _dockerfile_collectstatic_environment() -> dict[str, str]:
    """The throwaway settings the Dockerfile's collectstatic step runs with (KEY=value before `python`)."""
    match = re.search(r"^RUN (.*manage\.py collectstatic.*)$", DOCKERFILE, re.MULTILINE)
    assert match, "the Dockerfile no longer collects static files at build time"
    environment = {}
    for word in shlex.split(match.group(1).split("&&")[0].rstrip(" \\")):
        if "=" not in word or word.startswith("-"):
            break
        name, value = word.split("=", 1)
        environment[name] = value
    assert "SECRET_KEY" in environment
    return environment


def _copy_build_context(destination: Path) -> None:
    """What the Dockerfile COPYs: the packages, manage.py, templates and static sources, and nothing else."""
    destination.mkdir()
    shutil.copy2(BASE_DIR / "pyproject.toml", destination)
    shutil.copy2(BASE_DIR / "manage.py", destination)
    for folder in ("soundclone_site", "clones", "templates", "static"):
        shutil.copytree(BASE_DIR / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__"))


@pytest.mark.slow
def test_the_image_build_steps_succeed_in_a_clean_virtual_environment(tmp_path):
    assert re.search(r"^RUN pip install \.$", DOCKERFILE, re.MULTILINE), "the Dockerfile installs differently"
    app = tmp_path / "app"
    _copy_build_context(app)
    venv_dir = tmp_path / "venv"
    venv.create(venv_dir, with_pip=True)
    python = venv_dir / "bin" / "python"
    # pip needs the machine's registry settings (index, proxy) from the environment; the app does not.
    # --no-compile: the image compiles its modules as it installs them; here that would only cost CPU time
    # (collectstatic below imports the app all the same).
    install = subprocess.run(  # noqa: S603
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile", "."],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    static_root = tmp_path / "staticfiles"
    environment = _clean_environment(**_dockerfile_collectstatic_environment())
    environment.update(DATA_DIR=str(tmp_path / "build-data"), STATIC_ROOT=str(static_root))
    collect = _manage(python, "collectstatic", "--noinput", env=environment, cwd=app)
    assert collect.returncode == 0, collect.stdout + collect.stderr

    manifest = static_root / "staticfiles.json"
    assert manifest.exists()
    assert re.search(r'"css/app\.css": "css/app\.[0-9a-f]{12}\.css"', manifest.read_text(encoding="utf-8"))
    assert list(static_root.glob("js/htmx.min.*.js.gz")), "WhiteNoise did not compress the files"
    # The throwaway settings wrote no secret key file that could end up in the image.
    assert not list((tmp_path / "build-data").glob(".demo_secret_key"))


def test_the_dockerfile_builds_a_slim_non_root_image_with_a_health_check():
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", DOCKERFILE, re.MULTILINE)
    assert stages == [("python:3.11-slim", "builder"), ("python:3.11-slim", "runtime")]
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    assert re.search(r"^USER soundclone$", runtime, re.MULTILINE)
    assert "HEALTHCHECK" in runtime and "/healthz" in runtime
    assert re.search(r'^CMD \["gunicorn", .*"-c", "gunicorn\.conf\.py"\]$', runtime, re.MULTILINE)
    ignored = (BASE_DIR / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored and "secrets/" in ignored and ".git/" in ignored


def _health_check_command() -> list[str]:
    match = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert match
    return json.loads(match.group(1))


@pytest.mark.parametrize("has_poller", [True, False], ids=["healthy", "poller-silent"])
def test_the_image_health_check_reads_healthz(live_server, settings, transactional_db, has_poller):
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    settings.SECURE_SSL_REDIRECT = True  # as in production: /healthz must be exempt from it
    if has_poller:
        PollerHeartbeat.objects.create(name="poller", last_seen=timezone.now())
    port = live_server.url.rsplit(":", 1)[1]
    command = _health_check_command()
    assert command[0] == "python"
    result = subprocess.run(  # noqa: S603
        [sys.executable, *command[1:]],
        env=_clean_environment(PORT=port, ALLOWED_HOSTS="studio.example.com,www.studio.example.com"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode == 0) is has_poller, result.stderr


def test_gunicorn_accepts_its_configuration_in_json_log_mode(production_environment):
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--check-config",
            "-c",
            "gunicorn.conf.py",
            "soundclone_site.wsgi",
        ],
        cwd=BASE_DIR,
        env=production_environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
