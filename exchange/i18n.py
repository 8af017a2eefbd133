"""Translations for Python code: Flask-Babel's catalogues, looked up once per request.

Flask-Babel finds the catalogue again on every string (several context-local reads
and the locale's name each time, some 8 µs); a list page translates a hundred labels
and hours. The request's catalogue does not change while it runs, so the first
string of a request looks it up and the rest use it, until the request ends
(``init_app``). Inside ``in_language`` (a message in its recipient's language) every
string asks Flask-Babel, which then answers in that language.

Use these instead of Flask-Babel's: ``_`` / ``gettext``, ``ngettext``, ``_l`` /
``lazy_gettext``, ``lazy_ngettext`` (the names ``make messages`` extracts).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import flask_babel
from babel.support import NullTranslations
from flask import Flask, has_request_context
from flask_babel import LazyString

# The request's catalogue and language once looked up; _ASK: ask Flask-Babel every time.
_ASK: Any = object()
_current: ContextVar[Any] = ContextVar("exchange_translations", default=None)
_language: ContextVar[Any] = ContextVar("exchange_language", default=None)


def _translations() -> NullTranslations | None:
    """The request's catalogue, or None when Flask-Babel must be asked."""
    found = _current.get()
    if found is _ASK:
        return None
    if found is None:
        if not has_request_context():
            return None
        found = flask_babel.get_translations()
        _current.set(found)
    return found  # type: ignore[no-any-return]


def language() -> str:
    """The language strings are in now ("en", "zh_Hans"): the request's (looked up once),
    or inside ``in_language`` its recipient's."""
    found = _language.get()
    if found is None or found is _ASK:
        name = str(flask_babel.get_locale() or "en")
        if found is None and has_request_context():
            _language.set(name)
        return name
    return found  # type: ignore[no-any-return]


def gettext(string: str, **variables: Any) -> str:
    translations = _translations()
    if translations is None:
        return flask_babel.gettext(string, **variables)
    text = translations.ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    translations = _translations()
    if translations is None:
        return flask_babel.ngettext(singular, plural, num, **variables)
    variables.setdefault("num", num)
    return translations.ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    return LazyString(gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables: Any) -> LazyString:
    return LazyString(ngettext, singular, plural, num, **variables)


_ = gettext
_l = lazy_gettext


@contextmanager
def in_language(locale: str) -> Iterator[None]:
    """Strings inside are in ``locale`` (Flask-Babel's ``force_locale``)."""
    with flask_babel.force_locale(locale):
        tokens = _current.set(_ASK), _language.set(_ASK)
        try:
            yield
        finally:
            _current.reset(tokens[0])
            _language.reset(tokens[1])


def init_app(app: Flask) -> None:
    """Forget the request's catalogue and language when it ends: the next request (in
    this thread) may be in another language."""

    @app.teardown_request
    def forget_catalogue(_error: BaseException | None) -> None:
        _current.set(None)
        _language.set(None)
