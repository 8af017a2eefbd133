"""Helpers the test modules share: counting SQL statements, reading forms, the API's answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser

from sqlalchemy import event

from exchange.extensions import db


@contextmanager
def sql_statements() -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the ``with`` block, in order."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


class FormPage(HTMLParser):
    """A rendered form as the user sees it: each field's value and its error, by id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = html
        self.values: dict[str, object] = {}
        self.errors: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._error: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        ident = a.get("id") or ""
        if tag == "input" and ident:
            self.values[ident] = "checked" in a if a.get("type") == "checkbox" else a.get("value")
        elif tag == "select":
            self._select = ident
            self.values[ident] = None
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value")
        elif tag == "textarea":
            self._textarea = ident
            self.values[ident] = ""
        elif tag == "p" and a.get("class") == "error" and ident.endswith("-error"):
            self._error = ident.removesuffix("-error")
            self.errors[self._error] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "p":
            self._error = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] = (str(self.values[self._textarea]) + data).lstrip("\r\n")
        if self._error:
            self.errors[self._error] += data


def refused(client, url: str, data: dict[str, str]) -> FormPage:
    """Post a form the service refuses: the same page comes back, not a redirect or a 500."""
    response = client.post(url, data=data)
    assert response.status_code == 200, response.status_code
    page = FormPage(response.get_data(as_text=True))
    assert "Please correct the highlighted fields." in page.html
    return page


# --- the JSON API ---------------------------------------------------------------

API = "/api/v1"


def assert_error(response, status: int, code: str, fields: tuple[str, ...] = ()):
    """The SPEC §7 error body: {"error": {"code", "message", "fields", "request_id"}}."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    # "details" only where the error carries facts to act on (e.g. a date); "request_id"
    # whenever the error answers a request (what a person quotes when reporting it).
    assert set(error) - {"details", "request_id"} == {"code", "message", "fields"}
    if "request_id" in error:
        assert error["request_id"] == response.headers["X-Request-ID"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["fields"], dict)
    for name in fields:
        assert name in error["fields"], error
        assert isinstance(error["fields"][name], str)
    return error


def openapi_document(client) -> dict:
    """The API's OpenAPI description, as a client downloads it."""
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def resolve(doc: dict, node: dict) -> dict:
    """``node``, or what its ``$ref`` points to."""
    while "$ref" in node:
        target = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_api_answer(app, response) -> None:
    """Every answer under /api/v1 is one its endpoint documents, with a body of the
    documented shape: the same models make the OpenAPI document, so every API test
    checks the document against what the endpoints really answer."""
    from pydantic import ValidationError as ShapeError
    from werkzeug.exceptions import HTTPException

    from exchange.api.models import Error
    from exchange.api.openapi import answers_of

    request = response.request
    if not request.path.startswith(f"{API}/") or response.status_code >= 500:
        return
    try:
        endpoint, _ = app.url_map.bind("localhost").match(request.path, method=request.method)
    except HTTPException:  # no such address or method: the error body
        endpoint = None
    if endpoint == "api.openapi_json" or request.method in ("HEAD", "OPTIONS"):
        return
    answers = answers_of(endpoint) if endpoint else {}
    status = response.status_code
    if endpoint is None or status in (405, 413):
        model = Error
    else:
        assert status in answers, (
            f"{request.method} {request.path} answered {status}, documented: {sorted(answers)}"
        )
        model = answers[status]
    if model is None:
        from exchange.api.openapi import media_of

        media = media_of(endpoint, status) if endpoint else None
        if media is not None:
            assert response.mimetype == media, f"{request.method} {request.path}: not {media}"
            return
        assert not response.get_data(), f"{request.method} {request.path}: documented empty"
        return
    try:
        model.model_validate_json(response.get_data(), strict=True)
    except ShapeError as error:
        raise AssertionError(
            f"{request.method} {request.path} {status} is not a documented {model.__name__}: "
            f"{error}"
        ) from None


def required_fields(doc: dict, name: str) -> set[str]:
    """The required properties of the schema ``name``, through ``allOf`` too."""
    schema = resolve(doc, doc["components"]["schemas"][name])
    if "allOf" in schema:
        return set().union(
            *(
                required_fields(doc, part["$ref"].rsplit("/", 1)[1])
                if "$ref" in part
                else set(part["required"])
                for part in schema["allOf"]
            )
        )
    return set(schema["required"])


def practice_form(college, **overrides) -> dict[str, str]:
    """The log form's fields for a practice log of the college's teacher today (a draft,
    verified by the college's expert), with ``overrides``."""
    from exchange.timeutil import college_today

    data = {
        "date": college_today().isoformat(),
        "hours": "1.5",
        "category": "clinical",
        "enterprise_id": str(college.enterprise.id),
        "verifier_id": str(college.expert.id),
        "description": "Ward rounds\nwith the cardiology team",
        "client_id": str(uuid.uuid4()),
        "intent": "draft",
    }
    data.update(overrides)
    return data
