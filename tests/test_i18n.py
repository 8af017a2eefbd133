"""English and Simplified Chinese: chosen per user, defaulting from the browser."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from exchange.extensions import db

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "exchange/translations/zh_Hans/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHOD_MAP = [
    ("exchange/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),  # e-mails
]


def _marked_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_string_has_a_chinese_translation():
    with CATALOGUE.open("rb") as handle:
        catalogue: Catalog = read_po(handle)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalogue
        if m.id and m.string and not m.fuzzy
    }
    missing = sorted(_marked_strings() - translated)
    assert missing == [], "run `make messages` and translate these in messages.po"


def test_browser_language_picks_chinese(client):
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    text = page.get_data(as_text=True)
    assert "登录" in text
    assert 'lang="zh-Hans"' in text


def test_english_browser_gets_english(client):
    text = client.get("/login", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert "Sign in" in text
    assert 'lang="en"' in text


def test_the_users_own_choice_wins_over_the_browser(client, make_user, login_as):
    user = make_user("teacher", locale="zh_Hans")
    login_as(user)
    text = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "修改密码" in text


def test_switching_language_is_remembered_for_the_user(client, make_user, login_as):
    user = make_user("teacher")
    login_as(user)
    response = client.post("/lang/zh_Hans", data={"next": "/account"})
    assert response.headers["Location"] == "/account"
    db.session.refresh(user)
    assert user.locale == "zh_Hans"
    assert "修改密码" in client.get("/account").get_data(as_text=True)


def test_switching_language_before_signing_in_uses_a_cookie(client):
    client.post("/lang/zh_Hans", data={"next": "//evil.example"})
    assert "登录" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_templates_translate_in_the_language_of_each_render_and_escape_values(app):
    from flask import render_template_string
    from flask_babel import force_locale

    page = (
        '{{ _("by %(name)s", name=who) }} | {{ ngettext("%(num)d waiting", "%(num)d waiting", 3) }}'
    )
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert (
            render_template_string(page, who="<b>Li</b>") == "by &lt;b&gt;Li&lt;/b&gt; | 3 waiting"
        )
        # A message rendered for a recipient in the middle of an English request.
        with force_locale("zh_Hans"):
            chinese = render_template_string(page, who="<b>Li</b>")
        assert chinese == "操作人：&lt;b&gt;Li&lt;/b&gt; | 3 条待处理"
        assert render_template_string(page, who="Wang").startswith("by Wang")


def test_python_strings_follow_each_request_and_each_messages_language(app):
    """The request's catalogue is looked up once and then reused: a message for a
    recipient in another language is still in theirs, and the next request (in the
    same thread) is in its own language again."""
    from exchange.i18n import _, _l, in_language, ngettext

    draft = _l("Draft")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert _("Draft") == "Draft"
        assert str(draft) == "Draft"
        with in_language("zh_Hans"):
            assert _("Draft") == "草稿"
            assert str(draft) == "草稿"
            assert ngettext("%(num)d waiting", "%(num)d waiting", 3) == "3 条待处理"
        assert _("by %(name)s", name="Li") == "by Li"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert _("Draft") == "草稿"
        assert _("by %(name)s", name="Li") == "操作人：Li"
    with app.app_context():  # no request: English, as on the command line
        assert _("Draft") == "Draft"


def test_a_message_sent_during_a_request_is_in_its_recipients_language(app, make_user):
    import email
    import email.policy
    import re

    from exchange.accounts import reset
    from exchange.i18n import _

    chinese = make_user("expert", locale="zh_Hans", name="Li Ming")
    outbox = Path(app.instance_path) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert _("Draft") == "Draft"  # the request's English catalogue is in use
        reset.send_set_password_email(chinese)
        assert _("Draft") == "Draft"  # and still is afterwards
    (written,) = set(outbox.glob("*.eml")) - before
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert message["Content-Language"] == "zh-Hans"
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert cjk.search(str(message["Subject"])), message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert cjk.search(body.splitlines()[0]), body
    assert "Hello" not in body
