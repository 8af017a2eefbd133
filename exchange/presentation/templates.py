"""Everything of ``exchange.presentation`` as template globals, registered once on the app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from babel.support import NullTranslations
from flask import Flask
from flask_babel import get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from exchange.i18n import language
from exchange.presentation import (
    Label,
    hours,
    label,
    local_datetime,
    local_name,
    local_time,
    money,
)
from exchange.presentation.accounts import account_event_label, role_label
from exchange.presentation.logs import (
    action_button,
    action_label,
    category_label,
    flag_label,
    kind_label,
    status_label,
)
from exchange.presentation.org import AGREEMENT_SCOPE_LABELS, agreement_state_label
from exchange.presentation.rewards import (
    RULE_SCOPE_LABELS,
    audience_label,
    award_action_label,
    award_status_label,
    award_status_tone,
    outcome_text,
    round_place,
    round_state_label,
    rule_kind_label,
)


def scope_label(code: str) -> Label:
    """An agreement's scope or a reward rule's scope (their codes differ)."""
    if code in AGREEMENT_SCOPE_LABELS:
        return label(AGREEMENT_SCOPE_LABELS, code)
    return label(RULE_SCOPE_LABELS, code)


TEMPLATE_GLOBALS: dict[str, Callable[..., Any]] = {
    "money": money,
    "local_name": local_name,
    "hours": hours,
    "local_time": local_time,
    "local_datetime": local_datetime,
    "role_label": role_label,
    "account_event_label": account_event_label,
    "status_label": status_label,
    "action_label": action_label,
    "action_button": action_button,
    "category_label": category_label,
    "flag_label": flag_label,
    "kind_label": kind_label,
    "scope_label": scope_label,
    "agreement_state_label": agreement_state_label,
    "award_status_label": award_status_label,
    "award_action_label": award_action_label,
    "award_status_tone": award_status_tone,
    "round_state_label": round_state_label,
    "rule_kind_label": rule_kind_label,
    "audience_label": audience_label,
    "round_place": round_place,
    "outcome_text": outcome_text,
}


def _bound_gettext(translations: NullTranslations) -> dict[str, Callable[..., str]]:
    """Jinja's newstyle ``gettext``/``ngettext`` bound to one catalogue.

    Flask-Babel's template callables look the catalogue up again on every string
    (several context-local reads each, some hundred times a page); a render's
    catalogue does not change while it renders, so each render is given these,
    made once per catalogue. They do what Jinja's newstyle callables do: the
    translation is markup where the template autoescapes, and always a format
    string, so values put into it are escaped.
    """

    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        text = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our own catalogue; values are escaped by %
        return text % variables

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our own catalogue; values are escaped by %
        return text % variables

    return {"gettext": gettext, "ngettext": ngettext}


_GETTEXT_OF: dict[NullTranslations, dict[str, Callable[..., str]]] = {}


def template_gettext() -> dict[str, Callable[..., str]]:
    """The template callables of the catalogue in force (the request's, or a message's
    recipient's): one pair per catalogue, kept while the process runs."""
    translations = get_translations()
    bound = _GETTEXT_OF.get(translations)
    if bound is None:
        bound = _GETTEXT_OF[translations] = _bound_gettext(translations)
    return bound


def register(
    app: Flask,
    *,
    helpers: Mapping[str, Callable[..., Any]] | None = None,
    per_request: Mapping[str, Callable[[], object]] | None = None,
) -> None:
    """Make the formatters and labels available to every template (and macro) of the app.

    ``helpers`` are further globals the application passes in (domain predicates a
    template asks, e.g. whether a log needs another verifier); ``per_request`` are
    values computed for each render (the navigation's "To do"), next to ``locale``.
    """
    app.jinja_env.globals.update(TEMPLATE_GLOBALS)
    app.jinja_env.globals.update(helpers or {})
    providers = dict(per_request or {})

    @app.context_processor
    def request_values() -> dict[str, object]:
        values: dict[str, object] = {"locale": language(), **template_gettext()}
        values.update((name, provide()) for name, provide in providers.items())
        return values
