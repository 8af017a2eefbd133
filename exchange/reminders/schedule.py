"""Who hears of which waiting log in today's digests (SPEC §6 "Reminders").

Pure: no Flask, no SQLAlchemy. The service reads the waiting logs and the people
who approve, asks :func:`plan_digests`, and sends each person the one digest it
plans for them.

A log waits from the day it entered its present status (the trail entry that put
it there, in the college's calendar), and its age is counted in days of that
calendar, so that it does not depend on the hour the job runs at: a log submitted
on 1 December has waited 8 days on the 9th.

* a submitted log is on its named verifier's list (when that person may verify it
  now); a verified log is on the list of each head of its department but its owner,
  and on the administrators' list when no head is there to approve it;
* a submitted or verified log waiting longer than the escalation age
  (``EXCHANGE_ESCALATE_DAYS``, in days) is also listed to the department's heads, whoever is
  its verifier, and longer than twice that age to the administrators;
* a draft older than :data:`DRAFT_DAYS` days reminds its owner.

Nobody hears of their own log but as its owner (drafts), and a log appears once
in a person's digest: on the list of what the person can do about it if there is
one, among the escalations otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

DRAFT_DAYS = 14


class Waiting(StrEnum):
    """The status a log waits in (the workflow's names)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"  # for its verifier
    VERIFIED = "verified"  # for a head's (or an administrator's) approval


@dataclass(frozen=True)
class WaitingLog:
    log_id: int
    status: Waiting
    owner_id: int
    department_id: int
    # The named verifier, when they may verify it now (None: on-site confirmation, or a
    # verifier who has moved or left; the log then waits for a new one).
    verifier_id: int | None
    since: date  # the college day it entered its status

    def days(self, today: date) -> int:
        """How many days it has waited."""
        return (today - self.since).days


@dataclass(frozen=True)
class Approvers:
    """The active people who approve: heads by department, and the administrators."""

    heads: Mapping[int, Sequence[int]]
    admins: Sequence[int]


@dataclass
class Digest:
    """What one person hears of today, each list oldest first (log ids)."""

    person_id: int
    to_verify: list[int] = field(default_factory=list)
    to_approve: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)  # waiting too long, for someone else
    drafts: list[int] = field(default_factory=list)

    @property
    def items(self) -> int:
        return len(self.to_verify) + len(self.to_approve) + len(self.escalated) + len(self.drafts)


def plan_digests(
    logs: Iterable[WaitingLog],
    approvers: Approvers,
    *,
    today: date,
    escalate_days: int,
    draft_days: int = DRAFT_DAYS,
) -> dict[int, Digest]:
    """Each person's digest, by person id; people with nothing waiting have none."""
    digests: dict[int, Digest] = {}

    def digest(person_id: int) -> Digest:
        if person_id not in digests:
            digests[person_id] = Digest(person_id)
        return digests[person_id]

    # Oldest first, then by id, so that every list reads in the same order.
    ordered = sorted(logs, key=lambda log: (log.since, log.log_id))
    for log in ordered:
        age = log.days(today)
        if log.status is Waiting.DRAFT:
            if age > draft_days:
                digest(log.owner_id).drafts.append(log.log_id)
            continue
        heads = [h for h in approvers.heads.get(log.department_id, ()) if h != log.owner_id]
        acting: set[int] = set()
        if log.status is Waiting.SUBMITTED:
            if log.verifier_id is not None and log.verifier_id != log.owner_id:
                digest(log.verifier_id).to_verify.append(log.log_id)
                acting.add(log.verifier_id)
        else:
            # Approved by a head of the department; by an administrator when none can.
            for person_id in heads or approvers.admins:
                if person_id != log.owner_id:
                    digest(person_id).to_approve.append(log.log_id)
                    acting.add(person_id)
        told: list[int] = []
        if age > escalate_days:
            told += heads
        if age > 2 * escalate_days:
            told += [a for a in approvers.admins if a != log.owner_id]
        for person_id in dict.fromkeys(told):
            if person_id not in acting:
                digest(person_id).escalated.append(log.log_id)
    return digests
