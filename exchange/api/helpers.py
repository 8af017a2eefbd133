"""Pagination and answers shared by the API views (parsing lives in exchange.api.spec)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, url_for
from sqlalchemy import Select

from exchange.api.spec import MAX_PER_PAGE, MalformedRequest, Page
from exchange.db import MAX_ID, Base
from exchange.errors import NotFound
from exchange.extensions import db

M = TypeVar("M", bound=Base)

__all__ = [
    "MAX_PER_PAGE",
    "MalformedRequest",
    "created",
    "get_or_404",
    "get_or_none",
    "page_of",
    "paginated",
]


def get_or_none(model: type[M], ident: int) -> M | None:
    """The row with this id, if there is one (ids out of the column's range: none)."""
    return db.session.get(model, ident) if 0 < ident <= MAX_ID else None


def get_or_404(model: type[M], ident: int) -> M:
    """The row with this id, or a JSON 404."""
    found = get_or_none(model, ident)
    if found is None:
        raise NotFound()
    return found


def created(body: dict[str, Any], endpoint: str, **ids: Any) -> Response:
    """201 with the new resource, and its address in Location."""
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for(endpoint, **ids)
    return response


def _size(page: Page) -> tuple[int, int]:
    per_page = page.per_page or int(current_app.config["PER_PAGE"])
    return page.page, min(per_page, MAX_PER_PAGE)


def paginated(stmt: Select[Any], serialise: Callable[[Any], Any], page: Page) -> dict[str, Any]:
    number, per_page = _size(page)
    result = db.paginate(
        stmt, page=number, per_page=per_page, max_per_page=MAX_PER_PAGE, error_out=False
    )
    return {
        "items": [serialise(item) for item in result.items],
        "page": number,
        "per_page": per_page,
        "total": result.total,
    }


def page_of(items: Sequence[Any], serialise: Callable[[Any], Any], page: Page) -> dict[str, Any]:
    """A computed list (not a query) answered like every other list."""
    number, per_page = _size(page)
    start = (number - 1) * per_page
    return {
        "items": [serialise(item) for item in items[start : start + per_page]],
        "page": number,
        "per_page": per_page,
        "total": len(items),
    }
