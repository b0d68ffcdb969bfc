"""The ``notes`` plugin: its routes written with FastAPI (``di_backend[fastapi]``).

Add it by name::

    backend:
      features:
        - notes_backend
"""

from notes_backend.plugin import notes_plugin, notes_store

default = notes_plugin
"""The feature that ``backend.add("notes_backend")`` installs."""

__all__ = ["default", "notes_plugin", "notes_store"]
