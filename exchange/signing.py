"""Signed tokens for links (on-site confirmation, password reset, invitations).

Every serializer signs with ``SECRET_KEY`` and also accepts what one of the
``SECRET_KEY_FALLBACKS`` signed, as Flask does for the session cookie: an
operator who rotates the key keeps the links already sent out working.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import URLSafeTimedSerializer


def signing_keys() -> list[str]:
    """The keys that verify, oldest first; itsdangerous signs with the last one."""
    fallbacks = current_app.config.get("SECRET_KEY_FALLBACKS") or []
    return [*map(str, fallbacks), str(current_app.config["SECRET_KEY"])]


def serializer(salt: str) -> URLSafeTimedSerializer:
    """A timed serializer for one purpose: ``salt`` keeps one kind of token from
    being accepted as another."""
    return URLSafeTimedSerializer(signing_keys(), salt=salt)
