"""Backend features: plugins, modules and their registration points."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

from di_backend._ids import validate_module_id, validate_plugin_id
from di_backend._inject import CallSpec, read_dependencies
from di_backend._refs import ExtensionPoint
from di_backend.errors import RegistrationError

T = TypeVar("T")

__all__ = [
    "BackendFeature",
    "BackendModule",
    "BackendPlugin",
    "InitFunction",
    "ModuleRegistrationPoints",
    "PluginRegistrationPoints",
    "Registration",
    "create_backend_module",
    "create_backend_plugin",
]

InitFunction = Callable[[], Awaitable[None] | None]
"""A plugin or module init: parameters with ``inject(...)`` defaults, sync or ``async``.

``Callable[[]]`` because every parameter has a default: a type checker then rejects
a parameter without one, and compares each default (``inject(ref)``) with its annotation.
"""

InitT = TypeVar("InitT", bound=InitFunction)


class BackendFeature:
    """Base class of everything ``Backend.add`` accepts.

    The concrete features are :class:`~di_backend.ServiceFactory`,
    :class:`BackendPlugin`, :class:`BackendModule` and
    :class:`~di_backend.BackendFeatureLoader`.
    """

    __slots__ = ()


class Registration:
    """What one plugin or module registered (internal; a plain slotted class)."""

    __slots__ = ("extension_points", "init", "module_id", "plugin_id")

    def __init__(
        self,
        plugin_id: str,
        module_id: str | None,
        extension_points: Sequence[tuple[ExtensionPoint[object], object]],
        init: CallSpec,
    ) -> None:
        """Hold the ids, the extension points registered and the init."""
        self.plugin_id = plugin_id
        self.module_id = module_id
        self.extension_points = extension_points
        self.init = init

    def __repr__(self) -> str:
        """Name the registration and its init."""
        return f"Registration({self.describe()}, init={self.init.description})"

    def describe(self) -> str:
        """Name the registration as Backstage's messages do."""
        if self.module_id is None:
            return f"plugin '{self.plugin_id}'"
        return f"module '{self.module_id}' for plugin '{self.plugin_id}'"


class _RegistrationPoints:
    """What plugin and module registration points share."""

    __slots__ = ("_extension_points", "_init", "_module_id", "_plugin_id")

    def __init__(self, plugin_id: str, module_id: str | None) -> None:
        self._plugin_id = plugin_id
        self._module_id = module_id
        # made at the first extension point: most registrations have none
        self._extension_points: list[tuple[ExtensionPoint[object], object]] | None = None
        self._init: CallSpec | None = None

    def register_extension_point(self, ref: ExtensionPoint[T], impl: T) -> None:
        """Share ``impl`` with the modules of this plugin under ``ref``.

        Modules receive this very object. Must be called before ``register_init``.

        Raises:
            RegistrationError: called after ``register_init``.
            TypeError: ``ref`` is not an extension point.
        """
        if self._init is not None:
            msg = "register_extension_point called after register_init"
            raise RegistrationError(msg)
        checked: object = ref  # callers without a type checker may pass anything
        if not isinstance(checked, ExtensionPoint):
            msg = f"register_extension_point expects an extension point, got {ref!r}"
            raise TypeError(msg)
        # impl was checked against ref by the signature; from here on both are opaque
        point = (cast("ExtensionPoint[object]", ref), impl)
        if self._extension_points is None:
            self._extension_points = [point]
        else:
            self._extension_points.append(point)

    def _describe(self) -> str:
        if self._module_id is None:
            return f"init of plugin '{self._plugin_id}'"
        return f"init of module '{self._module_id}' for plugin '{self._plugin_id}'"

    def register_init(self, init: InitT) -> InitT:
        """Register the init function; call exactly once, after extension points.

        Returns ``init``, so it also works as a decorator (``@env.register_init``).

        Raises:
            RegistrationError: called twice.
            InvalidDependencyError: a parameter lacks an ``inject(...)`` default.
        """
        if self._init is not None:
            msg = "register_init must only be called once"
            raise RegistrationError(msg)
        # described on errors only
        self._init = read_dependencies(init, what=self._describe)
        return init


class PluginRegistrationPoints(_RegistrationPoints):
    """What a plugin's ``register`` callback receives."""

    __slots__ = ()

    def register_init(self, init: InitT) -> InitT:
        """Register the plugin's init; it may depend on services, not on extension points.

        Returns ``init``, so it also works as a decorator (``@env.register_init``).

        Raises:
            RegistrationError: called twice, or the init depends on an extension point.
            InvalidDependencyError: a parameter lacks an ``inject(...)`` default.
        """
        super().register_init(init)
        assert self._init is not None
        for name, ref in zip(self._init.names, self._init.refs, strict=True):
            if isinstance(ref, ExtensionPoint):
                msg = (
                    f"Rejected dependency on extension point {ref.id} from outside of a "
                    f"module: the init {self._init.description} of plugin '{self._plugin_id}' "
                    f"injects it in parameter '{name}', but only modules may use extension "
                    "points; the plugin holds the object it registered, so use that directly"
                )
                raise RegistrationError(msg)
        return init


class ModuleRegistrationPoints(_RegistrationPoints):
    """What a module's ``register`` callback receives; its init may inject extension points."""

    __slots__ = ()


class BackendPlugin(BackendFeature):
    """A plugin: created with :func:`create_backend_plugin`, added with ``Backend.add``.

    Attributes:
        plugin_id: the plugin id.
    """

    __slots__ = ("_register", "plugin_id")

    def __init__(
        self, plugin_id: str, register: Callable[[PluginRegistrationPoints], None]
    ) -> None:
        self.plugin_id = plugin_id
        self._register = register

    def __repr__(self) -> str:
        return f"BackendPlugin(plugin_id={self.plugin_id!r})"

    def get_registration(self) -> Registration:
        """Run ``register`` and return what it registered.

        Raises:
            RegistrationError: ``register_init`` was not called.
        """
        points = PluginRegistrationPoints(self.plugin_id, None)
        self._register(points)
        if points._init is None:
            msg = f"register_init was not called by register in {self.plugin_id}"
            raise RegistrationError(msg)
        return Registration(self.plugin_id, None, points._extension_points or (), points._init)


class BackendModule(BackendFeature):
    """A module extending one plugin: created with :func:`create_backend_module`.

    Attributes:
        plugin_id: the plugin it extends.
        module_id: the module id.
    """

    __slots__ = ("_register", "module_id", "plugin_id")

    def __init__(
        self,
        plugin_id: str,
        module_id: str,
        register: Callable[[ModuleRegistrationPoints], None],
    ) -> None:
        self.plugin_id = plugin_id
        self.module_id = module_id
        self._register = register

    def __repr__(self) -> str:
        return f"BackendModule(plugin_id={self.plugin_id!r}, module_id={self.module_id!r})"

    def get_registration(self) -> Registration:
        """Run ``register`` and return what it registered.

        Raises:
            RegistrationError: ``register_init`` was not called.
        """
        points = ModuleRegistrationPoints(self.plugin_id, self.module_id)
        self._register(points)
        if points._init is None:
            msg = (
                f"register_init was not called by register in {self.module_id} "
                f"module for {self.plugin_id}"
            )
            raise RegistrationError(msg)
        return Registration(
            self.plugin_id, self.module_id, points._extension_points or (), points._init
        )


def create_backend_plugin(
    *, plugin_id: str, register: Callable[[PluginRegistrationPoints], None]
) -> BackendPlugin:
    """Create a plugin; ``register`` runs when the backend reads its features.

    Args:
        plugin_id: matches ``^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$`` (case-insensitive).
        register: registers extension points, then the init, on the points it receives.

    Raises:
        InvalidIdError: the id does not match the pattern.
    """
    validate_plugin_id(plugin_id)
    return BackendPlugin(plugin_id, register)


def create_backend_module(
    *,
    plugin_id: str,
    module_id: str,
    register: Callable[[ModuleRegistrationPoints], None],
) -> BackendModule:
    """Create a module of ``plugin_id``; it is initialised before its plugin.

    Args:
        plugin_id: the plugin it extends (not validated, as in Backstage).
        module_id: matches the id pattern.
        register: registers extension points, then the init.

    Raises:
        InvalidIdError: the module id does not match the pattern.
    """
    validate_module_id(plugin_id, module_id)
    return BackendModule(plugin_id, module_id, register)
