"""Starting, watching and stopping the processes that `make bench` runs, and reading their memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests


class BenchAborted(Exception):
    """Raised in the main thread on SIGTERM, so that every `finally` runs and every process is stopped."""


def raise_on_stop_signals() -> None:
    """Turn SIGTERM into BenchAborted and make sure Ctrl-C raises KeyboardInterrupt.

    A shell without job control starts background commands with SIGINT ignored; the bench must still stop
    (and stop what it started) when asked.
    """

    def abort(signum: int, frame: object) -> None:
        raise BenchAborted(f"signal {signum}")

    signal.signal(signal.SIGTERM, abort)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def free_port() -> int:
    """A loopback port that nothing listens on right now (the bench starts its server on it at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, *, process: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    """Wait until `url` answers (any status below 500); fail early, with the log, if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url} never came up: the process exited ({process.returncode}).\n{tail(log_path)}"
            )
        try:
            if requests.get(url, timeout=2, allow_redirects=False).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s.\n{tail(log_path)}")


def tail(path: Path, lines: int = 30) -> str:
    """The end of a log file, for an error message."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from its third field on (the command name, in parentheses, may contain spaces)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _identity(pid: int) -> tuple[int, str] | None:
    """A process id with its start time: a pid reused by another process after ours died differs."""
    fields = _stat_fields(pid)
    return (pid, fields[19]) if fields else None


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers), read from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == pid:
                children.append(int(entry.name))
    return children


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (VmRSS), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def stop_process(process: subprocess.Popen | None, *, timeout: float = 15.0) -> None:
    """Ask a process to stop (SIGTERM), then kill it and any children it leaves behind."""
    if process is None or process.poll() is not None:
        return
    children = [identity for pid in child_pids(process.pid) if (identity := _identity(pid))]
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    for pid, started in children:
        # gunicorn's master normally takes its workers with it; these are the ones it could not.
        if _identity(pid) == (pid, started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
