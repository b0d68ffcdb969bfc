"""Default implementations of the core services."""
