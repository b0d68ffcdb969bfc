#!/usr/bin/env python3
"""HTTP in memory: uvicorn's h11 protocol on an in-memory transport, bare app vs di_backend.

The same two targets as ``bench/http_serving.py`` (the bare Starlette app and the
``pong`` plugin route behind di_backend's routers with a plugin service token), but
no sockets and no second process: each request's bytes are fed to the protocol
di_backend's ``HttpServer`` uses (uvicorn's h11 protocol with di_backend's limits),
the event loop runs until the response is written, and the next request follows on
the same keep-alive connection. What is measured is the server's whole path per
request (h11 parsing, uvicorn's request cycle and task, the ASGI app, the response
bytes) without the kernel's share, so the ratio is close to the socket benchmark's
and far steadier on a shared machine. Targets alternate; the best round of each is
reported, with the ratio of the two.

Usage::

    python bench/http_in_memory.py            # 3 rounds of 5 x 2000 requests per target
    python bench/http_in_memory.py --quick    # 2 rounds of 3 x 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp
from uvicorn.server import ServerState

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_serving as served

from di_backend import core_services
from di_backend.http import DefaultRootHttpRouter
from di_backend.http._protocol import ServerLimits, guarded_protocol


class MemoryTransport(asyncio.Transport):
    """A transport that keeps what the protocol writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 7007)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def per_request_us(app: ASGIApp, request: bytes, body: bytes, n: int, runs: int) -> float:
    """Best of ``runs``: microseconds per request of ``app`` behind uvicorn's h11 protocol."""
    config = uvicorn.Config(
        app, http="h11", interface="asgi3", access_log=False, log_level="error", lifespan="off"
    )
    config.load()
    protocol = guarded_protocol(ServerLimits())(
        config=config, server_state=ServerState(), app_state={}
    )
    transport = MemoryTransport()
    protocol.connection_made(transport)

    async def one() -> None:
        transport.written.clear()
        protocol.data_received(request)
        for _ in range(1000):
            cycle = protocol.cycle
            if cycle is not None and cycle.response_complete:
                return
            await asyncio.sleep(0)
        msg = f"no complete response: {transport.written!r}"
        raise RuntimeError(msg)

    for _ in range(200):
        await one()
    answer = b"".join(transport.written)
    if not answer.startswith(b"HTTP/1.1 200 ") or not answer.endswith(body):
        msg = f"unexpected answer: {answer!r}"
        raise RuntimeError(msg)
    best: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(n):
            await one()
        best.append((time.perf_counter() - started) / n * 1e6)
    protocol.connection_lost(None)
    return min(best)


async def compare(rounds: int, n: int, runs: int) -> None:
    """Alternate the two targets and print the best per-request time and the ratio."""
    holder, issuer = served._Holder(), served.UserTokenIssuer()
    backend = served._build_backend("service", holder, issuer, "starlette")
    await backend.start()
    try:
        body = json.dumps({"pong": f"plugin:{served.CALLER_PLUGIN}"}, separators=(",", ":"))
        container = backend._initializer.registry.container
        root = container.peek(core_services.root_http_router, None)
        assert isinstance(root, DefaultRootHttpRouter)
        targets: dict[str, ASGIApp] = {
            "bare": served._bare_app(body.encode()),
            "di_backend": root.asgi_entry,
        }
        request = (
            f"GET {served.PATH} HTTP/1.1\r\nHost: 127.0.0.1:7007\r\n"
            f"Authorization: Bearer {holder.token}\r\nUser-Agent: di-backend-bench\r\n\r\n"
        ).encode("ascii")
        times: dict[str, list[float]] = {name: [] for name in targets}
        for index in range(rounds):
            for name, app in targets.items():
                times[name].append(await per_request_us(app, request, body.encode(), n, runs))
            print(
                f"round {index + 1}: bare {times['bare'][-1]:.1f} us, "
                f"di_backend {times['di_backend'][-1]:.1f} us per request"
            )
    finally:
        await backend.stop()
    bare, ours = min(times["bare"]), min(times["di_backend"])
    print(
        f"\nbest of {rounds} rounds: bare {bare:.1f} us, di_backend {ours:.1f} us per request; "
        f"di_backend adds {ours - bare:.1f} us"
    )
    ratios = [b / d for b, d in zip(times["bare"], times["di_backend"], strict=True)]
    print(
        f"ratio di_backend / bare (requests per second): {bare / ours:.3f} "
        f"(per round: {', '.join(f'{r:.3f}' for r in ratios)}; median "
        f"{statistics.median(ratios):.3f}; target >= 0.9)"
    )


def main() -> None:
    """Parse the options and run the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 x 500 requests")
    args = parser.parse_args()
    if args.quick:
        asyncio.run(compare(rounds=2, n=500, runs=3))
    else:
        asyncio.run(compare(rounds=3, n=2000, runs=5))


if __name__ == "__main__":
    main()
