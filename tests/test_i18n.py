"""Every page in English and Simplified Chinese: from the browser's language, switchable on every page."""

from __future__ import annotations

import ast
import csv
import gettext
import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings

from clones.models import CloneTask
from tests import factories

Status = CloneTask.Status
CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
FINISHED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9,en;q=0.5"}


INPUTS = {"name": "旁白,李伟,平静", "language": "Chinese,Yue"}


def make_task(**fields) -> CloneTask:
    return factories.make_task(**{**INPUTS, **fields})


def completed_task(**fields) -> CloneTask:
    return factories.completed_task(**{**INPUTS, "model_id": "voice_abc", "finished_at": FINISHED, **fields})


@pytest.mark.parametrize(
    ("header", "language", "heading"),
    [
        ("zh-Hans,zh;q=0.9", "zh-hans", "<h1>声音</h1>"),
        ("zh-CN,zh;q=0.9", "zh-hans", "<h1>声音</h1>"),
        ("en-GB,en;q=0.9", "en", "<h1>Voices</h1>"),
        ("fr-FR,fr;q=0.9", "en", "<h1>Voices</h1>"),
    ],
)
def test_the_language_follows_the_browser(staff_client, header, language, heading):
    content = staff_client.get("/tasks/", HTTP_ACCEPT_LANGUAGE=header).content.decode()
    assert f'<html lang="{language}">' in content
    assert heading in content


def test_the_switcher_changes_the_language_for_every_page_after_it(staff_client):
    task = completed_task()
    response = staff_client.post("/i18n/setlang/", {"language": "zh-hans", "next": f"/tasks/{task.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    for url in ("/tasks/", "/tasks/new/", f"/tasks/{task.pk}/", "/tasks/?archived=1"):
        content = staff_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert '<html lang="zh-hans">' in content, url
    staff_client.post("/i18n/setlang/", {"language": "en", "next": "/tasks/"})
    assert "<h1>Voices</h1>" in staff_client.get("/tasks/", **CHINESE).content.decode()


def test_the_switcher_is_on_every_page_and_keeps_the_address(staff_client, anonymous_client):
    task = completed_task()
    for url in ("/tasks/?q=旁白&status=completed", "/tasks/new/", f"/tasks/{task.pk}/"):
        content = staff_client.get(url).content.decode()
        assert 'action="/i18n/setlang/"' in content
        assert '<label for="language-switch" class="visually-hidden">Page language</label>' in content
    content = staff_client.get("/tasks/?status=completed").content.decode()
    assert '<input name="next" type="hidden" value="/tasks/?status=completed">' in content
    assert 'action="/i18n/setlang/"' in anonymous_client.get("/accounts/login/").content.decode()


def test_the_list_in_chinese(staff_client, staff_user):
    completed_task(submitted_by=staff_user)
    make_task(name="失败的声音", status=Status.FAILED, error="No longer known to the service.")
    with time_machine.travel(FINISHED + timedelta(hours=19, minutes=30), tick=False):
        content = staff_client.get("/tasks/", **CHINESE).content.decode()
    for expected in [
        "<title>声音 · SoundClone 工作室</title>",
        ">新建克隆</a>",
        'aria-label="查找声音"',
        '<label for="filter_q">搜索</label>',
        '<option value="" selected>全部状态</option>',
        '<option value="Chinese,Yue">粤语</option>',
        "只看我的",
        "24 小时内过期",
        ">已完成</span>",
        ">失败</span>",
        "v1 · 粤语",
        "2 天 4 小时后过期（使用过则永久保留）。",
        "服务方已查不到这个任务。",
        ">再次克隆<",
        "第 1–2 个，共 2 个声音",
        ">下载 CSV<",
        'data-finished-title="✓ {name} 已完成"',
        ">声音完成时通知我</button>",
    ]:
        assert expected in content, expected


def test_the_form_in_chinese_with_its_errors(staff_client, form_data):
    content = staff_client.get("/tasks/new/", **CHINESE).content.decode()
    for expected in [
        "<h1>新建克隆</h1>",
        ">媒体链接</label>",
        "模型 v2（40 种语言）",
        '<option value="auto" data-versions="v2">自动识别</option>',
        "我已获得说话人的许可，可以克隆这个声音",
        'data-template="{count} / {limit} 个字符"',
        'data-template="模型 {version} 不支持{language}，请选择其他语言。"',
        ">用两个版本克隆</button>",
    ]:
        assert expected in content, expected
    response = staff_client.post(
        "/tasks/new/", form_data(file_url="ftp://e.com/a.mp3", consent="", language="Danish"), **CHINESE
    )
    content = response.content.decode()
    assert "链接必须以 http:// 或 https:// 开头" in content
    assert "请确认您已获得说话人的许可。" in content
    assert "模型 v1 不支持丹麦语，请选择其他语言。" in content
    response = staff_client.post(
        "/tasks/new/", form_data(sound_version="v2", language="Danish", both_versions="1"), **CHINESE
    )
    assert "只有模型 v2 支持丹麦语，因此无法用两个版本同时克隆。" in response.content.decode()


def test_messages_after_submitting_are_in_chinese(staff_client, simulator, form_data):
    response = staff_client.post("/tasks/new/", form_data(name="旁白"), follow=True, **CHINESE)
    assert "已保存。正在把“旁白”发送给语音服务" in response.content.decode()


def test_the_task_page_in_chinese(staff_client, staff_user):
    task = completed_task(
        submitted_by=staff_user,
        consent_text="我已获得说话人的许可，可以克隆这个声音",
        consent_confirmed_at=FINISHED,
        last_response={"id": "audio_1", "note": "完成"},
    )
    with time_machine.travel(FINISHED + timedelta(days=2, hours=1, minutes=1), tick=False):
        content = staff_client.get(f"/tasks/{task.pk}/", **CHINESE).content.decode()
    for expected in [
        '<h1 class="break">旁白,李伟,平静</h1>',
        ">复制 modelId、版本和语言</button>",
        ">下载试听音频<",
        "22 小时 59 分钟后过期：请尽快使用这个 modelId，否则声音将丢失。",
        "“我已获得说话人的许可，可以克隆这个声音”，由 mei 于 2026年3月2日 12:00 UTC 确认",
        ">服务方最近一次响应</h3>",
        "&quot;note&quot;: &quot;完成&quot;",
        ">编辑名称和备注</h2>",
        ">归档这个声音</button>",
        '粤语 <span class="muted">(Chinese,Yue)</span>',
    ]:
        assert expected in content, expected


def test_a_stored_service_error_is_shown_in_the_readers_language(staff_client):
    task = make_task(status=Status.FAILED, error="No longer known to the service.")
    assert "No longer known to the service." in staff_client.get(f"/tasks/{task.pk}/").content.decode()
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "服务方已查不到这个任务。" in staff_client.get(f"/tasks/{task.pk}/").content.decode()


def test_an_expired_model_id_in_chinese(staff_client):
    completed_task()
    with time_machine.travel(FINISHED + timedelta(days=4), tick=False):
        content = staff_client.get("/tasks/", **CHINESE).content.decode()
    assert "已过期：除非在" in content


def test_the_csv_export_in_chinese(staff_client, staff_user):
    completed_task(submitted_by=staff_user)
    response = staff_client.get("/tasks/export/", **CHINESE)
    body = b"".join(response.streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert body.startswith(b"\xef\xbb\xbf")
    assert rows[0] == [
        "名称",
        "modelId",
        "模型版本",
        "语言",
        "状态",
        "提交人",
        "提交时间",
        "modelId 过期时间",
        "媒体链接",
        "音频来源",
        "音频名称",
        "音频时长（秒）",
        "说话时长（秒）",
    ]
    assert rows[1][3:5] == ["粤语", "已完成"]  # the names on screen, not the service's "Chinese,Yue"


def test_the_csv_names_languages_as_the_pages_do_not_by_the_services_values(staff_client):
    completed_task(name="Auto", language="auto", sound_version="v2")
    completed_task(name="Mandarin", language="Chinese")
    body = b"".join(staff_client.get("/tasks/export/?sort=oldest").streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert [(row[0], row[3], row[4]) for row in rows[1:]] == [
        ("Auto", "Auto-detect", "Completed"),
        ("Mandarin", "Chinese (Mandarin)", "Completed"),
    ]


LEAKING_PAIR = """
from clones.forms import CloneForm


def test_1_reads_a_page_in_chinese(staff_client):
    content = staff_client.get("/tasks/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "<h1>声音</h1>" in content


def test_2_then_reads_a_form_message_in_english(form_data):
    form = CloneForm(data=form_data(file_url="ftp://e.com/a.mp3"))
    assert "must start with http:// or https://" in form.errors["file_url"][0]
"""


def test_a_page_read_in_chinese_leaves_the_next_test_in_english(tmp_path):
    # Two tests in a fixed order, in a pytest of their own with this suite's fixtures, on SQLite.
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_pair.py").write_text(LEAKING_PAIR, encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment.update(PYTHONPATH=str(settings.BASE_DIR), DJANGO_SETTINGS_MODULE="soundclone_site.settings")
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed command line
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "2 passed" in result.stdout, result.stdout + result.stderr


# --- The catalogue itself --------------------------------------------------------------------------------


def po_entries(*, with_plurals: bool = False) -> dict:
    """msgid -> msgstr (the only form, for plurals: Chinese has one) from the committed .po file.

    with_plurals: msgid -> (msgid_plural or None, msgstr) instead.
    """
    entries: dict = {}
    for block in (CATALOGUE / "django.po").read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        fields: dict[str, str] = {}
        key = None
        for line in lines:
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[0\])?|msgstr\[\d+\]) (".*")$', line)
            if match:
                key = match.group(1)
                fields[key] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and key:
                fields[key] += ast.literal_eval(line)
        if fields.get("msgid"):
            msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
            plural = fields.get("msgid_plural")
            entries[fields["msgid"]] = (plural, msgstr) if with_plurals else msgstr
    return entries


def test_every_message_in_the_catalogue_is_translated():
    entries = po_entries()
    assert len(entries) > 250
    assert [msgid for msgid, msgstr in entries.items() if not msgstr] == []
    assert "#, fuzzy" not in (CATALOGUE / "django.po").read_text(encoding="utf-8").split("msgid", 2)[2]


def test_the_compiled_catalogue_matches_its_source():
    with (CATALOGUE / "django.mo").open("rb") as compiled:
        translations = gettext.GNUTranslations(compiled)
    stale = [msgid for msgid, msgstr in po_entries().items() if translations.gettext(msgid) != msgstr]
    assert stale == [], "run manage.py compilemessages -l zh_Hans --ignore=.venv"


def test_translations_keep_every_placeholder():
    for msgid, (plural, msgstr) in po_entries(with_plurals=True).items():
        source = plural or msgid  # Chinese has one form, which reads like the English plural
        for pattern in (r"%\(\w+\)[sd]", r"\{\w+\}"):
            assert sorted(re.findall(pattern, source)) == sorted(re.findall(pattern, msgstr)), msgid


# --- Chinese that reads as Chinese ----------------------------------------------------------------------

# Han characters, CJK punctuation (。、「」), full-width forms (，：（）) and the curly quotes Chinese uses.
CHINESE_CHARACTER = "[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef\u201c\u201d]"
# Placeholders and tags are not text: "%(when)s后" must not read as ")" beside "后".
NOT_TEXT = re.compile(r"%\(\w+\)[sd]|\{\w+\}|<[^>]*>")
HALF_WIDTH_BESIDE_CHINESE = re.compile(
    rf"{CHINESE_CHARACTER} ?[,:;()]|[,:;()] ?{CHINESE_CHARACTER}|\([^()]*{CHINESE_CHARACTER}[^()]*\)"
)


def half_width_punctuation_in(text: str) -> list[str]:
    """The places where ASCII , : ; ( ) sit beside Chinese (or a parenthesis holds Chinese)."""
    return HALF_WIDTH_BESIDE_CHINESE.findall(NOT_TEXT.sub("X", text))


@pytest.mark.parametrize(
    ("text", "is_wrong"),
    [
        ("演示模式:使用模拟的语音服务,不会向", True),
        ("中文(普通话)", True),
        ("模型 v1(24 种语言)", True),
        ("只能修改名称和备注;已发送", True),
        ("演示模式：使用模拟的语音服务，不会向", False),
        ("模型 v1（24 种语言）", False),
        ("例如粤语写作“Chinese,Yue”", False),
        ("链接必须以 http:// 开头", False),
        ("%(when)s后过期", False),
        ('已按 <a href="%(url)s">%(name)s</a>（%(status)s）填好', False),
    ],
)
def test_the_punctuation_check_tells_chinese_from_english_punctuation(text, is_wrong):
    assert bool(half_width_punctuation_in(text)) is is_wrong


def test_chinese_in_the_catalogue_takes_full_width_punctuation():
    wrong = {
        msgstr: found for msgstr in po_entries().values() if (found := half_width_punctuation_in(msgstr))
    }
    assert wrong == {}


def test_language_and_version_labels_in_chinese_take_full_width_punctuation():
    from django.utils import translation

    from clones import languages

    with translation.override("zh-hans"):
        labels = [str(item.label) for item in languages.ALL_LANGUAGES]
        labels += [str(label) for label in languages.VERSION_LABELS.values()]
    assert "中文（普通话）" in labels and "模型 v1（24 种语言）" in labels
    assert [label for label in labels if half_width_punctuation_in(label)] == []


def test_a_wrong_password_says_both_fields_may_be_case_sensitive_in_either_language(staff_user):
    from django.test import Client

    wrong = {"username": "mei", "password": "not the password"}
    english = Client(REMOTE_ADDR="203.0.113.21").post("/accounts/login/", wrong).content.decode()
    chinese = Client(REMOTE_ADDR="203.0.113.22", **CHINESE).post("/accounts/login/", wrong).content.decode()
    assert "Please enter a correct username and password. Both may be case-sensitive" in english
    assert "请输入正确的用户名和密码。两者都可能区分大小写" in chinese
    assert "两者都区分大小写" not in chinese  # Django's own Chinese: "both are case-sensitive"
