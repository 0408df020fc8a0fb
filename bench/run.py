"""`make bench`: measure SoundClone Studio on this machine, print the table, write bench/results/latest.md.

What runs, on 127.0.0.1 only: gunicorn with the production settings (DEBUG off, a throwaway SECRET_KEY, an
API key, so no demo mode), the poller (`poll_clones --loop`), the simulator with the service's realistic
delays, and the database: SQLite, then PostgreSQL when this machine has its binaries (Debian's, run as the
`postgres` user in a temporary cluster on a loopback port). Everything lives in a temporary folder, static
files included (STATIC_ROOT; settings that do not read it collect into ./staticfiles, which git ignores).

For each database bench/measure.py seeds 10, 1,000 and 100,000 tasks and measures (see the README's
"Benchmark" section for the table): queries per request, server time, throughput under locust, page weight,
and, on the first database only, the poller's figures (upstream economy, time to screen); then memory;
then, on the first database only, a hung service (the simulator's create-hang marker, the poller with a 5 s
create deadline): 20 submissions at once through the form, the list page and /healthz meanwhile, and a
normal task's delay behind 10 hung ones with the default workers and with one.
Each figure is the median of several runs. Load is bounded in count and time.

Exits non-zero only when the bench could not run; a missed target is a finding, not a failure. Ctrl-C or
SIGTERM stops every process it started, PostgreSQL included.

    python -m bench.run [--quick] [--skip-postgres] [--hung-service-only]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import glob
import json
import os
import platform
import pwd
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.idle_tab import completed_on_screen_cell, idle_tab_cell
from bench.processes import BenchAborted, free_port, raise_on_stop_signals, tail

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_FILE = BASE_DIR / "bench" / "results" / "latest.md"
BENCH_API_KEY = "bench-key"  # noqa: S105 - the simulator's key, on loopback, for this run only
KB = 1000  # the page-weight target is in kB of 1,000 bytes


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the machine -----------------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    """nproc, the CPU model and the memory, as the README quotes them."""
    cpu_model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    system = platform.platform()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu_model,
        "memory": memory,
        "system": system,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


# --- the environment of every process --------------------------------------------------------------------


def production_env(work_dir: Path, data_dir: Path, database_url: str | None) -> dict[str, str]:
    """The production settings, on loopback, with nothing shared with ./data or the developer's .env keys."""
    env = dict(os.environ)
    # Secrets read from files would win over the variables below (settings._read_secret).
    for name in ("SECRET_KEY_FILE", "SOUNDCLONE_API_KEY_FILE", "DATABASE_URL", "SOUNDCLONE_BASE_URL"):
        env.pop(name, None)
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SOUNDCLONE_API_KEY": BENCH_API_KEY,
            "DATA_DIR": str(data_dir),
            # Honoured by settings that read STATIC_ROOT; older ones collect into ./staticfiles (gitignored).
            "STATIC_ROOT": str(work_dir / "staticfiles"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "soundclone_site.settings",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def collect_static(work_dir: Path) -> None:
    log("collecting static files")
    env = production_env(work_dir, work_dir / "collectstatic-data", None)
    completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if completed.returncode:
        raise RuntimeError(f"collectstatic failed:\n{completed.stdout}{completed.stderr}")


# --- PostgreSQL ------------------------------------------------------------------------------------------


class PostgresUnavailable(Exception):
    """This machine cannot run a throwaway PostgreSQL: the bench goes on with SQLite alone."""


class Postgres:
    """A throwaway cluster in a temporary folder, listening on one loopback port, trusting local users."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.bin_dir: Path | None = None
        self.as_owner: list[str] = []
        self.version = ""

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    def start(self) -> str:
        """Start the cluster and return the DATABASE_URL of an empty database on it."""
        candidates = sorted(
            (Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
            key=lambda path: float(path.parent.name) if path.parent.name.replace(".", "").isdigit() else 0,
        )
        if not candidates and shutil.which("pg_ctl"):
            candidates = [Path(shutil.which("pg_ctl")).parent]  # type: ignore[arg-type]
        if not candidates:
            raise PostgresUnavailable("PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin)")
        self.bin_dir = candidates[-1]
        owner_ids = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: its own account owns the cluster.
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no `postgres` user") from None
            if not shutil.which("runuser"):
                raise PostgresUnavailable("running as root and there is no runuser to switch to `postgres`")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
            owner_ids = (owner.pw_uid, owner.pw_gid)
        self.folder = Path(tempfile.mkdtemp(prefix="soundclone-bench-pg-"))
        if owner_ids:
            os.chown(self.folder, *owner_ids)
        port = free_port()
        self._run(
            "initdb",
            [
                "-D",
                str(self.data_dir),
                "-U",
                "bench",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={self.folder}"
        log_file = str(self.folder / "postgres.log")
        self._run(
            "pg_ctl", ["-D", str(self.data_dir), "-l", log_file, "-o", options, "-w", "-t", "60", "start"]
        )
        self._run("createdb", ["-h", "127.0.0.1", "-p", str(port), "-U", "bench", "soundclone_bench"])
        self.version = self._run("postgres", ["--version"]).strip()
        return f"postgres://bench@127.0.0.1:{port}/soundclone_bench"

    def stop(self) -> None:
        """Stop the cluster (fast shutdown, then signals if it does not answer) and delete its folder."""
        if self.folder is None:
            return
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            with contextlib.suppress(Exception):
                self._run("pg_ctl", ["-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop"])
        if pid_file.exists():
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int(pid_file.read_text().splitlines()[0])
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown: the cluster is thrown away anyway
                for _ in range(50):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def _run(self, program: str, arguments: list[str]) -> str:
        assert self.bin_dir is not None and self.folder is not None
        completed = subprocess.run(  # noqa: S603 - PostgreSQL's own programs, our arguments
            [*self.as_owner, str(self.bin_dir / program), *arguments],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if completed.returncode:
            message = (completed.stderr or completed.stdout).strip().splitlines()
            raise PostgresUnavailable(f"{program} failed: {' '.join(message[-3:])}")
        return completed.stdout


# --- one database's run ----------------------------------------------------------------------------------


def measure(
    label: str,
    database_url: str | None,
    work_dir: Path,
    *,
    with_poller: bool,
    quick: bool,
    hung_service_only: bool = False,
) -> dict:
    """Run bench/measure.py for one database in a process group of its own, and read its results."""
    folder = work_dir / label.lower()
    folder.mkdir()
    out = folder / "results.json"
    command = [sys.executable, "-m", "bench.measure", "--label", label, "--out", str(out)]
    command += ["--with-poller-figures"] * with_poller + ["--quick"] * quick
    command += ["--hung-service-only"] * hung_service_only
    # Its own session: Ctrl-C reaches only this driver, which then stops the run in order (SIGTERM), and
    # can still kill the whole group (gunicorn, poller, locust) if that run does not stop in time.
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command,
        cwd=BASE_DIR,
        env=production_env(work_dir, folder / "data", database_url),
        start_new_session=True,
    )
    try:
        returncode = process.wait()
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever of that run's group is left
    if returncode != 0:
        logs = "\n".join(f"--- {path.name}\n{tail(path)}" for path in sorted(folder.glob("*.log")))
        raise RuntimeError(f"the {label} run failed (exit code {returncode}).\n{logs}")
    # Kept beside latest.md: the SQL behind each query count is in there.
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    suffix = "-hung-service" if hung_service_only else ""
    shutil.copyfile(out, RESULTS_FILE.parent / f"{label.lower()}{suffix}.json")
    return json.loads(out.read_text(encoding="utf-8"))


# --- the table -------------------------------------------------------------------------------------------


def mark(is_met: bool) -> str:
    return "✓" if is_met else "✗ **missed**"


def number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def queries_cell(result: dict, name: str) -> str:
    counts = [result["queries"][name][size] for size in ("10", "1000", "100000")]
    is_met = len(set(counts)) == 1 and max(counts) <= 6
    return " / ".join(number(count) for count in counts) + f" {mark(is_met)}"


def latency_cell(result: dict, name: str) -> str:
    figures = result["latency"][name]
    return f"{number(figures['p50'], 1)} / {number(figures['p95'], 1)} ms"


def throughput_cell(result: dict) -> str:
    figures = result["throughput"]
    per_core = figures["rps"] / figures["cores"]
    return (
        f"{number(figures['rps'])} req/s = {number(per_core)} per core "
        f"(p50 {number(figures['p50'])} ms, p95 {number(figures['p95'])} ms), "
        f"{number(figures['errors_total'])} errors {mark(figures['errors_total'] == 0)}"
    )


def weight_cell(result: dict, name: str) -> str:
    weight = result["weight"][name]
    total_requests = weight["requests"] + weight["media_requests"]
    is_met = weight["bytes"] < 60 * KB and total_requests < 10 and weight["other_hosts"] == 0
    text = (
        f"{weight['bytes'] / KB:.1f} kB (HTML {weight['document_bytes'] / KB:.1f} kB; "
        f"{weight['bytes_gzip'] / KB:.1f} kB with gzip only) in {weight['requests']} requests"
    )
    if weight["media_requests"]:
        text += f" + {weight['media_requests']} audio previews preloaded"
    text += f", {weight['other_hosts']} to other hosts"
    if weight["other_hosts"]:
        text += f" ({', '.join(weight['other_host_kinds'])})"
    return f"{text} {mark(is_met)}"


def economy_cell(result: dict) -> str:
    if "economy" not in result:
        return "(measured on SQLite)"
    one, fifty = result["economy"]["1"], result["economy"]["50"]
    highest = max(one["max_per_task_per_minute"], fifty["max_per_task_per_minute"])
    is_met = abs(one["per_task_per_minute"] - fifty["per_task_per_minute"]) <= 0.5 and highest <= 12
    errors = one["browser_errors"] + fifty["browser_errors"]
    return (
        f"{one['per_task_per_minute']:.1f} / {fifty['per_task_per_minute']:.1f} (highest for one task "
        f"{highest:.1f}; {errors} errors among the browsers' requests) {mark(is_met)}"
    )


def screen_cell(result: dict, key: str) -> str:
    if "time_to_screen" not in result:
        return "(measured on SQLite)"
    figures = result["time_to_screen"][key]
    text = f"{number(figures['p50'], 1)} / {number(figures['p95'], 1)} s"
    if figures["missing"]:
        text += f", {figures['missing']} of {result['time_to_screen']['tasks']} never shown"
    if key == "browser":
        text += f" {mark(figures['p95'] is not None and figures['p95'] < 10 and not figures['missing'])}"
    return text


def hung_submissions_cell(result: dict) -> str:
    if "hung_service" not in result:
        return "(measured on SQLite)"
    figures = result["hung_service"]["submissions"]
    is_met = figures["redirected"] == figures["submissions"] and (figures["answer_p95"] or 1e9) < 1000
    return (
        f"{figures['redirected']} of {figures['submissions']} redirected, "
        f"p50 {number(figures['answer_p50'])} ms, p95 {number(figures['answer_p95'])} ms {mark(is_met)}"
    )


def hung_list_cell(result: dict) -> str:
    if "hung_service" not in result:
        return "(measured on SQLite)"
    figures = result["hung_service"]["submissions"]
    is_met = figures["list_p95"] is not None and figures["list_p95"] < 300 and not figures["list_errors"]
    return (
        f"{number(figures['list_p50'], 1)} / {number(figures['list_p95'], 1)} ms over "
        f"{figures['list_loads']} loads in {figures['seconds']:.0f} s, {figures['list_errors']} errors "
        f"{mark(is_met)}"
    )


def hung_health_cell(result: dict) -> str:
    if "hung_service" not in result:
        return "(measured on SQLite)"
    figures = result["hung_service"]["submissions"]
    is_met = figures["healthz_total"] > 0 and figures["healthz_ok"] == figures["healthz_total"]
    return f"{figures['healthz_ok']} of {figures['healthz_total']} answered 200 {mark(is_met)}"


def behind_hung_cell(result: dict) -> str:
    if "hung_service" not in result:
        return "(measured on SQLite)"
    cells = []
    for case in result["hung_service"]["behind_hung"]:
        workers = case["workers"]
        expected = (case["hung"] // workers) * case["deadline"]
        seconds = "never queued" if case["seconds"] is None else f"{case['seconds']:.1f} s"
        cells.append(f"{seconds} with {workers} worker{'s' * (workers != 1)} (≈ {expected:g} s expected)")
    return " / ".join(cells)


def clip_check_cell(result: dict) -> str:
    if "clips" not in result:
        return "(measured on SQLite)"
    figures = result["clips"]["check_cpu"]
    cells = [
        f"{number(case['median'], 2)} s ({label}; first run {number(case['cold'], 2)} s)"
        for label, case in figures.items()
    ]
    is_met = all(case["median"] < 1 for case in figures.values())
    return " / ".join(cells) + f" {mark(is_met)}"


def clip_form_cell(result: dict) -> str:
    if "clips" not in result:
        return "(measured on SQLite)"
    weight = result["clips"]["form_weight"]
    best, gzip_only = weight["br"], weight["gzip"]
    kinds = best["by_kind"]
    is_met = best["bytes"] < 60 * KB and gzip_only["bytes"] < 60 * KB and best["other_hosts"] == 0
    return (
        f"{best['bytes'] / KB:.1f} kB with Brotli, {gzip_only['bytes'] / KB:.1f} kB with gzip only, in "
        f"{best['requests']} requests (HTML {kinds['html'] / KB:.1f}, scripts {kinds['js'] / KB:.1f} "
        f"of which the waveform library {best['waveform_library'] / KB:.1f}, "
        f"styles {kinds['css'] / KB:.1f}, fonts {kinds['font'] / KB:.1f}, "
        f"images {kinds['image'] / KB:.1f} kB), {best['other_hosts']} to other hosts {mark(is_met)}"
    )


def clip_upload_cell(result: dict) -> str:
    if "clips" not in result:
        return "(measured on SQLite)"
    figures = result["clips"]["upload"]
    rise = max(figures["rise_mb"], figures["hwm_rise_mb"])
    is_met = figures["status"] == 201 and rise < 50
    return (
        f"+{figures['rise_mb']:.1f} MB at most (high-water mark +{figures['hwm_rise_mb']:.1f} MB; from "
        f"{figures['worker_mb_before']:.0f} MB); {figures['file_bytes'] / 1e6:.0f} MB in "
        f"{figures['seconds']:.1f} s ({figures['mb_per_second']:.0f} MB/s), HTTP {figures['status']} "
        f"{mark(is_met)}"
    )


def memory_cell(result: dict) -> str:
    memory = result["memory"]
    return f"{number(memory['web_worker_mb'])} / {number(memory['poller_mb'])} MB"


def render(
    results: dict[str, dict], machine: dict[str, str], notes: list[str], started: datetime.datetime
) -> str:
    """The table (figures down, databases across), the machine it ran on, and the notes."""
    first = next(iter(results.values()))
    interval = first.get("time_to_screen", {}).get("browser_interval", 3)
    rows: list[tuple[str, str, Any]] = [
        (
            "Queries per request: list page (10 / 1,000 / 100,000 tasks)",
            "same, ≤ 6",
            lambda r: queries_cell(r, "list"),
        ),
        (
            "Queries per request: refresh of the first page's unfinished rows "
            f"({first.get('refresh_ids')} ids)",
            "same, ≤ 6",
            lambda r: queries_cell(r, "refresh"),
        ),
        ("Queries per request: task page", "same, ≤ 6", lambda r: queries_cell(r, "detail")),
        ("Server time at 100,000 tasks, p50 / p95: list page", "—", lambda r: latency_cell(r, "list")),
        ("Server time at 100,000 tasks, p50 / p95: refresh", "—", lambda r: latency_cell(r, "refresh")),
        ("Throughput of the refresh, 20 concurrent clients, 30 s", "0 errors", throughput_cell),
        (
            "Page weight, cold load, HTML + CSS + JS as sent: list page",
            "< 60 kB, < 10 requests, 0 to other hosts",
            lambda r: weight_cell(r, "list"),
        ),
        (
            "Page weight, cold load, HTML + CSS + JS as sent: form",
            "< 60 kB, < 10 requests, 0 to other hosts",
            lambda r: weight_cell(r, "form"),
        ),
        (
            "Upstream economy: status queries per unfinished task per minute, 1 / 50 browsers watching",
            "the same, ≤ 12",
            economy_cell,
        ),
        (
            "Time to screen, p50 / p95: the server (refresh asked every 0.2 s)",
            "—",
            lambda r: screen_cell(r, "tight"),
        ),
        (
            f"Time to screen, p50 / p95: as a browser sees it (refresh every {interval:g} s)",
            "p95 < 10 s",
            lambda r: screen_cell(r, "browser"),
        ),
        (
            "Idle list tab in Chromium, bytes received a minute: one unfinished voice / none",
            "≤ 4 kB / 0",
            idle_tab_cell,
        ),
        (
            "Completed voice on an open list in Chromium, from the worker saving it, p50 / p95",
            "p95 < 10 s",
            completed_on_screen_cell,
        ),
        (
            "Checking a 60 s spoken clip (decode, speech measure, player's WAV), CPU time, median",
            "< 1 s",
            clip_check_cell,
        ),
        (
            "New clone form, cold load with the waveform library: HTML, scripts, styles, fonts, images",
            "< 60 kB, 0 to other hosts",
            clip_form_cell,
        ),
        (
            "A web worker's memory (RSS) during a 200 MB clip upload: largest rise; the upload's time",
            "< 50 MB",
            clip_upload_cell,
        ),
        ("Memory after the load (RSS): one web worker / the poller", "—", memory_cell),
        (
            "Service hanging on every create, 20 concurrent submissions: answered with a redirect",
            "all 20, p95 < 1 s",
            hung_submissions_cell,
        ),
        (
            "Service hanging: list page p50 / p95 while those 20 wait to be sent",
            "p95 < 300 ms",
            hung_list_cell,
        ),
        ("Service hanging: `/healthz` answers, every second meanwhile", "all 200", hung_health_cell),
        (
            "A normal task behind 10 hung ones: submission to queued, default workers / 1 worker",
            "—",
            behind_hung_cell,
        ),
    ]
    if "throughput" not in first:
        # A partial run (--hung-service-only) shows only the rows it measured.
        hung_cells = (hung_submissions_cell, hung_list_cell, hung_health_cell, behind_hung_cell)
        rows = [row for row in rows if row[2] in hung_cells]

    lines = [
        "| Figure | Target | " + " | ".join(result["title"] for result in results.values()) + " |",
        "|" + "---|" * (2 + len(results)),
    ]
    for title, target, cell in rows:
        lines.append(
            f"| {title} | {target} | " + " | ".join(cell(result) for result in results.values()) + " |"
        )
    versions = "".join(f", {result['title']}" for label, result in results.items() if label != "SQLite")
    lines += [
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC: {machine['nproc']} cores (nproc), {machine['cpu']}, "
        f"{machine['memory']} of memory; {machine['system']}, Python {machine['python']}, "
        f"SQLite {machine['sqlite']}{versions}.",
        "",
    ]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def hung_service_note(figures: dict) -> str:
    """How the hung-service figures were taken, with what the service and the tasks saw."""
    submissions = figures["submissions"]
    outcomes = ", ".join(f"{count} {status}" for status, count in sorted(submissions["outcomes"].items()))
    return (
        f"Service hanging: the stand-in answers every create only after 300 s (`?sim=create-hang` on the "
        f"media URL), and the poller runs with SOUNDCLONE_CREATE_DEADLINE={submissions['deadline']:g} "
        f"(20 s in production; the delays scale with it). {submissions['submissions']} signed-in sessions "
        f"post the new-clone form (with its CSRF token) at the same moment to gunicorn as `make run` starts "
        f"it; meanwhile 3 sessions load the list every 0.5 s and `/healthz` is asked every second, until the "
        f"worker has given up on all {submissions['submissions']} ({submissions['seconds']:.0f} s; the "
        f"service received {submissions['creates_received']} creates; the tasks ended: {outcomes}). Then 10 "
        f"hung submissions and 1 normal one, timed from the normal one's submission until its row is queued "
        f"(accepted by the service), once with the poller's default workers and once with `--workers 1`."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Measure SoundClone Studio (see bench/run.py).")
    parser.add_argument(
        "--quick", action="store_true", help="One short run of each figure, to try the bench."
    )
    parser.add_argument("--skip-postgres", action="store_true", help="Measure SQLite only.")
    parser.add_argument(
        "--hung-service-only",
        action="store_true",
        help="Only the hung-service figures, on SQLite (about 3 minutes); latest.md is left as it was.",
    )
    args = parser.parse_args()
    raise_on_stop_signals()
    started = datetime.datetime.now(datetime.UTC)
    clock = time.monotonic()
    machine = machine_info()
    work_dir = Path(tempfile.mkdtemp(prefix="soundclone-bench-"))
    postgres = Postgres()
    results: dict[str, dict] = {}
    notes = [
        "Each figure is the median of 3 runs (queries, server time over 100 requests a run, throughput); "
        "page weight is one cold load; the poller's figures come from one window per case (60 s, 20 tasks) "
        "and time to screen from 24 tasks."
        if not args.quick
        else "Quick run (--quick): one short run of each figure; not for the README.",
        "Web: gunicorn as gunicorn.conf.py configures it (2 workers × 4 threads unless WEB_CONCURRENCY or "
        "GUNICORN_THREADS say otherwise), sharing the cores with locust, the poller and this driver.",
    ]
    exit_code = 0
    try:
        collect_static(work_dir)
        log("SQLite")
        results["SQLite"] = measure(
            "SQLite",
            None,
            work_dir,
            with_poller=True,
            quick=args.quick,
            hung_service_only=args.hung_service_only,
        )
        results["SQLite"]["title"] = "SQLite"
        if "hung_service" in results["SQLite"]:
            notes.append(hung_service_note(results["SQLite"]["hung_service"]))
        if args.hung_service_only:
            notes.append("Partial run (--hung-service-only): bench/results/latest.md was left as it was.")
        elif args.skip_postgres:
            notes.append("PostgreSQL skipped (--skip-postgres).")
        else:
            try:
                log("starting a throwaway PostgreSQL")
                database_url = postgres.start()
            except PostgresUnavailable as exc:
                notes.append(f"PostgreSQL skipped: {exc}.")
                log(f"PostgreSQL skipped: {exc}")
            else:
                log(postgres.version)
                results["PostgreSQL"] = measure(
                    "PostgreSQL", database_url, work_dir, with_poller=False, quick=args.quick
                )
                results["PostgreSQL"]["title"] = postgres.version.replace(
                    "postgres (PostgreSQL)", "PostgreSQL"
                )
                notes.append(
                    "PostgreSQL: a throwaway cluster with the default configuration. The poller's figures "
                    "(economy, time to screen) hardly depend on the database: they are measured on SQLite."
                )
    except (KeyboardInterrupt, BenchAborted):
        log("interrupted: stopping everything")
        exit_code = 130
    except RuntimeError as exc:
        log(f"could not run: {exc}")
        exit_code = 1
    finally:
        postgres.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
    if results:
        notes.append(f"The whole run took {(time.monotonic() - clock) / 60:.1f} minutes.")
        if exit_code:
            notes.append(
                "PARTIAL: the run stopped before the end; bench/results/latest.md was left as it was."
            )
        table = render(results, machine, notes, started)
        print(table)
        if not exit_code and not args.hung_service_only:
            RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
            RESULTS_FILE.write_text(table, encoding="utf-8")
            log(f"written to {RESULTS_FILE.relative_to(BASE_DIR)}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
