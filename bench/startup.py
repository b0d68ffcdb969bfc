#!/usr/bin/env python3
"""Start-up benchmark: synthetic backends against the same wiring done by hand.

Workload S(N): N plugins, each with 3 modules and 5 plugin-scoped services over
20 root services; module ``m0`` of every plugin registers an extension point
that modules ``m1`` and ``m2`` consume (so ``m0`` starts after both). Every
factory and init is ``async``. Measured: build + start + stop of the backend.

Workload W2 (the peers' plugin-scoping shape): 20 root services and 200
plugins x 5 plugin-scoped services, run through ``bench/peers.py`` (the shared
peer harness with di_backend entries) in this process: plain, di_backend's
container, the whole di_backend backend and, when installed
(``pip install -e '.[bench]'``), dishka, interleaved repetition by repetition.
Reported as microseconds per plugin-scoped instance and as ratios paired in
time, converted to the baseline machine's speed (``peer_baselines.md``).

The floor ("plain") does the same work with dicts and direct awaits: no
validation, no lifecycle, no container. Ratios are di_backend / plain,
measured in the same run. Usage::

    python bench/startup.py            # N = 10, 100, 1000; 7 repetitions
    python bench/startup.py --quick    # N = 10, 100; 3 repetitions
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from di_backend import (
    ExtensionPoint,
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
    ServiceFactory,
    ServiceRef,
    core_services,
    create_backend_module,
    create_backend_plugin,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    create_specialized_backend,
    inject,
)
from di_backend._inject import Injected
from di_backend.defaults._logging import DefaultRootLogger

ROOTS = 20
PER_PLUGIN = 5
# peer_baselines.md, W2 in µs per plugin-scoped instance on this machine kind
BASE_PLAIN = 2.00
BASE_DISHKA = 9.93


class Svc:
    """A service instance holding its dependencies."""

    __slots__ = ("deps",)

    def __init__(self, *deps: object) -> None:
        self.deps = deps


@dataclass
class Shape:
    """The dependency shape shared by di_backend and the floor."""

    root_deps: list[tuple[int, ...]] = field(default_factory=list)  # root i -> roots
    plugin_deps: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)


def make_shape() -> Shape:
    """Roots depend on up to two earlier roots; plugin services on two roots + earlier ones."""
    shape = Shape()
    for i in range(ROOTS):
        shape.root_deps.append(tuple(j for j in (i - 1, i // 2 - 1) if 0 <= j < i))
    for k in range(PER_PLUGIN):
        shape.plugin_deps.append(((k % ROOTS, (3 * k + 7) % ROOTS), tuple(range(max(0, k - 2), k))))
    return shape


def _factory_with(refs: list[ServiceRef[Svc]], meta: bool) -> Callable[..., Awaitable[Svc]]:
    """An async factory whose parameters are ``inject`` defaults for ``refs``."""

    names = [f"d{i}" for i in range(len(refs))] + (["meta"] if meta else [])
    source = f"async def made({', '.join(names)}):\n    return Svc({', '.join(names)})\n"
    scope: dict[str, object] = {"Svc": Svc}
    exec(source, scope)
    made = scope["made"]
    assert callable(made)
    defaults = [Injected(r) for r in refs] + (
        [Injected(core_services.plugin_metadata)] if meta else []
    )
    made.__defaults__ = tuple(defaults)  # type: ignore[attr-defined]
    return made  # type: ignore[return-value]


def quiet_logger() -> ServiceFactory[object]:
    """A root logger that writes nowhere (the benchmark measures wiring, not I/O)."""
    return create_service_factory(
        core_services.root_logger,
        lambda: DefaultRootLogger.create(level="error", format="json", stream=io.StringIO()),
    )


def build_factories(shape: Shape) -> tuple[list[ServiceFactory[object]], list[ServiceRef[Svc]]]:
    """Service refs and factories of the shape."""
    roots: list[ServiceRef[Svc]] = [
        create_service_ref(id=f"bench.root{i}", scope="root") for i in range(ROOTS)
    ]
    plugin: list[ServiceRef[Svc]] = [
        create_service_ref(id=f"bench.svc{k}") for k in range(PER_PLUGIN)
    ]
    factories: list[ServiceFactory[object]] = [quiet_logger()]
    for i, deps in enumerate(shape.root_deps):
        factories.append(
            create_service_factory(roots[i], _factory_with([roots[j] for j in deps], False))
        )
    for k, (rdeps, pdeps) in enumerate(shape.plugin_deps):
        refs = [roots[j] for j in rdeps] + [plugin[j] for j in pdeps]
        factories.append(create_service_factory(plugin[k], _factory_with(refs, k == 0)))
    return factories, plugin


def build_backend(n: int, shape: Shape):
    """A backend of ``n`` plugins, 3 modules each, over the shape's services."""
    factories, svc = build_factories(shape)
    backend = create_specialized_backend(default_service_factories=factories)
    for p in range(n):
        plugin_id = f"plugin{p}"
        ext: ExtensionPoint[list[Svc]] = create_extension_point(id=f"{plugin_id}.ext")

        def register_plugin(env: PluginRegistrationPoints) -> None:
            async def init(s0: Svc = inject(svc[0]), s4: Svc = inject(svc[4])) -> None:
                pass

            env.register_init(init)

        def register_m0(
            env: ModuleRegistrationPoints, ext: ExtensionPoint[list[Svc]] = ext
        ) -> None:
            items: list[Svc] = []
            env.register_extension_point(ext, items)

            async def init(s1: Svc = inject(svc[1])) -> None:
                assert len(items) == 2

            env.register_init(init)

        def register_consumer(
            k: int, ext: ExtensionPoint[list[Svc]] = ext
        ) -> Callable[[ModuleRegistrationPoints], None]:
            def register(env: ModuleRegistrationPoints) -> None:
                async def init(e: list[Svc] = inject(ext), s: Svc = inject(svc[k])) -> None:
                    e.append(s)

                env.register_init(init)

            return register

        backend.add(create_backend_plugin(plugin_id=plugin_id, register=register_plugin))
        backend.add(
            create_backend_module(plugin_id=plugin_id, module_id="m0", register=register_m0)
        )
        backend.add(
            create_backend_module(
                plugin_id=plugin_id, module_id="m1", register=register_consumer(2)
            )
        )
        backend.add(
            create_backend_module(
                plugin_id=plugin_id, module_id="m2", register=register_consumer(3)
            )
        )
    return backend


async def run_di_backend(n: int, shape: Shape) -> None:
    """Build, start and stop the di_backend version."""
    backend = build_backend(n, shape)
    await backend.start()
    await backend.stop()


async def run_plain(n: int, shape: Shape) -> None:
    """The same wiring by hand: memo dicts, direct awaits, modules in a fixed order."""

    async def make(*deps: object) -> Svc:
        return Svc(*deps)

    roots: list[Svc] = []
    for deps in shape.root_deps:
        roots.append(await make(*(roots[j] for j in deps)))

    async def start_plugin(plugin_id: str) -> None:
        memo: list[Svc] = []
        for k, (rdeps, pdeps) in enumerate(shape.plugin_deps):
            args = [roots[j] for j in rdeps] + [memo[j] for j in pdeps]
            memo.append(await make(*args, plugin_id) if k == 0 else await make(*args))
        items: list[Svc] = []
        for consumer in (2, 3):  # m1, m2 consume the extension point
            items.append(memo[consumer])
        assert len(items) == 2  # m0, then the plugin init
        _ = memo[0], memo[4]

    await asyncio.gather(*(start_plugin(f"plugin{p}") for p in range(n)))


def w2_paired(reps: int) -> dict[str, list[float]]:
    """W2 through the peers' harness (``bench/peers.py``), every library in this process.

    One repetition runs each function once, on a fresh graph, in a rotating
    order, timed as the harness times it (registration + build + resolution;
    closing untimed). The host's speed drifts by up to 2x over seconds, so the
    figures that matter are the per-repetition ratios, paired in time.
    """
    import peers

    roots, plugin = peers.w2_specs(ROOTS, PER_PLUGIN)
    code = peers._codegen(roots + plugin)
    fns: dict[str, Callable[..., Awaitable[tuple[object, object]]]] = {
        "plain": peers.w2_plain,
        "di_backend-container": peers.w2_di_backend_container,
        "di_backend": peers.w2_di_backend,
    }
    try:
        import dishka  # noqa: F401  (optional: pip install -e '.[bench]')

        fns["dishka"] = peers.w2_dishka
    except ImportError:
        pass
    loop = asyncio.new_event_loop()

    def once(fn: Callable[..., Awaitable[tuple[object, object]]], check: bool) -> float:
        graph = peers.Graph2(roots, plugin, code, 200)
        gc.collect()
        start = time.perf_counter()
        out, close = loop.run_until_complete(fn(graph))
        elapsed = time.perf_counter() - start
        if check:
            peers.check_w2(graph, out)
        if close is not None:
            loop.run_until_complete(close())
        return elapsed

    for fn in fns.values():
        once(fn, check=True)
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            times[name].append(once(fns[name], check=False))
    loop.close()
    return times


def paired_ms(
    ours: Callable[[], Awaitable[None]], floor: Callable[[], Awaitable[None]], reps: int
) -> tuple[float, float, float]:
    """Median ms of each and the median of the per-pair ratios, runs interleaved, GC on.

    Each repetition runs ``ours`` and then ``floor`` (after one warm-up of each), so
    both see the same host speed; the ratio of every pair is taken before the median,
    which keeps the drift of a shared host out of the ratio.
    """
    asyncio.run(ours())
    asyncio.run(floor())
    pairs: list[tuple[float, float]] = []
    for _ in range(reps):
        timed: list[float] = []
        for fn in (ours, floor):
            gc.collect()
            start = time.perf_counter()
            asyncio.run(fn())
            timed.append((time.perf_counter() - start) * 1000)
        pairs.append((timed[0], timed[1]))
    return (
        statistics.median(a for a, _ in pairs),
        statistics.median(b for _, b in pairs),
        statistics.median(a / b for a, b in pairs),
    )


def peak_mib(fn: Callable[[], Awaitable[None]]) -> float:
    """Python-heap peak of one run, in MiB (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    asyncio.run(fn())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def start_up(sizes: list[int], reps: int) -> None:
    """S(N): build, start and stop backends of N plugins against the plain floor."""
    shape = make_shape()
    print(
        f"di_backend start-up benchmark ({reps} repetitions, each di_backend then plain; "
        "medians, and the median of the per-pair ratios)\n"
    )
    print(
        "| N plugins | features | di_backend ms | plain ms | ratio | µs/feature "
        "| µs/plugin service | peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    per_feature: dict[int, float] = {}
    for n in sizes:
        ours, plain, ratio = paired_ms(
            lambda n=n: run_di_backend(n, shape), lambda n=n: run_plain(n, shape), reps
        )
        features = n * 4 + ROOTS + PER_PLUGIN + 1
        per_feature[n] = ours * 1000 / features
        peak = peak_mib(lambda n=n: run_di_backend(n, shape))
        print(
            f"| {n} | {features} | {ours:.2f} | {plain:.2f} | {ratio:.1f}x | "
            f"{per_feature[n]:.1f} | {ours * 1000 / (n * PER_PLUGIN):.1f} | {peak:.1f} |"
        )
    big, small = max(sizes), min(sizes)
    print(
        f"\nper-feature cost N={big} / N={small}: "
        f"{per_feature[big] / per_feature[small]:.2f}x (target <= 1.5x)"
    )


def main() -> None:
    """Run the workloads and print a table with ratios against the floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repetitions")
    parser.add_argument("--w2", action="store_true", help="only the W2 comparison")
    parser.add_argument(
        "--sizes", help="comma-separated N of S(N), e.g. 1000,10000 (default 10,100,1000)"
    )
    args = parser.parse_args()
    sizes = [10, 100] if args.quick else [10, 100, 1000]
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    if not args.w2:
        start_up(sizes, 3 if args.quick or max(sizes) > 1000 else 15)
    w2_reps = 10 if args.quick else 40
    times = w2_paired(w2_reps)
    print(
        f"\nW2 (peers' shape: 20 roots + 200 plugins x 5 plugin-scoped services), "
        f"{w2_reps} paired repetitions, µs per plugin-scoped instance:"
    )
    print(
        "| library | median µs (this run) | / plain (paired) | / dishka (paired) "
        "| at baseline speed, from plain | from dishka |"
    )
    print("|---|---|---|---|---|---|")
    for name, values in times.items():
        vs_plain = statistics.median(a / b for a, b in zip(values, times["plain"], strict=True))
        row = f"| {name} | {statistics.median(values) * 1000:.2f} | {vs_plain:.2f}x | "
        if "dishka" in times:
            vs_dishka = statistics.median(
                a / b for a, b in zip(values, times["dishka"], strict=True)
            )
            row += (
                f"{vs_dishka:.2f}x | {vs_plain * BASE_PLAIN:.1f} | {vs_dishka * BASE_DISHKA:.1f} |"
            )
        else:
            row += f"(dishka not installed) | {vs_plain * BASE_PLAIN:.1f} | - |"
        print(row)
    print(
        f"  baseline (peer_baselines.md W2, µs per instance): plain {BASE_PLAIN}, "
        f"dishka {BASE_DISHKA}, wireup 11.0, svcs 11.4; target <= 10"
    )


if __name__ == "__main__":
    main()
