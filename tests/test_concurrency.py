"""A double click, a resent form or two tabs posting one form: the database guarantees a single task."""

import re
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

from clones.models import CloneTask


@pytest.mark.django_db(transaction=True)
def test_the_same_form_posted_ten_times_at_once_creates_one_task_and_one_upstream_request(
    live_server, staff_user, simulator, form_data
):
    # A signed-in browser session, shared by ten simultaneous posts of one rendered form.
    django_client = Client()
    django_client.force_login(staff_user)
    session_cookie = django_client.cookies[django_settings.SESSION_COOKIE_NAME].value
    browser = requests.Session()
    browser.cookies.set(django_settings.SESSION_COOKIE_NAME, session_cookie)
    form_page = browser.get(live_server.url + "/tasks/new/", timeout=10).text
    csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page).group(1)
    form_token = re.search(r'name="form_token" value="([^"]+)"', form_page).group(1)
    data = form_data(form_token=form_token, csrfmiddlewaretoken=csrf_token)
    start_together = Barrier(10)

    def post(_index: int) -> int:
        start_together.wait()
        response = browser.post(
            live_server.url + "/tasks/new/",
            data=data,
            headers={"Referer": live_server.url + "/tasks/new/"},
            allow_redirects=False,
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(post, range(10)))

    assert statuses == [302] * 10  # every post lands on the list: none sees an error page
    assert CloneTask.objects.count() == 1
    call_command("poll_clones")  # the worker sends what the form stored
    creates = [path for method, path in simulator.state.request_log if method == "POST"]
    assert len(creates) == 1
