"""A dependency graph of nodes that consume and provide string ids.

Port of Backstage's ``lib/DependencyGraph.ts``. Node A depends on node B when A
consumes an id that B provides; consumed ids that no node provides are ignored
for ordering and reported by :meth:`DependencyGraph.find_unsatisfied_deps`.

The service registry uses it to find factory cycles and unsatisfied dependencies,
the initializer to order a plugin's modules. Pure (stdlib and
:mod:`di_backend.errors` only) and free of recursion, so chains of any depth work.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

from di_backend.errors import CircularDependencyError

__all__ = ["DependencyGraph", "is_acyclic"]

V = TypeVar("V")
R = TypeVar("R")
T = TypeVar("T")  # from_iterable's own parameter: V is unbound on the bare class
_CIRCULAR_MESSAGE = "Circular dependency detected"
_MAX_REPORTED_CYCLES = 10  # cycles attached to a CircularDependencyError
_Node = tuple[V, Iterable[str], Iterable[str]]  # (value, consumes, provides)
_Adjacency = Mapping[int, Sequence[int]] | Sequence[Sequence[int]]


def is_acyclic(consumes: Mapping[str, Collection[str]]) -> bool:
    """Whether the graph of ids, each consuming the ids it maps to, has no cycle.

    Ids nobody maps are ignored, as :class:`DependencyGraph` ignores consumed ids that
    no node provides. A quick yes or no (Kahn's algorithm): when it says no, build a
    :class:`DependencyGraph` to name the cycles.
    """
    waiting: dict[str, int] = {}
    consumers: dict[str, list[str]] = {}
    for node, deps in consumes.items():
        known = 0
        for dep in deps:
            if dep in consumes:
                known += 1
                consumers.setdefault(dep, []).append(node)
        waiting[node] = known
    ready = [node for node, count in waiting.items() if count == 0]
    done = 0
    while ready:
        node = ready.pop()
        done += 1
        for consumer in consumers.get(node, ()):
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                ready.append(consumer)
    return done == len(consumes)


def _strongly_connected(adjacency: _Adjacency, roots: Iterable[int]) -> list[list[int]]:
    """Find the strongly connected components reachable from ``roots`` (iterative Tarjan)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: dict[int, int] = {}  # node -> its position in stack
    components: list[list[int]] = []
    for root in roots:
        if root in index:
            continue
        work = [(root, iter(adjacency[root]))]
        index[root] = low[root] = len(index)
        on_stack[root] = len(stack)
        stack.append(root)
        while work:
            node, neighbours = work[-1]
            for other in neighbours:
                if other not in index:
                    index[other] = low[other] = len(index)
                    on_stack[other] = len(stack)
                    stack.append(other)
                    work.append((other, iter(adjacency[other])))
                    break
                if other in on_stack:
                    low[node] = min(low[node], index[other])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    components.append(stack[on_stack[node] :])
                    del stack[on_stack[node] :]
                    for member in components[-1]:
                        del on_stack[member]
    return components


def _unblock(node: int, blocked: set[int], blocked_by: dict[int, set[int]]) -> None:
    """Unblock ``node`` and, transitively, the nodes waiting on it (Johnson)."""
    pending = [node]
    while pending:
        current = pending.pop()
        if current in blocked:
            blocked.discard(current)
            pending.extend(blocked_by.pop(current, ()))


def _circuits(adjacency: Mapping[int, Sequence[int]], start: int) -> Iterator[list[int]]:
    """Yield the elementary cycles through ``start`` (Johnson's circuit search, iterative)."""
    blocked = {start}
    blocked_by: dict[int, set[int]] = {}
    path = [start]
    closed = [False]
    work = [iter(adjacency[start])]
    while work:
        for other in work[-1]:
            if other == start:
                closed[-1] = True
                yield [*path, start]
            elif other not in blocked:
                blocked.add(other)
                path.append(other)
                closed.append(False)
                work.append(iter(adjacency[other]))
                break
        else:
            work.pop()
            node = path.pop()
            if closed.pop():
                if closed:
                    closed[-1] = True
                _unblock(node, blocked, blocked_by)
            else:
                for other in adjacency[node]:
                    blocked_by.setdefault(other, set()).add(node)


class DependencyGraph(Generic[V]):
    """Nodes with the ids they consume and provide, in insertion order.

    Nodes are identified by position, so equal values are distinct nodes.
    """

    def __init__(self, nodes: Iterable[_Node[V]]) -> None:
        """Build the graph; prefer :meth:`from_iterable` or :meth:`from_map`.

        Args:
            nodes: ``(value, consumes, provides)`` for each node, in insertion order.

        """
        values: list[V] = []
        consumed: list[tuple[str, ...]] = []
        providers: dict[str, list[int]] = {}
        for value, consumes, provides in nodes:
            position = len(values)
            values.append(value)
            consumed.append(tuple(dict.fromkeys(consumes)))
            for provided in provides:
                known = providers.get(provided)
                if known is None:
                    providers[provided] = [position]
                elif known[-1] != position:  # an id provided twice by one node counts once
                    known.append(position)
        # deps[i]: the nodes i depends on; dependents[j]: the nodes that depend on j.
        deps: list[list[int]] = []
        dependents: list[list[int]] = [[] for _ in values]
        for position, consumes in enumerate(consumed):
            found: list[int] = []
            for consumed_id in consumes:
                found.extend(providers.get(consumed_id, ()))
            if len(found) > 1:
                found = list(dict.fromkeys(found))
            deps.append(found)
            for dep in found:
                dependents[dep].append(position)
        self._values, self._consumes = values, consumed
        self._deps, self._dependents = deps, dependents
        self._provided = providers.keys()  # a view: membership is all it is asked

    @classmethod
    def from_map(
        cls, nodes: Mapping[str, tuple[Iterable[str], Iterable[str]]]
    ) -> DependencyGraph[str]:
        """Build a graph whose node values are the keys of a mapping.

        Args:
            nodes: node key -> ``(consumes, provides)``.

        Returns:
            A graph of the keys, in mapping order.

        """
        return DependencyGraph((key, con, pro) for key, (con, pro) in nodes.items())

    @classmethod
    def from_iterable(cls, nodes: Iterable[_Node[T]]) -> DependencyGraph[T]:
        """Build a graph from ``(value, consumes, provides)`` triples.

        Args:
            nodes: the nodes in insertion order.

        Returns:
            The graph.

        """
        return DependencyGraph(nodes)

    def find_unsatisfied_deps(self) -> list[tuple[V, tuple[str, ...]]]:
        """Find the nodes that consume ids no node provides.

        Returns:
            ``(value, unsatisfied ids)`` for each node with at least one such id, in
            insertion order; the ids are in the order the node first consumed them.

        """
        found: list[tuple[V, tuple[str, ...]]] = []
        for value, consumes in zip(self._values, self._consumes, strict=True):
            unsatisfied = tuple(c for c in consumes if c not in self._provided)
            if unsatisfied:
                found.append((value, unsatisfied))
        return found

    def detect_circular_dependencies(self) -> Iterator[list[V]]:
        """Lazily find every unique elementary cycle (Tarjan's SCCs, then Johnson's).

        Each node set is reported once, starting and ending at its earliest-inserted
        node; cycles come in insertion order of that node.

        Yields:
            Each cycle as ``[a, b, ..., a]``, where each node consumes an id that
            the next one provides; a node consuming its own id yields ``[a, a]``.

        """
        deps = self._deps
        heap: list[tuple[int, list[int]]] = []

        def push_cyclic(components: list[list[int]]) -> None:
            for component in components:
                if len(component) > 1 or component[0] in deps[component[0]]:
                    heapq.heappush(heap, (min(component), component))

        push_cyclic(_strongly_connected(deps, range(len(deps))))
        while heap:
            start, component = heapq.heappop(heap)
            members = set(component)
            inside = {v: [w for w in deps[v] if w in members] for v in component}
            seen: set[frozenset[int]] = set()
            for cycle in _circuits(inside, start):
                if (key := frozenset(cycle)) not in seen:
                    seen.add(key)
                    yield [self._values[i] for i in cycle]
            inside = {v: [w for w in ws if w != start] for v, ws in inside.items() if v != start}
            push_cyclic(_strongly_connected(inside, inside))

    def detect_circular_dependency(self) -> list[V] | None:
        """Find the first cycle of :meth:`detect_circular_dependencies`.

        Returns:
            The cycle as ``[a, b, ..., a]``, or None when the graph is acyclic.

        """
        if self._acyclic():
            return None  # a linear yes/no first: the cycle search costs several times more
        return next(self.detect_circular_dependencies(), None)

    def _acyclic(self) -> bool:
        """Whether every node can be ordered (Kahn's algorithm over the node edges)."""
        waiting = [len(deps) for deps in self._deps]
        ready = [i for i, count in enumerate(waiting) if count == 0]
        dependents = self._dependents
        done = 0
        while ready:
            node = ready.pop()
            done += 1
            for dependent in dependents[node]:
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    ready.append(dependent)
        return done == len(waiting)

    def _circular_error(self) -> CircularDependencyError:
        found = itertools.islice(self.detect_circular_dependencies(), _MAX_REPORTED_CYCLES)
        cycles = tuple(tuple(str(v) for v in cycle) for cycle in found)
        return CircularDependencyError(_CIRCULAR_MESSAGE, cycles=cycles)

    def topological_order(self) -> list[V]:
        """Order the nodes so that every node comes after the nodes it depends on.

        Returns:
            The values; among nodes that are ready together, insertion order wins.

        Raises:
            CircularDependencyError: the graph has a cycle; ``cycles`` holds the
                first ten cycles with the values rendered by ``str``.

        """
        waiting = [len(deps) for deps in self._deps]
        ready = [i for i, count in enumerate(waiting) if count == 0]
        order: list[V] = []
        while ready:
            node = heapq.heappop(ready)
            order.append(self._values[node])
            for dependent in self._dependents[node]:
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    heapq.heappush(ready, dependent)
        if len(order) < len(self._values):
            raise self._circular_error()
        return order

    async def parallel_topological_traversal(self, fn: Callable[[V], Awaitable[R]]) -> list[R]:
        """Call ``fn`` for every node once its providers have finished, concurrently.

        A lone ready node with nothing in flight is awaited directly; tasks are made
        only when several nodes can run at once. If ``fn`` raises, no new node starts
        and the first error is raised once the calls in flight have finished. If the
        traversal is cancelled, it cancels and awaits the calls in flight.

        Args:
            fn: the async callback, called with each node's value.

        Returns:
            The results of ``fn`` in completion order.

        Raises:
            CircularDependencyError: nothing can run while nodes remain; ``cycles``
                as for :meth:`topological_order`.

        """
        values, dependents = self._values, self._dependents
        waiting = [len(deps) for deps in self._deps]
        ready = deque(i for i, count in enumerate(waiting) if count == 0)
        results: list[R] = []
        tasks: dict[int, asyncio.Task[None]] = {}
        errors: list[BaseException] = []
        # the future the traversal awaits while calls are in flight; the first call to
        # finish resolves it (a plain future: an asyncio.Event costs more per wait)
        wake: asyncio.Future[None] | None = None

        def finish(node: int, result: R) -> None:
            results.append(result)
            for dependent in dependents[node]:
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    ready.append(dependent)

        async def run(node: int) -> None:
            try:
                finish(node, await fn(values[node]))
            except BaseException as error:  # re-raised by the traversal
                errors.append(error)
            finally:
                del tasks[node]
                if wake is not None and not wake.done():
                    wake.set_result(None)

        while True:
            if not tasks:
                if errors:
                    raise errors[0]
                if not ready:
                    if len(results) == len(values):
                        return results
                    raise self._circular_error()
                if len(ready) == 1:
                    node = ready.popleft()
                    finish(node, await fn(values[node]))
                    continue
            while ready and not errors:
                node = ready.popleft()
                tasks[node] = asyncio.create_task(run(node))
            wake = asyncio.get_running_loop().create_future()
            try:
                await wake
            except asyncio.CancelledError:
                running = list(tasks.values())
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                raise
