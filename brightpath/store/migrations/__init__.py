"""Alembic migrations of the BrightPath store (``env.py``, ``versions/``), run by ``brightpath.store.upgrade``."""
