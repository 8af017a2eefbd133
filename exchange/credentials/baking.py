"""Badge images with the credential baked in, as Open Badges 3.0 §5.3 prescribes:
a PNG carries the VC-JWT in an ``iTXt`` chunk with the keyword
``openbadgecredential``; an SVG in an ``<openbadges:credential>`` element of the
namespace ``https://purl.imsglobal.org/ob/v3p0``, the JWT in its ``verify`` attribute.

The chunks are written and read here with the standard library (PNG is a list of
length-type-data-CRC chunks); the SVG is read with defusedxml (no entities, no
network). Pure: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import struct
import zlib
from xml.etree.ElementTree import Element  # noqa: S405 - only the type; parsing is defusedxml's

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"openbadgecredential"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
SVG_CREDENTIAL = f"{{{OB_NAMESPACE}}}credential"


class NotABadge(ValueError):
    """Not a PNG or SVG image, or one without a baked credential."""


# --- PNG -----------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, the CRCs checked."""
    if not png.startswith(PNG_SIGNATURE):
        raise NotABadge("not a PNG image")
    chunks, at = [], len(PNG_SIGNATURE)
    while at < len(png):
        if at + 8 > len(png):
            raise NotABadge("a PNG chunk is cut short")
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        end = at + 8 + length
        if end + 4 > len(png):
            raise NotABadge("a PNG chunk is cut short")
        data = png[at + 8 : end]
        (crc,) = struct.unpack(">I", png[end : end + 4])
        if crc != zlib.crc32(kind + data):
            raise NotABadge("a PNG chunk is damaged")
        chunks.append((kind, data))
        at = end + 4
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise NotABadge("not a complete PNG image")
    return chunks


def bake_png(png: bytes, token: str) -> bytes:
    """The image with ``token`` in an uncompressed iTXt chunk ``openbadgecredential``
    just before its end (a credential baked before is replaced)."""
    kept = [
        (k, d) for k, d in _chunks(png) if not (k == b"iTXt" and _itxt_keyword(d) == PNG_KEYWORD)
    ]
    # keyword, NUL, compression flag 0, method 0, empty language tag, empty translation
    itxt = PNG_KEYWORD + b"\x00\x00\x00" + b"\x00" + b"\x00" + token.encode("utf-8")
    body = [_chunk(k, d) for k, d in kept[:-1]] + [_chunk(b"iTXt", itxt), _chunk(b"IEND", b"")]
    return PNG_SIGNATURE + b"".join(body)


def _itxt_keyword(data: bytes) -> bytes:
    return data.split(b"\x00", 1)[0]


def read_png(png: bytes) -> str:
    """The credential baked into a PNG badge."""
    for kind, data in _chunks(png):
        if kind != b"iTXt" or _itxt_keyword(data) != PNG_KEYWORD:
            continue
        rest = data[len(PNG_KEYWORD) + 1 :]
        if len(rest) < 2:
            break
        compressed, rest = rest[0], rest[2:]
        _language, _, rest = rest.partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        if compressed:
            try:
                text = zlib.decompressobj().decompress(text, 1024 * 1024)
            except zlib.error:
                raise NotABadge("the baked credential is damaged") from None
        try:
            return text.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise NotABadge("the baked credential is damaged") from None
    raise NotABadge("no credential is baked into this PNG image")


# --- SVG -----------------------------------------------------------------------------


def bake_svg(svg: str, token: str) -> str:
    """The SVG with an ``<openbadges:credential verify="…">`` element as the first child
    of its root (the namespace declared on the root)."""
    start = svg.find("<svg")
    close = svg.find(">", start)
    if start < 0 or close < 0:
        raise NotABadge("not an SVG image")
    root = svg[start:close]
    if "xmlns:openbadges" not in root:
        root += f' xmlns:openbadges="{OB_NAMESPACE}"'
    element = f'<openbadges:credential verify="{_attribute(token)}"></openbadges:credential>'
    return svg[:start] + root + ">" + element + svg[close + 1 :]


def _attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def read_svg(svg: bytes) -> str:
    """The credential baked into an SVG badge (the ``verify`` attribute, or the element's
    text for a credential baked as content)."""
    try:
        root: Element = SafeTree.fromstring(svg, forbid_dtd=True)
    except (SafeTree.ParseError, DefusedXmlException, ValueError):
        raise NotABadge("not a readable SVG image") from None
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise NotABadge("not an SVG image")
    for element in root.iter(SVG_CREDENTIAL):
        token = element.get("verify") or (element.text or "")
        if token.strip():
            return token.strip()
    raise NotABadge("no credential is baked into this SVG image")


def read_badge(data: bytes) -> str:
    """The credential baked into a PNG or SVG badge, whichever ``data`` is."""
    if data.startswith(PNG_SIGNATURE):
        return read_png(data)
    head = data[:512].lstrip()
    if head.startswith(b"<"):
        return read_svg(data)
    raise NotABadge("not a PNG or SVG image")


# --- the badge pictures ----------------------------------------------------------------


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def badge_svg(*, award_name: str, award_name_zh: str, number: str, institution: str) -> str:
    """A round badge naming the honour in both languages, its certificate number and the
    institution; system fonts only (no external requests)."""
    title = _text(award_name)
    zh = _text(award_name_zh)
    return (
        f'<svg xmlns="{SVG_NAMESPACE}" width="400" height="400" viewBox="0 0 400 400" '
        f'role="img" aria-labelledby="badge-title">'
        f'<title id="badge-title">{title}</title>'
        '<circle cx="200" cy="200" r="190" fill="#0b5d57"/>'
        '<circle cx="200" cy="200" r="170" fill="#fdf6e3" stroke="#c9a227" stroke-width="8"/>'
        '<g font-family="system-ui, sans-serif" text-anchor="middle" fill="#1a1a1a">'
        f'<text x="200" y="120" font-size="18">{_text(institution)}</text>'
        f'<text x="200" y="190" font-size="24" font-weight="bold">{title}</text>'
        + (f'<text x="200" y="225" font-size="22" lang="zh-Hans">{zh}</text>' if zh else "")
        + f'<text x="200" y="290" font-size="16">{_text(number)}</text>'
        "</g></svg>"
    )


def badge_png(*, number: str, size: int = 400) -> bytes:
    """The badge as a PNG picture (Pillow), with its certificate number."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, size - 10, size - 10), fill=(11, 93, 87, 255))
    draw.ellipse(
        (30, 30, size - 30, size - 30),
        fill=(253, 246, 227, 255),
        outline=(201, 162, 39, 255),
        width=8,
    )
    font = ImageFont.load_default(size=22)
    draw.text((size / 2, size / 2 - 20), "Honour", fill=(26, 26, 26, 255), anchor="mm", font=font)
    draw.text(
        (size / 2, size / 2 + 30),
        number,
        fill=(26, 26, 26, 255),
        anchor="mm",
        font=ImageFont.load_default(size=16),
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
