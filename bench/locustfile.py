"""Browsers refreshing their unfinished rows as fast as they can: the throughput figure of `make bench`.

bench/measure.py runs it headless against gunicorn on 127.0.0.1 and reads the CSV it writes:

    locust -f bench/locustfile.py --headless -u 20 -r 20 -t 30s --host http://127.0.0.1:PORT --csv PREFIX

It signs in with no password: BENCH_SESSIONS carries session ids the bench created (one per simulated
browser, shared round-robin when there are fewer), BENCH_REFRESH_IDS the task ids a list page would refresh.
"""

from __future__ import annotations

import itertools
import os

from locust import FastHttpUser, constant, task

SESSION_COOKIE_NAME = os.environ.get("BENCH_SESSION_COOKIE_NAME", "sessionid")
SESSIONS = [value for value in os.environ.get("BENCH_SESSIONS", "").split(",") if value]
REFRESH_QUERY = "&".join(f"id={pk}" for pk in os.environ.get("BENCH_REFRESH_IDS", "").split(",") if pk)
_next_session = itertools.count()


class RefreshingBrowser(FastHttpUser):
    # No think time: this measures how many refreshes the server can answer, not how often a browser asks.
    wait_time = constant(0)

    def on_start(self) -> None:
        self.session_id = SESSIONS[next(_next_session) % len(SESSIONS)]

    @task
    def refresh_unfinished_rows(self) -> None:
        with self.client.get(
            f"/tasks/refresh/?{REFRESH_QUERY}",
            name="/tasks/refresh/",
            headers={"Cookie": f"{SESSION_COOKIE_NAME}={self.session_id}"},
            # A redirect here means the session was refused (to the login page): count it as an error.
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
