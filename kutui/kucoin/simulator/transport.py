"""An ``httpx.AsyncBaseTransport`` that serves the in-memory exchange inside the process.

Latency is a real ``asyncio.sleep``; a "never answered" fault waits for the request's own read
timeout and then raises ``httpx.ReadTimeout``, exactly what a silent server would cause.
"""

from __future__ import annotations

import asyncio

import httpx

from kutui.kucoin.simulator.exchange import Exchange

DEFAULT_CLIENT_IP = "127.0.0.1"


class SimulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, exchange: Exchange, *, client_ip: str = DEFAULT_CLIENT_IP) -> None:
        self.exchange = exchange
        self.client_ip = client_ip

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        target = request.url.raw_path.decode("ascii")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw}
        answer = self.exchange.handle(request.method, target, headers, body, self.client_ip)
        if answer.hang:
            timeouts = request.extensions.get("timeout") or {}
            wait = timeouts.get("read") or timeouts.get("pool")
            hang = self.exchange.state.server.hang_seconds
            await asyncio.sleep(min(float(wait), hang) if wait else hang)
            raise httpx.ReadTimeout("the simulator never answered", request=request)
        if answer.delay_s > 0:
            await asyncio.sleep(answer.delay_s)
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )
