#!/usr/bin/env python3
# Vendored from ../shared/bench/peers.py with di_backend entries added (search "di_backend").
"""Peer baselines for a Backstage-style DI backend (`di_backend`), built on
Python DI libraries, plus a hand-written 'plain' floor.

Workloads
  W1  startup graph  : N services (DAG, each depends on <=3 earlier ones, seed 0),
                       all singletons, async factories where supported; register
                       all, build the container, resolve every service once.
  W1s same at N=1000 but with *sync* factories for every library (cross-check
                       of what 'async' costs).
  W2  plugin scoping : 20 root singletons + 200 plugins x 5 plugin-scoped services
                       (one instance per plugin, shared inside the plugin, each
                       also receiving a per-plugin `PluginMeta`).
  W3  hot resolve    : resolve an already-created singleton 1e6 times (sync API;
                       W3a = async API where the library has one).
  W4  test override  : override one service with a fake, resolve a dependent
                       fresh, reset -- 10 000 cycles.
  W5  cold import    : `python -c "<import>"` minus `python -c pass`, median of 5.
  W1G diagnostic     : W1 at the largest N with gc.disable() around the timed
                       region (separates library cost from CPython's cyclic GC).

Every (library, workload) runs in its own fresh worker process
(`peers.py --worker LIB WORKLOAD`), so imports, caches and GC state of one
library never leak into another.  Timings are time.perf_counter medians over
REPS repetitions after WARMUP unmeasured repetitions; gc.collect() runs before
each repetition (GC stays enabled while timing, as in real use).

Adding a library (e.g. di_backend): write w1_/w1s_/w2_/w3_/w3a_/w4_ functions
with the same signatures as the 'plain' ones (see the commented template just
above the library registry) and add a `_lib(...)` entry to LIBS.  Nothing else
needs to change; a missing function shows as "—" in the report.

Usage:
  python peers.py                 # one round (~4.5 min on 2 cores), writes
                                  # peer_bench.md in the working directory + peer_bench.json
  python peers.py --rounds 3      # 3 interleaved rounds, median of round medians
  python peers.py --quick         # tiny sizes, for smoke-testing
  python peers.py --libs plain,dishka --workloads W1,W3
  python peers.py --report-from peer_bench.json   # re-render the markdown only
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import types
import warnings

# --------------------------------------------------------------------------
# Parameters (--quick and --cfg-json override them)
# --------------------------------------------------------------------------
CFG = dict(
    reps=7,                      # measured repetitions (median reported)
    warmup=1,                    # unmeasured repetitions first
    w1_ns=[100, 1000, 10000],    # W1 graph sizes
    w1s_n=1000,                  # W1s (sync) graph size
    w2_plugins=200, w2_per_plugin=5, w2_roots=20,
    w3_iters=1_000_000,          # W3 target resolves per repetition
    w3_rep_budget_s=1.0,         # ...capped so one repetition takes <= this (1e6 up to 1 µs/resolve)
    w4_cycles=10_000,            # W4 target cycles per repetition
    w4_rep_budget_s=0.25,        # ...capped so one repetition takes <= this
    w5_runs=5,
    w1g_reps=3,                  # W1G diagnostic: W1 at the largest N with the cyclic GC off
    w4_fillers=16,               # extra unrelated singletons in the W4 app
)
perf = time.perf_counter


# --------------------------------------------------------------------------
# Shared service model.  All libraries build exactly the same object graph:
# instances of generated classes S<i>(Svc) whose .deps tuple holds the
# injected dependency instances, so results can be checked structurally.
# --------------------------------------------------------------------------
class Svc:
    __slots__ = ("deps",)

    def __init__(self, *deps):
        self.deps = deps


class PluginMeta:
    """Per-plugin context value (Backstage's PluginMetadataService)."""
    __slots__ = ("plugin_id",)

    def __init__(self, plugin_id):
        self.plugin_id = plugin_id


class FakeDB:
    __slots__ = ("deps",)

    def __init__(self):
        self.deps = ()


def _codegen(specs):
    """specs: [(name, (dep_name, ...)), ...] -> code object defining, for each
    name, `class <name>(Svc)` with an annotated `__init__(self, d0: Dep0, ...)`,
    `async def af_<name>(d0: Dep0, ...) -> <name>` and `def sf_<name>(...) -> <name>`
    (real annotations: needed by the annotation-driven libraries)."""
    out = []
    for name, deps in specs:
        params = "".join(f", d{k}: {d}" for k, d in enumerate(deps))
        tup = "(" + "".join(f"d{k}, " for k in range(len(deps))) + ")"
        out.append(f"class {name}(Svc):\n    __slots__ = ()\n"
                   f"    def __init__(self{params}):\n        self.deps = {tup}")
    for name, deps in specs:
        params = ", ".join(f"d{k}: {d}" for k, d in enumerate(deps))
        args = ", ".join(f"d{k}" for k in range(len(deps)))
        out.append(f"async def af_{name}({params}) -> {name}:\n    return {name}({args})")
        out.append(f"def sf_{name}({params}) -> {name}:\n    return {name}({args})")
    return compile("\n".join(out), "<generated services>", "exec")


class Graph:
    """A freshly exec'd set of service classes + factories (fresh objects per
    repetition, so no library can reuse per-function caches across reps)."""

    def __init__(self, specs, code):
        ns = {"Svc": Svc, "PluginMeta": PluginMeta, "__name__": "generated"}
        exec(code, ns)
        self.ns = ns
        self.names = [n for n, _ in specs]
        self.keys = [ns[n] for n in self.names]
        self.af = [ns["af_" + n] for n in self.names]
        self.sf = [ns["sf_" + n] for n in self.names]
        self.dep_keys = [tuple(ns[d] for d in deps) for _, deps in specs]
        self.by_name = {n: ns[n] for n in self.names}

    def __len__(self):
        return len(self.keys)


def w1_specs(n, seed=0):
    rng = random.Random(seed)
    specs = []
    for i in range(n):
        k = rng.randint(0, min(3, i))
        deps = sorted(rng.sample(range(i), k))
        specs.append((f"S{i}", tuple(f"S{j}" for j in deps)))
    return specs


def w2_specs(n_roots, n_per_plugin, seed=1):
    rng = random.Random(seed)
    roots = []
    for j in range(n_roots):
        k = rng.randint(0, min(2, j))
        roots.append((f"R{j}", tuple(f"R{d}" for d in sorted(rng.sample(range(j), k)))))
    plugin = []
    for k in range(n_per_plugin):
        a, b = (3 * k + 2) % n_roots, (7 * k + 5) % n_roots
        deps = ("PluginMeta", f"R{a}", f"R{b}") + ((f"P{k-1}",) if k else ())
        plugin.append((f"P{k}", deps))
    return roots, plugin


class Graph2:
    """W2 graph: roots (app singletons) + plugin-scoped services."""

    def __init__(self, roots, plugin, code, n_plugins):
        g = Graph(roots + plugin, code)
        nr = len(roots)
        self.g = g
        self.rkeys, self.raf, self.rsf, self.rdeps = g.keys[:nr], g.af[:nr], g.sf[:nr], g.dep_keys[:nr]
        self.pkeys, self.paf, self.psf, self.pdeps = g.keys[nr:], g.af[nr:], g.sf[nr:], g.dep_keys[nr:]
        self.plugin_ids = [f"plugin-{p}" for p in range(n_plugins)]


def w4_specs(n_fillers):
    specs = [("Config", ()), ("DB", ("Config",)), ("Repo", ("DB",)), ("Handler", ("Repo",))]
    specs += [(f"F{i}", ("Config",)) for i in range(n_fillers)]
    return specs


W3_SPECS = [("Config", ()), ("Hot", ("Config",))]


# --------------------------------------------------------------------------
# Validation helpers (run untimed, on the first repetition)
# --------------------------------------------------------------------------
def check_w1(g, out):
    assert len(out) == len(g), (len(out), len(g))
    index = {k: i for i, k in enumerate(g.keys)}
    for i, inst in enumerate(out):
        assert type(inst) is g.keys[i], (i, type(inst))
        assert len(inst.deps) == len(g.dep_keys[i])
        for d, dk in zip(inst.deps, g.dep_keys[i]):
            assert d is out[index[dk]], f"singleton not shared for S{i}"


def check_w2(g2, out):
    assert len(out) == len(g2.plugin_ids)
    root_seen = {}
    first_ids = set()
    for pid, insts in out:
        assert len(insts) == len(g2.pkeys)
        for k, inst in enumerate(insts):
            assert type(inst) is g2.pkeys[k]
            assert inst.deps[0].plugin_id == pid, "wrong PluginMeta"
            for r in inst.deps[1:3]:
                assert root_seen.setdefault(type(r), r) is r, "root singleton not shared"
            if k:
                assert inst.deps[3] is insts[k - 1], "plugin-scoped service not shared in plugin"
        first_ids.add(id(insts[0]))
    assert len(first_ids) == len(out), "plugin-scoped instance shared across plugins"


# --------------------------------------------------------------------------
# Plain-Python baseline: dict of factories + memo dict (+ parent for scopes)
# --------------------------------------------------------------------------
class PlainAsync:
    __slots__ = ("reg", "memo", "parent")

    def __init__(self, reg, parent=None, values=None):
        self.reg, self.parent = reg, parent
        self.memo = dict(values) if values else {}

    async def get(self, key):
        memo = self.memo
        if key in memo:
            return memo[key]
        entry = self.reg.get(key)
        if entry is None:
            if self.parent is None:
                raise KeyError(key)
            return await self.parent.get(key)
        fn, deps = entry
        args = [await self.get(d) for d in deps]
        value = memo[key] = await fn(*args)
        return value


class PlainSync:
    __slots__ = ("reg", "memo", "parent")

    def __init__(self, reg, parent=None, values=None):
        self.reg, self.parent = reg, parent
        self.memo = dict(values) if values else {}

    def get(self, key):
        memo = self.memo
        if key in memo:
            return memo[key]
        entry = self.reg.get(key)
        if entry is None:
            if self.parent is None:
                raise KeyError(key)
            return self.parent.get(key)
        fn, deps = entry
        value = memo[key] = fn(*[self.get(d) for d in deps])
        return value


async def w1_plain(g):
    reg = {}
    for key, fn, deps in zip(g.keys, g.af, g.dep_keys):
        reg[key] = (fn, deps)
    c = PlainAsync(reg)
    return [await c.get(k) for k in g.keys], None


async def w1s_plain(g):
    reg = {}
    for key, fn, deps in zip(g.keys, g.sf, g.dep_keys):
        reg[key] = (fn, deps)
    c = PlainSync(reg)
    return [c.get(k) for k in g.keys], None


async def w2_plain(g2):
    root = PlainAsync({k: (f, d) for k, f, d in zip(g2.rkeys, g2.raf, g2.rdeps)})
    preg = {k: (f, d) for k, f, d in zip(g2.pkeys, g2.paf, g2.pdeps)}
    out, scopes = [], []        # plugin scopes live as long as the app
    for pid in g2.plugin_ids:
        scope = PlainAsync(preg, parent=root, values={PluginMeta: PluginMeta(pid)})
        scopes.append(scope)
        out.append((pid, [await scope.get(k) for k in g2.pkeys]))
    return out, None


def w3_plain(g):
    Hot = g.by_name["Hot"]
    c = PlainSync({k: (f, d) for k, f, d in zip(g.keys, g.sf, g.dep_keys)})
    c.get(Hot)

    def run(n):
        for _ in range(n):
            c.get(Hot)
    return run, lambda: c.get(Hot)


def w3a_plain(g):
    Hot = g.by_name["Hot"]
    c = PlainAsync({k: (f, d) for k, f, d in zip(g.keys, g.af, g.dep_keys)})

    async def run(n):
        for _ in range(n):
            await c.get(Hot)
    return run, lambda: c.get(Hot)


def w4_plain(g, fake):
    Handler, DB = g.by_name["Handler"], g.by_name["DB"]
    reg = {k: (f, d) for k, f, d in zip(g.keys, g.sf, g.dep_keys)}

    def cycle():
        c = PlainSync(reg, values={DB: fake})   # override = pre-seeded memo
        return c.get(Handler)                    # reset = drop the container

    def real():
        return PlainSync(reg).get(Handler)
    return cycle, real


# --------------------------------------------------------------------------
# dependency-injector (Cython; explicit providers)
# --------------------------------------------------------------------------
async def w1_dependency_injector(g, factories=None):
    from dependency_injector import containers, providers
    factories = factories or g.af
    c = containers.DynamicContainer()
    provs = {}
    for name, key, fn, deps in zip(g.names, g.keys, factories, g.dep_keys):
        p = providers.Singleton(fn, *[provs[d] for d in deps])
        provs[key] = p
        setattr(c, name, p)
    if factories is g.af:
        out = [await getattr(c, n)() for n in g.names]
    else:
        out = [getattr(c, n)() for n in g.names]
    return out, None


async def w1s_dependency_injector(g):
    return await w1_dependency_injector(g, g.sf)


async def w2_dependency_injector(g2):
    from dependency_injector import containers, providers
    rattrs, rp = {}, {}
    for key, fn, deps in zip(g2.rkeys, g2.raf, g2.rdeps):
        rp[key] = rattrs[key.__name__] = providers.Singleton(fn, *[rp[d] for d in deps])
    Root = type("Root", (containers.DeclarativeContainer,), rattrs)
    root_dep = providers.DependenciesContainer()
    meta = providers.Dependency(instance_of=PluginMeta)
    pattrs, pp = {"root": root_dep, "meta": meta}, {}
    for key, fn, deps in zip(g2.pkeys, g2.paf, g2.pdeps):
        args = [meta if d is PluginMeta else pp[d] if d in pp else getattr(root_dep, d.__name__)
                for d in deps]
        pp[key] = pattrs[key.__name__] = providers.Singleton(fn, *args)
    PluginContainer = type("PluginContainer", (containers.DeclarativeContainer,), pattrs)
    root = Root()
    names = [k.__name__ for k in g2.pkeys]
    out, scopes = [], []
    for pid in g2.plugin_ids:
        pc = PluginContainer(root=root, meta=providers.Object(PluginMeta(pid)))
        scopes.append(pc)
        out.append((pid, [await getattr(pc, n)() for n in names]))
    return out, None


def w3_dependency_injector(g, async_=False):
    from dependency_injector import containers, providers
    fs = g.af if async_ else g.sf
    c = containers.DynamicContainer()
    c.config = providers.Singleton(fs[0])
    c.hot = providers.Singleton(fs[1], c.config)
    if async_:
        async def run(n):
            for _ in range(n):
                await c.hot()
    else:
        c.hot()

        def run(n):
            for _ in range(n):
                c.hot()
    return run, c.hot


def w3a_dependency_injector(g):
    return w3_dependency_injector(g, True)


def w4_dependency_injector(g, fake):
    from dependency_injector import containers, providers
    c = containers.DynamicContainer()
    provs = {}
    for name, key, fn, deps in zip(g.names, g.keys, g.sf, g.dep_keys):
        provs[key] = p = providers.Singleton(fn, *[provs[d] for d in deps])
        setattr(c, name, p)
    c.Handler()   # app already started: Handler singleton exists

    def cycle():
        # documented test pattern: provider.override() + container.reset_singletons()
        with c.reset_singletons(), c.DB.override(fake):
            return c.Handler()
    return cycle, c.Handler


# --------------------------------------------------------------------------
# dishka (annotation-driven providers, scopes APP/REQUEST, compiled graph)
# --------------------------------------------------------------------------
async def w1_dishka(g):
    from dishka import Provider, Scope, make_async_container
    p = Provider(scope=Scope.APP)
    for fn in g.af:
        p.provide(fn)
    c = make_async_container(p)
    return [await c.get(k) for k in g.keys], c.close


async def w1s_dishka(g):
    from dishka import Provider, Scope, make_container
    p = Provider(scope=Scope.APP)
    for fn in g.sf:
        p.provide(fn)
    c = make_container(p)

    async def close():
        c.close()
    return [c.get(k) for k in g.keys], close


async def w2_dishka(g2):
    from dishka import Provider, Scope, make_async_container
    p = Provider()
    for fn in g2.raf:
        p.provide(fn, scope=Scope.APP)
    p.from_context(provides=PluginMeta, scope=Scope.REQUEST)
    for fn in g2.paf:
        p.provide(fn, scope=Scope.REQUEST)
    c = make_async_container(p)
    out, scopes = [], []
    for pid in g2.plugin_ids:
        cm = c(context={PluginMeta: PluginMeta(pid)})   # enter REQUEST scope = plugin scope
        sc = await cm.__aenter__()
        scopes.append(cm)
        out.append((pid, [await sc.get(k) for k in g2.pkeys]))

    async def close():
        for cm in reversed(scopes):
            await cm.__aexit__(None, None, None)
        await c.close()
    return out, close


def w3_dishka(g):
    from dishka import Provider, Scope, make_container
    Hot = g.by_name["Hot"]
    p = Provider(scope=Scope.APP)
    for fn in g.sf:
        p.provide(fn)
    c = make_container(p)
    c.get(Hot)

    def run(n):
        for _ in range(n):
            c.get(Hot)
    return run, lambda: c.get(Hot)


def w3a_dishka(g):
    from dishka import Provider, Scope, make_async_container
    Hot = g.by_name["Hot"]
    p = Provider(scope=Scope.APP)
    for fn in g.af:
        p.provide(fn)
    c = make_async_container(p)

    async def run(n):
        for _ in range(n):
            await c.get(Hot)
    return run, lambda: c.get(Hot)


def w4_dishka(g, fake):
    from dishka import Provider, Scope, make_container
    Handler, DB = g.by_name["Handler"], g.by_name["DB"]
    app = Provider(scope=Scope.APP)
    for fn in g.sf:
        app.provide(fn)
    test = Provider(scope=Scope.APP)
    test.provide(lambda: fake, provides=DB, override=True)

    def cycle():
        # dishka idiom: a container per test built from app + overriding provider
        c = make_container(app, test)
        try:
            return c.get(Handler)
        finally:
            c.close()

    def real():
        c = make_container(app)
        return c.get(Handler)
    return cycle, real


# --------------------------------------------------------------------------
# wireup (annotation-driven @injectable, code-generated factories)
# --------------------------------------------------------------------------
async def w1_wireup(g):
    import wireup
    c = wireup.create_async_container(injectables=[wireup.injectable(fn) for fn in g.af])
    return [await c.get(k) for k in g.keys], c.close


async def w1s_wireup(g):
    import wireup
    c = wireup.create_sync_container(injectables=[wireup.injectable(fn) for fn in g.sf])

    async def close():
        c.close()
    return [c.get(k) for k in g.keys], close


def _wireup_plugin_meta() -> PluginMeta:
    # Same pattern as wireup's own aiohttp/starlette integrations: a scoped stub
    # whose value is always supplied by enter_scope({PluginMeta: ...}).
    raise RuntimeError("PluginMeta is only available inside a plugin scope")


async def w2_wireup(g2):
    import wireup
    inj = [wireup.injectable(fn) for fn in g2.raf]
    inj.append(wireup.injectable(_wireup_plugin_meta, lifetime="scoped"))
    inj += [wireup.injectable(fn, lifetime="scoped") for fn in g2.paf]
    c = wireup.create_async_container(injectables=inj)
    out, scopes = [], []
    for pid in g2.plugin_ids:
        sc = c.enter_scope({PluginMeta: PluginMeta(pid)})
        await sc.__aenter__()
        scopes.append(sc)
        out.append((pid, [await sc.get(k) for k in g2.pkeys]))

    async def close():
        for sc in reversed(scopes):
            await sc.__aexit__(None, None, None)
        await c.close()
    return out, close


def w3_wireup(g):
    import wireup
    Hot = g.by_name["Hot"]
    c = wireup.create_sync_container(injectables=[wireup.injectable(fn) for fn in g.sf])
    c.get(Hot)

    def run(n):
        for _ in range(n):
            c.get(Hot)
    return run, lambda: c.get(Hot)


def w3a_wireup(g):
    import wireup
    Hot = g.by_name["Hot"]
    c = wireup.create_async_container(injectables=[wireup.injectable(fn) for fn in g.af])

    async def run(n):
        for _ in range(n):
            await c.get(Hot)
    return run, lambda: c.get(Hot)


def w4_wireup(g, fake):
    import wireup
    Handler, DB = g.by_name["Handler"], g.by_name["DB"]
    inj = [wireup.injectable(fn) for fn in g.sf]

    def cycle():
        # singletons created before an override keep the real dependency, so
        # the per-test pattern is a fresh container + container.override(...)
        c = wireup.create_sync_container(injectables=inj)
        with c.override({DB: fake}):
            h = c.get(Handler)
        c.close()
        return h

    def real():
        return wireup.create_sync_container(injectables=inj).get(Handler)
    return cycle, real


# --------------------------------------------------------------------------
# svcs (service locator: Registry of factories + per-request Container cache)
# --------------------------------------------------------------------------
def _svcs_afactory(fn, deps):
    import svcs

    async def factory(svcs_container: svcs.Container):
        return await fn(*[await svcs_container.aget(d) for d in deps])
    return factory


def _svcs_factory(fn, deps):
    import svcs

    def factory(svcs_container: svcs.Container):
        return fn(*[svcs_container.get(d) for d in deps])
    return factory


async def w1_svcs(g):
    import svcs
    reg = svcs.Registry()
    for key, fn, deps in zip(g.keys, g.af, g.dep_keys):
        reg.register_factory(key, _svcs_afactory(fn, deps))
    c = svcs.Container(reg)

    async def close():
        await c.aclose()
        await reg.aclose()
    return [await c.aget(k) for k in g.keys], close


async def w1s_svcs(g):
    import svcs
    reg = svcs.Registry()
    for key, fn, deps in zip(g.keys, g.sf, g.dep_keys):
        reg.register_factory(key, _svcs_factory(fn, deps))
    c = svcs.Container(reg)

    async def close():
        c.close()
        reg.close()
    return [c.get(k) for k in g.keys], close


async def w2_svcs(g2):
    import svcs
    # svcs has no app-singleton lifetime: the idiom is to build app singletons
    # at startup and register them as values; Containers are the scopes.
    root_reg = svcs.Registry()
    for key, fn, deps in zip(g2.rkeys, g2.raf, g2.rdeps):
        root_reg.register_factory(key, _svcs_afactory(fn, deps))
    root_c = svcs.Container(root_reg)
    preg = svcs.Registry()
    for key in g2.rkeys:
        preg.register_value(key, await root_c.aget(key))
    for key, fn, deps in zip(g2.pkeys, g2.paf, g2.pdeps):
        preg.register_factory(key, _svcs_afactory(fn, deps))
    out, scopes = [], []
    for pid in g2.plugin_ids:
        pc = svcs.Container(preg)
        pc.register_local_value(PluginMeta, PluginMeta(pid))
        scopes.append(pc)
        out.append((pid, [await pc.aget(k) for k in g2.pkeys]))

    async def close():
        for pc in scopes:
            await pc.aclose()
        await root_c.aclose()
    return out, close


def w3_svcs(g):
    import svcs
    Hot = g.by_name["Hot"]
    reg = svcs.Registry()
    for key, fn, deps in zip(g.keys, g.sf, g.dep_keys):
        reg.register_factory(key, _svcs_factory(fn, deps))
    c = svcs.Container(reg)
    c.get(Hot)

    def run(n):
        for _ in range(n):
            c.get(Hot)
    return run, lambda: c.get(Hot)


def w3a_svcs(g):
    import svcs
    Hot = g.by_name["Hot"]
    reg = svcs.Registry()
    for key, fn, deps in zip(g.keys, g.af, g.dep_keys):
        reg.register_factory(key, _svcs_afactory(fn, deps))
    c = svcs.Container(reg)

    async def run(n):
        for _ in range(n):
            await c.aget(Hot)
    return run, lambda: c.aget(Hot)


def w4_svcs(g, fake):
    import svcs
    Handler, DB = g.by_name["Handler"], g.by_name["DB"]
    reg = svcs.Registry()
    for key, fn, deps in zip(g.keys, g.sf, g.dep_keys):
        reg.register_factory(key, _svcs_factory(fn, deps))

    def cycle():
        # svcs test idiom: container-local override, the container is the scope
        c = svcs.Container(reg)
        c.register_local_value(DB, fake)
        h = c.get(Handler)
        c.close()
        return h
    return cycle, lambda: svcs.Container(reg).get(Handler)


# --------------------------------------------------------------------------
# injector (Guice-style; sync only; Module/binder, child injectors)
# --------------------------------------------------------------------------
async def w1_injector(g):
    import injector as inj

    def configure(binder):
        for key, fn in zip(g.keys, g.sf):
            binder.bind(key, to=inj.CallableProvider(inj.inject(fn)), scope=inj.singleton)
    i = inj.Injector([configure])
    return [i.get(k) for k in g.keys], None


w1s_injector = w1_injector


async def w2_injector(g2):
    import injector as inj

    def root_cfg(binder):
        for key, fn in zip(g2.rkeys, g2.rsf):
            binder.bind(key, to=inj.CallableProvider(inj.inject(fn)), scope=inj.singleton)
    root = inj.Injector([root_cfg])
    pfns = [inj.inject(fn) for fn in g2.psf]
    out, scopes = [], []
    for pid in g2.plugin_ids:
        meta = PluginMeta(pid)

        def plugin_cfg(binder, meta=meta):
            binder.bind(PluginMeta, to=meta)
            for key, fn in zip(g2.pkeys, pfns):
                binder.bind(key, to=inj.CallableProvider(fn), scope=inj.singleton)
        child = root.create_child_injector([plugin_cfg])
        scopes.append(child)
        out.append((pid, [child.get(k) for k in g2.pkeys]))
    return out, None


def _injector_module(g, fake=None):
    import injector as inj
    pfns = [(k, inj.inject(fn)) for k, fn in zip(g.keys, g.sf)]

    def configure(binder):
        for key, fn in pfns:
            binder.bind(key, to=inj.CallableProvider(fn), scope=inj.singleton)
    return configure


def w3_injector(g):
    import injector as inj
    Hot = g.by_name["Hot"]
    i = inj.Injector([_injector_module(g)])
    i.get(Hot)

    def run(n):
        for _ in range(n):
            i.get(Hot)
    return run, lambda: i.get(Hot)


def w4_injector(g, fake):
    import injector as inj
    Handler, DB = g.by_name["Handler"], g.by_name["DB"]
    app = _injector_module(g)

    def test_module(binder):
        binder.bind(DB, to=fake)

    def cycle():
        # injector idiom: a new Injector per test with an overriding module
        # (a child injector would reuse the parent's cached Handler singleton)
        return inj.Injector([app, test_module]).get(Handler)
    return cycle, lambda: inj.Injector([app]).get(Handler)


# --------------------------------------------------------------------------
# lagom (type-based container; sync; explicit `lambda c: ...` definitions)
# --------------------------------------------------------------------------
def _lagom_def(fn, deps):
    return lambda c: fn(*[c[d] for d in deps])


async def w1_lagom(g):
    import lagom
    c = lagom.Container()
    for key, fn, deps in zip(g.keys, g.sf, g.dep_keys):
        c[key] = lagom.Singleton(_lagom_def(fn, deps))
    return [c[k] for k in g.keys], None


w1s_lagom = w1_lagom


async def w2_lagom(g2):
    import lagom
    root = lagom.Container()
    for key, fn, deps in zip(g2.rkeys, g2.rsf, g2.rdeps):
        root[key] = lagom.Singleton(_lagom_def(fn, deps))
    pdefs = [(key, _lagom_def(fn, deps)) for key, fn, deps in zip(g2.pkeys, g2.psf, g2.pdeps)]
    out, scopes = [], []
    for pid in g2.plugin_ids:
        pc = root.clone()           # child container: parent definitions/singletons shared
        scopes.append(pc)
        pc[PluginMeta] = PluginMeta(pid)
        for key, d in pdefs:
            pc[key] = lagom.Singleton(d)
        out.append((pid, [pc[k] for k in g2.pkeys]))
    return out, None


def _lagom_app(g, overrides=None):
    import lagom
    c = lagom.Container()
    for key, fn, deps in zip(g.keys, g.sf, g.dep_keys):
        if overrides and key in overrides:
            c[key] = overrides[key]
        else:
            c[key] = lagom.Singleton(_lagom_def(fn, deps))
    return c


def w3_lagom(g):
    Hot = g.by_name["Hot"]
    c = _lagom_app(g)
    c[Hot]

    def run(n):
        for _ in range(n):
            c[Hot]
    return run, lambda: c[Hot]


def w4_lagom(g, fake):
    Handler, DB = g.by_name["Handler"], g.by_name["DB"]

    def cycle():
        # clone() shares the parent's Singleton definitions (and their cached
        # instances), and redefining a type raises DuplicateDefinition, so the
        # per-test pattern is: build the app container with the fake in place.
        return _lagom_app(g, {DB: fake})[Handler]
    return cycle, lambda: _lagom_app(g)[Handler]


# --------------------------------------------------------------------------
# punq (minimal; sync; auto-wires classes from annotated __init__)
# --------------------------------------------------------------------------
# punq only reads annotations of *classes* (`factory=` functions are called with
# no arguments), so punq registers the generated classes themselves, whose
# __init__ carries the same annotations as the factories.
async def w1_punq(g):
    import punq
    c = punq.Container()
    for key in g.keys:
        c.register(key, scope=punq.Scope.singleton)
    return [c.resolve(k) for k in g.keys], None


w1s_punq = w1_punq


async def w2_punq(g2):
    import punq
    root = punq.Container()
    for key in g2.rkeys:
        root.register(key, scope=punq.Scope.singleton)
    out, scopes = [], []      # keep children alive: punq keys singletons by id(registration)
    for pid in g2.plugin_ids:
        # child(): inherits registrations and shares the singleton cache; the
        # plugin services are registered on the child, so each child has its own.
        pc = root.child()
        scopes.append(pc)
        pc.register(PluginMeta, instance=PluginMeta(pid))
        for key in g2.pkeys:
            pc.register(key, scope=punq.Scope.singleton)
        out.append((pid, [pc.resolve(k) for k in g2.pkeys]))
    return out, None


def _punq_app(g):
    import punq
    c = punq.Container()
    for key in g.keys:
        c.register(key, scope=punq.Scope.singleton)
    return c


def w3_punq(g):
    Hot = g.by_name["Hot"]
    c = _punq_app(g)
    c.resolve(Hot)

    def run(n):
        for _ in range(n):
            c.resolve(Hot)
    return run, lambda: c.resolve(Hot)


def w4_punq(g, fake):
    Handler, DB = g.by_name["Handler"], g.by_name["DB"]

    def cycle():
        # no override/unregister API, and child() shares the singleton cache:
        # a fresh container per test, then re-register DB with the fake
        # (the last registration wins)
        c = _punq_app(g)
        c.register(DB, instance=fake)
        return c.resolve(Handler)
    return cycle, lambda: _punq_app(g).resolve(Handler)


# --------------------------------------------------------------------------
# that-depends (explicit providers on a container class; contextvar scopes)
# --------------------------------------------------------------------------
def _td_container(name, attrs):
    from that_depends import BaseContainer

    def body(ns):
        for k, v in attrs.items():   # item-by-item: the metaclass dict hooks __setitem__
            ns[k] = v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # "Overwriting container" across reps
        return types.new_class(name, (BaseContainer,), {}, body)


async def w1_that_depends(g, sync=False):
    from that_depends import providers
    attrs, provs = {}, {}
    if sync:
        for name, key, fn, deps in zip(g.names, g.keys, g.sf, g.dep_keys):
            provs[key] = attrs[name] = providers.Singleton(fn, *[provs[d] for d in deps])
    else:
        for name, key, fn, deps in zip(g.names, g.keys, g.af, g.dep_keys):
            provs[key] = attrs[name] = providers.AsyncSingleton(fn, *[provs[d] for d in deps])
    C = _td_container("W1Container", attrs)
    if sync:
        out = [getattr(C, n).resolve_sync() for n in g.names]
    else:
        out = [await getattr(C, n).resolve() for n in g.names]
    return out, C.tear_down


async def w1s_that_depends(g):
    return await w1_that_depends(g, sync=True)


def _td_gen(fn):
    async def creator(*args):
        yield await fn(*args)
    return creator


async def w2_that_depends(g2):
    from that_depends import container_context, fetch_context_item, providers
    rattrs, rp = {}, {}
    for key, fn, deps in zip(g2.rkeys, g2.raf, g2.rdeps):
        rp[key] = rattrs[key.__name__] = providers.AsyncSingleton(fn, *[rp[d] for d in deps])
    Root = _td_container("W2Root", rattrs)
    meta = providers.Factory(fetch_context_item, "plugin_meta")
    pattrs, pp = {"default_scope": None, "meta": meta}, {}
    for key, fn, deps in zip(g2.pkeys, g2.paf, g2.pdeps):
        args = [meta if d is PluginMeta else pp.get(d) or rp[d] for d in deps]
        # what a class body does: the metaclass stores `.with_config(default_scope)`
        # copies and later attributes reference those copies
        pp[key] = providers.ContextResource(_td_gen(fn), *args).with_config(None)
        pattrs[key.__name__] = pp[key]
    Plugin = _td_container("W2Plugin", pattrs)
    names = [k.__name__ for k in g2.pkeys]
    out = []
    for pid in g2.plugin_ids:
        # Scopes are contextvar-based and lexical: the plugin context is entered
        # and exited per plugin (teardown is therefore inside the timing).
        async with container_context(Plugin, global_context={"plugin_meta": PluginMeta(pid)}):
            out.append((pid, [await getattr(Plugin, n).resolve() for n in names]))
    return out, Root.tear_down


def w3_that_depends(g, async_=False):
    from that_depends import providers
    if async_:
        cfg = providers.AsyncSingleton(g.af[0])
        hot = providers.AsyncSingleton(g.af[1], cfg)
    else:
        cfg = providers.Singleton(g.sf[0])
        hot = providers.Singleton(g.sf[1], cfg)
    C = _td_container("W3Container", {"config": cfg, "hot": hot})
    if async_:
        async def run(n):
            for _ in range(n):
                await C.hot.resolve()
        return run, C.hot.resolve
    C.hot.resolve_sync()

    def run(n):
        for _ in range(n):
            C.hot.resolve_sync()
    return run, C.hot.resolve_sync


def w3a_that_depends(g):
    return w3_that_depends(g, True)


def w4_that_depends(g, fake):
    from that_depends import providers
    attrs, provs = {}, {}
    for name, key, fn, deps in zip(g.names, g.keys, g.sf, g.dep_keys):
        provs[key] = attrs[name] = providers.Singleton(fn, *[provs[d] for d in deps])
    C = _td_container("W4Container", attrs)
    C.Handler.resolve_sync()

    def cycle():
        # documented: override + tear down dependents so they are rebuilt
        C.DB.override_sync(fake, tear_down_children=True)
        h = C.Handler.resolve_sync()
        C.DB.reset_override_sync(tear_down_children=True)
        return h
    return cycle, C.Handler.resolve_sync


# --------------------------------------------------------------------------
# Template for the library under development (uncomment, fill in, and add a
# `_lib("di_backend", "di_backend", "import di_backend", True, "<notes>",
# "di_backend")` entry to LIBS below).  Each function may be omitted: the
# report then shows "—" for that workload.
#
# async def w1_di_backend(g):            # g.keys / g.af / g.sf / g.dep_keys / g.names
#     ...register len(g) root-scoped singletons built by g.af[i](*deps)...
#     return [resolved instance for each key in g.keys], async_close_or_None
# async def w1s_di_backend(g): ...       # same with g.sf (sync factories)
# async def w2_di_backend(g2):           # g2.rkeys/raf/rdeps, g2.pkeys/paf/pdeps, g2.plugin_ids
#     return [(plugin_id, [instances of g2.pkeys in that plugin])...], async_close_or_None
# def w3_di_backend(g):                  # g.by_name["Hot"]: singleton depending on Config
#     return run(n) doing n sync resolves, get_once() returning the instance
# def w3a_di_backend(g):                 # same, run/get_once are coroutine functions
# def w4_di_backend(g, fake):            # Config -> DB -> Repo -> Handler (+ fillers)
#     return cycle() -> Handler built with DB=fake (override + reset inside),
#            real() -> Handler with the real DB
# --------------------------------------------------------------------------

# --------------------------------------------------------------------------
# di_backend (added to the shared harness; everything else in this file is the
# harness from ../shared/bench/peers.py, unchanged).  W1, W1S, W2 and W4 for the
# public API, W2 for the container alone.
#
#   di_backend            the public API: a backend with one plugin per plugin id,
#                         whose init injects the five plugin services; timed =
#                         refs + factories + plugins + backend.start() (stop is
#                         the untimed close). It also validates the wiring, runs
#                         200 plugin inits as tasks and collects their results,
#                         which no peer does.
#   di_backend-container  the same refs and factories through di_backend's
#                         container alone (ServiceRegistry + ServiceContainer:
#                         validation, the dependency-injector providers, a
#                         dict of cells per plugin), like the peers' containers.
#
# The harness's PluginMeta (with .plugin_id) is a plugin-scoped service made from
# di_backend's core.pluginMetadata, so each plugin builds six instances (five
# are counted), and every factory is the generated async function itself with
# inject(...) defaults (no wrapper).
# --------------------------------------------------------------------------
def _dib_factories(g2):
    import types as _types

    from di_backend import core_services, create_service_factory, create_service_ref, inject

    refs = {key: create_service_ref(id=f"w2.{key.__name__}", scope="root") for key in g2.rkeys}
    refs[PluginMeta] = create_service_ref(id="w2.PluginMeta")
    for key in g2.pkeys:
        refs[key] = create_service_ref(id=f"w2.{key.__name__}")

    async def plugin_meta(meta=inject(core_services.plugin_metadata)):
        return PluginMeta(meta.get_id())

    factories = [create_service_factory(refs[PluginMeta], plugin_meta)]
    keys = list(g2.rkeys) + list(g2.pkeys)
    fns = list(g2.raf) + list(g2.paf)
    deps = list(g2.rdeps) + list(g2.pdeps)
    for key, fn, dep_keys in zip(keys, fns, deps):
        made = _types.FunctionType(
            fn.__code__, fn.__globals__, fn.__name__, tuple(inject(refs[d]) for d in dep_keys)
        )
        factories.append(create_service_factory(refs[key], made))
    return factories, [refs[k] for k in g2.pkeys]


def _dib_quiet_logger():
    import io

    from di_backend import core_services, create_service_factory
    from di_backend.defaults._logging import DefaultRootLogger

    return create_service_factory(
        core_services.root_logger,
        lambda: DefaultRootLogger.create(level="error", format="json", stream=io.StringIO()),
    )


async def w2_di_backend(g2):
    from di_backend import create_backend_plugin, create_specialized_backend, inject

    factories, prefs = _dib_factories(g2)
    backend = create_specialized_backend(
        default_service_factories=[_dib_quiet_logger(), *factories]
    )
    out = []
    names = [f"p{k}" for k in range(len(prefs))]
    source = (
        f"def make(out, pid):\n    async def init({', '.join(names)}):\n"
        f"        out.append((pid, [{', '.join(names)}]))\n    return init\n"
    )
    ns = {}
    exec(source, ns)
    make = ns["make"]
    defaults = tuple(inject(r) for r in prefs)
    for pid in g2.plugin_ids:

        def register(env, pid=pid):
            init = make(out, pid)
            init.__defaults__ = defaults
            env.register_init(init)

        backend.add(create_backend_plugin(plugin_id=pid, register=register))
    await backend.start()

    async def close():
        await backend.stop()

    return out, close


async def w2_di_backend_container(g2):
    from di_backend._registry import ServiceRegistry

    factories, prefs = _dib_factories(g2)
    registry = ServiceRegistry(factories)
    registry.check_for_circular_deps()
    container = registry.container
    out = []
    for pid in g2.plugin_ids:
        out.append((pid, [await container.get(ref, pid) for ref in prefs]))

    async def close():
        await container.teardowns.close_all()
        container.reset_overrides()

    return out, close


def _dib_root_factories(keys, fns, dep_keys, prefix):
    """Root-scoped refs and factories (the generated functions with inject defaults)."""
    import types as _types

    from di_backend import create_service_factory, create_service_ref, inject

    refs = {key: create_service_ref(id=f"{prefix}.{key.__name__}", scope="root") for key in keys}
    factories = [
        create_service_factory(
            refs[key],
            _types.FunctionType(
                fn.__code__, fn.__globals__, fn.__name__, tuple(inject(refs[d]) for d in deps)
            ),
        )
        for key, fn, deps in zip(keys, fns, dep_keys)
    ]
    return refs, factories


async def _w1_di_backend(g, fns):
    # A backend whose N root services (initialization "always", the root default)
    # are all created by `await backend.start()`, which also validates the graph.
    from di_backend import create_specialized_backend

    refs, factories = _dib_root_factories(g.keys, fns, g.dep_keys, "w1")
    backend = create_specialized_backend(default_service_factories=[_dib_quiet_logger(), *factories])
    await backend.start()
    container = backend._initializer.registry.container
    out = [container.peek(refs[key], None) for key in g.keys]

    async def close():
        await backend.stop()

    return out, close


async def w1_di_backend(g):
    return await _w1_di_backend(g, g.af)


async def w1s_di_backend(g):
    return await _w1_di_backend(g, g.sf)


def w4_di_backend(g, fake):
    # The test override cycle through the public testing API: a test backend (every
    # core service a mock) with the app's factories, DB replaced by the fake, a
    # plugin whose init injects Handler; started and stopped each cycle.
    from di_backend import create_backend_plugin, create_service_factory, inject
    from di_backend.testing import start_test_backend

    loop = asyncio.get_event_loop()
    Handler, DB = g.by_name["Handler"], g.by_name["DB"]
    refs, factories = _dib_root_factories(g.keys, g.sf, g.dep_keys, "w4")
    fake_db = create_service_factory(refs[DB], lambda: fake)
    real_db = factories[g.keys.index(DB)]
    others = [f for f in factories if f is not real_db]
    seen = []

    async def init(handler=inject(refs[Handler])):
        seen.append(handler)

    plugin = create_backend_plugin(plugin_id="app", register=lambda env: env.register_init(init))

    async def once(db):
        backend = await start_test_backend(features=[plugin, *others, db])
        await backend.stop()
        return seen.pop()

    def cycle():
        return loop.run_until_complete(once(fake_db))

    def real():
        return loop.run_until_complete(once(real_db))

    return cycle, real


# --------------------------------------------------------------------------
# Library registry
# --------------------------------------------------------------------------
@dataclasses.dataclass
class Lib:
    name: str
    dist: str | None               # distribution name for the version (None: stdlib only)
    import_stmt: str               # what W5 times
    async_factories: bool          # W1/W2 use async factories?
    notes: str                     # how the library was used (goes into the report)
    fns: dict = dataclasses.field(default_factory=dict)

    def fn(self, workload):
        return self.fns.get(workload)


def _lib(name, dist, import_stmt, async_factories, notes, prefix):
    g = globals()
    fns = {}
    for w in ("w1", "w1s", "w2", "w3", "w3a", "w4"):
        f = g.get(f"{w}_{prefix}")
        if f is not None:
            fns[w.upper()] = f
    return Lib(name, dist, import_stmt, async_factories, notes, fns)


LIBS = {lib.name: lib for lib in [
    _lib("plain", None, "import asyncio", True,
         "dict `{key: (factory, dep_keys)}` + memo dict; scopes = child memo with parent fallback; "
         "override = pre-seeded memo in a throwaway container. No locking, no validation, no "
         "lifecycle: the practical floor.", "plain"),
    _lib("dependency-injector", "dependency-injector",
         "from dependency_injector import containers, providers", True,
         "Explicit `providers.Singleton(fn, *dep_providers)` on a DynamicContainer (async fn -> "
         "awaitable). W2: DeclarativeContainer per plugin with `DependenciesContainer` (root) + "
         "`Dependency` (meta), instantiated per plugin (providers are copied). W4: "
         "`with c.reset_singletons(), c.DB.override(fake)`.", "dependency_injector"),
    _lib("dishka", "dishka", "import dishka", True,
         "Annotated factories via `Provider.provide(fn, scope=APP)`, `make_async_container`, "
         "`await c.get(T)`. W2: plugin = REQUEST scope, `from_context(PluginMeta)`, 200 child "
         "containers held open. W4: new container per test from app provider + overriding "
         "provider (`override=True`).", "dishka"),
    _lib("wireup", "wireup", "import wireup", True,
         "Annotated factories via `wireup.injectable(fn)`, `create_async_container(injectables=...)`, "
         "`await c.get(T)`. W2: plugin services `lifetime='scoped'`, `enter_scope({PluginMeta: ...})` "
         "with a raising stub factory (as wireup's own integrations do). W4: fresh container + "
         "`container.override({DB: fake})` (overrides don't reach already-built singletons).", "wireup"),
    _lib("svcs", "svcs", "import svcs", True,
         "Service locator: `Registry.register_factory(T, factory(svcs_container))` where the factory "
         "calls `await container.aget(dep)` (explicit, not `svcs.autowire`). Caching is per Container. "
         "W2: root singletons built once and `register_value`d, one Container per plugin + "
         "`register_local_value(PluginMeta)`. W4: `register_local_value(DB, fake)` on a per-test "
         "Container.", "svcs"),
    _lib("injector", "injector", "import injector", False,
         "Sync only. `binder.bind(T, to=CallableProvider(inject(fn)), scope=singleton)`. W2: "
         "`create_child_injector([plugin_module])` per plugin binding PluginMeta + plugin services. "
         "W4: new `Injector([app_module, test_module])` per test.", "injector"),
    _lib("lagom", "lagom", "import lagom", False,
         "Sync (lagom's async support is `Awaitable[T]` definitions, which don't combine with "
         "Singleton). `c[T] = Singleton(lambda c: fn(c[Dep], ...))`. W2: `root.clone()` per plugin + "
         "plugin Singletons defined on the clone. W4: container rebuilt per test with the fake "
         "(clone() shares cached singletons; redefinition raises).", "lagom"),
    _lib("punq", "punq", "import punq", False,
         "Sync only. Registers the generated classes (`register(T, scope=Scope.singleton)`, "
         "auto-wired from the annotated `__init__`) because punq calls `factory=` functions without "
         "arguments. W2: `root.child()` per plugin with PluginMeta + plugin services registered on the "
         "child. W4: fresh container per test + `register(DB, instance=fake)` (last registration "
         "wins; child() shares the singleton cache, so it can't isolate a test).", "punq"),
    _lib("that-depends", "that-depends", "import that_depends", True,
         "Explicit `providers.AsyncSingleton(fn, *dep_providers)` on a BaseContainer subclass, "
         "`await provider.resolve()`. W2: plugin services are `ContextResource`s, PluginMeta via "
         "`fetch_context_item`, one `container_context(...)` per plugin entered and exited "
         "sequentially (contextvar scopes can't be held open side by side in one task). W4: "
         "`override_sync(fake, tear_down_children=True)` / `reset_override_sync(tear_down_children=True)`.",
         "that_depends"),
    _lib("di_backend", "di_backend", "import di_backend", True,
         "The public API. W1/W1S: root-scoped refs and factories (the generated functions with "
         "inject(...) defaults) created by `await backend.start()`, which validates the graph "
         "first. W2: one plugin per plugin id whose init injects the five services "
         "(validation, plugin inits as tasks, results). W4: `start_test_backend(features=[plugin, "
         "*factories, fake DB factory])` then `stop()`, a whole test backend per cycle. W3/W3A: "
         "not applicable (services are injected at init, not resolved per call).", "di_backend"),
    _lib("di_backend-container", "di_backend", "import di_backend._container", True,
         "W2 only. The same refs and factories through di_backend's ServiceRegistry + "
         "ServiceContainer (dependency-injector providers: a cell per root service, a "
         "`Factory` template per plugin-scoped ref, a dict of cells per plugin).",
         "di_backend_container"),
]}


# How each library expresses "one instance per plugin, shared inside the plugin,
# on top of shared root singletons" (W2), for the report.
W2_WAY = {
    "plain": ("child memo dict with parent fallback + seeded PluginMeta", "yes (by construction)"),
    "dependency-injector": ("a DeclarativeContainer instance per plugin (providers deep-copied), root via "
                            "`DependenciesContainer`, meta via `Dependency`", "partial: no scope concept; "
                            "container-per-plugin works but copies providers (~1 ms/plugin)"),
    "dishka": ("REQUEST scope per plugin (`container(context={PluginMeta: ...})`), held open",
               "yes: scopes + `from_context` are first-class"),
    "wireup": ("`enter_scope({PluginMeta: ...})` per plugin, `lifetime='scoped'`, held open",
               "mostly: per-scope values need a raising stub factory"),
    "svcs": ("one Container per plugin over a Registry holding root singletons as values",
             "partial: no app-singleton lifetime; roots must be built eagerly and registered as values"),
    "injector": ("`create_child_injector` per plugin with a plugin Module", "yes"),
    "lagom": ("`clone()` per plugin, plugin Singletons defined on the clone", "yes"),
    "punq": ("`child()` per plugin with plugin registrations", "fragile: the singleton cache is shared with "
             "the parent and keyed by `id(registration)`, so dropped children can alias later ones "
             "(children must be kept alive)"),
    "that-depends": ("`ContextResource` + `container_context(global_context=...)` per plugin",
                     "no: contextvar scopes are lexical/per-task, so 200 scopes can't be open side by side "
                     "in one task; entered and exited one after another"),
    "di_backend": ("a plugin per plugin id; plugin-scoped refs, `core.pluginMetadata`",
                   "yes: plugin scope is the design"),
    "di_backend-container": ("a dependency-injector DynamicContainer per plugin holding a provider "
                             "per plugin-scoped ref", "yes: plugin scope is the design"),
}


# --------------------------------------------------------------------------
# Worker: runs one (library, workload) and prints a JSON line
# --------------------------------------------------------------------------
def _cached_codegen(specs, tag):
    """Compiling 10k generated definitions takes seconds; the orchestrator
    pre-compiles once and workers load the marshalled code object."""
    import marshal
    d = CFG.get("code_cache_dir")
    path = os.path.join(d, tag + ".marshal") if d else None
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            return marshal.load(f)
    code = _codegen(specs)
    if path:
        tmp = path + f".{os.getpid()}"
        with open(tmp, "wb") as f:
            marshal.dump(code, f)
        os.replace(tmp, path)
    return code


def _hwm_kib():
    """Peak RSS of this process in KiB.  VmHWM rather than ru_maxrss: Linux
    carries ru_maxrss over from the forking parent across exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _median(xs):
    return statistics.median(xs)


def _timed_async(loop, coro_fn, arg):
    async def run():
        t0 = perf()
        res = await coro_fn(arg)
        return perf() - t0, res
    return loop.run_until_complete(run())


def _bench_startup(loop, fn, make_arg, check, reps, warmup, trace=True):
    """W1/W1s/W2-style: each repetition gets a fresh graph (untimed)."""
    times = []
    rss_delta = None
    for r in range(warmup + reps):
        arg = make_arg()
        gc.collect()
        if r == 0:
            rss0 = _hwm_kib()      # after the graph exists: count only the workload
        dt, (res, close) = _timed_async(loop, fn, arg)
        if r == 0:
            rss_delta = _hwm_kib() - rss0
            check(arg, res)
        if close is not None:
            loop.run_until_complete(close())
        if r >= warmup:
            times.append(dt)
        del res, close, arg
    if not trace:
        return times, None, rss_delta
    # one more run under tracemalloc for the Python-heap peak (untimed)
    arg = make_arg()
    gc.collect()
    tracemalloc.start()
    res, close = loop.run_until_complete(fn(arg))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if close is not None:
        loop.run_until_complete(close())
    return times, peak, rss_delta


def _calibrate(call, target_iters, budget_s):
    """Pick iterations per repetition: the target count, unless one repetition
    would exceed budget_s (then fewer, never below 20)."""
    n = 1
    while True:
        dt = call(n)
        if dt >= 0.02 or n >= target_iters:
            break
        n *= 4
    per = max(dt / n, 1e-9)
    return int(min(target_iters, max(20, budget_s / per)))


def worker(libname, workload):
    lib = LIBS[libname]
    fn = lib.fn("W1" if workload == "W1G" else workload)
    if fn is None:
        return {"lib": libname, "workload": workload, "skipped": True}
    reps, warmup = CFG["reps"], CFG["warmup"]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    res = {"lib": libname, "workload": workload}

    if workload == "W1":
        res["by_n"] = {}
        ns = CFG["w1_ns"]
        trace_n = ns[1] if len(ns) > 1 else ns[0]   # tracemalloc is ~4x slower: middle size only
        for n in ns:
            specs = w1_specs(n)
            code = _cached_codegen(specs, f"w1_{n}")
            times, peak, rss = _bench_startup(loop, fn, lambda: Graph(specs, code), check_w1, reps,
                                              warmup, trace=(n == trace_n))
            res["by_n"][str(n)] = {"median_s": _median(times), "min_s": min(times),
                                   "times": times, "tracemalloc_peak": peak, "rss_delta_kib": rss}
    elif workload == "W1G":
        # Diagnostic: same as W1 at the largest N, but gc.disable() during the
        # timed region, to separate the library's own cost from CPython's cyclic
        # GC (full collections walk a heap that grows with N).  Warm-up (imports,
        # first-call costs) on a small graph first.
        small = w1_specs(100)
        _bench_startup(loop, fn, lambda: Graph(small, _codegen(small)), check_w1, 1, 0, trace=False)
        n = CFG["w1_ns"][-1]
        specs = w1_specs(n)
        code = _cached_codegen(specs, f"w1_{n}")
        times = []
        for r in range(CFG["w1g_reps"]):
            g = Graph(specs, code)
            gc.collect()
            gc.disable()
            try:
                dt, (out, close) = _timed_async(loop, fn, g)
            finally:
                gc.enable()
            if r == 0:
                check_w1(g, out)
            if close is not None:
                loop.run_until_complete(close())
            times.append(dt)
            del out, close, g
        res.update(n=n, median_s=_median(times), min_s=min(times), times=times)
    elif workload == "W1S":
        n = CFG["w1s_n"]
        specs = w1_specs(n)
        code = _cached_codegen(specs, f"w1_{n}")
        times, peak, rss = _bench_startup(loop, fn, lambda: Graph(specs, code), check_w1, reps, warmup)
        res.update(n=n, median_s=_median(times), min_s=min(times), times=times, tracemalloc_peak=peak)
    elif workload == "W2":
        roots, plugin = w2_specs(CFG["w2_roots"], CFG["w2_per_plugin"])
        code = _codegen(roots + plugin)
        times, peak, rss = _bench_startup(
            loop, fn, lambda: Graph2(roots, plugin, code, CFG["w2_plugins"]), check_w2, reps, warmup)
        res.update(median_s=_median(times), min_s=min(times), times=times, tracemalloc_peak=peak)
    elif workload in ("W3", "W3A"):
        g = Graph(W3_SPECS, _codegen(W3_SPECS))
        run, get_once = fn(g)
        if workload == "W3A":
            arun = run

            async def _timed(n):
                t0 = perf()
                await arun(n)
                return perf() - t0

            def call(n):
                return loop.run_until_complete(_timed(n))
            first = loop.run_until_complete(get_once())
            second = loop.run_until_complete(get_once())
        else:
            def call(n):
                t0 = perf()
                run(n)
                return perf() - t0
            first, second = get_once(), get_once()
        assert first is second and type(first) is g.by_name["Hot"], "hot resolve is not a singleton"
        iters = _calibrate(call, CFG["w3_iters"], CFG["w3_rep_budget_s"])
        times = []
        for r in range(warmup + reps):
            gc.collect()
            dt = call(iters)
            if r >= warmup:
                times.append(dt / iters)
        gc.collect()
        tracemalloc.start()
        call(min(iters, 10_000))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        res.update(iters=iters, median_ns=_median(times) * 1e9, min_ns=min(times) * 1e9,
                   times_ns=[t * 1e9 for t in times], tracemalloc_peak_10k=peak)
    elif workload == "W4":
        specs = w4_specs(CFG["w4_fillers"])
        g = Graph(specs, _codegen(specs))
        fake = FakeDB()
        cycle, real = fn(g, fake)
        Handler = g.by_name["Handler"]
        h = cycle()
        assert type(h) is Handler and h.deps[0].deps[0] is fake, "override not applied"
        r1 = real()
        assert type(r1) is Handler and type(r1.deps[0].deps[0]) is g.by_name["DB"], "override not reset"

        def call(n):
            t0 = perf()
            for _ in range(n):
                cycle()
            return perf() - t0
        iters = _calibrate(call, CFG["w4_cycles"], CFG["w4_rep_budget_s"])
        times = []
        for r in range(warmup + reps):
            gc.collect()
            dt = call(iters)
            if r >= warmup:
                times.append(dt / iters)
        h = cycle()
        assert h.deps[0].deps[0] is fake
        r2 = real()
        assert type(r2.deps[0].deps[0]) is g.by_name["DB"], "override leaked after the loop"
        gc.collect()
        tracemalloc.start()
        call(min(iters, 100))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        res.update(iters=iters, median_us=_median(times) * 1e6, min_us=min(times) * 1e6,
                   times_us=[t * 1e6 for t in times], tracemalloc_peak_100=peak)
    loop.close()
    res["maxrss_kib"] = _hwm_kib()
    return res


# --------------------------------------------------------------------------
# W5: cold import time (subprocess wall time minus bare interpreter)
# --------------------------------------------------------------------------
def import_times(libs, runs):
    def once(stmt):
        t0 = perf()
        subprocess.run([sys.executable, "-c", stmt], check=True)
        return perf() - t0
    once("pass")
    base, per = [], {lib.name: [] for lib in libs}
    for _ in range(runs):                       # interleave to share noise
        base.append(once("pass"))
        for lib in libs:
            per[lib.name].append(once(lib.import_stmt))
    b = _median(base)
    out = {"bare_python_ms": b * 1e3}
    for lib in libs:
        out[lib.name] = {"median_ms": (_median(per[lib.name]) - b) * 1e3,
                         "raw_ms": [x * 1e3 for x in per[lib.name]]}
    return out


# --------------------------------------------------------------------------
# Orchestrator + report
# --------------------------------------------------------------------------
WORKLOADS = ["W1", "W1G", "W1S", "W2", "W3", "W3A", "W4"]


def _flat_medians(r):
    out = {k: v for k, v in r.items() if k.startswith("median")}
    for n, v in (r.get("by_n") or {}).items():
        out[f"median_s@N={n}"] = v["median_s"]
    return out


def merge_rounds(rs):
    """Combine one cell's results from several rounds: medians -> median of the
    round medians, mins -> min, peaks -> max, raw lists concatenated."""
    if len(rs) == 1:
        return rs[0]
    bad = [r for r in rs if r.get("error") or r.get("skipped")]
    if bad:
        return bad[0]

    def merge(ds):
        out = {}
        for k, v in ds[0].items():
            vals = [d[k] for d in ds]
            if isinstance(v, dict):
                out[k] = merge(vals)
            elif isinstance(v, list):
                out[k] = [x for d in vals for x in d]
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                if k.startswith("median"):
                    out[k] = statistics.median(vals)
                elif k.startswith("min"):
                    out[k] = min(vals)
                else:   # peaks, rss, iteration counts
                    out[k] = max(vals)
            else:
                out[k] = v
        return out
    m = merge(rs)
    m["rounds"] = len(rs)
    m["round_medians"] = [_flat_medians(r) for r in rs]
    return m


def run_worker(libname, workload, cfg_json):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", libname, workload,
           "--cfg-json", cfg_json]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return {"lib": libname, "workload": workload, "error": p.stderr.strip().splitlines()[-1:]
                if p.stderr else f"rc={p.returncode}", "stderr": p.stderr[-2000:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def versions(libs):
    from importlib import metadata
    out = {}
    for lib in libs:
        out[lib.name] = metadata.version(lib.dist) if lib.dist else "stdlib only"
    return out


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(x, spec="{:.2f}", none="—"):
    return none if x is None else spec.format(x)


def fmt_ms(s):
    if s is None:
        return "—"
    ms = s * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"


def fmt_mib(b):
    return "—" if b is None else f"{b / 2**20:.1f}"


def build_report(results, imports, vers, libs, meta):
    ns = [str(n) for n in CFG["w1_ns"]]
    nmin, nmax = ns[0], ns[-1]
    R = {(r["lib"], r["workload"]): r for r in results}

    def get(lib, w):
        r = R.get((lib, w))
        return None if r is None or r.get("skipped") or r.get("error") else r

    lines = []
    add = lines.append
    add("# Peer DI baselines for `di_backend`\n")
    add(f"Generated by `{sys.executable} {os.path.abspath(__file__)} {meta.get('argv', '')}".rstrip() + f"` on {meta['date']} "
        f"(total wall time {meta['wall_s']:.0f} s). Raw numbers: `{meta['json_out']}`.\n")
    add("## Environment\n")
    add(f"- Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}")
    add(f"- CPU: {cpu_model()}; `nproc` = {os.cpu_count() if not meta.get('nproc') else meta['nproc']}")
    add("- Library versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))
    if meta.get("rounds", 1) > 1:
        add(f"- Rounds: {meta['rounds']} interleaved rounds (library order rotated each round); every "
            f"cell is the median of the per-round medians. A single round (the default) takes about "
            f"1/{meta['rounds']} of the wall time above.")
    add(f"- Timing: `time.perf_counter`, median of {CFG['reps']} repetitions after {CFG['warmup']} warm-up; "
        "each (library, workload) in a fresh worker process; `gc.collect()` before each repetition, GC "
        "enabled while timing. Every workload's result is checked for correctness (singleton sharing, "
        "per-plugin isolation, override applied and reset) before it is timed.")
    add(f"- Sizes: W1 N = {', '.join(ns)} (DAG: service i depends on randint(0, min(3,i)) "
        f"distinct earlier services, `random.Random(0)`); W1s N = {CFG['w1s_n']}; W2 = "
        f"{CFG['w2_roots']} root singletons + {CFG['w2_plugins']} plugins × {CFG['w2_per_plugin']} "
        f"plugin-scoped services; W3 target {CFG['w3_iters']:,} resolves/rep; W4 target "
        f"{CFG['w4_cycles']:,} cycles/rep ({len(w4_specs(CFG['w4_fillers']))}-service app).")
    add("")
    add("## Results (median)\n")
    hdr = (f"| library | W1 N={nmin} ms | W1 N={ns[1] if len(ns) > 2 else nmax} ms | W1 N={nmax} ms | "
           f"W1 µs/svc @{nmax} | W1 scale (per-svc {nmax}/{nmin}) | W1s N={CFG['w1s_n']} ms (sync) | "
           "W2 ms | W3 ns (sync) | W3a ns (async) | W4 µs/cycle | W5 import ms |")
    add(hdr)
    add("|" + "|".join(["---"] * (hdr.count("|") - 1)) + "|")
    for lib in libs:
        w1 = get(lib.name, "W1")
        cell = []
        mid = ns[1] if len(ns) > 2 else nmax
        for n in (nmin, mid, nmax):
            cell.append(fmt_ms(w1["by_n"][n]["median_s"]) if w1 else "—")
        if w1:
            per_max = w1["by_n"][nmax]["median_s"] / int(nmax) * 1e6
            per_min = w1["by_n"][nmin]["median_s"] / int(nmin) * 1e6
            cell += [f"{per_max:.2f}", f"{per_max / per_min:.2f}×"]
        else:
            cell += ["—", "—"]
        w1s = get(lib.name, "W1S")
        cell.append(fmt_ms(w1s["median_s"]) if w1s else "—")
        w2 = get(lib.name, "W2")
        cell.append(fmt_ms(w2["median_s"]) if w2 else "—")
        w3 = get(lib.name, "W3")
        cell.append(fmt(w3["median_ns"], "{:.0f}") if w3 else "—")
        w3a = get(lib.name, "W3A")
        cell.append(fmt(w3a["median_ns"], "{:.0f}") if w3a else "—")
        w4 = get(lib.name, "W4")
        cell.append(fmt(w4["median_us"], "{:.1f}") if w4 else "—")
        imp = imports.get(lib.name) if imports else None
        cell.append(fmt(imp["median_ms"], "{:.1f}") if imp else "—")
        name = lib.name + ("" if lib.async_factories else " (sync)")
        add(f"| {name} | " + " | ".join(cell) + " |")
    add("")
    note = ("`(sync)`: the library has no usable async factories, so W1/W2 use sync factories for it. "
            "W3a `—`: no async resolve API.")
    if imports:
        note += (f" W5 is `python -c '<import>'` minus `python -c pass` (bare interpreter "
                 f"{imports['bare_python_ms']:.1f} ms), median of {CFG['w5_runs']}; plain = `import asyncio`.")
    add(note + "\n")
    # W1 detail
    add("## W1 detail: total ms and µs per service\n")
    add("| library | " + " | ".join(f"N={n} ms | N={n} µs/svc" for n in ns) + " | min of reps @N=" + nmax
        + f" ms | N={nmax} µs/svc, GC off ({CFG['w1g_reps']} reps) | scale with GC off |")
    add("|" + "|".join(["---"] * (2 * len(ns) + 4)) + "|")
    for lib in libs:
        w1 = get(lib.name, "W1")
        if not w1:
            add(f"| {lib.name} | " + " | ".join(["—"] * (2 * len(ns) + 3)) + " |")
            continue
        cells = []
        for n in ns:
            s = w1["by_n"][n]["median_s"]
            cells += [fmt_ms(s), f"{s / int(n) * 1e6:.2f}"]
        cells.append(fmt_ms(w1["by_n"][nmax]["min_s"]))
        w1g = get(lib.name, "W1G")
        if w1g:
            per_off = w1g["median_s"] / int(nmax) * 1e6
            cells += [f"{per_off:.2f}", f"{per_off / (w1['by_n'][nmin]['median_s'] / int(nmin) * 1e6):.2f}×"]
        else:
            cells += ["—", "—"]
        add(f"| {lib.name} | " + " | ".join(cells) + " |")
    add("")
    add(f"Scale = µs/svc at N={nmax} ÷ µs/svc at N={nmin}. The GC-off columns rerun N={nmax} with "
        "`gc.disable()` around the timed region (diagnostic only, fewer repetitions): the difference "
        "to the GC-on number is CPython's cyclic garbage collector walking a heap that grows with N, "
        "not the library's own algorithm.")
    add("")
    # Memory + iteration counts
    add("## Memory and iteration counts\n")
    add("peak = tracemalloc Python-heap peak during one extra, untimed run (tracemalloc slows "
        "allocation-heavy code ~4x, so W1 is traced at the middle size only). ≈ΔmaxRSS = growth of the "
        "worker's peak RSS (VmHWM) during the first (warm-up) run at the largest N, generated graph "
        "excluded (a lower bound if an earlier size peaked higher). Worker maxRSS = whole "
        "process (interpreter + library + generated graphs + workload).\n")
    tn = ns[1] if len(ns) > 1 else ns[0]
    add(f"| library | W1 peak MiB @N={tn} | W1 ≈ΔmaxRSS MiB @N={nmax} | W2 peak MiB | W4 peak MiB (100 cycles) "
        "| W3 / W3a peak KiB (10k resolves) | W1 worker maxRSS MiB | W3 iters/rep | W3a iters/rep "
        "| W4 cycles/rep |")
    add("|" + "|".join(["---"] * 10) + "|")
    for lib in libs:
        w1, w2, w3, w3a, w4 = (get(lib.name, w) for w in ("W1", "W2", "W3", "W3A", "W4"))
        cells = [fmt_mib(w1["by_n"][tn]["tracemalloc_peak"]) if w1 else "—",
                 fmt_mib(w1["by_n"][nmax]["rss_delta_kib"] * 1024) if w1 else "—",
                 fmt_mib(w2["tracemalloc_peak"]) if w2 else "—",
                 fmt_mib(w4["tracemalloc_peak_100"]) if w4 else "—",
                 " / ".join(f"{r['tracemalloc_peak_10k'] / 1024:.1f}" if r else "—" for r in (w3, w3a)),
                 fmt_mib(w1["maxrss_kib"] * 1024) if w1 else "—",
                 f"{w3['iters']:,}" if w3 else "—",
                 f"{w3a['iters']:,}" if w3a else "—",
                 f"{w4['iters']:,}" if w4 else "—"]
        add(f"| {lib.name} | " + " | ".join(cells) + " |")
    add("")
    add(f"Iterations per repetition: W3/W3a do the full {CFG['w3_iters']:,} resolves unless one "
        f"repetition would exceed {CFG['w3_rep_budget_s']} s (> {CFG['w3_rep_budget_s'] / CFG['w3_iters'] * 1e9:.0f} "
        f"ns/resolve). W4 does {CFG['w4_cycles']:,} cycles unless one repetition would exceed "
        f"{CFG['w4_rep_budget_s']} s (> {CFG['w4_rep_budget_s'] / CFG['w4_cycles'] * 1e6:.0f} µs/cycle): "
        "rebuilding a container per test (dishka, wireup) costs milliseconds, and 10,000 × 8 "
        "repetitions would take minutes, so those libraries run fewer cycles (counts above). The "
        "per-op median does not depend on that count.\n")
    add("## W2: how a plugin scope was expressed\n")
    add("| library | mechanism | natural fit? |")
    add("|---|---|---|")
    for lib in libs:
        mech, fit = W2_WAY.get(lib.name, ("—", "—"))
        add(f"| {lib.name} | {mech} | {fit} |")
    add("")
    # Round-to-round stability
    spreads = []
    for r in results:
        rm = r.get("round_medians")
        if not rm:
            continue
        for k in sorted(set().union(*(d.keys() for d in rm))):
            vals = [d[k] for d in rm if k in d]
            if min(vals) > 0:
                tag = k.split("@")[1] if "@" in k else ""
                spreads.append((max(vals) / min(vals), f"{r['lib']} {r['workload']} {tag}".strip()))
    if spreads:
        add("## Round-to-round stability\n")
        if spreads:
            sp = sorted(x for x, _ in spreads)
            worst = sorted(spreads, reverse=True)[:5]
            add(f"Across {meta.get('rounds')} rounds, max/min of the per-round medians per cell: median "
                f"{statistics.median(sp):.2f}×, worst {sp[-1]:.2f}× (" + ", ".join(f"{name} {x:.2f}×" for x, name in worst)
                + "). Repetitions inside one worker agree far more closely than that: the drift is the "
                "host's speed over minutes (shared VM), which is why rounds are interleaved. Treat "
                "differences smaller than the worst spread as noise.\n")
    # Errors
    errs = [r for r in results if r.get("error")]
    if errs:
        add("## Errors\n")
        for r in errs:
            add(f"- {r['lib']} {r['workload']}: {r['error']}")
        add("")
    add("## How each library was used\n")
    add("All libraries build the same object graph from the same generated classes and factories "
        "(`class S<i>(Svc)`, `async def af_S<i>(d0: S<j>, ...) -> S<i>`, `def sf_S<i>(...)`), freshly "
        "exec'd for every repetition so no per-function cache survives between repetitions; generating "
        "them is not timed, registering them is. W1/W2 time registration + container build + resolution; "
        "closing containers/scopes afterwards is untimed (except that-depends W2, whose scopes are "
        "lexical). W3 calls the public resolve API exactly as user code would (`c.get(T)`, `c.hot()`, "
        f"`c[T]`, ...), inside a plain `for` loop (loop overhead included for all; an empty `for` "
        f"iteration costs ~{meta['empty_loop_ns']:.0f} ns here). W4 app: Config → DB "
        f"→ Repo → Handler + {CFG['w4_fillers']} filler singletons; every cycle overrides DB with a fake, "
        "resolves a Handler that must see the fake, and resets; correctness of override and reset is "
        "asserted.\n")
    for lib in libs:
        add(f"- **{lib.name}** ({vers[lib.name]}): {lib.notes}")
    add("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=2, metavar=("LIB", "WORKLOAD"))
    ap.add_argument("--cfg-json")
    ap.add_argument("--quick", action="store_true", help="tiny sizes for smoke tests")
    ap.add_argument("--libs", help="comma-separated subset of: " + ",".join(LIBS))
    ap.add_argument("--workloads", help="comma-separated subset of W1,W1G,W1S,W2,W3,W3A,W4,W5")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every (library, workload) this many times, interleaved, and report the "
                         "median of the per-round medians (host speed drifts; 3 is a good choice for "
                         "decisions, ~4.5 min per round on 2 cores)")
    ap.add_argument("--out", default="./peer_bench.md")
    ap.add_argument("--json-out", default="peer_bench.json")
    ap.add_argument("--report-from", metavar="JSON",
                    help="don't measure: re-render the markdown from a previous run's JSON")
    args = ap.parse_args()
    if args.cfg_json:
        CFG.update(json.loads(args.cfg_json))
    if args.report_from:
        with open(args.report_from) as f:
            data = json.load(f)
        CFG.update(data["cfg"])
        names = [r["lib"] for r in data["results"]]
        libs = [LIBS[n] for n in dict.fromkeys(names) if n in LIBS]
        vers = {lib.name: data["versions"].get(lib.name, "?") for lib in libs}
        report = build_report(data["results"], data["imports"], vers, libs, data["meta"])
        print(report)
        with open(args.out, "w") as f:
            f.write(report)
        return
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    if args.quick:
        CFG.update(reps=3, warmup=1, w1_ns=[10, 100, 300], w1s_n=100, w2_plugins=20,
                   w3_iters=20000, w4_cycles=200, w5_runs=2)
    libs = [LIBS[n] for n in args.libs.split(",")] if args.libs else list(LIBS.values())
    wls = args.workloads.upper().split(",") if args.workloads else WORKLOADS + ["W5"]
    t_start = perf()
    import shutil
    import tempfile
    CFG["code_cache_dir"] = tempfile.mkdtemp(prefix="peers_codegen_")
    try:
        _orchestrate(args, libs, wls, t_start)
    finally:
        shutil.rmtree(CFG["code_cache_dir"], ignore_errors=True)


def _orchestrate(args, libs, wls, t_start):
    for n in sorted(set(CFG["w1_ns"] + [CFG["w1s_n"]])):
        _cached_codegen(w1_specs(n), f"w1_{n}")
    cfg_json = json.dumps(CFG)
    per_cell = {}
    for rnd in range(args.rounds):
        # rotate the library order each round so no library always lands in
        # the same time window (the host's speed drifts over minutes)
        order = libs[rnd % len(libs):] + libs[:rnd % len(libs)]
        for lib in order:
            for w in WORKLOADS:
                if w not in wls:
                    continue
                t0 = perf()
                r = run_worker(lib.name, w, cfg_json)
                per_cell.setdefault((lib.name, w), []).append(r)
                status = ("ERROR " + str(r.get("error")) if r.get("error")
                          else "skipped" if r.get("skipped") else "ok")
                print(f"[{perf() - t_start:6.1f}s] r{rnd + 1} {lib.name:20s} {w:4s} {status} "
                      f"({perf() - t0:.1f}s)", file=sys.stderr, flush=True)
    results = [merge_rounds(per_cell[(lib.name, w)]) for lib in libs for w in WORKLOADS
               if (lib.name, w) in per_cell]
    imports = None
    if "W5" in wls:
        t0 = perf()
        CFG["w5_runs"] *= args.rounds
        imports = import_times(libs, CFG["w5_runs"])
        print(f"[{perf() - t_start:6.1f}s] W5 imports ({perf() - t0:.1f}s)", file=sys.stderr)
    t0 = perf()
    for _ in range(1_000_000):
        pass
    meta_loop_ns = (perf() - t0) * 1e3
    vers = versions(libs)
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "wall_s": perf() - t_start, "nproc": nproc,
            "empty_loop_ns": meta_loop_ns, "json_out": args.json_out, "rounds": args.rounds,
            "argv": " ".join(sys.argv[1:])}
    report = build_report(results, imports, vers, libs, meta)
    print(report)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(report)
    with open(args.json_out, "w") as f:
        json.dump({"cfg": CFG, "meta": meta, "versions": vers, "imports": imports,
                   "results": results}, f, indent=1)
    print(f"\nwrote {args.out} and {args.json_out}", file=sys.stderr)


if __name__ == "__main__":
    main()
