"""A person's own record for promotion files: approved hours and awards (SPEC §5, §6)."""
