"""The plugin key store's Alembic history (``backstage_backend_public_keys__alembic_version``)."""
