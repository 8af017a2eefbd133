"""How one domain reacts to another's change without importing it (blinker, as
Flask ships it).

The sending domain names what happened; the reacting domain connects its
receiver when its services module is imported (``create_app`` imports every
reacting module, so the command line, the tests and the web app all have them).
Receivers run inside the sender's unit of work, before its flush: they change
the session, they never commit. A receiver vetoes by raising a ``DomainError``,
which the sender lets through to its caller.

================  ====================  =====================================================
signal            sender                receivers
================  ====================  =====================================================
period_created    the new ``Period``    rewards: the period starts with the previous
                                        period's reward rules (SPEC §4)
period_locked     the locked ``Period`` logs: every log of the period changes version, so a
                                        step decided while it was open fails as a conflict
log_revoking      the ``ExchangeLog``   rewards: refuses (``Conflict``) when an issued award
                                        counts the log (SPEC §3)
awards_issued     the finalized         credentials: each issued honour gets its signed
                  ``RewardRound``       Open Badges credential and status-list bit (SPEC §5)
                  (``awards=[...]``)
================  ====================  =====================================================
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

period_created = _signals.signal("period-created")
period_locked = _signals.signal("period-locked")
log_revoking = _signals.signal("log-revoking")
awards_issued = _signals.signal("awards-issued")
