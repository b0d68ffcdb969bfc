"""Backstage's missing-dependency messages for the services a start or a plugin needs.

A dependency missing further down is reported through the chain, as in Backstage:
each service above it failed because creating its dependency did. The walk reads
the :class:`~di_backend._registry.ServiceRegistry`'s tables and keeps its answers in
the registry's cache, which the registry clears whenever a factory is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from di_backend._refs import AnyServiceRef, Scope

if TYPE_CHECKING:
    from di_backend._registry import ServiceRegistry

__all__ = ["Chains", "missing_messages"]

Chains = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
"""``(chain, missing dependency ids)`` pairs: a chain runs from a ref's id down to the
service whose factory lacks the missing dependencies."""


def missing_messages(
    registry: ServiceRegistry, refs: Sequence[AnyServiceRef], plugin_id: str
) -> list[str]:
    """Messages for every factory that ``refs`` need whose dependencies are missing.

    A ref nothing can provide is skipped (the caller reports it); so is an installed
    ref when every installed factory's dependencies are installed (nothing can be
    missing below it).
    """
    messages: list[str] = []
    complete = registry.installed_deps_complete()
    for ref in refs:
        if not registry.is_available(ref):
            continue
        if complete and registry._has_factory(ref._id):
            continue  # installed, and every installed factory's deps are installed
        for chain, missing in _missing_below(registry, ref):
            names = ", ".join(f"'{m}'" for m in missing)
            message = (
                f"Failed to instantiate service '{chain[-1]}' for "
                f"'{_scope_name(registry, chain[-1], plugin_id)}' because the following "
                f"dependent services are missing: {names}"
            )
            for service_id in reversed(chain[:-1]):
                message = (
                    f"Failed to instantiate service '{service_id}' for "
                    f"'{_scope_name(registry, service_id, plugin_id)}' because the factory "
                    f"function threw an error, MissingDependencyError: {message}"
                )
            messages.append(message)
    return list(dict.fromkeys(messages))


def _missing_below(registry: ServiceRegistry, ref: AnyServiceRef) -> Chains:
    """The chains of every factory ``ref`` transitively needs that lacks dependencies."""
    cache = registry._missing_cache
    cached = cache.get(ref._id)
    if cached is not None:
        return cached
    cache[ref._id] = ()  # cycles were rejected before; this guards re-entry
    problems: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for factory in registry._candidates(ref):
        missing = tuple(d._id for d in factory._deps if not registry.is_available(d))
        if missing:
            problems.append(((factory._service._id,), missing))
        for dep in factory._deps:
            if registry.is_available(dep):
                problems.extend(
                    ((factory._service._id, *chain), below)
                    for chain, below in _missing_below(registry, dep)
                )
    result = tuple(dict.fromkeys(problems))
    cache[ref._id] = result
    return result


def _scope_name(registry: ServiceRegistry, service_id: str, plugin_id: str) -> str:
    """How Backstage's message names the scope: the plugin id, or ``root``."""
    for table in (registry._resolved, registry._added, registry._defaults):
        factories = table.get(service_id)
        if factories:
            scope = factories[0]._service._scope
            break
    else:
        loaded = registry._loaded.get(service_id)
        scope = loaded[0][0]._service._scope if loaded else Scope.PLUGIN
    return plugin_id if scope is Scope.PLUGIN else "root"
