"""The exception tree of di_backend.

Everything di_backend raises on purpose derives from :class:`DiBackendError`,
and each leaf also subclasses the builtin a caller would naturally catch::

    DiBackendError
    ├── InvalidIdError (ValueError)             bad plugin / module id
    ├── InvalidFeatureError (TypeError)         not a feature, bad import string, bad loader output
    ├── InvalidDependencyError (TypeError)      parameter without inject(...), scope violation
    ├── RegistrationError (RuntimeError)        register_init missing / twice, late extension point
    ├── ConflictError (RuntimeError)            duplicates
    │   └── CircularDependencyError             service or module cycles
    ├── MissingDependencyError (LookupError)    nobody provides a ref
    │   └── ServiceNotFoundError                ServiceFactoryTester.get_service found nothing
    ├── ServiceInstantiationError (RuntimeError) a factory or root context raised
    ├── ForwardedError (RuntimeError)           wraps a cause, e.g. a failing feature loader
    ├── BackendStateError (RuntimeError)        start twice, add after start, late factory
    ├── BackendStartupError (RuntimeError)      disallowed plugin / module failures, with .result
    ├── LifecycleError (RuntimeError)           hook added after its phase
    └── ConfigError (ValueError)                configuration problems
        ├── ConfigKeyError (KeyError)           a required key is missing
        ├── ConfigTypeError (TypeError)         a value has the wrong type
        └── ConfigFileError                     a file cannot be read or parsed

Messages follow Backstage's wording; wherever Backstage writes
``caused by <String(err)>`` we write ``caused by <ClassName>: <message>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from di_backend._results import BackendStartupResult

__all__ = [
    "BackendStartupError",
    "BackendStateError",
    "CircularDependencyError",
    "ConfigError",
    "ConfigFileError",
    "ConfigKeyError",
    "ConfigTypeError",
    "ConflictError",
    "DiBackendError",
    "ForwardedError",
    "InvalidDependencyError",
    "InvalidFeatureError",
    "InvalidIdError",
    "LifecycleError",
    "MissingDependencyError",
    "RegistrationError",
    "ServiceInstantiationError",
    "RootContextError",
    "ServiceNotFoundError",
    "describe_error",
]


def describe_error(error: BaseException) -> str:
    """Render an exception as ``ClassName: message`` (Backstage's ``String(err)``)."""
    message = str(error)
    name = type(error).__name__
    return f"{name}: {message}" if message else name


class DiBackendError(Exception):
    """Base class of every error di_backend raises on purpose."""


class InvalidIdError(DiBackendError, ValueError):
    """Raised when a plugin or module id does not match the id pattern."""


class InvalidFeatureError(DiBackendError, TypeError):
    """Raised when something that is not a backend feature is added or loaded."""


class InvalidDependencyError(DiBackendError, TypeError):
    """Raised when a function's declared dependencies break a wiring rule."""


class RegistrationError(DiBackendError, RuntimeError):
    """Raised when a plugin or module ``register`` callback breaks a rule."""


class ConflictError(DiBackendError, RuntimeError):
    """Raised when two things claim the same id."""


class CircularDependencyError(ConflictError):
    """Raised when services or modules depend on each other in a cycle.

    Attributes:
        cycles: every cycle found, each a path that ends where it starts.
    """

    def __init__(self, message: str, cycles: tuple[tuple[str, ...], ...] = ()) -> None:
        super().__init__(message)
        self.cycles = cycles


class MissingDependencyError(DiBackendError, LookupError):
    """Raised when a factory or init depends on refs that nobody provides.

    Attributes:
        missing: the ids of the refs that are missing.
    """

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing

    def __str__(self) -> str:
        # LookupError would otherwise render like KeyError's repr for one argument.
        return str(self.args[0]) if self.args else ""


class ServiceNotFoundError(MissingDependencyError):
    """Raised by ``ServiceFactoryTester.get_service`` when nothing provides the ref."""


class ServiceInstantiationError(DiBackendError, RuntimeError):
    """Raised when a service factory or root-context function raises."""


class RootContextError(ServiceInstantiationError):
    """Raised when a service's ``create_root_context`` raises (its factory never ran).

    Attributes:
        service_id: the id of the service whose root context failed.
    """

    def __init__(self, message: str, *, service_id: str) -> None:
        super().__init__(message)
        self.service_id = service_id


class ForwardedError(DiBackendError, RuntimeError):
    """Wraps a cause with context: ``<message>; caused by <ClassName>: <cause>``.

    Attributes:
        cause: the original exception (also ``__cause__``).
    """

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(f"{message}; caused by {describe_error(cause)}")
        self.cause = cause
        self.__cause__ = cause


class BackendStateError(DiBackendError, RuntimeError):
    """Raised when the backend is used in the wrong state (started twice, add after start)."""


class BackendStartupError(DiBackendError, RuntimeError):
    """Raised by ``Backend.start`` when a plugin or module failed and that is not allowed.

    Attributes:
        result: the full :class:`~di_backend.BackendStartupResult`.
    """

    def __init__(self, result: BackendStartupResult) -> None:
        lines = ["Backend startup failed due to the following errors:"]
        for plugin in result.plugins:
            if plugin.failure is not None and not plugin.failure.allowed:
                lines.append(
                    f"  Plugin '{plugin.plugin_id}' startup failed; "
                    f"caused by {describe_error(plugin.failure.error)}"
                )
            for module in plugin.modules:
                if module.failure is not None and not module.failure.allowed:
                    lines.append(
                        f"  Module '{module.module_id}' for plugin '{plugin.plugin_id}' "
                        f"startup failed; caused by {describe_error(module.failure.error)}"
                    )
        super().__init__("\n".join(lines))
        self.result = result


class LifecycleError(DiBackendError, RuntimeError):
    """Raised when a lifecycle hook is added after its phase has run."""


class ConfigError(DiBackendError, ValueError):
    """Base class of configuration errors; the message names the key and the file."""


class ConfigKeyError(ConfigError, KeyError):
    """Raised when a required configuration key is missing."""

    def __str__(self) -> str:
        # KeyError renders its message with quotes; keep the plain sentence.
        return str(self.args[0]) if self.args else ""


class ConfigTypeError(ConfigError, TypeError):
    """Raised when a configuration value has the wrong type."""


class ConfigFileError(ConfigError):
    """Raised when a configuration file cannot be read, parsed or included."""
