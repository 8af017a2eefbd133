"""The record of the digests sent: one per person and college day, at most."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from exchange.db import Base, utcnow


class DigestSent(Base):
    """A digest sent (or being sent) to one person on one day of the college's calendar.

    The row is written before the message leaves and removed again when sending
    fails: a second run on the same day skips everybody who has a row, and retries
    those whose message did not go out. The day leads the key, so that the day's
    rows are read from it.
    """

    __tablename__ = "reminder_digest"

    day: Mapped[date] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    items: Mapped[int]  # how many logs it listed
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
