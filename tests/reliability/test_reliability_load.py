"""Under load nothing fails, and on SIGTERM the requests in flight still finish.

Both tests run real ``di-backend start`` processes on free loopback ports. The load
test sends 200 concurrent clients at the example backend's ``GET /api/example/hello``
(which itself calls the ``todo`` plugin with a service token) for three seconds and
requires every answer to be a 200. The drain test sends SIGTERM while 20 slow
requests are in flight: each must still get its 200, and the process must exit 0.
"""

from __future__ import annotations

import asyncio
import signal
import textwrap
import time
from pathlib import Path

import httpx
from e2e_support import EXAMPLES, LOOPBACK, WAIT, free_ports, running

CLIENTS = 200
CALL_TIMEOUT = 30.0  # seconds; under this load a call waits for its turn, it must not fail
SECONDS = 3.0

DRAIN_APP = """
import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.services import HttpRouterService, LoggerService

IN_FLIGHT = [0]


def _register(env: PluginRegistrationPoints) -> None:
    async def init(
        http_router: HttpRouterService = inject(core_services.http_router),
        logger: LoggerService = inject(core_services.logger),
    ) -> None:
        async def slow(request: Request) -> JSONResponse:
            IN_FLIGHT[0] += 1
            logger.info(f"slow request {IN_FLIGHT[0]} began")
            await asyncio.sleep(1.5)
            return JSONResponse({"done": True})

        http_router.use(Router([Route("/slow", slow)]))
        http_router.add_auth_policy(path="/", allow="unauthenticated")

    env.register_init(init)


default = create_backend_plugin(plugin_id="drain", register=_register)
"""


async def _hammer(base_url: str) -> tuple[int, dict[int | str, int], list[float]]:
    """Run :data:`CLIENTS` clients for :data:`SECONDS`; return count, outcomes, latencies."""
    outcomes: dict[int | str, int] = {}
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    deadline = time.monotonic() + SECONDS
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=httpx.Timeout(CALL_TIMEOUT), trust_env=False
    ) as client:

        async def worker() -> None:
            while time.monotonic() < deadline:
                began = time.monotonic()
                try:
                    status: int | str = (await client.get("/api/example/hello")).status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                latencies.append(time.monotonic() - began)
                outcomes[status] = outcomes.get(status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return sum(outcomes.values()), outcomes, latencies


def test_two_hundred_concurrent_clients_get_only_200s(tmp_path: Path) -> None:
    """Every one of the requests of 200 concurrent clients over 3 s is answered 200."""
    (port,) = free_ports(1)
    env = {
        "APP_CONFIG_backend_listen_port": str(port),
        "APP_CONFIG_backend_logger_level": "warn",
        "APP_CONFIG_example_todoTimeout": "30s",  # capacity is measured, not the timeout
    }
    with running("example", [EXAMPLES / "app-config.yaml"], port, tmp_path, env) as backend:
        backend.wait_until_ready(summary=False)
        total, outcomes, latencies = asyncio.run(_hammer(backend.base_url))
        code = backend.stop()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    report = f"{total} requests, {total / SECONDS:.0f}/s, p99 {p99 * 1000:.0f} ms: {outcomes}"
    print(report)
    assert outcomes == {200: total}, f"{report}\n{backend.output()}"
    assert total >= CLIENTS, report
    assert code == 0, backend.output()


def test_requests_in_flight_finish_when_sigterm_arrives(tmp_path: Path) -> None:
    """SIGTERM during 20 slow requests: all 20 answer 200, new ones are refused, exit 0."""
    (tmp_path / "drain_app").mkdir()
    (tmp_path / "drain_app" / "__init__.py").write_text(textwrap.dedent(DRAIN_APP))
    (port,) = free_ports(1)
    config = tmp_path / "app-config.yaml"
    config.write_text(
        f"backend:\n  listen: {{host: {LOOPBACK}, port: {port}}}\n  features: [drain_app]\n"
        "  lifecycle: {serverShutdownTimeout: 10s}\n"
    )
    with running("drain", [config], port, tmp_path, cwd=tmp_path) as backend:
        backend.wait_until_ready()

        async def scenario() -> tuple[list[int], int | str]:
            async with httpx.AsyncClient(
                base_url=backend.base_url, timeout=httpx.Timeout(WAIT), trust_env=False
            ) as client:
                slow = [asyncio.create_task(client.get("/api/drain/slow")) for _ in range(20)]
                deadline = time.monotonic() + WAIT
                while sum("slow request" in str(r.get("message")) for r in backend.records()) < 20:
                    assert time.monotonic() < deadline, backend.output()
                    await asyncio.sleep(0.02)
                backend.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)  # the server has stopped accepting by now
                try:
                    late: int | str = (
                        await httpx.AsyncClient(trust_env=False, timeout=2).get(
                            f"{backend.base_url}/api/drain/slow"
                        )
                    ).status_code
                except httpx.ConnectError:
                    late = "refused"
                answers = await asyncio.gather(*slow)
                return [answer.status_code for answer in answers], late

        statuses, late = asyncio.run(scenario())
        code = backend.process.wait(timeout=WAIT)
    assert statuses == [200] * 20, backend.output()
    assert late == "refused", backend.output()
    assert code == 0, backend.output()
