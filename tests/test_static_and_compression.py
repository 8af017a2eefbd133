"""Fast on the second page and on a slow network: versioned static files kept for a
year, and compressed answers."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from pathlib import Path

import brotli
import pytest

from exchange.static_files import Versions

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"


def _static_addresses(page: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', page)


def test_every_static_address_of_a_page_carries_the_files_version(client, sign_in, college):
    sign_in(college.teacher)
    page = client.get("/logs/new").get_data(as_text=True)
    addresses = _static_addresses(page)
    assert {"app.css", "app.js"} <= {a.split("?")[0].removeprefix("/static/") for a in addresses}
    for address in addresses:
        name, _, query = address.removeprefix("/static/").partition("?v=")
        digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()
        assert query == digest[:12], address


def test_a_versioned_file_is_kept_for_a_year(client):
    page = client.get("/login").get_data(as_text=True)
    stylesheet = next(a for a in _static_addresses(page) if "app.css" in a)
    with client.get(stylesheet) as answer:
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer.get_data() == (STATIC / "app.css").read_bytes()


@pytest.mark.parametrize("address", ["/static/app.css", "/static/app.css?v=0123456789ab"])
def test_an_unversioned_or_stale_address_gets_the_current_file_revalidated(client, address):
    with client.get(address) as answer:
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "no-cache"
        assert answer.get_data() == (STATIC / "app.css").read_bytes()


def test_a_changed_file_gets_a_new_version(tmp_path):
    versions = Versions(str(tmp_path))
    (tmp_path / "app.css").write_text("body { color: black }")
    first = versions.of("app.css")
    assert versions.of("app.css") == first
    (tmp_path / "app.css").write_text("body { color: teal }")
    os.utime(tmp_path / "app.css", (1, 1))  # a different modification time, as an edit gives
    assert versions.of("app.css") not in (None, first)
    assert versions.of("missing.css") is None
    assert versions.of("../outside.css") is None


def test_outside_debug_mode_a_files_version_is_worked_out_once(tmp_path):
    versions = Versions(str(tmp_path), watch=False)
    (tmp_path / "app.css").write_text("body { color: black }")
    first = versions.of("app.css")
    (tmp_path / "app.css").write_text("body { color: teal }")
    os.utime(tmp_path / "app.css", (1, 1))
    assert versions.of("app.css") == first  # until the process restarts
    assert Versions(str(tmp_path), watch=False).of("app.css") not in (None, first)
    assert versions.of("missing.css") is None
    assert versions.of("../outside.css") is None


def test_nothing_outside_the_static_folder_is_served(client):
    assert client.get("/static/../exchange/config.py").status_code == 404
    assert client.get("/static/%2e%2e/pyproject.toml").status_code == 404


def test_pages_are_compressed_as_the_browser_asks(client):
    plain = client.get("/login")
    assert "Content-Encoding" not in plain.headers
    text = plain.get_data()

    as_brotli = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert as_brotli.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in as_brotli.headers["Vary"]
    as_gzip = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert as_gzip.headers["Content-Encoding"] == "gzip"
    # The same page (but for its CSRF token), in a fraction of the bytes.
    token = re.compile(
        rb'name="csrf_token" type="hidden" value="[^"]+"|value="[^"]+" name="csrf_token"'
    )
    for answer, unpack in ((as_brotli, brotli.decompress), (as_gzip, gzip.decompress)):
        body = answer.get_data()
        assert len(body) < len(text) / 2
        assert token.sub(b"", unpack(body)) == token.sub(b"", text)


def test_signed_in_pages_stay_uncached_when_compressed(client, sign_in, college):
    sign_in(college.teacher)
    answer = client.get("/", headers={"Accept-Encoding": "br"})
    assert answer.headers["Content-Encoding"] == "br"
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("encoding", "unpack"), [("br", brotli.decompress), ("gzip", gzip.decompress)]
)
def test_the_stylesheet_is_compressed_too(client, encoding, unpack):
    page = client.get("/login").get_data(as_text=True)
    stylesheet = next(a for a in _static_addresses(page) if "app.css" in a)
    with client.get(stylesheet, headers={"Accept-Encoding": encoding}) as answer:
        assert answer.headers["Content-Encoding"] == encoding
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert unpack(answer.get_data()) == (STATIC / "app.css").read_bytes()


def test_compression_can_be_left_to_a_proxy(make_app):
    app = make_app(EXCHANGE_COMPRESS=False)
    answer = app.test_client().get("/login", headers={"Accept-Encoding": "gzip, br"})
    assert answer.status_code == 200
    assert "Content-Encoding" not in answer.headers


def test_static_files_carry_only_the_headers_a_file_needs(client):
    page = client.get("/login").get_data(as_text=True)
    for address in _static_addresses(page):
        with client.get(address) as answer:
            assert answer.headers["X-Content-Type-Options"] == "nosniff", address
            for name in ("Content-Disposition", "X-Frame-Options", "Referrer-Policy"):
                assert name not in answer.headers, (address, name)
            svg = answer.mimetype == "image/svg+xml"
            assert ("Content-Security-Policy" in answer.headers) is svg, address
    # A page keeps all of them.
    headers = client.get("/login").headers
    for name in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
        assert name in headers
