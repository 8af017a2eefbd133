"""JSON shapes of the resources (SPEC §7)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from exchange.accounts.models import User
from exchange.logs.models import ExchangeLog, LogEvent
from exchange.org.models import Agreement, Department, Enterprise, Period
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


def log(entry: ExchangeLog, *, history: bool = False) -> dict[str, Any]:
    """A log; with ``history`` its audit trail too (one more query, so not in lists)."""
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
        "url": url_for("logs.detail", log_id=entry.id, _external=True),
        "version": entry.version,
        "evidence": evidence(entry),
    }
    if history:
        body["history"] = [history_entry(event) for event in entry.events]
    return body


def evidence(entry: ExchangeLog) -> dict[str, Any] | None:
    if not entry.evidence_file:
        return None
    return {
        "name": entry.evidence_name,
        "type": entry.evidence_type,
        "size": entry.evidence_size,
        "url": url_for("logs.evidence", log_id=entry.id, _external=True),
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
