"""The client's httpcore streams (kutui/kucoin/netstream.py) and its least-busy shard choice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpcore
import httpx
import pytest

from kutui.kucoin import netstream
from kutui.kucoin.client import KucoinClient
from kutui.kucoin.diagnosis import KucoinApiError
from kutui.kucoin.simulator import Simulator
from kutui.kucoin.simulator.server import SimulatorServer
from kutui.secret import Secret
from tests.kucoin.conftest import World


@pytest.fixture
async def served() -> AsyncIterator[tuple[Simulator, SimulatorServer]]:
    sim = Simulator(hang_seconds=30.0)
    sim.add_user(1001)
    sim.add_user(2001, sub_name="slow", master_uid=1001, fault="timeout")
    server = SimulatorServer(sim, port=0)
    await server.start()
    try:
        yield sim, server
    finally:
        await server.close()


def test_install_wraps_direct_and_proxy_pools_once() -> None:
    for transport in (
        httpx.AsyncHTTPTransport(),
        httpx.AsyncHTTPTransport(proxy="http://127.0.0.1:9"),
    ):
        assert netstream.install(transport)
        assert netstream.install(transport)  # a second install keeps one wrapper
        backend = transport._pool._network_backend
        assert isinstance(backend, netstream.ReadableCheckBackend)
        assert not isinstance(backend._inner, netstream.ReadableCheckBackend)


def test_install_leaves_an_unknown_transport_alone() -> None:
    transport = httpx.AsyncHTTPTransport()
    transport._pool = object()  # type: ignore[assignment]  # httpx's insides changed
    assert not netstream.install(transport)


async def test_readable_means_closed_by_the_server_as_in_httpcore() -> None:
    """Idle and open: not readable. The server closed it: readable, so httpcore drops it."""
    accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def on_connect(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(writer)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    backend = netstream.ReadableCheckBackend(httpcore.AnyIOBackend())
    stream = await backend.connect_tcp("127.0.0.1", port)
    peer = await accepted.get()
    try:
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("socket") is not None  # passed through
        peer.close()
        await peer.wait_closed()
        for _ in range(100):
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True
    finally:
        await stream.aclose()
        server.close()
        await server.wait_closed()
    assert stream.get_extra_info("is_readable") is True  # closed: httpcore's own answer


async def test_a_connection_the_server_closed_is_not_reused(
    served: tuple[Simulator, SimulatorServer],
) -> None:
    sim, server = served
    key = sim.add_key(1001)
    client = KucoinClient(server.url, shards=1, connections_per_shard=1, max_retries=0)
    try:
        await client.api_key_info(key.credential())
        for task in list(server._connections):
            task.cancel()  # the server drops the idle keep-alive connection (and closes it)
        await asyncio.gather(*server._connections, return_exceptions=True)
        await asyncio.sleep(0.05)
        await client.api_key_info(key.credential())  # a new connection, no error
        assert len(server._connections) == 1
    finally:
        await client.aclose()


async def test_requests_go_to_the_least_busy_shard_and_are_counted_back(
    served: tuple[Simulator, SimulatorServer],
) -> None:
    sim, server = served
    slow = sim.add_key(2001)  # never answered within the timeout below
    ok = sim.add_key(1001)
    client = KucoinClient(server.url, shards=3, connections_per_shard=1, timeout=0.5)
    client.max_retries = 0
    try:
        hanging = [asyncio.create_task(client.api_key_info(slow.credential())) for _ in range(2)]
        await asyncio.sleep(0.2)
        assert sorted(client._busy) == [0, 1, 1]  # one each, not both on one shard's queue
        await client.api_key_info(ok.credential())  # the idle shard: answered at once
        for task in hanging:
            with pytest.raises(KucoinApiError):
                await task
        assert client._busy == [0, 0, 0]  # timeouts give their shard back
        cancelled = asyncio.create_task(client.api_key_info(slow.credential()))
        await asyncio.sleep(0.1)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert client._busy == [0, 0, 0]  # and so does a cancel
    finally:
        await client.aclose()


async def test_parsed_urls_are_kept_only_without_a_query(world: World) -> None:
    """The key check's URL is parsed once; a DELETE's query (it holds a passphrase) never kept."""
    client = world.client()
    master = world.master.credential()
    created = await client.create_sub_api_key(
        master, sub_name="bot1", passphrase=Secret("Rotate-me-1"), remark="rot-1"
    )
    for _ in range(3):
        await client.api_key_info(master)
    await client.delete_sub_api_key(
        master, sub_name="bot1", api_key=created.api_key.reveal(), passphrase=created.passphrase
    )
    assert set(client._urls) == {"/api/v1/timestamp", "/api/v1/user/api-key", "/api/v1/sub/api-key"}
    assert all(not url.query for url in client._urls.values())
    assert world.sim.key(created.api_key.reveal()) is None  # the DELETE went out with its query
