"""Error pages (404, 403, 500 and a refused CSRF token) in the studio's layout, in both languages, with a way
back: a newcomer who lands on one knows where they are and how to go on."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from soundclone_site import urls as site_urls
from tests import factories

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9"}


def fails_unexpectedly(request):
    raise RuntimeError("a bug nobody expected")


# The site's own addresses plus one page that fails, for the 500 tests (pytest.mark.urls points here).
urlpatterns = [path("boom/", fails_unexpectedly), *site_urls.urlpatterns]


@pytest.fixture(autouse=True)
def production_settings(settings):
    """Error pages as a deployed studio shows them: DEBUG off, not Django's technical pages."""
    settings.DEBUG = False


def page_of(response) -> str:
    return response.content.decode()


def test_an_unknown_address_answers_a_page_in_the_site_layout_with_a_way_back_to_the_list(staff_client):
    response = staff_client.get("/tasks/no-such-page/")
    assert response.status_code == 404
    page = page_of(response)
    assert "<h1>Page not found</h1>" in page
    assert "Not Found" not in page
    assert 'class="site-header"' in page
    assert 'href="/tasks/">Back to the voices</a>' in page
    assert 'href="/accounts/password/">Change password</a>' in page


def test_a_voice_that_does_not_exist_answers_the_same_page(staff_client):
    response = staff_client.get("/tasks/987654/")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in page_of(response)


def test_the_not_found_page_is_in_chinese_for_a_chinese_reader(staff_client):
    page = page_of(staff_client.get("/tasks/no-such-page/", **CHINESE))
    assert '<html lang="zh-hans">' in page
    assert "<h1>找不到页面</h1>" in page
    assert 'href="/tasks/">返回声音列表</a>' in page


def test_someone_signed_out_is_sent_to_sign_in_from_a_missing_page(anonymous_client):
    page = page_of(anonymous_client.get("/no-such-page/"))
    assert "<h1>Page not found</h1>" in page
    assert 'href="/accounts/login/">Sign in</a>' in page
    assert "Back to the voices" not in page


def test_changing_someone_elses_voice_answers_a_page_that_says_who_can(other_staff_client, staff_user):
    task = factories.make_task(submitted_by=staff_user)
    response = other_staff_client.post(f"/tasks/{task.pk}/edit/", {"name": "Mine now", "notes": ""})
    assert response.status_code == 403
    page = page_of(response)
    assert "<h1>Not allowed</h1>" in page
    assert "only by the person who submitted it, or by an administrator" in page
    assert 'href="/tasks/">Back to the voices</a>' in page


def test_the_not_allowed_page_is_in_chinese_for_a_chinese_reader(other_staff_client, staff_user):
    task = factories.make_task(submitted_by=staff_user)
    response = other_staff_client.post(
        f"/tasks/{task.pk}/edit/", {"name": "Mine now", "notes": ""}, **CHINESE
    )
    assert response.status_code == 403
    page = page_of(response)
    assert "<h1>无权操作</h1>" in page
    assert "返回声音列表" in page


@pytest.fixture
def client_checking_csrf(staff_user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    return client


def test_a_form_sent_with_a_stale_token_answers_a_page_that_says_to_reload_and_send_again(
    client_checking_csrf, form_data
):
    response = client_checking_csrf.post("/tasks/new/", form_data())
    assert response.status_code == 403
    page = page_of(response)
    assert "<h1>The page was out of date</h1>" in page
    assert "Nothing was saved" in page
    assert "reload the page and send it again" in page
    assert "CSRF verification failed" not in page
    assert 'class="site-header"' in page
    assert 'href="/tasks/">Back to the voices</a>' in page


def test_the_stale_token_page_is_in_chinese_for_a_chinese_reader(client_checking_csrf, form_data):
    page = page_of(client_checking_csrf.post("/tasks/new/", form_data(), **CHINESE))
    assert "<h1>页面已过期</h1>" in page
    assert "没有保存任何内容" in page


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("headers", "heading", "way_back"),
    [
        ({}, "<h1>Something went wrong</h1>", 'href="/tasks/">Back to the voices</a>'),
        (CHINESE, "<h1>出错了</h1>", 'href="/tasks/">返回声音列表</a>'),
    ],
)
def test_a_failing_page_answers_a_styled_500_page_without_touching_the_database(headers, heading, way_back):
    # No `db` fixture: pytest-django refuses every query here, so a page that needed one could not render.
    client = Client(raise_request_exception=False)
    response = client.get("/boom/", **headers)
    assert response.status_code == 500
    page = page_of(response)
    assert heading in page
    assert way_back in page
    assert "css/app.css" in page
    assert "Server Error" not in page
    # No form: with no request behind the page, a language or sign-out form could not carry a token.
    assert "<form" not in page
