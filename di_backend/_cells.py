"""Service cells: one per service instance, made by dependency-injector's providers.

The container's providers stay in dependency-injector's fast synchronous mode
(a warm provider call costs about 0.1 µs, an async-mode one 1.4 µs). A cell is
created exactly once per root service, per plugin service and per root
context, with the cells of its dependencies. It runs the user's (sync, async
or generator) factory on the first ``await cell.get()`` and caches the value or
the error; concurrent first callers wait for the one run. :class:`CellBase`
holds that behaviour; ``_container.ServiceCell`` adds the provider interface.
"""

from __future__ import annotations

import asyncio
import inspect
import types
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Final, cast

from di_backend._factories import ServiceFactory
from di_backend._inject import CallSpec
from di_backend._refs import AnyServiceRef, ExtensionPoint, MultitonServiceRef, Scope, ServiceRef
from di_backend.errors import RootContextError, ServiceInstantiationError, describe_error

__all__ = ["DONE", "NEW", "Binding", "CellBase", "Teardowns", "resolve_value"]

NEW: Final = 0
_NEW: Final = NEW
_RUNNING: Final = 1
DONE: Final = 2
_DONE: Final = DONE
_FAILED: Final = 3


class Teardowns:
    """Generators of generator factories, closed in reverse creation order at stop."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[tuple[str, Generator[object] | AsyncGenerator[object]]] = []

    def add(self, service_id: str, generator: Generator[object] | AsyncGenerator[object]) -> None:
        """Remember a generator to finish at stop."""
        self._items.append((service_id, generator))

    async def close_all(self, limit: float | None = None) -> list[tuple[str, BaseException]]:
        """Finish every generator, newest first; return ``(service id, error)`` failures.

        An async teardown still running after ``limit`` seconds is cancelled and
        reported as a failure that says so.
        """
        failures: list[tuple[str, BaseException]] = []
        while self._items:
            service_id, generator = self._items.pop()
            try:
                if isinstance(generator, types.AsyncGeneratorType):
                    await asyncio.wait_for(anext(generator), limit)
                else:
                    next(generator)  # type: ignore[arg-type]
            except (StopIteration, StopAsyncIteration):
                continue
            except TimeoutError as err:
                if limit is None:  # the teardown's own TimeoutError
                    failures.append((service_id, err))
                    continue
                msg = (
                    f"The teardown of service '{service_id}' did not finish within {limit:g}s "
                    "(backend.lifecycle.shutdownHookTimeout); it was cancelled"
                )
                failures.append((service_id, ServiceInstantiationError(msg)))
                continue
            except Exception as err:
                failures.append((service_id, err))
                continue
            msg = f"The generator factory of service '{service_id}' yielded more than once"
            failures.append((service_id, ServiceInstantiationError(msg)))
        return failures


# ``(False,) * n`` for the usual numbers of dependencies, made once
_NO_MULTITONS: Final = {n: (False,) * n for n in range(8)}


class Binding:
    """What every cell of one factory (or of its root context) shares, in any backend.

    Worked out once per factory (see :meth:`of`): a factory used by many backends,
    as in a test suite, or by many plugins pays for it once.
    """

    __slots__ = (
        "any_multiton",
        "call",
        "is_context",
        "multiton",
        "names",
        "per_plugin",
        "plugin_deps",
        "root_deps",
        "scope",
        "service_id",
    )

    def __init__(self, factory: ServiceFactory[object], *, context: bool) -> None:
        spec = factory._context if context else factory._call
        assert spec is not None
        self.call: CallSpec = spec
        self.is_context = context
        self.service_id = factory._service._id
        self.scope = factory._service._scope
        # A cell receives its dependencies positionally: the root ones (injected by
        # dependency-injector from the root providers), then the plugin-scoped ones
        # and, for a per-plugin cell, the plugin id last (passed when a plugin calls
        # its template). Positional injection costs half of keyword injection.
        # (factories cannot depend on extension points; create_service_factory checks)
        for ref in spec.refs:
            if type(ref) is not ServiceRef or ref._scope is not Scope.ROOT:
                break
        else:  # the usual factory: root services only, no multiton; share the spec's tuples
            self.root_deps: tuple[AnyServiceRef, ...] = cast("tuple[AnyServiceRef, ...]", spec.refs)
            self.plugin_deps: tuple[AnyServiceRef, ...] = ()
            self.names = spec.names
            self.multiton = _NO_MULTITONS.get(len(spec.refs)) or (False,) * len(spec.refs)
            self.any_multiton = False
            self.per_plugin = not context and self.scope is Scope.PLUGIN
            return
        root: list[AnyServiceRef] = []
        plugin: list[AnyServiceRef] = []
        root_names: list[str] = []
        plugin_names: list[str] = []
        multiton: list[bool] = []
        plugin_multiton: list[bool] = []
        for name, ref in zip(spec.names, spec.refs, strict=True):
            if isinstance(ref, ExtensionPoint):
                continue
            if ref._scope is Scope.ROOT:
                root.append(ref)
                root_names.append(name)
                multiton.append(isinstance(ref, MultitonServiceRef))
            else:
                plugin.append(ref)
                plugin_names.append(name)
                plugin_multiton.append(isinstance(ref, MultitonServiceRef))
        self.root_deps = tuple(root)
        self.plugin_deps = tuple(plugin)
        if plugin:
            root_names += plugin_names
            multiton += plugin_multiton
        self.names = tuple(root_names)
        self.multiton = tuple(multiton)
        self.any_multiton = True in multiton
        self.per_plugin = not context and self.scope is Scope.PLUGIN

    @staticmethod
    def of(factory: ServiceFactory[object], *, context: bool) -> Binding:
        """The binding of ``factory`` (or of its root context), made on first use."""
        cached = factory._context_binding if context else factory._call_binding
        if cached is None:
            cached = Binding(factory, context=context)
            if context:
                factory._context_binding = cached
            else:
                factory._call_binding = cached
        return cast("Binding", cached)

    def wrap_error(self, error: Exception, plugin_id: str | None) -> Exception:
        """Say which service failed (root factory errors pass through, as in Backstage).

        A failing root context is reported as such, also by the factory that needed it.
        """
        if self.is_context:
            msg = (
                f"Failed to instantiate service '{self.service_id}' because its "
                f"create_root_context '{self.call.description}' threw an error, "
                f"{describe_error(error)}"
            )
            context_error = RootContextError(msg, service_id=self.service_id)
            context_error.__cause__ = error
            return context_error
        if isinstance(error, RootContextError) and error.service_id == self.service_id:
            return error  # the root context failed, not this factory function
        if self.scope is Scope.PLUGIN:
            msg = (
                f"Failed to instantiate service '{self.service_id}' for '{plugin_id}' because "
                f"the factory function threw an error, {describe_error(error)}"
            )
        else:
            return error
        wrapped = ServiceInstantiationError(msg)
        wrapped.__cause__ = error
        return wrapped


async def resolve_value(value: object) -> object:
    """Turn what a provider returned (a cell, or an override's plain value) into the value."""
    if isinstance(value, CellBase):
        if value._state == _DONE:
            return value._value
        return await value.get()
    return value


class CellBase:
    """The behaviour of one service instance: runs its factory once, on demand.

    The concrete cell (``_container.ServiceCell``) is also a dependency-injector
    provider that returns itself, so it can sit in a plugin's container; it
    declares the slots annotated here and its constructor fills them (its
    plugin id is the last dependency of a per-plugin cell). This base holds
    the logic and imports nothing from dependency-injector.
    """

    if not TYPE_CHECKING:  # the concrete cell declares the slots these annotations name
        __slots__ = ()
    _binding: Binding
    _teardowns: Teardowns
    _ctx: object
    _deps: tuple[object, ...]
    _plugin_id: str | None
    _state: int
    _value: object
    _waiters: list[asyncio.Future[object]] | None

    @property
    def done(self) -> bool:
        """Whether the factory has produced the value."""
        return self._state == _DONE

    @property
    def value(self) -> object:
        """The value; only meaningful when :attr:`done`."""
        return self._value

    def peek(self) -> object:
        """Return the value if it was produced, else ``None``."""
        return self._value if self._state == _DONE else None

    async def get(self) -> object:
        """Return the service, running the factory on the first call only."""
        state = self._state
        if state == _DONE:
            return self._value
        if state != _NEW:
            return await self._wait_or_raise()
        self._state = _RUNNING
        binding = self._binding
        try:
            kwargs = self._ready_kwargs()
            if kwargs is None:
                kwargs = await self._resolved_kwargs()
            if binding.call.has_context:
                result = binding.call.func(await resolve_value(self._ctx), **kwargs)
            else:
                result = binding.call.func(**kwargs)
            if type(result) is types.CoroutineType:
                value = await cast("types.CoroutineType[object, object, object]", result)
            elif type(result) in _GENERATORS or inspect.isawaitable(result):
                value = await self._finish(result)
            else:
                value = result  # a sync factory's value: no _finish coroutine for it
        except Exception as err:
            error = self._fail(err)
            if error is err:
                raise
            raise error from err
        self._state, self._value = _DONE, value
        self._deps = ()  # the dependencies are no longer needed; let them go
        if self._waiters is not None:
            self._wake(value, None)
        return value

    def _ready_kwargs(self) -> dict[str, object] | None:
        """The arguments, if every dependency is a cell that is done (the usual case)."""
        binding = self._binding
        kwargs: dict[str, object] = {}
        if not binding.any_multiton:  # the usual case: no list to resolve item by item
            # zip stops before the trailing plugin id of a per-plugin cell
            for name, dep in zip(binding.names, self._deps, strict=False):
                if isinstance(dep, CellBase):
                    if dep._state != _DONE:
                        return None
                    kwargs[name] = dep._value
                else:
                    kwargs[name] = dep  # a plain value: an Object provider's, or an override's
            return kwargs
        for name, multiton, dep in zip(binding.names, binding.multiton, self._deps, strict=False):
            if isinstance(dep, CellBase):
                if dep._state != _DONE:
                    return None
                kwargs[name] = dep._value
            elif multiton:
                return None
            else:
                kwargs[name] = dep  # a plain value: an Object provider's, or an override's
        return kwargs

    async def _resolved_kwargs(self) -> dict[str, object]:
        """The arguments, running dependencies that have not run yet."""
        binding = self._binding
        kwargs: dict[str, object] = {}
        for name, multiton, dep in zip(binding.names, binding.multiton, self._deps, strict=False):
            if multiton and type(dep) in (list, tuple):
                kwargs[name] = [await resolve_value(i) for i in cast("list[object]", dep)]
            elif isinstance(dep, CellBase):  # resolve_value inlined: one coroutine less
                kwargs[name] = dep._value if dep._state == _DONE else await dep.get()
            else:
                kwargs[name] = dep  # a plain value: an Object provider's, or an override's
        return kwargs

    async def _wait_or_raise(self) -> object:
        if self._state == _FAILED:
            raise cast("Exception", self._value)
        return await self._wait()

    def _fail(self, err: Exception) -> Exception:
        error = self._binding.wrap_error(err, self._plugin_id)
        self._state, self._value = _FAILED, error
        self._wake(None, error)
        return error

    async def _wait(self) -> object:
        waiter: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        return await waiter

    def _wake(self, value: object, error: Exception | None) -> None:
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                if error is None:
                    waiter.set_result(value)
                else:
                    waiter.set_exception(error)

    async def _finish(self, result: object) -> object:
        """Await an awaitable, start a generator, or take a plain value."""
        if inspect.isawaitable(result):
            return await result
        generator: Generator[object] | AsyncGenerator[object]
        if isinstance(result, types.GeneratorType):
            generator = cast("Generator[object]", result)
            value = next(generator, _MISSING)
        elif isinstance(result, types.AsyncGeneratorType):
            generator = cast("AsyncGenerator[object]", result)
            value = await anext(generator, _MISSING)
        else:
            return result
        binding = self._binding
        if value is _MISSING:
            msg = f"The generator factory of service '{binding.service_id}' did not yield a value"
            raise ServiceInstantiationError(msg)
        self._teardowns.add(binding.service_id, generator)
        return value


_MISSING: Final = object()
_GENERATORS: Final = (types.GeneratorType, types.AsyncGeneratorType)
