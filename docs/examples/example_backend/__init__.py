"""The classic ``example`` plugin: says hello with a message from config.

Add it by name (``"example_backend"`` adds this package's ``default``)::

    backend:
      features:
        - example_backend
"""

from example_backend.plugin import example_plugin

default = example_plugin
"""The feature that ``backend.add("example_backend")`` installs."""

__all__ = ["default", "example_plugin"]
