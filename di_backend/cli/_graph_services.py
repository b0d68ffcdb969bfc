"""The service-to-service part of ``di-backend graph``: which service needs which."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from di_backend._refs import AnyServiceRef, ExtensionPoint
from di_backend._registry import ServiceRegistry

__all__ = ["ServiceInfo", "collect_services"]


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """A service the inits need, directly or through other services.

    Attributes:
        ref: the ref as messages print it (``serviceRef{todo.store}``).
        provider: who provides it (as the init dependencies say it).
        needs: the refs its factory (or factories, for a multiton) depend on.
    """

    ref: str
    provider: str
    needs: tuple[str, ...]


def collect_services(
    registry: ServiceRegistry,
    roots: Iterable[AnyServiceRef | ExtensionPoint[object]],
    provider_of: Callable[[AnyServiceRef], str],
) -> tuple[ServiceInfo, ...]:
    """Every service reachable from ``roots`` through factory dependencies, by id."""
    seen: dict[str, ServiceInfo] = {}
    pending = [ref for ref in roots if not isinstance(ref, ExtensionPoint)]
    while pending:
        ref = pending.pop()
        if ref.id in seen:
            continue
        deps: list[AnyServiceRef] = []
        for factory in registry._candidates(ref):  # read only: marks nothing instantiated
            deps.extend(dep for dep in factory.deps if dep not in deps)
        seen[ref.id] = ServiceInfo(str(ref), provider_of(ref), tuple(str(d) for d in deps))
        pending.extend(deps)
    return tuple(seen[key] for key in sorted(seen))
