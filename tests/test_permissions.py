"""Every address declares who may open it, and admin addresses refuse everyone else.

These tests walk ``app.url_map``: a new route without a declared permission,
or an admin route that lets another role in, fails here.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from exchange.permissions import PUBLIC, SIGNED_IN, permission_of
from exchange.web import IdConverter

NON_ADMIN_ROLES = ["teacher", "expert", "head"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule, app.view_functions[rule.endpoint]


def _url(rule) -> str:
    """The rule's address with a plausible value for each part."""
    values = {}
    for arg in rule.arguments:
        converter = rule._converters.get(arg)
        if isinstance(converter, AnyConverter):
            values[arg] = sorted(converter.items)[0]
        elif isinstance(converter, (IdConverter, IntegerConverter)):
            values[arg] = 1
        else:
            values[arg] = "x"
    return rule.build(values, append_unknown=False)[1]


def _methods(rule) -> list[str]:
    return [m for m in METHODS if m in rule.methods]


def test_every_route_declares_its_permission(app):
    undeclared = [rule.rule for rule, view in _rules(app) if permission_of(view) is None]
    assert undeclared == []


def _admin_rules(app):
    return [
        rule
        for rule, view in _rules(app)
        if permission_of(view) not in (PUBLIC, SIGNED_IN)
        and "admin" in permission_of(view)
        and len(permission_of(view)) == 1
    ]


def test_there_are_admin_pages_and_endpoints(app):
    paths = [rule.rule for rule in _admin_rules(app)]
    assert any(p.startswith("/admin") for p in paths)
    assert any(p.startswith("/api/v1/") for p in paths)


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_admin_routes_refuse_every_other_role(app, client, make_user, login_as, api_token, role):
    user = make_user(role)
    login_as(user)
    headers = api_token(user)
    refused = []
    for rule in _admin_rules(app):
        for method in _methods(rule):
            is_api = rule.rule.startswith("/api/")
            response = client.open(
                _url(rule),
                method=method,
                headers=headers if is_api else {},
                json={} if is_api else None,
            )
            if response.status_code != 403:
                refused.append((method, rule.rule, response.status_code))
    assert refused == []


def test_signed_in_routes_refuse_anonymous_visitors(app, client):
    let_through = []
    for rule, view in _rules(app):
        if permission_of(view) == PUBLIC:
            continue
        for method in _methods(rule):
            response = client.open(_url(rule), method=method)
            expected = 401 if rule.rule.startswith("/api/") else 302
            if response.status_code != expected or (
                expected == 302 and "/login" not in response.headers["Location"]
            ):
                let_through.append((method, rule.rule, response.status_code))
    assert let_through == []
