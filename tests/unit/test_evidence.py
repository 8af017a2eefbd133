"""Evidence files are recognised by their first bytes, never by their name (SPEC §3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.logs.evidence import EXTENSIONS, MAX_BYTES, sniff

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
JPEG_EXIF = b"\xff\xd8\xff\xe1\x1c\x45Exif\x00\x00MM\x00*"


def _ftyp(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00" + brand + b"mif1"


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (JPEG, "image/jpeg"),
        (JPEG_EXIF, "image/jpeg"),
        (PNG, "image/png"),
        (b"GIF87a\x01\x00\x01\x00\x80\x00\x00", "image/gif"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", "image/webp"),
        (_ftyp(b"heic"), "image/heic"),
        (_ftyp(b"heix"), "image/heic"),
        (_ftyp(b"mif1"), "image/heic"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b"%PDF-2.0\n", "application/pdf"),
    ],
    ids=[
        "jpeg-jfif",
        "jpeg-exif",
        "png",
        "gif87a",
        "gif89a",
        "webp",
        "heic",
        "heix",
        "heif-mif1",
        "pdf-1.7",
        "pdf-2.0",
    ],
)
def test_photos_and_pdfs_are_recognised(head, media_type):
    assert sniff(head) == media_type
    assert media_type in EXTENSIONS


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"Ward rounds with the cardiology team\n",
        b"\xef\xbb\xbfplain text with a byte order mark",
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        b"<html><body>hi</body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",  # ZIP (and DOCX, XLSX)
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",  # Windows EXE
        b"\x7fELF\x02\x01\x01\x00",  # Linux executable
        b"#!/bin/sh\nrm -rf /\n",
        b"{\\rtf1\\ansi",
        b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2",  # MP4 video, not a photo
        b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00",  # QuickTime video
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # sound
        b"RIFF\x24\x00\x00\x00AVI LIST",  # video
        b"\xff\xd8",  # too short to be a JPEG
        b"\x89PNG",  # a truncated PNG signature
        b"GIF8",
        b"%PDF",  # without the dash
        b"%pdf-1.4",  # case matters
        b"junk" + PNG,  # a PNG header after junk
        b"\n" + PNG,
        b" %PDF-1.4",
        b"\x00" * 32,
    ],
    ids=[
        "empty",
        "text",
        "text-bom",
        "html-script",
        "html",
        "svg-script",
        "svg-xml",
        "zip",
        "exe",
        "elf",
        "shell",
        "rtf",
        "mp4",
        "quicktime",
        "wav",
        "avi",
        "short-jpeg",
        "short-png",
        "short-gif",
        "pdf-no-dash",
        "pdf-lowercase",
        "png-after-junk",
        "png-after-newline",
        "pdf-after-space",
        "zeros",
    ],
)
def test_anything_else_is_refused(head):
    assert sniff(head) is None


def test_the_limit_is_five_megabytes():
    assert MAX_BYTES == 5 * 1024 * 1024


def test_every_recognised_type_has_a_stored_extension():
    assert set(EXTENSIONS) == {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "application/pdf",
    }
    assert len(set(EXTENSIONS.values())) == len(EXTENSIONS)


@given(st.binary(max_size=64))
def test_sniff_never_fails_and_names_only_known_types(head):
    assert sniff(head) in (None, *EXTENSIONS)


@given(st.binary(min_size=1, max_size=64).filter(lambda b: not b.startswith(b"\x89")))
def test_a_png_signature_must_come_first(junk):
    assert sniff(junk + PNG) != "image/png"
