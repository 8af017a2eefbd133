"""Signed tokens for links (on-site confirmation, password reset, invitations).

Every serializer signs with ``SECRET_KEY`` and also accepts what one of the
``SECRET_KEY_FALLBACKS`` signed, as Flask does for the session cookie: an
operator who rotates the key keeps the links already sent out working.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app
from itsdangerous import URLSafeTimedSerializer

from exchange.errors import NotFound
from exchange.i18n import _l


def signing_keys() -> list[str]:
    """The keys that verify, oldest first; itsdangerous signs with the last one."""
    fallbacks = current_app.config.get("SECRET_KEY_FALLBACKS") or []
    return [*map(str, fallbacks), str(current_app.config["SECRET_KEY"])]


def serializer(salt: str) -> URLSafeTimedSerializer:
    """A timed serializer for one purpose: ``salt`` keeps one kind of token from
    being accepted as another."""
    return URLSafeTimedSerializer(signing_keys(), salt=salt)


class LinkInvalid(NotFound):
    """A signed link that names nothing: tampered, cut short, or of another kind."""

    code = "link_invalid"
    default_message: Any = _l("This link is not valid.")
    # The page's answer: 404 for a link that never worked, 410 for one that did.
    status_for_page = 404


class LinkExpired(LinkInvalid):
    code = "link_expired"
    default_message: Any = _l("This link has expired.")
    status_for_page = 410


class LinkUsed(LinkInvalid):
    """Genuine and in time, but used up or replaced (single-use links)."""

    code = "link_used"
    default_message: Any = _l("This link no longer works.")
    status_for_page = 410


# --- client addresses ---------------------------------------------------------------

ADDRESS_SALT = b"exchange-client-address"


def address_hash(address: str | None) -> str | None:
    """A salted hash of a client's address (HMAC-SHA256 with ``SECRET_KEY``, in hex):
    two requests from one address compare equal, and the address itself is never
    stored. None when the address is unknown. After a key rotation, hashes made
    before it no longer match new ones (the comparison then simply finds nothing)."""
    if not address:
        return None
    key = ADDRESS_SALT + str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()
