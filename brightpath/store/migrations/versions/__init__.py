"""Schema revisions, oldest first (``0001_initial_schema``); Alembic skips this file."""
