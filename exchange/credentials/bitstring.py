"""The W3C Bitstring Status List's ``encodedList`` (Bitstring Status List v1.0 §3.1):
a bitstring GZIP-compressed and written as multibase base64url without padding ("u…").
Position 0 is the first (most significant) bit of the first byte. Pure: standard
library only."""

from __future__ import annotations

import base64
import gzip
import io
from collections.abc import Iterable

# The specification's minimum: 16 KiB of bits, so that one credential's position
# says little about who holds it.
LIST_SIZE = 131_072

# The compressed form of even a full list is far below this; more is not a list of ours.
MAX_ENCODED = 64 * 1024
MAX_DECODED = 16 * 1024 * 1024


class BadEncodedList(ValueError):
    """Not a multibase base64url GZIP bitstring."""


def encode(set_positions: Iterable[int], size: int = LIST_SIZE) -> str:
    """The ``encodedList`` of a list of ``size`` bits with ``set_positions`` at 1."""
    if size <= 0 or size % 8:
        raise ValueError("a status list is a whole number of bytes")
    bits = bytearray(size // 8)
    for position in set_positions:
        if not 0 <= position < size:
            raise ValueError(f"position {position} is outside a list of {size}")
        bits[position // 8] |= 0x80 >> (position % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytes:
    """The bitstring of an ``encodedList``."""
    if not encoded.startswith("u") or len(encoded) > MAX_ENCODED:
        raise BadEncodedList("not a multibase base64url list")
    body = encoded[1:]
    try:
        padded = body + "=" * (-len(body) % 4)
        compressed = base64.b64decode(padded, altchars=b"-_", validate=True)
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as unpacked:
            bits = unpacked.read(MAX_DECODED + 1)
    except (ValueError, OSError, EOFError) as error:
        raise BadEncodedList(str(error)) from None
    if not bits or len(bits) > MAX_DECODED:
        raise BadEncodedList("no list, or too long a one")
    return bits


def is_set(bits: bytes, position: int) -> bool:
    """Whether the bit at ``position`` is 1 (a position past the end is not a list's)."""
    if not 0 <= position < len(bits) * 8:
        raise IndexError(position)
    return bool(bits[position // 8] & (0x80 >> (position % 8)))
