"""Exchange logs: practice and teaching hours, their workflow and audit trail."""
