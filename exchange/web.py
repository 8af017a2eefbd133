"""Small helpers shared by the page views (not the API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, request
from flask_wtf import FlaskForm
from sqlalchemy import Select
from werkzeug.routing import BaseConverter

from exchange.db import MAX_ID
from exchange.errors import ValidationError
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


def paginate(stmt: Select[Any]) -> Any:
    return db.paginate(
        stmt,
        per_page=int(current_app.config["PER_PAGE"]),
        max_per_page=100,
        error_out=False,
    )


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
