"""Configuration: Backstage's ``app-config.yaml`` loading and typed config readers.

* :class:`ConfigReader` is a static, typed view of one configuration tree (it
  implements :class:`~di_backend.services.ConfigService`).
* :class:`ObservableConfig` is the root configuration at runtime: it can be updated
  or reloaded, and notifies subscribers when the data really changed.
* :func:`load_config` reads ``app-config.yaml``, ``app-config.local.yaml`` (or
  explicit files), applies ``${VAR}``, ``$env``, ``$file`` and ``$include``, then the
  ``APP_CONFIG_*`` environment overrides.

See ``docs/configuration.md`` for the rules and every error message.
"""

from di_backend.config._durations import read_duration_from_config, to_timedelta
from di_backend.config._env import ENV_PREFIX
from di_backend.config._loader import DEFAULT_CONFIG_FILES, load_config, read_config
from di_backend.config._observable import ObservableConfig
from di_backend.config._reader import ConfigReader

__all__ = [
    "ConfigReader",
    "ObservableConfig",
    "load_config",
    "read_config",
    "DEFAULT_CONFIG_FILES",
    "ENV_PREFIX",
    "read_duration_from_config",
    "to_timedelta",
]
