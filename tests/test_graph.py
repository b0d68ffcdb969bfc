"""Tests for di_backend._graph, in the style of Backstage's DependencyGraph.test.ts."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from di_backend._graph import DependencyGraph, is_acyclic
from di_backend.errors import CircularDependencyError

# A spec maps each node to the nodes it depends on, separated by spaces; every node
# provides its own name, so {"a": "b"} means a consumes "b", which b provides.
Spec = Mapping[str, str]


def graph(spec: Spec) -> DependencyGraph[str]:
    """Build a graph from a spec."""
    return DependencyGraph.from_map({name: (deps.split(), [name]) for name, deps in spec.items()})


Events = list[tuple[str, str]]


def recorder(events: Events) -> Callable[[str], Awaitable[str]]:
    """Return a callback that logs start and finish and yields to the loop in between."""

    async def fn(value: str) -> str:
        events.append(("start", value))
        await asyncio.sleep(0)
        events.append(("finish", value))
        return value

    return fn


# --- find_unsatisfied_deps ------------------------------------------------------


Nodes = Mapping[str, tuple[list[str], list[str]]]
UNSATISFIED_CASES: list[tuple[str, Nodes, list[tuple[str, tuple[str, ...]]]]] = [
    ("empty graph", {}, []),
    ("all provided by others", {"a": (["b"], ["a"]), "b": ([], ["b"])}, []),
    ("provided by the consumer itself", {"a": (["a"], ["a"])}, []),
    ("one missing id", {"a": (["x"], ["a"]), "b": (["a"], ["b"])}, [("a", ("x",))]),
    (
        "ids deduplicated in first-seen order",
        {"a": (["x", "b", "x", "y"], []), "b": ([], ["b"])},
        [("a", ("x", "y"))],
    ),
    (
        "several nodes in insertion order",
        {"a": (["y"], []), "b": ([], []), "c": (["z", "y"], [])},
        [("a", ("y",)), ("c", ("z", "y"))],
    ),
]


@pytest.mark.parametrize(
    ("nodes", "expected"), [c[1:] for c in UNSATISFIED_CASES], ids=[c[0] for c in UNSATISFIED_CASES]
)
def test_find_unsatisfied_deps(nodes: Nodes, expected: list[tuple[str, tuple[str, ...]]]) -> None:
    """Nodes consuming ids nobody provides are listed with those ids only."""
    assert DependencyGraph.from_map(nodes).find_unsatisfied_deps() == expected


def test_from_iterable_keeps_arbitrary_values() -> None:
    """from_iterable keeps non-string values and treats equal values as distinct nodes."""
    g = DependencyGraph.from_iterable([((1, "x"), ["missing"], ["p"]), ((1, "x"), ["p"], [])])
    assert g.find_unsatisfied_deps() == [((1, "x"), ("missing",))]
    assert g.topological_order() == [(1, "x"), (1, "x")]


# --- cycles ---------------------------------------------------------------------

CYCLE_CASES: list[tuple[str, Spec, list[list[str]]]] = [
    ("none", {"a": "b", "b": "c", "c": "", "d": "a c"}, []),
    ("unprovided ids are ignored", {"a": "x", "b": "a y"}, []),
    ("self-loop", {"a": "", "b": "b"}, [["b", "b"]]),
    ("2-cycle", {"a": "b", "b": "a"}, [["a", "b", "a"]]),
    ("3-cycle", {"a": "b", "b": "c", "c": "a"}, [["a", "b", "c", "a"]]),
    (
        "starts at the earliest-inserted node",
        {"z": "y", "x": "z", "y": "x"},
        [["z", "y", "x", "z"]],
    ),
    (
        "two separate cycles",
        {"a": "b", "b": "a", "c": "d", "d": "c"},
        [["a", "b", "a"], ["c", "d", "c"]],
    ),
    (
        "overlapping cycles share a node",
        {"a": "b", "b": "a c", "c": "b"},
        [["a", "b", "a"], ["b", "c", "b"]],
    ),
    (
        "cycle nothing depends on",
        {"root": "leaf", "leaf": "", "x": "y", "y": "x"},
        [["x", "y", "x"]],
    ),
    ("entered from several starts", {"a": "c", "b": "c", "c": "d", "d": "c"}, [["c", "d", "c"]]),
    (
        "complete graph, once per node set",
        {"a": "b c", "b": "a c", "c": "a b"},
        [["a", "b", "a"], ["a", "b", "c", "a"], ["a", "c", "a"], ["b", "c", "b"]],
    ),
    (
        "cycle re-entering a node that already closed one",
        {"s": "a c", "a": "b", "b": "s", "c": "a"},
        [["s", "a", "b", "s"], ["s", "c", "a", "b", "s"]],
    ),
    (
        "order by start node across components",
        {"p": "r", "q": "s", "r": "p", "s": "q t", "t": "s"},
        [["p", "r", "p"], ["q", "s", "q"], ["s", "t", "s"]],
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"), [c[1:] for c in CYCLE_CASES], ids=[c[0] for c in CYCLE_CASES]
)
def test_detect_circular_dependencies(spec: Spec, expected: list[list[str]]) -> None:
    """Every unique elementary cycle is reported once, from its earliest node, in order."""
    assert list(graph(spec).detect_circular_dependencies()) == expected


@pytest.mark.parametrize(
    ("spec", "expected"), [c[1:] for c in CYCLE_CASES], ids=[c[0] for c in CYCLE_CASES]
)
def test_detect_circular_dependency(spec: Spec, expected: list[list[str]]) -> None:
    """detect_circular_dependency returns the first reported cycle or None."""
    assert graph(spec).detect_circular_dependency() == (expected[0] if expected else None)


def test_cycle_through_an_id_with_several_providers() -> None:
    """A consumer depends on every provider of an id, so each provider can close a cycle."""
    g = DependencyGraph.from_map(
        {"a": (["x"], ["a"]), "b": ([], ["x"]), "c": (["a"], ["x"]), "d": (["a"], ["x"])}
    )
    assert list(g.detect_circular_dependencies()) == [["a", "c", "a"], ["a", "d", "a"]]


# --- topological_order ----------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, []),
        ({"b": "", "a": ""}, ["b", "a"]),
        ({"a": "b", "b": "c", "c": ""}, ["c", "b", "a"]),
        (
            {"top": "left right", "left": "base", "right": "base", "base": ""},
            ["base", "left", "right", "top"],
        ),
        ({"late": "first", "first": "", "other": ""}, ["first", "late", "other"]),
        ({"a": "missing", "b": "a"}, ["a", "b"]),
    ],
    ids=[
        "empty",
        "independent nodes keep insertion order",
        "chain providers first",
        "diamond",
        "newly ready earlier node goes first",
        "unprovided ids are ignored",
    ],
)
def test_topological_order(spec: Spec, expected: list[str]) -> None:
    """Providers come before consumers and ready nodes go in insertion order."""
    assert graph(spec).topological_order() == expected


def test_topological_order_waits_for_every_provider() -> None:
    """A consumer of an id comes after all nodes that provide that id."""
    g = DependencyGraph.from_map(
        {
            "app": (["db", "log"], []),
            "db": (["log"], ["db"]),
            "log_a": ([], ["log"]),
            "log_b": ([], ["log"]),
        }
    )
    assert g.topological_order() == ["log_a", "log_b", "db", "app"]


def test_topological_order_raises_on_cycle() -> None:
    """A cycle makes topological_order raise CircularDependencyError listing the cycles."""
    with pytest.raises(CircularDependencyError, match=r"^Circular dependency detected$") as info:
        graph({"ok": "", "a": "b", "b": "a", "c": "c"}).topological_order()
    assert info.value.cycles == (("a", "b", "a"), ("c", "c"))


# --- parallel_topological_traversal ---------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"c": "b", "b": "a", "a": ""},
            [
                ("start", "a"),
                ("finish", "a"),
                ("start", "b"),
                ("finish", "b"),
                ("start", "c"),
                ("finish", "c"),
            ],
        ),
        (
            {"top": "left right", "left": "base", "right": "base", "base": ""},
            [
                ("start", "base"),
                ("finish", "base"),
                ("start", "left"),
                ("start", "right"),
                ("finish", "left"),
                ("finish", "right"),
                ("start", "top"),
                ("finish", "top"),
            ],
        ),
        (
            {"a": "", "b": "", "c": "missing"},
            [
                ("start", "a"),
                ("start", "b"),
                ("start", "c"),
                ("finish", "a"),
                ("finish", "b"),
                ("finish", "c"),
            ],
        ),
    ],
    ids=[
        "chain runs one by one",
        "diamond runs the middle in parallel",
        "independent nodes all start",
    ],
)
async def test_traversal_event_order(spec: Spec, expected: Events) -> None:
    """No node starts before its providers finish, and ready nodes start together."""
    events: Events = []
    results = await graph(spec).parallel_topological_traversal(recorder(events))
    assert events == expected
    assert results == [value for kind, value in expected if kind == "finish"]


async def test_traversal_waits_for_every_provider_of_an_id() -> None:
    """A consumer starts only after all nodes that provide an id it consumes have finished."""
    events: Events = []
    g = DependencyGraph.from_map(
        {
            "fast": ([], ["log"]),
            "slow": (["gate"], ["log"]),
            "gate": ([], ["gate"]),
            "app": (["log"], []),
        }
    )
    assert await g.parallel_topological_traversal(recorder(events)) == [
        "fast",
        "gate",
        "slow",
        "app",
    ]
    assert events == [
        ("start", "fast"),
        ("start", "gate"),
        ("finish", "fast"),
        ("finish", "gate"),
        ("start", "slow"),
        ("finish", "slow"),
        ("start", "app"),
        ("finish", "app"),
    ]


async def test_traversal_of_empty_graph() -> None:
    """An empty graph returns no results and never calls fn."""
    events: Events = []
    assert await graph({}).parallel_topological_traversal(recorder(events)) == []
    assert events == []


async def test_independent_nodes_run_concurrently() -> None:
    """Two independent nodes are in flight at once: each waits for the other to start."""
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def fn(value: str) -> str:
        started[value].set()
        async with asyncio.timeout(1):
            await started["b" if value == "a" else "a"].wait()
        return value

    assert await graph({"a": "", "b": ""}).parallel_topological_traversal(fn) == ["b", "a"]


async def test_ready_node_starts_while_others_are_in_flight() -> None:
    """A node starts as soon as its providers finish, even while a sibling still runs."""
    follower_started = asyncio.Event()

    async def fn(value: str) -> str:
        if value == "slow":
            async with asyncio.timeout(1):
                await follower_started.wait()
        elif value == "follower":
            follower_started.set()
        return value

    g = graph({"slow": "", "fast": "", "follower": "fast"})
    assert await g.parallel_topological_traversal(fn) == ["fast", "follower", "slow"]


async def test_results_are_in_completion_order() -> None:
    """Results come in the order the calls finished, not in insertion order."""
    finished = {name: asyncio.Event() for name in ("first", "second", "third")}
    waits_for = {"third": "second", "second": "first"}

    async def fn(value: str) -> str:
        if value in waits_for:
            async with asyncio.timeout(1):
                await finished[waits_for[value]].wait()
        finished[value].set()
        return value.upper()

    g = graph({"third": "", "second": "", "first": ""})
    assert await g.parallel_topological_traversal(fn) == ["FIRST", "SECOND", "THIRD"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"c": "b", "b": "a", "a": ""}, {"a": True, "b": True, "c": True}),
        ({"a": "", "b": "", "c": "a b"}, {"a": False, "b": False, "c": True}),
    ],
    ids=["chain never creates tasks", "only concurrent nodes get tasks"],
)
async def test_lone_ready_node_is_awaited_in_the_caller(
    spec: Spec, expected: dict[str, bool]
) -> None:
    """A single ready node with nothing in flight runs in the caller's task, not a new one."""
    caller = asyncio.current_task()
    in_caller: dict[str, bool] = {}

    async def fn(value: str) -> None:
        in_caller[value] = asyncio.current_task() is caller

    await graph(spec).parallel_topological_traversal(fn)
    assert in_caller == expected


@pytest.mark.parametrize(
    ("spec", "called", "cycles"),
    [
        ({"ok": "", "a": "b", "b": "a"}, ["ok"], (("a", "b", "a"),)),
        ({"a": "a"}, [], (("a", "a"),)),
        ({"x": "a", "ok": "", "a": "b", "b": "a ok"}, ["ok"], (("a", "b", "a"),)),
    ],
    ids=["2-cycle after a free node", "self-loop", "node behind a cycle"],
)
async def test_traversal_raises_on_cycle(
    spec: Spec, called: list[str], cycles: tuple[tuple[str, ...], ...]
) -> None:
    """When nothing can run and nothing is in flight, the traversal raises the cycle error."""
    seen: list[str] = []

    async def fn(value: str) -> None:
        seen.append(value)

    with pytest.raises(CircularDependencyError, match=r"^Circular dependency detected$") as info:
        await graph(spec).parallel_topological_traversal(fn)
    assert seen == called
    assert info.value.cycles == cycles


async def test_error_propagates_after_in_flight_calls_finish() -> None:
    """A failing call stops new starts; calls in flight finish, then the error propagates."""
    events: Events = []
    error = ValueError("boom")
    delays = {"slow": 2, "slower": 5, "after_slow": 0}

    async def fn(value: str) -> None:
        events.append(("start", value))
        if value == "bad":
            raise error
        for _ in range(delays[value]):
            await asyncio.sleep(0)
        events.append(("finish", value))

    g = graph({"bad": "", "slow": "", "slower": "", "after_bad": "bad", "after_slow": "slow"})
    with pytest.raises(ValueError, match=r"^boom$") as info:
        await g.parallel_topological_traversal(fn)
    assert info.value is error
    assert events == [
        ("start", "bad"),
        ("start", "slow"),
        ("start", "slower"),
        ("finish", "slow"),
        ("finish", "slower"),
    ]
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_error_of_a_lone_node_propagates_directly() -> None:
    """A failing lone node raises straight away and its dependents never run."""
    seen: list[str] = []

    async def fn(value: str) -> None:
        seen.append(value)
        raise KeyError(value)

    with pytest.raises(KeyError, match=r"^'a'$"):
        await graph({"b": "a", "a": ""}).parallel_topological_traversal(fn)
    assert seen == ["a"]


async def test_cancelling_the_traversal_cancels_calls_in_flight() -> None:
    """Cancelling the traversal cancels and awaits the calls in flight."""
    cancelled: list[str] = []
    both_started = asyncio.Barrier(3)

    async def fn(value: str) -> None:
        await both_started.wait()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(value)
            raise

    traversal = asyncio.create_task(graph({"a": "", "b": ""}).parallel_topological_traversal(fn))
    async with asyncio.timeout(1):
        await both_started.wait()
    traversal.cancel()
    with pytest.raises(asyncio.CancelledError):
        await traversal
    assert cancelled == ["a", "b"]
    assert asyncio.all_tasks() == {asyncio.current_task()}


# --- large graphs ---------------------------------------------------------------

DEPTH = 10_000


def test_deep_chain_has_no_recursion_limit() -> None:
    """A 10,000-node chain is checked and ordered without hitting the recursion limit."""
    g = DependencyGraph.from_iterable((i, [f"p{i + 1}"], [f"p{i}"]) for i in range(DEPTH))
    assert g.detect_circular_dependency() is None
    assert g.topological_order() == list(range(DEPTH - 1, -1, -1))


async def test_deep_chain_traversal() -> None:
    """A 10,000-node chain traversal visits providers first without recursion."""

    async def fn(value: int) -> int:
        return value

    g = DependencyGraph.from_iterable((i, [f"p{i + 1}"], [f"p{i}"]) for i in range(DEPTH))
    assert await g.parallel_topological_traversal(fn) == list(range(DEPTH - 1, -1, -1))


def test_deep_ring_is_one_cycle() -> None:
    """A 10,000-node ring is reported as exactly one cycle through every node."""
    g = DependencyGraph.from_iterable((i, [f"p{(i + 1) % DEPTH}"], [f"p{i}"]) for i in range(DEPTH))
    assert list(g.detect_circular_dependencies()) == [[*range(DEPTH), 0]]


def test_large_acyclic_graph_has_no_cycle_and_a_full_order() -> None:
    """A 10,000-node acyclic graph with 3 edges per node has no cycle and orders every node."""
    g = DependencyGraph.from_iterable(
        (i, [f"p{j}" for j in (i * 7 + 1, i * 13 + 2, i + 3) if j < DEPTH], [f"p{i}"])
        for i in range(DEPTH)
    )
    assert g.detect_circular_dependency() is None
    order = g.topological_order()
    position = {node: index for index, node in enumerate(order)}
    assert sorted(order) == list(range(DEPTH))
    assert all(
        position[j] < position[i]
        for i in range(DEPTH)
        for j in (i * 7 + 1, i * 13 + 2, i + 3)
        if j < DEPTH
    )


# --- properties -----------------------------------------------------------------

Edges = frozenset[tuple[int, int]]  # (consumer, provider)


def build(n: int, edges: Edges) -> DependencyGraph[int]:
    """Build a graph of n int nodes where each consumer consumes its providers' ids."""
    return DependencyGraph.from_iterable(
        (i, [f"p{p}" for c, p in sorted(edges) if c == i] + ["unprovided"], [f"p{i}"])
        for i in range(n)
    )


@st.composite
def dags(draw: st.DrawFn) -> tuple[int, Edges]:
    """Draw a DAG whose edges only go from a lower to a higher index."""
    n = draw(st.integers(min_value=1, max_value=9))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    return n, frozenset(draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else [])


@st.composite
def cyclic_graphs(draw: st.DrawFn) -> tuple[int, Edges]:
    """Draw a small graph with arbitrary edges plus a guaranteed cycle."""
    n = draw(st.integers(min_value=1, max_value=6))
    node = st.integers(min_value=0, max_value=n - 1)
    edges = set(draw(st.lists(st.tuples(node, node), max_size=12)))
    a, b = draw(node), draw(node)
    edges |= {(a, b), (b, a)}
    return n, frozenset(edges)


def brute_force_cycle_sets(n: int, edges: Edges) -> set[frozenset[int]]:
    """List the node sets of all elementary cycles by trying every node sequence."""
    found: set[frozenset[int]] = set()
    for size in range(1, n + 1):
        for path in itertools.permutations(range(n), size):
            if all((path[k], path[(k + 1) % size]) in edges for k in range(size)):
                found.add(frozenset(path))
    return found


@given(dags())
def test_dags_have_no_cycles_and_a_valid_order(dag: tuple[int, Edges]) -> None:
    """Random DAGs have no cycles and the order puts every provider before its consumer."""
    n, edges = dag
    g = build(n, edges)
    assert list(g.detect_circular_dependencies()) == []
    order = g.topological_order()
    assert sorted(order) == list(range(n))
    assert all(order.index(p) < order.index(c) for c, p in edges)


@given(dags(), st.lists(st.integers(min_value=0, max_value=3), min_size=9, max_size=9))
def test_dag_traversal_visits_each_node_once_after_its_providers(
    dag: tuple[int, Edges], delays: list[int]
) -> None:
    """The traversal calls fn once per node and only after all its providers finished."""
    n, edges = dag
    events: list[tuple[str, int]] = []

    async def fn(value: int) -> int:
        events.append(("start", value))
        for _ in range(delays[value]):
            await asyncio.sleep(0)
        events.append(("finish", value))
        return value

    results = asyncio.run(build(n, edges).parallel_topological_traversal(fn))
    assert sorted(results) == list(range(n))
    assert results == [v for kind, v in events if kind == "finish"]
    assert sorted(v for kind, v in events if kind == "start") == list(range(n))
    assert all(events.index(("finish", p)) < events.index(("start", c)) for c, p in edges)


@settings(max_examples=200)
@given(cyclic_graphs())
def test_every_reported_cycle_is_real_and_unique(graph_: tuple[int, Edges]) -> None:
    """With a cycle present, exactly the elementary cycles are reported, once per node set."""
    n, edges = graph_
    g = build(n, edges)
    cycles = list(g.detect_circular_dependencies())
    assert cycles
    for cycle in cycles:
        assert cycle[0] == cycle[-1] == min(cycle)
        assert len(set(cycle[:-1])) == len(cycle) - 1
        assert all((cycle[k], cycle[k + 1]) in edges for k in range(len(cycle) - 1))
    node_sets = [frozenset(cycle) for cycle in cycles]
    assert len(set(node_sets)) == len(node_sets)
    assert set(node_sets) == brute_force_cycle_sets(n, edges)
    assert [c[0] for c in cycles] == sorted(c[0] for c in cycles)
    assert g.detect_circular_dependency() == cycles[0]
    with pytest.raises(CircularDependencyError):
        g.topological_order()


@settings(max_examples=300)
@given(
    st.integers(min_value=1, max_value=7).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.frozensets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=14),
        )
    )
)
def test_is_acyclic_agrees_with_the_cycle_search(graph_: tuple[int, Edges]) -> None:
    """The quick acyclicity check answers as ``detect_circular_dependency`` does."""
    n, edges = graph_
    consumes = {f"p{i}": {f"p{p}" for c, p in edges if c == i} | {"unprovided"} for i in range(n)}
    graph = build(n, edges)
    acyclic = next(graph.detect_circular_dependencies(), None) is None
    assert is_acyclic(consumes) == acyclic
    assert graph._acyclic() == acyclic  # the pre-check of detect_circular_dependency
    assert (graph.detect_circular_dependency() is None) == acyclic


def test_is_acyclic_sees_a_self_loop_and_ignores_unknown_ids() -> None:
    """A node consuming itself is a cycle; consuming an id nobody maps is not."""
    assert not is_acyclic({"a": ["a"]})
    assert is_acyclic({"a": ["b", "nobody"], "b": []})
    assert not is_acyclic({"a": ["b"], "b": ["c"], "c": ["a"], "d": []})
