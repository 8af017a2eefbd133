"""Checks of our own for `make fuzz` (loaded by schemathesis through SCHEMATHESIS_HOOKS).

``FUZZ_USER_ID`` and ``FUZZ_ROLE`` name the account whose token the run uses. A
teacher may read a log only as its owner or as its named verifier: every log in
every answer (one log, a list, a bulk answer) is checked for that.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import schemathesis

USER_ID = int(os.environ.get("FUZZ_USER_ID", "0"))
ROLE = os.environ.get("FUZZ_ROLE", "")


def _logs(body: Any) -> Iterator[dict[str, Any]]:
    """Every log object in an answer."""
    if isinstance(body, dict):
        if "owner_id" in body and "status" in body:
            yield body
        for value in body.values():
            yield from _logs(value)
    elif isinstance(body, list):
        for item in body:
            yield from _logs(item)


@schemathesis.check
def teacher_reads_only_own_logs(ctx: Any, response: Any, case: Any) -> None:
    """A teacher's token answers no log of someone else (unless the teacher verifies it)."""
    if ROLE != "teacher" or not 200 <= response.status_code < 300:
        return
    try:
        body = response.json()
    except ValueError:
        return
    for log in _logs(body):
        if USER_ID not in (log.get("owner_id"), log.get("verifier_id")):
            raise AssertionError(
                f"the teacher (user {USER_ID}) was answered log {log.get('id')} of user "
                f"{log.get('owner_id')}, verified by {log.get('verifier_id')}"
            )
