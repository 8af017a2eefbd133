"""Daily e-mail digests of waiting work, with escalation to heads and administrators (SPEC §6)."""
