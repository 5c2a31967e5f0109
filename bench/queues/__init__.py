"""Queue scenarios: capataz on SQLite, PostgreSQL and Redis against the Python peers."""
