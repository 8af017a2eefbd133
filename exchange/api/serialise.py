"""JSON shapes of the resources (SPEC §7)."""

from __future__ import annotations

from typing import Any

from exchange.accounts.models import User
from exchange.org.models import Agreement, Department, Enterprise, Period


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
