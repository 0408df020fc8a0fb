"""A limit a page states in words is formatted from the constant that enforces it, in both languages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from clones import forms, models
from tests import factories

ROOT = Path(settings.BASE_DIR)
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9"}


@pytest.fixture(autouse=True)
def english_afterwards():
    """A Chinese page leaves Chinese active in this thread: give the next test English back."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_the_form_states_the_preview_text_limit_it_enforces(staff_client, form_data):
    page = staff_client.get("/tasks/new/").content.decode()
    limit = forms.MAX_CONTENT_TEXT

    assert f"at most {limit} characters" in page
    assert f'data-limit="{limit}"' in page
    assert f"0 / {limit}</p>" in page
    assert forms.CloneForm(data=form_data(content_text="a" * limit)).is_valid()
    assert not forms.CloneForm(data=form_data(content_text="a" * (limit + 1))).is_valid()


def test_the_form_states_the_preview_text_limit_in_chinese(staff_client):
    page = staff_client.get("/tasks/new/", **CHINESE).content.decode()

    assert f"最多 {forms.MAX_CONTENT_TEXT} 个字符" in page


def test_the_counter_follows_the_limit_when_it_changes(staff_client, form_data, monkeypatch):
    monkeypatch.setattr(forms, "MAX_CONTENT_TEXT", 100)

    page = staff_client.get("/tasks/new/").content.decode()

    assert 'data-limit="100"' in page and "0 / 100</p>" in page
    assert not forms.CloneForm(data=form_data(content_text="a" * 101)).is_valid()


def test_the_voice_page_states_the_lifetime_its_expiry_is_computed_with(staff_client, monkeypatch):
    monkeypatch.setattr(models, "MODEL_ID_LIFETIME", timedelta(days=5))
    task = factories.completed_task()

    page = staff_client.get(f"/tasks/{task.pk}/").content.decode()
    chinese_page = staff_client.get(f"/tasks/{task.pk}/", **CHINESE).content.decode()

    assert "keeps an unused modelId for 5 days after the preview" in page
    assert "试听生成后保留 5 天" in chinese_page


def test_no_page_template_script_or_translation_writes_a_limit_in_digits():
    sources = [
        *(ROOT / "templates").rglob("*.html"),
        *(ROOT / "static" / "js").glob("*.js"),
        ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",
    ]
    stated = re.compile(rf"\b{forms.MAX_CONTENT_TEXT}\b|\b{models.MODEL_ID_LIFETIME.days} (days|天)")

    def text_of(path: Path) -> str:
        # The catalogue's comments name source lines ("#: clones/views.py:269"): only its messages count.
        lines = path.read_text(encoding="utf-8").splitlines()
        return "\n".join(line for line in lines if not line.startswith("#"))

    written = [str(path.relative_to(ROOT)) for path in sources if stated.search(text_of(path))]

    assert written == []
