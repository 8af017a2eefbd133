"""Flask-Login wiring: sessions for pages, bearer tokens for the API (never mixed)."""

from __future__ import annotations

from flask import Flask, g, request
from flask_login import LoginManager

from exchange.accounts.models import User
from exchange.accounts.services import user_for_session, user_for_token
from exchange.db import MAX_ID
from exchange.i18n import _l


def configure_login(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        # The API authenticates by bearer token only, so a browser's session
        # cookie can never be used for a cross-site API call.
        if request.path.startswith("/api/"):
            return None
        user_id, _, key = session_id.partition(":")
        if not user_id.isdigit() or not key or int(user_id) > MAX_ID:
            return None
        return user_for_session(int(user_id), key)

    @login_manager.request_loader
    def load_user_from_token(req) -> User | None:  # type: ignore[no-untyped-def]
        if not req.path.startswith("/api/"):
            return None
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        found = user_for_token(token.strip())
        if found is None:
            return None
        user, api_token = found
        g.api_token = api_token
        return user
