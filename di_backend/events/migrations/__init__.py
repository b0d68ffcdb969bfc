"""Alembic migrations of the events hub's PostgreSQL tables."""
