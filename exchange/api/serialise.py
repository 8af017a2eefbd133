"""JSON shapes of the resources (SPEC §7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exchange.accounts.models import User
from exchange.links import external_url
from exchange.logs import queries as log_queries
from exchange.logs.models import ExchangeLog, LogEvent
from exchange.org.models import Agreement, Department, Enterprise, Period
from exchange.rewards import rules as engine
from exchange.rewards.models import Award, AwardEvent, RewardRound, RewardRule
from exchange.rewards.services import CertificateCheck, Standing
from exchange.timeutil import iso_utc


def user(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "role": u.role,
        "department_id": u.department_id,
        "enterprise_id": u.enterprise_id,
        "active": u.active,
        "locale": u.locale,
        "staff_number": u.staff_number,
    }


def department(d: Department) -> dict[str, Any]:
    return {"id": d.id, "code": d.code, "name": d.name}


def agreement(a: Agreement) -> dict[str, Any]:
    return {
        "id": a.id,
        "enterprise_id": a.enterprise_id,
        "department_id": a.department_id,
        "reference": a.reference,
        "starts_on": a.starts_on.isoformat(),
        "ends_on": a.ends_on.isoformat(),
        "scope": a.scope,
    }


def enterprise(e: Enterprise) -> dict[str, Any]:
    return {
        "id": e.id,
        "code": e.code,
        "name": e.name,
        "kind": e.kind,
        "contact_person": e.contact_person,
        "phone": e.phone,
        "address": e.address,
        "agreements": [agreement(a) for a in e.agreements],
    }


def period(p: Period) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "starts_on": p.starts_on.isoformat(),
        "ends_on": p.ends_on.isoformat(),
        "state": p.state,
    }


def log(
    entry: ExchangeLog, *, history: bool = False, flags: list[str] | None = None
) -> dict[str, Any]:
    """A log; with ``history`` its audit trail too (one more query, so not in lists).
    ``flags``: its integrity flags, as gathered for a whole list by ``log_flags``;
    without them they are gathered for this one log."""
    if flags is None:
        flags = log_queries.log_flags([entry.id]).get(entry.id, [])
    body = {
        "id": entry.id,
        "kind": entry.kind,
        "owner_id": entry.owner_id,
        "date": entry.work_date.isoformat(),
        # Quarter hours are exact in binary floating point: 1.5, never 1.4999….
        "hours": entry.minutes / 60,
        "category": entry.category,
        "description": entry.description,
        "enterprise_id": entry.enterprise_id,
        "department_id": entry.department_id,
        "course": entry.course,
        "cohort": entry.cohort,
        "students": entry.students,
        "verifier_id": entry.verifier_id,
        "status": entry.status,
        "client_id": entry.client_id,
        "period_id": entry.period_id,
        "url": external_url("logs.detail", log_id=entry.id),
        "version": entry.version,
        "evidence": evidence(entry),
        "flags": flags,
    }
    if history:
        body["history"] = [history_entry(event) for event in entry.events]
    return body


def evidence(entry: ExchangeLog) -> dict[str, Any] | None:
    if not entry.has_evidence:
        return None
    return {
        "name": entry.evidence_name,
        "type": entry.evidence_type,
        "size": entry.evidence_size,
        "url": external_url("logs.evidence", log_id=entry.id),
    }


def history_entry(event: LogEvent) -> dict[str, Any]:
    return {
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_id": event.actor_id,  # None: an on-site confirmer without an account
        "actor_name": event.actor_name,
        "at": iso_utc(event.at),
        "reason": event.reason,
    }


# --- rewards ----------------------------------------------------------------------
# Hours are minutes / 60 as a JSON number: log minutes are quarter hours, exact in
# binary floating point; a threshold is whole minutes, so at worst 40.016666….


def _hours(minutes: int) -> float:
    return minutes / 60


def rule(r: RewardRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "period_id": r.period_id,
        "code": r.code,
        "name": r.name,
        "name_zh": r.name_zh,
        "scope": r.scope,
        "kind": r.kind,
        "audience": r.audience,
        "threshold_hours": _hours(r.threshold_minutes),
        "group": r.group,
        "fixed_amount_minor": r.fixed_amount_minor,
        "rate_per_hour_minor": r.rate_per_hour_minor,
        "cap_minor": r.cap_minor,
        "currency": r.currency,
    }


def award(a: Award, *, history: bool = False) -> dict[str, Any]:
    """An award, for the heads and admins who run its round (the only ones who see it
    here), so with its verification code once issued; with ``history`` its audit trail
    too (one more query, so not in a round's list)."""
    body = {
        "id": a.id,
        "round_id": a.round_id,
        "holder_id": a.holder_id,
        "holder_name": a.holder.name,
        "rule_id": a.rule_id,
        "rule_code": a.rule.code,
        "rule_name": a.rule.name,
        "rule_name_zh": a.rule.name_zh,
        "kind": a.rule.kind,
        "hours": _hours(a.minutes),
        "amount_minor": a.amount_minor,
        "currency": a.currency,
        "status": a.status,
        "certificate_number": a.certificate_number,
        "verification_code": a.verification_code,
        "reason": a.reason,
        "credential_url": (
            external_url("api.award_credential", award_id=a.id)
            if a.rule.kind == engine.RuleKind.HONOUR and a.certificate_number
            else None
        ),
    }
    if history:
        body["history"] = [award_history_entry(event) for event in a.events]
    return body


def award_history_entry(event: AwardEvent) -> dict[str, Any]:
    return {
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_id": event.actor_id,
        "actor_name": event.actor.name,
        "at": iso_utc(event.at),
        "hours": _hours(event.minutes),
        "amount_minor": event.amount_minor,
        "currency": event.currency,
        "reason": event.reason,
    }


EXPORT_SHEETS = ("payout", "honours")
EXPORT_FORMATS = ("csv", "xlsx")


def reward_round(r: RewardRound) -> dict[str, Any]:
    exports = None
    if not r.is_draft:
        exports = {
            f"{sheet}_{fmt}": external_url(
                "rules.round_export", round_id=r.id, sheet=sheet, fmt=fmt
            )
            for sheet in EXPORT_SHEETS
            for fmt in EXPORT_FORMATS
        }
    return {
        "id": r.id,
        "scope": r.scope,
        "department_id": r.department_id,
        "period_id": r.period_id,
        "state": r.state,
        "finalized_early": r.finalized_early,
        "awards": [award(a) for a in r.awards],
        "exports": exports,
    }


def rule_outcome(o: engine.Outcome) -> dict[str, Any]:
    """How far one person is from one rule (a progress bar)."""
    return {
        "code": o.rule.code,
        "name": o.rule.name,
        "name_zh": o.rule.name_zh,
        "scope": o.rule.scope.value,
        "kind": o.rule.kind.value,
        "threshold_hours": _hours(o.rule.threshold_minutes),
        "met": o.met,
        "hours_missing": _hours(o.minutes_missing),
        "amount_minor": o.amount_minor,
    }


def standing(s: Standing) -> dict[str, Any]:
    """One department's part of a person's progress."""
    return {
        "department_id": s.department.id if s.department else None,
        "approved_hours": _hours(s.approved_minutes),
        "pending_hours": _hours(s.pending_minutes),
        "rules": [rule_outcome(o) for o in s.outcomes],
    }


def _combined(outcomes: Sequence[engine.Outcome]) -> dict[str, Any]:
    """One department rule across the departments a person's hours count in: met where
    it is met anywhere, as close as the closest department, the money of all of them."""
    closest = min(outcomes, key=lambda o: o.minutes_missing)
    return {
        **rule_outcome(closest),
        "met": any(o.met for o in outcomes),
        "amount_minor": sum(o.amount_minor for o in outcomes),
    }


def progress(period_id: int, standings: Sequence[Standing]) -> dict[str, Any]:
    """A person's progress in a period (SPEC §4): college rules against their hours
    across the college; department rules per department, each in ``departments``,
    and at the top level the department where the person stands best (the only one,
    for a teacher). The top-level hours are the person's total."""
    college = [s for s in standings if s.is_college]
    departments = [s for s in standings if not s.is_college]
    per_rule = zip(*(s.outcomes for s in departments), strict=True)
    rules = [rule_outcome(o) for s in college for o in s.outcomes]
    rules += [_combined(outcomes) for outcomes in per_rule]
    everywhere = college or departments
    return {
        "period_id": period_id,
        "approved_hours": _hours(sum(s.approved_minutes for s in everywhere)),
        "pending_hours": _hours(sum(s.pending_minutes for s in everywhere)),
        "rules": rules,
        "departments": [standing(s) for s in departments if s.department is not None],
    }


def eligibility(s: Standing) -> dict[str, Any]:
    """One person's hours in a department and period, and every rule of their audience."""
    return {
        "person_id": s.person.id,
        "name": s.person.name,
        "role": s.person.role,
        "audience": s.audience.value,
        "approved_hours": _hours(s.approved_minutes),
        "pending_hours": _hours(s.pending_minutes),
        "rules": [
            {**rule_outcome(o), "awarded": o.awarded, "outranked_by": o.outranked_by}
            for o in s.outcomes
        ],
    }


def verification(check: CertificateCheck) -> dict[str, Any]:
    """The public certificate check (SPEC §5, §7): these fields and nothing else, the
    same facts as the public page and the printed certificate."""
    return {
        "valid": check.valid,
        "status": "valid" if check.valid else "revoked",
        "holder_name": check.holder_name,
        "award_name": check.award_name,
        "award_name_zh": check.award_name_zh,
        "period": check.period,
        "certificate_number": check.certificate_number,
        "issued_on": check.issued_on.isoformat(),
        "issuer": check.issuer,
        "institution": check.institution,
    }
