"""The service registry: which factory serves each ref, and the rules around it.

Precedence for a singleton ref (Backstage's): a factory added with
``Backend.add`` beats one from a feature loader, which beats the backend's
default, which beats the ref's ``default_factory``. Multiton refs collect
every factory. The registry validates the whole service graph before any
factory runs (cycles, missing dependencies) and hands resolution to the
:class:`~di_backend._container.ServiceContainer`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from di_backend._factories import ServiceFactory
from di_backend._graph import DependencyGraph, is_acyclic
from di_backend._missing_deps import Chains, missing_messages
from di_backend._refs import AnyRef, AnyServiceRef, _BaseServiceRef
from di_backend.errors import (
    BackendStateError,
    CircularDependencyError,
    ConflictError,
    InvalidFeatureError,
    MissingDependencyError,
    ServiceInstantiationError,
    describe_error,
)

__all__ = ["PLUGIN_METADATA_ID", "ServiceRegistry"]

AnyFactory = ServiceFactory[object]
PLUGIN_METADATA_ID = "core.pluginMetadata"


def check_not_plugin_metadata(factory: AnyFactory) -> None:
    """Raise for a factory of ``core.pluginMetadata``, which cannot be overridden."""
    if factory._service._id == PLUGIN_METADATA_ID:
        msg = "The core.pluginMetadata service cannot be overridden"
        raise ConflictError(msg)


class ServiceRegistry:
    """Holds the installed factories of one backend and resolves refs."""

    def __init__(self, defaults: Iterable[AnyFactory]) -> None:
        """Install the backend's default factories (duplicates are an error)."""
        self._defaults: dict[str, list[AnyFactory]] = {}
        # Every id any factory given so far consumes: while no factory consumes the id a
        # new factory serves, the new one cannot close a cycle (see _forget_answers).
        self._consumed: set[str] = set()
        self._acyclic = True  # the empty graph; kept by _note_edges while it can be
        seen: list[str] = []
        table = self._defaults
        for factory in defaults:
            self._note_edges(factory)
            service_id = factory._service._id
            if service_id == PLUGIN_METADATA_ID:
                check_not_plugin_metadata(factory)  # raises
            entry = table.get(service_id)
            if entry is None:
                table[service_id] = [factory]
                continue
            if not factory._service.multiton:
                seen.append(service_id)
            entry.append(factory)
        if seen:
            msg = f"Duplicate service implementations provided for {', '.join(dict.fromkeys(seen))}"
            raise ConflictError(msg)
        self._added: dict[str, list[AnyFactory]] = {}
        self._loaded: dict[str, list[tuple[AnyFactory, str]]] = {}
        self._default_factories: dict[object, AnyFactory] = {}
        self._resolved: dict[str, list[AnyFactory]] = {}
        # answers of is_available and of the missing-dependency walk (_missing_deps),
        # cleared whenever a factory is added
        self._available: dict[str, bool] = {}
        self._missing_cache: dict[str, Chains] = {}
        self._all: list[AnyFactory] | None = None
        self._complete: bool | None = None  # see installed_deps_complete
        # dependency-injector (and the optional integrations its wiring module imports)
        # loads here, when the first backend is created, not on `import di_backend`.
        from di_backend._container import ServiceContainer

        self.container = ServiceContainer(self.factories_for)

    # -- adding ----------------------------------------------------------------

    def _check_addable(self, factory: AnyFactory) -> None:
        check_not_plugin_metadata(factory)
        if factory._service._id in self._resolved:
            msg = (
                f"Unable to set service factory with id {factory._service._id}, "
                "service has already been instantiated"
            )
            raise BackendStateError(msg)

    def add(self, factory: AnyFactory) -> None:
        """Add a factory given to ``Backend.add``; it overrides the default."""
        self._check_addable(factory)
        entry = self._added.setdefault(factory._service._id, [])
        if entry and not factory._service.multiton:
            msg = f"Duplicate service implementations provided for {factory._service._id}"
            raise ConflictError(msg)
        entry.append(factory)
        self._forget_answers(factory)

    def add_from_loader(self, factory: AnyFactory, loader: str) -> bool:
        """Add a factory from a feature loader; return whether it was used.

        An explicitly added factory for the same singleton ref wins silently;
        two loaders providing the same singleton ref is an error.
        """
        service_id = factory._service._id
        if not factory._service.multiton and service_id in self._added:
            return False
        self._check_addable(factory)
        entry = self._loaded.setdefault(service_id, [])
        if entry and not factory._service.multiton:
            msg = (
                f"Duplicate service implementations provided for {service_id} by both "
                f"{loader} and {entry[0][1]}"  # Backstage names the later loader first
            )
            raise ConflictError(msg)
        entry.append((factory, loader))
        self._forget_answers(factory)
        return True

    def _note_edges(self, added: AnyFactory) -> None:
        """Record ``added``'s dependencies; forget "acyclic" if it may close a cycle.

        A new cycle has to pass through the new factory and so reach it through some
        factory consuming its id. When none of the factories given so far (replaced
        ones included, which only errs towards a full check) consumes that id, the
        graph stays as acyclic as it was: factories given dependencies first, as most
        backends list them, need no full check.
        """
        deps = added._deps
        if deps:
            consumed = self._consumed
            consumed.update([d._id for d in deps])
            if added._service._id in consumed:
                self._acyclic = False

    def _forget_answers(self, added: AnyFactory) -> None:
        self._all = None
        self._complete = None
        self._note_edges(added)
        self._available.clear()
        self._missing_cache.clear()

    def has_explicit(self, service_id: str) -> bool:
        """Whether ``Backend.add`` installed a factory for ``service_id``."""
        return service_id in self._added

    # -- looking up ------------------------------------------------------------

    def _provided(self, service_id: str, multiton: bool) -> list[AnyFactory]:
        """The installed factories of ``service_id``, in Backstage's precedence.

        For a singleton this may be a table's own one-factory entry (nothing appends
        to it: a second factory for a singleton ref is refused), so callers treat the
        list as read-only.
        """
        added = self._added.get(service_id)
        if multiton:  # Backstage's order: the defaults, then added, then from loaders
            loaded = [f for f, _ in self._loaded.get(service_id, [])]
            return [*self._defaults.get(service_id, []), *(added or []), *loaded]
        # A singleton: the last added, else the last from loaders, else the last default
        # (only refs of one id that disagree on multiton can leave more than one).
        if added:
            return added if len(added) == 1 else added[-1:]
        from_loaders = self._loaded.get(service_id)
        if from_loaders:
            return [from_loaders[-1][0]]
        default = self._defaults.get(service_id)
        if default is None:
            return []
        return default if len(default) == 1 else default[-1:]

    def _has_factory(self, service_id: str) -> bool:
        """Whether :meth:`_provided` would return anything, without building its list.

        A table's entry is never empty: it is made by the add that fills it, and
        nothing removes factories.
        """
        return (
            service_id in self._added or service_id in self._loaded or service_id in self._defaults
        )

    def _default_factory_of(self, ref: AnyServiceRef) -> AnyFactory | None:
        loader: Callable[[AnyServiceRef], object] | None = ref.default_factory
        if loader is None:
            return None
        cached = self._default_factories.get(loader)
        if cached is None:
            try:
                loaded = loader(ref)
            except Exception as err:
                msg = (
                    f"Failed to instantiate service '{ref._id}' because the default factory "
                    f"loader threw an error, {describe_error(err)}"
                )
                raise ServiceInstantiationError(msg) from err
            if not isinstance(loaded, ServiceFactory) or loaded._service._id != ref._id:
                msg = (
                    f'Invalid backend feature at default factory for service "{ref._id}", '
                    f"expected a service factory for '{ref._id}', received {loaded!r}"
                )
                raise InvalidFeatureError(msg)
            cached = self._default_factories[loader] = loaded
        return cached

    def factories_for(self, ref: AnyServiceRef) -> list[AnyFactory]:
        """Return the factories serving ``ref`` and mark it instantiated.

        Raises:
            MissingDependencyError: no factory provides a singleton ref.
        """
        resolved = self._resolved.get(ref._id)
        if resolved is not None:
            return resolved
        multiton = ref.multiton
        factories = self._provided(ref._id, multiton)  # _candidates, without its lookup
        if not factories:
            fallback = self._default_factory_of(ref)
            if fallback is not None:
                factories = [fallback]
            elif not multiton:
                msg = f"No service factory is installed for {ref}"
                raise MissingDependencyError(msg, (ref._id,))
        self._resolved[ref._id] = factories
        return factories

    def is_available(self, ref: AnyServiceRef) -> bool:
        """Whether resolving ``ref`` can succeed without a missing factory."""
        known = self._available.get(ref._id)
        if known is None:
            known = self._available[ref._id] = (
                ref._id == PLUGIN_METADATA_ID
                or ref.multiton
                or ref._id in self._resolved
                or self._has_factory(ref._id)
                or ref.default_factory is not None
            )
        return known

    def _candidates(self, ref: AnyServiceRef) -> list[AnyFactory]:
        """The factories that would serve ``ref``, without marking it instantiated."""
        resolved = self._resolved.get(ref._id)
        if resolved is not None:
            return resolved
        factories = self._provided(ref._id, ref.multiton)
        if not factories:
            fallback = self._default_factory_of(ref)
            return [fallback] if fallback is not None else []
        return factories

    def all_factories(self) -> list[AnyFactory]:
        """Every installed factory (explicit, loaded and default), once each."""
        if self._all is None:
            self._all = self._collect_factories()
        return self._all

    def _collect_factories(self) -> list[AnyFactory]:
        defaults, added, loaded = self._defaults, self._added, self._loaded
        if not loaded and not any(service_id in defaults for service_id in added):
            # no id in two tables (a backend's defaults, and added factories for other
            # ids, as the instance metadata): a singleton's entry holds its one factory,
            # a multiton's all of them, in the order of the ids
            collected = [factory for entry in defaults.values() for factory in entry]
            if added:
                collected += [factory for entry in added.values() for factory in entry]
            return collected
        ids = dict.fromkeys([*defaults, *loaded, *added])
        result: list[AnyFactory] = []
        for service_id in ids:
            # the usual case first: one factory, in one of the three tables
            default, explicit, from_loader = (
                defaults.get(service_id),
                added.get(service_id),
                loaded.get(service_id),
            )
            if default and len(default) == 1 and not explicit and not from_loader:
                result.append(default[0])
                continue
            if explicit and len(explicit) == 1 and not default and not from_loader:
                result.append(explicit[0])
                continue
            result.extend(self._installed_for(service_id))
        return result

    def _installed_for(self, service_id: str) -> list[AnyFactory]:
        """The installed factories serving ``service_id``: all of them for a multiton."""
        multiton = any(
            f._service.multiton
            for f in [*self._defaults.get(service_id, []), *self._added.get(service_id, [])]
        ) or any(f._service.multiton for f, _ in self._loaded.get(service_id, []))
        return self._provided(service_id, multiton)

    # -- validating ------------------------------------------------------------

    def check_for_circular_deps(self) -> None:
        """Raise :class:`CircularDependencyError` listing every cycle among the factories."""
        if self._acyclic:
            return  # checked, and nothing added since can have closed a cycle
        consumes: dict[str, set[str]] = {}
        for factory in self.all_factories():
            consumes.setdefault(factory._service._id, set()).update(d._id for d in factory._deps)
        if is_acyclic(consumes):  # the usual answer, found without naming any cycle
            self._acyclic = True
            return
        graph = DependencyGraph.from_iterable(
            (f._service._id, [d._id for d in f._deps], [f._service._id])
            for f in self.all_factories()
        )
        cycles = [tuple(path) for path in graph.detect_circular_dependencies()]
        if cycles:
            lines = "\n  ".join(" -> ".join(f"'{node}'" for node in path) for path in cycles)
            msg = f"Circular dependencies detected:\n  {lines}"
            raise CircularDependencyError(msg, tuple(cycles))
        self._acyclic = True

    def installed_deps_complete(self) -> bool:
        """Whether every dependency of every installed factory has an installed factory.

        Then nothing below an installed service is missing, and :meth:`missing_for`
        needs no walk down its dependencies (one linear pass instead).
        """
        if self._complete is None:
            self._complete = self._deps_installed()
        return self._complete

    def _deps_installed(self) -> bool:
        defaults, added, loaded = self._defaults, self._added, self._loaded
        for factory in self.all_factories():
            for dep in factory._deps:
                service_id = dep._id
                if (
                    service_id not in defaults
                    and service_id not in added
                    and service_id not in loaded
                    and service_id != PLUGIN_METADATA_ID
                ):
                    return False  # see _has_factory: an entry is never empty
        return True

    def all_installed(self, refs: Iterable[AnyRef]) -> bool:
        """Whether nothing can be missing for ``refs``: a shortcut of :meth:`missing_for`.

        True when every ref is a service ref with an installed factory and every
        installed factory's dependencies are installed too; then ``missing_for`` finds
        nothing and no ref is unavailable. Anything else (an extension point, a ref
        served only by a default factory loader) answers ``False``: ask the long way.
        """
        if not self.installed_deps_complete():
            return False
        for ref in refs:
            if not isinstance(ref, _BaseServiceRef) or not self._has_factory(ref._id):
                return False
        return True

    def missing_for(self, refs: Sequence[AnyServiceRef], plugin_id: str) -> list[str]:
        """Messages for every factory that ``refs`` need whose dependencies are missing.

        As in Backstage, a dependency missing further down is reported through the
        chain (:func:`di_backend._missing_deps.missing_messages`).
        """
        return missing_messages(self, refs, plugin_id)
