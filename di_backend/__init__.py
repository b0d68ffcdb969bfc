"""di_backend: Backstage's backend system for Python."""
