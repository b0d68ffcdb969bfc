"""The scheduler's Alembic history (``backstage_backend_tasks__alembic_version``)."""
