"""Small helpers shared by the page views (not the API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request
from flask_sqlalchemy.pagination import Pagination
from flask_wtf import FlaskForm
from sqlalchemy import Select
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response

from exchange.db import MAX_ID
from exchange.errors import Conflict, ValidationError
from exchange.extensions import db

T = TypeVar("T")


class IdConverter(BaseConverter):
    """``<id:name>`` in a route: a record id, which the view then looks up.

    A number too large to be an id becomes 0, which names no record, so the
    lookup answers 404. Refusing it in the converter instead would make
    werkzeug answer 405 for the other methods of the same address.
    """

    regex = r"\d{1,10}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= MAX_ID else 0

    def to_url(self, value: int) -> str:
        return str(int(value))


def safe_next(target: str | None) -> str | None:
    """``target`` if it stays on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def page_number() -> int:
    """The ``?page=`` a person asked for: whole numbers from 1 (at most ``MAX_ID``, so
    that no offset overflows the database); anything else is the first page."""
    raw = request.args.get("page", "")
    if not (raw.isascii() and raw.isdigit()):
        return 1
    # More digits than any id: as far beyond the last page as a page can be.
    number = int(raw) if len(raw) <= 10 else MAX_ID
    return min(max(number, 1), MAX_ID)


def page_size() -> int:
    """How many items a list page shows (the app's ``PER_PAGE``, at most 100)."""
    return min(int(current_app.config["PER_PAGE"]), 100)


def paginate(stmt: Select[Any]) -> Any:
    """One page of ``stmt`` for a list page (SPEC §7: never a 500 for bad input).

    A page beyond the last shows the last page (a bookmarked page 3 of a queue
    that has shrunk since); a page that is no number shows the first. The page
    size is the app's: pages take no ``?per_page=``.
    """
    per_page = page_size()
    page = page_number()
    result = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    if page > 1 and page > result.pages:
        result = db.paginate(stmt, page=max(result.pages, 1), per_page=per_page, error_out=False)
    return result


class _CutPagination(Pagination):
    """Flask-SQLAlchemy's pagination over a page the domain has already cut."""

    def _query_items(self) -> list[Any]:
        return list(self._query_args["items"])

    def _query_count(self) -> int:
        return int(self._query_args["total"])


def cut_page(items: list[Any], total: int, page: int, per_page: int) -> Any:
    """A page the domain cut (its items, and how many there are in all), with the pager
    of ``paginate``."""
    return _CutPagination(page=page, per_page=per_page, error_out=False, items=items, total=total)


def run_form(form: FlaskForm, action: Callable[[], T]) -> T | None:
    """Run ``action`` if the form validates; put a service's field errors on the form.

    Returns the action's result, or None when the form must be shown again
    (its fields keep what the user typed).
    """
    if not form.validate_on_submit():
        return None
    try:
        return action()
    except ValidationError as error:
        db.session.rollback()
        for name, message in error.fields.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message] if field.errors else [message]
            else:
                form.form_errors.append(message)
        return None


def is_post() -> bool:
    return request.method == "POST"


def conflict_redirect(
    error: Conflict, to: str, *, changed: Any = None, category: str = "warning"
) -> Response:
    """The page's answer to a refused change (someone else changed the record first, its
    period is locked, the round is final): undo the request's changes, say why, and
    show the record as it stands now. ``changed`` is what to say when the conflict
    gives no reason of its own (the page's "this … has changed in the meantime"): a lazy
    string, as nothing that may read the database can run before the rollback."""
    db.session.rollback()
    message = changed if error.generic and changed is not None else error.message
    flash(str(message), category)
    return redirect(to)
