#!/usr/bin/env python3
"""HTTP benchmark: a plugin route behind di_backend's routers against a bare Starlette app.

Both targets answer ``GET /api/pong/ping`` with the same JSON body,
``{"pong": "<subject>"}``, served by the same :class:`di_backend.http.HttpServer`
(uvicorn on 127.0.0.1, port 0, h11, asyncio loop, no access log):

* ``di_backend``: a real backend built with ``http_service_factories``. The request
  goes through the root router, the plugin router (lifecycle gate, credentials
  barrier) and the route, which reads the caller with
  ``http_auth.credentials(request, allow=["service"])``. Auth is on: by default the
  request carries a plugin service token issued by the backend's own
  ``auth.get_plugin_request_token`` (plugin ``bench`` calling plugin ``pong``, the
  plugin-to-plugin traffic Backstage backends mostly see; an ES256 token in
  Backstage's format, verified once and then answered from the verified-token
  cache). ``--token external`` sends a static ``backend.auth.externalAccess``
  token instead.
* ``bare``: ``Starlette(routes=[Route("/api/pong/ping", ...)])`` returning the same
  body as a constant. It gets the same request bytes, ``Authorization`` header
  included.

``--token compare`` measures three di_backend targets in one run instead: the same
plugin with auth off (an ``unauthenticated`` route that reads no credentials), the
route with an ES256 plugin service token, and the route with a user token of
Backstage's format (signed by ``di_backend.testing.UserTokenIssuer``, served as
plugin ``auth``, whose JWKS the route's auth service fetches once); the goal is at
least 0.9 of auth off for both. It also reports the cost of a first verification
that fetches the JWKS (a fresh auth service each time) against one with the keys
cached.

One process serves both targets, a second process generates the load: raw asyncio
streams, HTTP/1.1 keep-alive over N connections (closed loop: each connection sends
its next request when the previous answer arrived), every response checked (status
200, exact body); any error aborts the run. On Linux the two processes are pinned
to different CPUs. The targets are measured alternately (bare, di_backend, bare,
di_backend, ...) and the medians are reported, so drift affects both alike.

Printed per phase and as medians: requests/s, p50/p99 latency (send to last body
byte; with a closed loop p50 is about connections / throughput), the server's CPU
time per request (the steadiest number when the machine is shared), how busy the
server and the generator were, and the CPU other processes used meanwhile (from
/proc/stat; phases where that exceeds 15% of a CPU are flagged).

TCP_NODELAY: ``HttpServer`` binds with ``socket.create_server`` (``proto == 0``),
so asyncio does not set TCP_NODELAY on its connections and every keep-alive
request after the first waits ~40 ms for a delayed ACK. The benchmark sets
TCP_NODELAY on both listening sockets (Linux passes it on to accepted sockets) so
that it measures the request path; ``--keep-nagle`` measures the server as it is.
Usage::

    python bench/http_serving.py                   # 3 rounds x (2 s warm-up + 5 s), ~45 s
    python bench/http_serving.py --quick           # 2 rounds x (0.5 s + 1.5 s), ~10 s
    python bench/http_serving.py --token external  # a static external-access token
    python bench/http_serving.py --token compare   # auth off vs service token vs user token
    python bench/http_serving.py --app fastapi     # a FastAPI route in a plugin vs bare FastAPI
    python bench/http_serving.py --keep-nagle      # without the TCP_NODELAY fix-up
    python bench/http_serving.py --profile 3       # then cProfile di_backend's server for 3 s
    python bench/http_serving.py --breakdown       # only: per-layer cost, in-process, no sockets

Options ``--connections``, ``--rounds``, ``--warmup`` and ``--duration`` override
the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import multiprocessing
import os
import platform
import pstats
import signal
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Literal

import starlette
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message

from di_backend import (
    Backend,
    PluginRegistrationPoints,
    core_services,
    create_backend_plugin,
    create_service_factory,
    create_specialized_backend,
    inject,
)
from di_backend.config import ObservableConfig
from di_backend.defaults._logging import DefaultRootLogger
from di_backend.http import (
    AuthService,
    CredentialsBarrier,
    DefaultAuthService,
    DefaultHttpAuthService,
    DefaultHttpRouter,
    DefaultRootHealthService,
    DefaultRootHttpRouter,
    ExternalAccessEntry,
    ExternalTokenHandler,
    HttpAuthService,
    HttpRouterService,
    HttpServer,
    JwksCache,
    KeyStore,
    LifecycleGate,
    ListenOptions,
    PluginTokenHandler,
    RootHttpRouterService,
    http_service_factories,
)
from di_backend.http import _server as http_server_module
from di_backend.http._jose import key_from_jwk, unverified_header, verify_token
from di_backend.services import BackstageCredentials, RootConfigService, RootLoggerService
from di_backend.testing import UserTokenIssuer

LOOPBACK = "127.0.0.1"
PATH = "/api/pong/ping"
OPEN_PATH = "/api/pong/open"
BENCH_USER = "user:default/bench"
CALLER_PLUGIN = "bench"
TARGET_PLUGIN = "pong"
EXTERNAL_TOKEN = "bench-static-token-0123456789abcdef"
EXTERNAL_SUBJECT = "external:bench"
SHUTDOWN_TIMEOUT = timedelta(seconds=2)
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
DISTURBED = 0.15
"""A phase is flagged when other processes used more than this share of a CPU."""

TokenKind = Literal["service", "external", "compare"]
AppKind = Literal["starlette", "fastapi"]
BARE_TARGETS = ("bare", "di_backend")
COMPARE_TARGETS = ("auth-off", "service", "user")
"""``--token compare``: one di_backend route with auth off, an ES256 service token, a user token."""
COMPARE_GOAL = 0.9


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Target:
    """One measured target: where to send which request and the exact answer expected."""

    port: int
    path: str
    token: str
    body: bytes


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What the server process reports once every target listens."""

    targets: dict[str, Target]
    versions: str
    notes: list[str] = field(default_factory=list[str])


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """One load phase: where to send what, for how long."""

    port: int
    request: bytes
    body: bytes
    connections: int
    warmup_s: float
    duration_s: float


@dataclass(slots=True)
class PhaseResult:
    """What the load generator measured in one phase.

    ``latencies_s`` holds the requests completed in the measured window;
    ``completed`` counts every request of the phase, warm-up included.
    ``client_cpu_s`` is the generator's CPU time in the window,
    ``client_phase_cpu_s`` in the whole phase.
    """

    latencies_s: list[float] = field(default_factory=list[float])
    completed: int = 0
    errors: int = 0
    first_error: str = ""
    window_s: float = 0.0
    client_cpu_s: float = 0.0
    client_phase_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        """Completed requests per second in the measured window."""
        return len(self.latencies_s) / self.window_s if self.window_s else 0.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured phase of one target, as reported.

    Attributes:
        rps: requests per second in the measured window.
        p50_ms: median latency (send to last body byte) in the window.
        p99_ms: 99th percentile latency in the window.
        server_us: server process CPU per request over the whole phase.
        server_busy: server process CPU time / wall time of the phase.
        client_busy: load generator CPU time / wall time of the measured window.
        others_busy: CPU used by everything else on the machine (other processes,
            softirq time not charged to either process) / wall time of the phase,
            from /proc/stat; NaN where that is not available.
    """

    rps: float
    p50_ms: float
    p99_ms: float
    server_us: float
    server_busy: float
    client_busy: float
    others_busy: float

    @classmethod
    def median(cls, samples: Sequence[Sample]) -> Sample:
        """The median of every field (each taken on its own)."""
        return cls(
            rps=statistics.median(s.rps for s in samples),
            p50_ms=statistics.median(s.p50_ms for s in samples),
            p99_ms=statistics.median(s.p99_ms for s in samples),
            server_us=statistics.median(s.server_us for s in samples),
            server_busy=statistics.median(s.server_busy for s in samples),
            client_busy=statistics.median(s.client_busy for s in samples),
            others_busy=statistics.median(s.others_busy for s in samples),
        )


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Return the nearest-rank ``q``-quantile (0 < q <= 1) of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def _pin(cpu: int | None) -> None:
    """Pin the calling process to ``cpu`` where the OS supports it."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def _ignore_sigint() -> None:
    """Leave Ctrl-C to the parent, which stops the children in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# ------------------------------------------------------------------------- server


def _bare_app(body: bytes, app_kind: AppKind = "starlette") -> ASGIApp:
    """The floor: a Starlette (or FastAPI) app with one route answering ``body``."""
    content = json.loads(body)
    if app_kind == "fastapi":
        from fastapi import Depends, FastAPI

        bare = FastAPI()

        async def constant_caller(request: Request) -> object:
            return content  # the same shape of dependency as credentials(), minus the auth

        async def fast_ping(caller: object = Depends(constant_caller)) -> object:
            return caller

        bare.get(PATH)(fast_ping)
        return bare

    async def ping(request: Request) -> JSONResponse:
        return JSONResponse(content)

    return Starlette(routes=[Route(PATH, ping)])


def _fastapi_pong() -> ASGIApp:
    """Plugin ``pong``'s routes as a FastAPI app: the caller through ``credentials()``."""
    from fastapi import Depends, FastAPI

    from di_backend.fastapi import credentials

    app = FastAPI()
    caller_of = credentials(allow=["service", "user"])

    async def ping(caller: object = Depends(caller_of)) -> object:
        assert isinstance(caller, BackstageCredentials)
        return {"pong": caller.principal.subject}

    app.get("/ping")(ping)
    return app


@dataclass(slots=True)
class _Holder:
    token: str = ""
    user_token: str = ""
    port: int = 0


def _build_backend(
    token_kind: TokenKind, holder: _Holder, issuer: UserTokenIssuer, app_kind: AppKind
) -> Backend:
    """A backend with plugins ``pong`` (the routes), ``bench`` (issues the tokens), ``auth``."""
    config = ObservableConfig(
        {
            "backend": {
                "listen": {"host": LOOPBACK, "port": 0},
                "lifecycle": {"serverShutdownTimeout": "2s"},
                "auth": {
                    "externalAccess": [
                        {
                            "type": "static",
                            "options": {"token": EXTERNAL_TOKEN, "subject": EXTERNAL_SUBJECT},
                        }
                    ]
                },
            }
        }
    )

    def provide_config() -> RootConfigService:
        return config

    def provide_logger() -> RootLoggerService:
        return DefaultRootLogger.create(level="error", format="json", stream=io.StringIO())

    def register_pong(env: PluginRegistrationPoints) -> None:
        async def init(
            http_router: HttpRouterService = inject(core_services.http_router),
            http_auth: HttpAuthService = inject(core_services.http_auth),
        ) -> None:
            async def ping(request: Request) -> JSONResponse:
                credentials = await http_auth.credentials(request, allow=["service", "user"])
                return JSONResponse({"pong": credentials.principal.subject})

            async def open_ping(request: Request) -> JSONResponse:
                return JSONResponse({"pong": f"plugin:{CALLER_PLUGIN}"})  # auth off

            if app_kind == "fastapi":
                http_router.use(_fastapi_pong())
            else:
                http_router.use(Router([Route("/ping", ping), Route("/open", open_ping)]))
                http_router.add_auth_policy(path="/open", allow="unauthenticated")

        env.register_init(init)

    def register_bench(env: PluginRegistrationPoints) -> None:
        async def init(
            auth: AuthService = inject(core_services.auth),
            root_router: RootHttpRouterService = inject(core_services.root_http_router),
        ) -> None:
            assert isinstance(root_router, DefaultRootHttpRouter)
            holder.port = root_router.listen_address()[1]
            holder.user_token = issuer.issue(BENCH_USER)
            if token_kind in ("service", "compare"):
                issued = await auth.get_plugin_request_token(
                    on_behalf_of=await auth.get_own_service_credentials(),
                    target_plugin_id=TARGET_PLUGIN,
                )
                holder.token = issued.token
            else:
                holder.token = EXTERNAL_TOKEN

        env.register_init(init)

    backend = create_specialized_backend(
        default_service_factories=[
            *http_service_factories,
            create_service_factory(core_services.root_config, provide_config),
            create_service_factory(core_services.root_logger, provide_logger),
        ]
    )
    backend.add(create_backend_plugin(plugin_id=TARGET_PLUGIN, register=register_pong))
    backend.add(create_backend_plugin(plugin_id=CALLER_PLUGIN, register=register_bench))
    backend.add(issuer.plugin())  # plugin 'auth': the JWKS user tokens are verified with
    return backend


def _profile_report(profiler: cProfile.Profile, requests: int, top: int = 25) -> str:
    """Per-request cost of the hottest functions: self time and cumulative time."""
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = getattr(pstats.Stats(profiler), "stats", {})  # pstats keeps its table untyped
    rows = [(key, calls, own, cumulative) for key, (_, calls, own, cumulative, _) in raw.items()]
    per = max(requests, 1)
    total = sum(own for _, _, own, _ in rows)
    lines = [
        f"cProfile of the di_backend server: {requests} requests, "
        f"{total / per * 1e6:.0f} us of profiled CPU per request (profiler overhead included)",
    ]

    def name(key: tuple[str, int, str]) -> str:
        path, line, func = key
        if path == "~":
            return func
        marker = next(
            (m for m in ("di_backend/", "starlette/", "uvicorn/", "h11/", "asyncio/") if m in path),
            None,
        )
        short = path[path.index(marker) :] if marker else Path(path).name
        return f"{short}:{line}({func})"

    for title, by_cumulative in (("self time", False), ("cumulative time", True)):
        lines.append(f"\ntop {top} by {title}:  us/request  calls/request  function")
        rows.sort(key=lambda row: row[3] if by_cumulative else row[2], reverse=True)
        for key, calls, own, cumulative in rows[:top]:
            seconds = cumulative if by_cumulative else own
            lines.append(f"  {seconds / per * 1e6:9.1f}  {calls / per:8.2f}  {name(key)}")
    return "\n".join(lines)


def _serve_commands(
    conn: Connection,
    loop: asyncio.AbstractEventLoop,
    stop: asyncio.Event,
    profiler: cProfile.Profile,
) -> None:
    """Answer the parent's commands from a thread; the event loop keeps serving."""

    def in_loop(action: Callable[[], None]) -> None:
        async def run() -> None:
            action()

        asyncio.run_coroutine_threadsafe(run(), loop).result()

    while True:
        try:
            command = conn.recv()
        except (EOFError, OSError):
            command = ("stop",)
        match command:
            case ("cpu",):
                conn.send(time.process_time())
            case ("profile", "on"):
                in_loop(profiler.enable)  # cProfile hooks the thread that enables it
                conn.send("ok")
            case ("profile", "off", int(requests)):
                in_loop(profiler.disable)
                conn.send(_profile_report(profiler, requests))
            case _:
                loop.call_soon_threadsafe(stop.set)
                return


async def _first_verifications(port: int, user_token: str, n: int = 20) -> list[str]:
    """The cost of verifying a user token with and without the auth backend's keys cached."""

    def fresh() -> DefaultAuthService:
        keys = KeyStore()
        return DefaultAuthService(
            TARGET_PLUGIN,
            keys=keys,
            plugin_tokens=PluginTokenHandler(keys, JwksCache()),
            external_tokens=ExternalTokenHandler([]),
            discovery=_LocalDiscovery(port),
        )

    cold: list[float] = []
    for _ in range(n):
        auth = fresh()
        started = time.perf_counter()
        await auth.authenticate(user_token)
        cold.append((time.perf_counter() - started) * 1e3)
        await auth._plugin_tokens.jwks.aclose()
    auth = fresh()
    await auth.authenticate(user_token)
    warm = []
    for _ in range(n):
        auth._verified.clear()  # the keys stay cached; the verified-token cache does not
        started = time.perf_counter()
        await auth.authenticate(user_token)
        warm.append((time.perf_counter() - started) * 1e3)
    await auth._plugin_tokens.jwks.aclose()
    return [
        f"first verification of a user token, fetching the auth backend's JWKS over loopback: "
        f"median {statistics.median(cold):.2f} ms over {n} (a new auth service each time)",
        f"the same with the keys cached, signature checked again: "
        f"median {statistics.median(warm):.3f} ms; a repeated token is answered from the "
        "verified-token cache",
    ]


async def _serve(conn: Connection, token_kind: TokenKind, app_kind: AppKind) -> None:
    holder = _Holder()
    issuer = UserTokenIssuer()
    subject = EXTERNAL_SUBJECT if token_kind == "external" else f"plugin:{CALLER_PLUGIN}"
    body = json.dumps({"pong": subject}, separators=(",", ":")).encode()
    user_body = json.dumps({"pong": BENCH_USER}, separators=(",", ":")).encode()
    bare = HttpServer(
        _bare_app(body, app_kind),
        ListenOptions(host=LOOPBACK, port=0),
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    backend = _build_backend(token_kind, holder, issuer, app_kind)
    stop = asyncio.Event()
    try:
        await bare.start()
        await backend.start()
        loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
        if token_kind == "compare":
            targets = {
                "auth-off": Target(holder.port, OPEN_PATH, holder.token, body),
                "service": Target(holder.port, PATH, holder.token, body),
                "user": Target(holder.port, PATH, holder.user_token, user_body),
            }
            notes = await _first_verifications(holder.port, holder.user_token)
        else:
            targets = {
                "bare": Target(bare.port, PATH, holder.token, body),
                "di_backend": Target(holder.port, PATH, holder.token, body),
            }
            notes = []
        conn.send(
            ServerInfo(
                targets=targets,
                versions=(
                    f"uvicorn {uvicorn.__version__} (h11, {loop_name} loop), "
                    f"Starlette {starlette.__version__}"
                ),
                notes=notes,
            )
        )
        commands = threading.Thread(
            target=_serve_commands,
            args=(conn, asyncio.get_running_loop(), stop, cProfile.Profile()),
            name="bench-commands",
            daemon=True,
        )
        commands.start()
        await stop.wait()
    finally:
        try:
            await backend.stop()
        finally:
            await bare.stop()


def _set_nodelay_on_listening_sockets() -> None:
    """Make both servers' connections use TCP_NODELAY, as plain uvicorn's do.

    ``HttpServer`` binds with ``socket.create_server``, whose sockets have
    ``proto == 0``; asyncio only sets TCP_NODELAY on accepted sockets whose
    ``proto`` is ``IPPROTO_TCP``. uvicorn's h11 protocol writes the response head
    and body separately, so without TCP_NODELAY every keep-alive request after the
    first waits ~40 ms for the client's delayed ACK (Nagle). Linux copies
    TCP_NODELAY from the listening socket to the accepted ones, so setting it on
    the listening socket is enough. ``--keep-nagle`` measures without this.
    """
    bind = http_server_module._bind

    def bind_nodelay(options: ListenOptions) -> socket.socket:
        sock = bind(options)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    http_server_module._bind = bind_nodelay


def server_main(
    conn: Connection, token_kind: TokenKind, cpu: int | None, keep_nagle: bool, app_kind: AppKind
) -> None:
    """Entry point of the server process."""
    _ignore_sigint()
    _pin(cpu)
    if not keep_nagle:
        _set_nodelay_on_listening_sockets()
    asyncio.run(_serve(conn, token_kind, app_kind))


# ------------------------------------------------------------------ load generator


def _parse_head(head: bytes) -> tuple[int, int]:
    """Return the status and the Content-Length of a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return status, int(value)
    msg = f"no Content-Length in response head {head!r}"
    raise ValueError(msg)


async def _load(spec: LoadSpec) -> PhaseResult:
    """Closed-loop keep-alive load over ``spec.connections`` connections."""
    result = PhaseResult()
    phase_cpu = time.process_time()
    streams = await asyncio.gather(
        *(asyncio.open_connection(LOOPBACK, spec.port) for _ in range(spec.connections))
    )
    start = time.perf_counter()
    measure_from = start + spec.warmup_s
    measure_to = measure_from + spec.duration_s
    latencies = result.latencies_s

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        perf_counter = time.perf_counter
        request, expected = spec.request, spec.body
        try:
            while (sent := perf_counter()) < measure_to:
                writer.write(request)
                status, length = _parse_head(await reader.readuntil(b"\r\n\r\n"))
                body = await reader.readexactly(length)
                done = perf_counter()
                if status != 200 or body != expected:
                    msg = f"status {status}, body {body[:200]!r}"
                    raise ValueError(msg)
                result.completed += 1
                if measure_from <= done < measure_to:
                    latencies.append(done - sent)
        except (OSError, ValueError, asyncio.IncompleteReadError) as error:
            result.errors += 1
            result.first_error = result.first_error or f"{type(error).__name__}: {error}"
        finally:
            writer.close()

    async def cpu_meter() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_from = time.process_time()
        await asyncio.sleep(max(0.0, measure_to - time.perf_counter()))
        result.client_cpu_s = time.process_time() - cpu_from

    budget = spec.warmup_s + spec.duration_s + 30.0
    await asyncio.wait_for(
        asyncio.gather(cpu_meter(), *(worker(r, w) for r, w in streams)), timeout=budget
    )
    result.window_s = spec.duration_s
    result.client_phase_cpu_s = time.process_time() - phase_cpu
    return result


def loadgen_main(conn: Connection, cpu: int | None) -> None:
    """Entry point of the load generator process: run the phases the parent sends."""
    _ignore_sigint()
    _pin(cpu)
    while True:
        try:
            spec = conn.recv()
        except (EOFError, OSError):
            return
        if not isinstance(spec, LoadSpec):
            return
        try:
            result = asyncio.run(_load(spec))
        except (OSError, TimeoutError) as error:
            result = PhaseResult(errors=1, first_error=f"{type(error).__name__}: {error}")
        try:
            conn.send(result)
        except OSError:
            return


# ----------------------------------------------------------------------- breakdown


class _NoDiscovery:
    """Discovery for the breakdown: every key is local, so it is never asked."""

    async def get_base_url(self, plugin_id: str) -> str:
        raise AssertionError(plugin_id)

    async def get_external_base_url(self, plugin_id: str) -> str:
        raise AssertionError(plugin_id)


class _LocalDiscovery:
    """Every plugin on the benchmark's own backend at ``127.0.0.1:<port>``."""

    def __init__(self, port: int) -> None:
        self._port = port

    async def get_base_url(self, plugin_id: str) -> str:
        return f"http://{LOOPBACK}:{self._port}/api/{plugin_id}"

    async def get_external_base_url(self, plugin_id: str) -> str:
        return await self.get_base_url(plugin_id)


async def _asgi_us(app: ASGIApp, headers: list[tuple[bytes, bytes]], n: int) -> float:
    """Best of 5 runs: the time ``app`` takes per request, called directly."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": (LOOPBACK, 40000),
        "server": (LOOPBACK, 7007),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    runs: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), receive, send)
        runs.append((time.perf_counter() - started) / n * 1e6)
    return min(runs)


def _timed_us(action: Callable[[], object], n: int) -> float:
    """Best of 5 runs: the time ``action`` takes per call."""
    runs: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            action()
        runs.append((time.perf_counter() - started) / n * 1e6)
    return min(runs)


async def _breakdown(n: int) -> None:
    """Cost of each layer of the di_backend path, called as ASGI apps (no sockets)."""
    keys = KeyStore()
    jwks = JwksCache()
    plugin_tokens = PluginTokenHandler(keys, jwks)
    auth = DefaultAuthService(
        TARGET_PLUGIN,
        keys=keys,
        plugin_tokens=plugin_tokens,
        external_tokens=ExternalTokenHandler(
            [ExternalAccessEntry(token=EXTERNAL_TOKEN, subject=EXTERNAL_SUBJECT)]
        ),
        discovery=_NoDiscovery(),
    )
    http_auth = DefaultHttpAuthService(auth)
    token, _ = plugin_tokens.issue(source_plugin_id=CALLER_PLUGIN, target_plugin_id=TARGET_PLUGIN)

    def headers(bearer: str) -> list[tuple[bytes, bytes]]:
        return [
            (b"host", f"{LOOPBACK}:7007".encode()),
            (b"authorization", f"Bearer {bearer}".encode()),
            (b"user-agent", b"di-backend-bench"),
        ]

    async def constant(request: Request) -> JSONResponse:
        return JSONResponse({"pong": f"plugin:{CALLER_PLUGIN}"})

    async def with_credentials(request: Request) -> JSONResponse:
        credentials = await http_auth.credentials(request, allow=["service"])
        return JSONResponse({"pong": credentials.principal.subject})

    def root(app: ASGIApp) -> DefaultRootHttpRouter:
        router = DefaultRootHttpRouter(health=DefaultRootHealthService())
        router.use(f"/api/{TARGET_PLUGIN}", app)
        return router

    def plugin(handler: Callable[[Request], object], *, barrier: bool) -> DefaultHttpRouter:
        gate = LifecycleGate(TARGET_PLUGIN)
        gate.mark_started()
        router = DefaultHttpRouter(
            TARGET_PLUGIN,
            auth=auth,
            gate=gate,
            barrier=CredentialsBarrier(TARGET_PLUGIN, http_auth, disabled=not barrier),
        )
        router.use(Router([Route("/ping", handler)]))
        return router

    rows: list[tuple[str, ASGIApp, str]] = [
        ("bare: Starlette app, constant body", Starlette(routes=[Route(PATH, constant)]), token),
        (
            "root router -> Starlette Router, constant",
            root(Router([Route("/ping", constant)])),
            token,
        ),
        (
            "root router -> plugin router (barrier off), constant",
            root(plugin(constant, barrier=False)),
            token,
        ),
        (
            "... + barrier + http_auth.credentials, external token",
            root(plugin(with_credentials, barrier=True)),
            EXTERNAL_TOKEN,
        ),
        (
            "... + barrier + http_auth.credentials, service token",
            root(plugin(with_credentials, barrier=True)),
            token,
        ),
    ]
    print(f"ASGI-level cost per request (app called directly, best of 5 x {n}):")
    for label, app, bearer in rows:
        print(f"  {await _asgi_us(app, headers(bearer), n):7.1f} us  {label}")
    kid = str((unverified_header(token) or {})["kid"])
    jwk = keys.public_jwk(kid)
    assert jwk is not None
    public_key = key_from_jwk(dict(jwk))
    assert public_key is not None
    print("pieces of the service-token check:")
    for label, action in (
        ("_jose.unverified_header (base64 + json.loads)", lambda: unverified_header(token)),
        (
            "KeyStore.public_jwk(kid) + key_from_jwk",
            lambda: key_from_jwk(dict(keys.public_jwk(kid) or {})),
        ),
        (
            "_jose.verify_token (PyJWT, ES256 verify + claims)",
            lambda: verify_token(token, public_key),
        ),
    ):
        print(f"  {_timed_us(action, n):7.1f} us  {label}")
    runs: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            await auth.authenticate(token)
        runs.append((time.perf_counter() - started) / n * 1e6)
    print(f"  {min(runs):7.1f} us  DefaultAuthService.authenticate (all of the above)")
    await jwks.aclose()


# -------------------------------------------------------------------------- parent


def _recv(conn: Connection, what: str, timeout: float) -> object:
    try:
        if not conn.poll(timeout):
            msg = f"aborting: no answer from the {what} within {timeout:.0f} s"
            raise SystemExit(msg)
        return conn.recv()
    except (EOFError, OSError):
        msg = f"aborting: the {what} process ended unexpectedly (see its traceback above)"
        raise SystemExit(msg) from None


def _machine_busy_s() -> float:
    """CPU seconds all CPUs spent busy since boot (Linux /proc/stat), NaN elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _server_cpu(conn: Connection) -> float:
    conn.send(("cpu",))
    value = _recv(conn, "server", 10.0)
    assert isinstance(value, float)
    return value


def _request(target: Target) -> bytes:
    port, token = target.port, target.token
    return (
        f"GET {target.path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nUser-Agent: di-backend-bench\r\n\r\n"
    ).encode("ascii")


def _run_phase(server: Connection, loadgen: Connection, spec: LoadSpec, target: str) -> Sample:
    """Run one phase; abort the benchmark when any request failed."""
    cpu_before = _server_cpu(server)
    machine_before = _machine_busy_s()
    wall_before = time.perf_counter()
    loadgen.send(spec)
    result = _recv(loadgen, "load generator", spec.warmup_s + spec.duration_s + 60.0)
    assert isinstance(result, PhaseResult)
    wall = time.perf_counter() - wall_before
    machine = _machine_busy_s() - machine_before
    server_cpu = _server_cpu(server) - cpu_before
    if result.errors:
        msg = f"{target}: {result.errors} failed connection(s); first: {result.first_error}"
        raise SystemExit(f"aborting: {msg}")
    if not result.latencies_s:
        raise SystemExit(f"aborting: {target}: no request completed in the measured window")
    latencies = sorted(result.latencies_s)
    return Sample(
        rps=result.rps,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        server_us=server_cpu / result.completed * 1e6,
        server_busy=server_cpu / wall,
        client_busy=result.client_cpu_s / result.window_s,
        others_busy=max(0.0, machine - server_cpu - result.client_phase_cpu_s) / wall,
    )


def _stop(process: BaseProcess, conn: Connection, message: object) -> None:
    """Ask a child to stop, then terminate and kill it if it does not."""
    if process.pid is None:
        return
    with contextlib.suppress(OSError):
        conn.send(message)
    process.join(STOP_TIMEOUT_S)
    if process.is_alive():
        process.terminate()
        process.join(STOP_TIMEOUT_S)
    if process.is_alive():
        process.kill()
        process.join()
    conn.close()


def _fmt(sample: Sample) -> str:
    return (
        f"{sample.rps:7.0f} req/s  p50 {sample.p50_ms:6.2f} ms  p99 {sample.p99_ms:6.2f} ms  "
        f"server {sample.server_us:4.0f} us CPU/req, busy {sample.server_busy:4.0%}  "
        f"client busy {sample.client_busy:4.0%}  others {sample.others_busy:4.0%}"
    )


def _summary(samples: dict[str, list[Sample]], goal: float) -> None:
    """Print the medians, the ratios and the CPU cost per request."""
    names = list(samples)
    medians = {target: Sample.median(samples[target]) for target in names}
    rounds = len(samples[names[0]])
    print(f"\nmedians over {rounds} rounds:")
    print(
        "| target | req/s | p50 ms | p99 ms | server CPU/request | server busy | client busy "
        "| others busy |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for target in names:
        m = medians[target]
        print(
            f"| {target} | {m.rps:.0f} | {m.p50_ms:.2f} | {m.p99_ms:.2f} | "
            f"{m.server_us:.0f} us | {m.server_busy:.0%} | {m.client_busy:.0%} | "
            f"{m.others_busy:.0%} |"
        )
    base = names[0]
    floor = medians[base]
    print()
    for target in names[1:]:
        ours = medians[target]
        ratio = ours.rps / floor.rps
        verdict = "meets" if ratio >= goal else "misses"
        print(
            f"ratio {target} / {base} (req/s): {ratio:.2f} ({verdict} the target of >= {goal:.2f})"
        )
        print(
            f"  by server CPU per request ({base} / {target}): "
            f"{floor.server_us / ours.server_us:.2f}; {target} adds "
            f"{ours.server_us - floor.server_us:.0f} us of CPU per request"
        )
    if min(m.server_busy for m in medians.values()) < 0.85:
        print(
            "note: the server process was not always busy (other load on the machine, or the "
            "client); the CPU-per-request ratio is the steadier number"
        )
    phases = [sample for target in names for sample in samples[target]]
    disturbed = sum(1 for sample in phases if sample.others_busy > DISTURBED)
    if disturbed:
        print(
            f"note: {disturbed} of {len(phases)} phases shared the machine with other load "
            f"(others > {DISTURBED:.0%} of a CPU); rerun on an idle machine for clean numbers"
        )
    if max(m.client_busy for m in medians.values()) > 0.9:
        print("warning: the load generator was CPU-bound; the numbers may be client-limited")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run of ~10 s")
    parser.add_argument(
        "--token",
        choices=["service", "external", "compare"],
        default="service",
        help=(
            "plugin service token (default) or static external-access token, against bare "
            "Starlette; 'compare': one di_backend route with auth off, an ES256 service token "
            "and a user token"
        ),
    )
    parser.add_argument(
        "--app",
        choices=["starlette", "fastapi"],
        default="starlette",
        help=(
            "the route as a Starlette router (default) or a FastAPI app reading "
            "credentials() (needs di_backend[fastapi]), against the same kind served bare"
        ),
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, help="rounds of (bare, di_backend)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per phase")
    parser.add_argument("--duration", type=float, help="measured seconds per phase")
    parser.add_argument(
        "--profile",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="afterwards, cProfile the di_backend server under load for SECONDS",
    )
    parser.add_argument(
        "--keep-nagle",
        action="store_true",
        help="serve as HttpServer does today, without TCP_NODELAY (~40 ms per request)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="only time each layer of the di_backend path in-process (no sockets) and exit",
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    args.duration = args.duration if args.duration is not None else (1.5 if args.quick else 5.0)
    return args


def _cpus(no_pin: bool) -> tuple[int | None, int | None]:
    """CPUs for the server and the load generator, or none when pinning is off."""
    if no_pin or not hasattr(os, "sched_getaffinity"):
        return None, None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return available[0], available[1]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print req/s, latency and the di_backend / bare ratio."""
    args = _parse_args(argv)
    if args.breakdown:
        asyncio.run(_breakdown(1000 if args.quick else 4000))
        return
    token_kind: TokenKind = args.token
    server_cpu_id, loadgen_cpu_id = _cpus(args.no_pin)
    context = multiprocessing.get_context("spawn")
    server_conn, server_child = context.Pipe()
    loadgen_conn, loadgen_child = context.Pipe()
    server = context.Process(
        target=server_main,
        args=(server_child, token_kind, server_cpu_id, args.keep_nagle, args.app),
        name="bench-server",
    )
    loadgen = context.Process(
        target=loadgen_main, args=(loadgen_child, loadgen_cpu_id), name="bench-loadgen"
    )
    names = COMPARE_TARGETS if token_kind == "compare" else BARE_TARGETS
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    began = time.perf_counter()
    # SIGTERM unwinds like Ctrl-C, so the finally block below stops the children.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        server.start()
        server_child.close()
        loadgen.start()
        loadgen_child.close()
        info = _recv(server_conn, "server", STARTUP_TIMEOUT_S)
        assert isinstance(info, ServerInfo)
        token_label = {
            "service": "plugin service token (ES256, issued by auth.get_plugin_request_token)",
            "external": "static external-access token (backend.auth.externalAccess)",
            "compare": (
                "auth off (an unauthenticated route) vs an ES256 plugin service token vs a "
                "user token of the auth backend (ES256, keys fetched once from its JWKS)"
            ),
        }[token_kind]
        pinned = (
            f"server on CPU {server_cpu_id}, load generator on CPU {loadgen_cpu_id}"
            if server_cpu_id is not None
            else "not pinned"
        )
        for name, target in info.targets.items():
            print(
                f"di_backend HTTP benchmark [{name}]: GET {target.path} -> {target.body.decode()}"
            )
        print(f"  auth: {token_label}; routes: {args.app}")
        print(
            f"  Python {platform.python_version()}, {os.cpu_count()} CPUs ({pinned}), "
            f"{info.versions}"
        )
        print(
            f"  {args.connections} keep-alive connections, {args.rounds} rounds x "
            f"({args.warmup:g} s warm-up + {args.duration:g} s measured) per target\n"
        )
        for note in info.notes:
            print(f"  {note}")
        for round_number in range(1, args.rounds + 1):
            for target in names:
                spec = LoadSpec(
                    port=info.targets[target].port,
                    request=_request(info.targets[target]),
                    body=info.targets[target].body,
                    connections=args.connections,
                    warmup_s=args.warmup,
                    duration_s=args.duration,
                )
                sample = _run_phase(server_conn, loadgen_conn, spec, target)
                samples[target].append(sample)
                print(f"round {round_number}  {target:<10}  {_fmt(sample)}", flush=True)
        goal = COMPARE_GOAL  # issue 15: at least 0.9 of bare (0.8 before round two)
        _summary(samples, goal)

        if args.profile > 0:
            profiled = info.targets[names[-1]]
            spec = LoadSpec(
                port=profiled.port,
                request=_request(profiled),
                body=profiled.body,
                connections=args.connections,
                warmup_s=0.0,
                duration_s=args.profile,
            )
            server_conn.send(("profile", "on"))
            _recv(server_conn, "server", 10.0)
            loadgen_conn.send(spec)
            result = _recv(loadgen_conn, "load generator", args.profile + 60.0)
            assert isinstance(result, PhaseResult)
            server_conn.send(("profile", "off", result.completed))
            report = _recv(server_conn, "server", 30.0)
            if result.errors:
                raise SystemExit(f"aborting: profiled run failed: {result.first_error}")
            print(f"\n{report}")
        print(f"\ntotal time {time.perf_counter() - began:.1f} s")
    finally:
        _stop(loadgen, loadgen_conn, None)
        _stop(server, server_conn, ("stop",))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted")
