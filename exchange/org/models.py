"""Departments, partner enterprises, cooperation agreements and academic periods."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, TimestampMixin


class EnterpriseKind(StrEnum):
    HOSPITAL = "hospital"
    PHARMA = "pharma"
    DEVICE = "device"
    HEALTH_IT = "health_it"
    OTHER = "other"


class AgreementScope(StrEnum):
    PRACTICE = "practice"
    TEACHING = "teaching"
    BOTH = "both"


class PeriodState(StrEnum):
    OPEN = "open"
    LOCKED = "locked"


def _in(column: str, enum: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class Department(TimestampMixin, Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


class Enterprise(TimestampMixin, Base):
    __tablename__ = "enterprise"
    __table_args__ = (CheckConstraint(_in("kind", EnterpriseKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(16))
    contact_person: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(300), default="")

    agreements: Mapped[list[Agreement]] = relationship(
        back_populates="enterprise", order_by="Agreement.starts_on"
    )

    def __repr__(self) -> str:
        return f"<Enterprise {self.code}>"


class Agreement(TimestampMixin, Base):
    """A school–enterprise cooperation contract; no department means all departments."""

    __tablename__ = "agreement"
    __table_args__ = (
        CheckConstraint(_in("scope", AgreementScope), name="scope"),
        CheckConstraint("ends_on >= starts_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    reference: Mapped[str] = mapped_column(String(60))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    scope: Mapped[str] = mapped_column(String(16))

    enterprise: Mapped[Enterprise] = relationship(back_populates="agreements")
    department: Mapped[Department | None] = relationship()


class Period(TimestampMixin, Base):
    """An academic year; every log falls in exactly one period by its date."""

    __tablename__ = "period"
    __table_args__ = (
        CheckConstraint(_in("state", PeriodState), name="state"),
        CheckConstraint("ends_on >= starts_on", name="dates"),
        # Periods newest first (every period list, a person's hours by period).
        Index("ix_period_starts_on", "starts_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(8), default=PeriodState.OPEN.value)

    @property
    def is_open(self) -> bool:
        return self.state == PeriodState.OPEN

    def __repr__(self) -> str:
        return f"<Period {self.name}>"
