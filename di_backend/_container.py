"""The dependency-injector providers of one backend (the only module importing it).

Provider layout, chosen so dependency-injector's fast synchronous paths carry
the load (measured in ``docs/performance.md``). Every group of providers is a
plain dict by ref id, not a ``DynamicContainer``: nothing wires, traverses or
resets them through a container (overrides go to the providers themselves),
and ``DynamicContainer.set_provider`` costs about 1.6 µs more than a dict
store, once per root service and template, and for a container per plugin
about 2 µs and nine tracked objects at every plugin's start.

* ``root``: one :class:`ServiceCell` per root ref
  (a ``List`` of them for a multiton ref), built on first use with the cells of
  the factory's root dependencies; a cell is its own provider.
* ``contexts``: a cell per plugin-scoped factory with a ``create_root_context``,
  holding root cells; it runs once per factory.
* ``templates``: a ``Factory`` per plugin-scoped ref (per factory for a
  multiton), built once per backend and wired to the root providers and the
  root-context singleton. Building a ``Singleton`` costs about 7 µs and
  copying one per plugin far more, so plugins share these templates.
* per plugin (:data:`PluginProviders`): ``core.pluginMetadata`` as an ``Object``
  and, for each plugin-scoped ref that plugin uses, the :class:`ServiceCell` the
  template made for it (a ``List`` of them for a multiton). A cell is itself a
  provider that provides itself. Root dependencies reach a plugin only through
  the root providers, so root instances are shared by every plugin.

Providers return :class:`ServiceCell` objects; a cell runs its factory once.
Overrides are ``provider.override(Object(value))``: on the root provider, on
the template (every plugin) or on one plugin's provider;
:meth:`ServiceContainer.reset_overrides` undoes them all and drops every
provider built so far, so nothing built from a fake survives the override.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, TypeAlias, TypeVar, cast

from di_backend._cells import DONE, NEW, Binding, CellBase, Teardowns, resolve_value
from di_backend._factories import ServiceFactory
from di_backend._plugin_metadata import PluginMetadata
from di_backend._refs import AnyServiceRef, Scope


class _SkipWiringIntegrations(importlib.abc.MetaPathFinder):
    """Refuses pydantic (and FastAPI, Flask, fast_depends) while dependency-injector loads.

    ``dependency_injector.providers`` imports pydantic when it is installed, for
    ``Configuration.from_pydantic``, and its ``containers`` module (which
    di_backend does not load) imports the ``wiring`` module, which imports FastAPI,
    Werkzeug and fast_depends only to recognise their markers; di_backend uses
    none of them. With the ``di_backend[fastapi]`` extra installed that cost every
    backend about 200 ms at import. A package that is already imported is left alone.
    """

    NAMES = frozenset({"fastapi", "fast_depends", "werkzeug", "flask", "pydantic"})

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        top = fullname.partition(".")[0]
        if top in self.NAMES and top not in sys.modules:
            msg = f"{fullname} is not loaded with dependency-injector (di_backend uses no wiring)"
            raise ModuleNotFoundError(msg, name=fullname)


def _load_dependency_injector() -> ModuleType:
    skip = _SkipWiringIntegrations()
    sys.meta_path.insert(0, skip)
    try:
        from dependency_injector import providers as loaded_providers
    finally:
        sys.meta_path.remove(skip)
    return loaded_providers


# Only the providers: the containers module (and the wiring module it imports) is not
# needed, since every group of providers is a plain dict (see the module docstring).
if TYPE_CHECKING:
    from dependency_injector import providers
else:
    providers = _load_dependency_injector()


__all__ = ["ServiceCell", "ServiceContainer"]

# dependency-injector's stubs type every provider as Provider[Any]; inside this
# module a provider is always one of ours, producing a cell, a list of cells or
# an override's value, so `object` is the honest element type.
Provider: TypeAlias = "providers.Provider[object]"
PLUGIN_METADATA_ID = "core.pluginMetadata"
T = TypeVar("T")


# calling the base initialiser directly skips a super() lookup per cell
_provider_init = cast(
    "Callable[[Provider], None]",
    providers.Provider.__init__,  # pyright: ignore[reportUnknownMemberType]
)


class ServiceCell(CellBase, providers.Provider[object]):
    """A service instance that is also a provider: calling it returns the cell.

    Templates and root singletons make cells; a plugin's container holds each
    of its cells directly, so a plugin service costs one provider, not a cell
    plus an ``Object`` around it. Overriding works as for any provider.
    """

    __slots__ = (
        "_binding",
        "_ctx",
        "_deps",
        "_plugin_id",
        "_state",
        "_teardowns",
        "_value",
        "_waiters",
    )

    def __init__(
        self, binding: Binding, teardowns: Teardowns, ctx: object, /, *args: object
    ) -> None:
        _provider_init(self)
        # the slots CellBase reads, filled here rather than in a method: one call less per cell
        self._binding = binding
        self._teardowns = teardowns
        self._ctx = ctx
        self._plugin_id = cast("str", args[-1]) if binding.per_plugin else None
        self._deps = args
        self._state = NEW
        self._value = None
        self._waiters = None

    def _provide(self, args: tuple[object, ...], kwargs: dict[str, object]) -> object:
        return self


# a template's recipe unpacks into ServiceCell's arguments: (binding, teardowns, ctx, *roots)
_make_cell = cast("Callable[..., ServiceCell]", ServiceCell)
PluginProviders: TypeAlias = "dict[str, Provider]"
_Recipe: TypeAlias = "tuple[tuple[AnyServiceRef, ...], tuple[object, ...] | None]"
"""One plugin's providers by ref id (a plain dict: see the module docstring)."""


class ServiceContainer:
    """Builds providers on first use and resolves refs through them."""

    __slots__ = (
        "_contexts",
        "_lookup",
        "_overridden",
        "_overrides",
        "_plugins",
        "_recipes",
        "_root",
        "_template_lists",
        "_templates",
        "teardowns",
    )

    def __init__(self, lookup: Callable[[AnyServiceRef], Sequence[ServiceFactory[object]]]) -> None:
        """Create the containers; ``lookup`` returns the factories serving a ref."""
        self._lookup = lookup
        # providers by ref id (root), by factory (contexts) and by ref id or "id[i]" for
        # a multiton's factories (templates): plain dicts, as for a plugin's providers
        self._root: dict[str, Provider] = {}
        self._contexts: dict[str, Provider] = {}
        self._templates: dict[str, Provider] = {}
        self._template_lists: dict[str, list[Provider]] = {}
        # per template: the plugin-scoped dependencies it receives at call time, and the
        # arguments before them when the cell can be built without calling it
        self._recipes: dict[Provider, _Recipe] = {}
        self._plugins: dict[str, PluginProviders] = {}
        self._overrides: dict[tuple[str, str | None], object] = {}
        self._overridden: list[Provider] = []
        self.teardowns = Teardowns()

    def __repr__(self) -> str:
        return (
            f"<ServiceContainer(root={len(self._root)}, "
            f"templates={len(self._template_lists)}, plugins={len(self._plugins)})>"
        )

    # -- building providers -------------------------------------------------

    @staticmethod
    def _list(items: list[Provider]) -> Provider:
        # The stub types List as Provider[list[Any]]; it produces a list of cells,
        # which callers treat as an object and check with `type(x) is list`.
        return cast("Provider", providers.List(*items))

    def _apply_override(self, key: tuple[str, str | None], provider: Provider) -> None:
        if key in self._overrides:
            provider.override(providers.Object(self._overrides[key]))  # pyright: ignore[reportUnknownMemberType]
            self._overridden.append(provider)

    def _cell_provider(self, factory: ServiceFactory[object], *, context: bool) -> Provider:
        binding = Binding.of(factory, context=context)
        built = self._root
        roots = [built.get(ref._id) or self._root_provider(ref) for ref in binding.root_deps]
        if not binding.per_plugin:
            # A root cell is built at once, holding its dependencies' cells (or an
            # override's value): a cell is its own provider, so no Singleton (13 µs) is
            # needed. It still runs its factory only when first asked.
            if not self._overrides:
                for root in roots:
                    if type(root) is not ServiceCell:
                        break
                else:  # every dependency is a cell, which provides itself: skip the calls
                    return ServiceCell(binding, self.teardowns, None, *roots)
            return ServiceCell(binding, self.teardowns, None, *[root() for root in roots])
        ctx = self._context_provider(factory) if factory._context is not None else None
        template: Provider = providers.Factory(ServiceCell, binding, self.teardowns, ctx, *roots)
        cells = (ctx is None or type(ctx) is ServiceCell) and all(
            type(root) is ServiceCell for root in roots
        )
        direct = (binding, self.teardowns, ctx, *roots) if cells else None
        self._recipes[template] = (binding.plugin_deps, direct)
        return template

    def _context_provider(self, factory: ServiceFactory[object]) -> Provider:
        name = f"{factory._service._id}#context@{id(factory):x}"
        existing = self._contexts.get(name)
        if existing is not None:
            return existing
        provider = self._contexts[name] = self._cell_provider(factory, context=True)
        return provider

    def _root_provider(self, ref: AnyServiceRef) -> Provider:
        existing = self._root.get(ref._id)
        if existing is not None:
            return existing
        factories = self._lookup(ref)
        if ref.multiton:
            provider = self._list([self._cell_provider(f, context=False) for f in factories])
        else:
            provider = self._cell_provider(factories[0], context=False)
        if self._overrides:
            self._apply_override((ref._id, None), provider)
        self._root[ref._id] = provider
        return provider

    def _templates_of(self, ref: AnyServiceRef) -> list[Provider]:
        existing = self._template_lists.get(ref._id)
        if existing is not None:
            return existing
        templates = [self._cell_provider(f, context=False) for f in self._lookup(ref)]
        for index, template in enumerate(templates):
            name = f"{ref._id}[{index}]" if ref.multiton else ref._id
            self._apply_override((name, None), template)
            self._templates[name] = template
        self._template_lists[ref._id] = templates
        return templates

    def _plugin_container(self, plugin_id: str) -> PluginProviders:
        container: PluginProviders = {
            PLUGIN_METADATA_ID: providers.Object(PluginMetadata(plugin_id, self))
        }
        self._plugins[plugin_id] = container
        return container

    def _plugin_provider(
        self, ref: AnyServiceRef, plugin_id: str, container: PluginProviders
    ) -> Provider:
        templates = self._template_lists.get(ref._id) or self._templates_of(ref)
        if not self._overrides and not ref.multiton:
            deps, direct = self._recipes[templates[0]]
            if direct is not None:
                # What the template's call would make, without the call (1.2 -> 0.5 µs): its
                # injections are cells, which provide themselves while nothing is overridden.
                args = [self._provide_in_plugin(d, plugin_id, container) for d in deps]
                made_cell = container[ref._id] = _make_cell(*direct, *args, plugin_id)
                return made_cell
        made: list[Provider] = []
        for template in templates:
            deps, direct = self._recipes[template]
            args = [self._provide_in_plugin(d, plugin_id, container) for d in deps]
            if direct is not None and not self._overrides:
                made.append(_make_cell(*direct, *args, plugin_id))
                continue
            cell = template(*args, plugin_id)
            # a cell, or an override's value when the template is overridden
            made.append(cell if type(cell) is ServiceCell else providers.Object(cell))
        provider = self._list(made) if ref.multiton else made[0]
        if self._overrides:
            self._apply_override((ref._id, plugin_id), provider)
        container[ref._id] = provider
        return provider

    # -- resolving ------------------------------------------------------------

    def _provide_in_plugin(
        self, ref: AnyServiceRef, plugin_id: str, container: PluginProviders
    ) -> object:
        if ref._scope is Scope.ROOT:
            provider = self._root.get(ref._id) or self._root_provider(ref)
        else:
            provider = container.get(ref._id) or self._plugin_provider(ref, plugin_id, container)
        if type(provider) is ServiceCell and not self._overrides:
            return provider  # a cell provides itself unless overridden: skip the call
        return provider()

    def provide(self, ref: AnyServiceRef, plugin_id: str | None) -> object:
        """Call the provider of ``ref`` (built on first use): a cell, cells or a value."""
        if plugin_id is None:
            assert ref._scope is Scope.ROOT, f"{ref} is plugin scoped and needs a plugin id"
            provider = self._root.get(ref._id) or self._root_provider(ref)
            if type(provider) is ServiceCell and not self._overrides:
                return provider  # a cell provides itself unless overridden: skip the call
            return provider()
        container = self._plugins.get(plugin_id) or self._plugin_container(plugin_id)
        return self._provide_in_plugin(ref, plugin_id, container)

    async def get(self, ref: AnyServiceRef, plugin_id: str | None) -> object:
        """Return the instance of ``ref`` (a list for a multiton), creating it once."""
        if plugin_id is None or ref._scope is Scope.ROOT:
            provided = self.provide(ref, plugin_id)
        else:  # the hot path, inlined: a plugin-scoped ref in a plugin
            container = self._plugins.get(plugin_id) or self._plugin_container(plugin_id)
            provider = container.get(ref._id) or self._plugin_provider(ref, plugin_id, container)
            provided = (
                provider if type(provider) is ServiceCell and not self._overrides else provider()
            )
        if type(provided) is ServiceCell:
            return provided._value if provided._state == DONE else await provided.get()
        return await self.value_of(provided, ref)

    @staticmethod
    async def value_of(provided: object, ref: AnyServiceRef) -> object:
        """The instance of ``ref`` from what :meth:`provide` returned for it."""
        if isinstance(provided, CellBase):
            return await resolve_value(provided)
        if type(provided) in (list, tuple) and ref.multiton:
            # dependency-injector's List provider returns a tuple when it has no items
            return [await resolve_value(item) for item in cast("list[object]", provided)]
        return provided

    def peek(self, ref: AnyServiceRef, plugin_id: str | None) -> object | None:
        """Return the instance of ``ref`` if it was already created, else ``None``."""
        if ref._scope is Scope.ROOT:
            provider = self._root.get(ref._id)
        else:
            container = self._plugins.get(plugin_id or "")
            provider = None if container is None else container.get(ref._id)
        if provider is None:
            return None
        provided = provider()
        if type(provided) is ServiceCell:
            return provided.peek()
        return None if type(provided) in (list, tuple) else provided

    # -- overrides ------------------------------------------------------------

    def override(self, ref: AnyServiceRef, value: object, plugin_id: str | None = None) -> None:
        """Make ``ref`` resolve to ``value`` (for one plugin, or everywhere).

        Must be called before the ref is first resolved; the value replaces
        what the factory would have produced.
        """
        name = ref._id if plugin_id is not None or not ref.multiton else f"{ref._id}[0]"
        self._overrides[(name, plugin_id)] = value

    def reset_overrides(self) -> None:
        """Undo every override and reset every singleton built while they applied."""
        for provider in self._overridden:
            provider.reset_override()
        self._overridden.clear()
        self._overrides.clear()
        # Root and context cells hold their instances: drop every provider built so
        # far (and the templates wired to them); the next use builds them afresh.
        self._root.clear()
        self._contexts.clear()
        self._templates.clear()
        self._template_lists.clear()
        self._recipes.clear()
        self._plugins.clear()
