"""The loopback HTTP server in-process: keep-alive, faults over a real socket, clean shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kutui.kucoin import signing
from kutui.kucoin.client import KucoinClient
from kutui.kucoin.diagnosis import KucoinApiError
from kutui.kucoin.simulator import Simulator
from kutui.kucoin.simulator.server import SimulatorServer


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
        await server.close()  # idempotent: the tests close it themselves too


async def test_keep_alive_reuses_one_connection(served: tuple[Simulator, SimulatorServer]) -> None:
    sim, server = served
    key = sim.add_key(1001)
    client = KucoinClient(server.url, shards=1, connections_per_shard=1)
    for _ in range(5):
        await client.api_key_info(key.credential())
    assert len(server._connections) == 1
    await client.aclose()
    await server.close()


async def test_a_silent_server_times_out_and_close_still_returns(
    served: tuple[Simulator, SimulatorServer],
) -> None:
    sim, server = served
    key = sim.add_key(2001)
    client = KucoinClient(server.url, timeout=0.2, max_retries=0)
    with pytest.raises(KucoinApiError) as caught:
        await client.api_key_info(key.credential())
    assert caught.value.status == "unreachable"
    await client.aclose()
    await asyncio.wait_for(server.close(), timeout=5)


async def test_malformed_requests_get_400(served: tuple[Simulator, SimulatorServer]) -> None:
    _, server = served
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"NONSENSE\r\n\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 400")
    writer.close()
    await server.close()


async def test_http_1_0_closes_after_the_answer(served: tuple[Simulator, SimulatorServer]) -> None:
    _, server = served
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /api/v1/timestamp HTTP/1.0\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=5)  # EOF: the server closed
    assert answer.startswith(b"HTTP/1.1 200") and b'"code":"200000"' in answer
    writer.close()
    await server.close()


def test_command_line_overrides_reach_the_server_settings() -> None:
    import argparse

    from kutui.errors import UsageError
    from kutui.kucoin.simulator.server import _apply_overrides

    sim = Simulator()
    args = argparse.Namespace(latency_ms=25.0, jitter_ms=5.0, error_rate=0.1)
    _apply_overrides(sim, args)
    assert (sim.server.latency_ms, sim.server.jitter_ms, sim.server.error_rate) == (25.0, 5.0, 0.1)
    with pytest.raises(UsageError, match="--error-rate"):
        _apply_overrides(sim, argparse.Namespace(latency_ms=None, jitter_ms=None, error_rate=1.5))
    with pytest.raises(UsageError, match="--latency-ms"):
        _apply_overrides(sim, argparse.Namespace(latency_ms=-1.0, jitter_ms=None, error_rate=None))


async def _raw(server: SimulatorServer, request: bytes) -> bytes:
    """One request over a fresh socket; the whole answer until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_a_head_over_the_limit_gets_431(served: tuple[Simulator, SimulatorServer]) -> None:
    _, server = served
    huge = b"GET /api/v1/timestamp HTTP/1.1\r\nx-pad: " + b"a" * 70_000 + b"\r\n\r\n"
    assert (await _raw(server, huge)).startswith(b"HTTP/1.1 431")
    await server.close()


async def test_an_exception_in_the_exchange_still_gets_a_500_envelope(
    served: tuple[Simulator, SimulatorServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, server = served

    def broken(*args: object) -> object:
        raise TypeError("a bug in the simulator")

    monkeypatch.setattr(sim, "handle", broken)
    answer = await _raw(
        server, b"GET /api/v1/timestamp HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 500")
    assert b'"code":"500000"' in answer and b"TypeError" in answer
    await server.close()


async def test_a_non_ascii_signature_gets_an_answer_over_the_socket(
    served: tuple[Simulator, SimulatorServer],
) -> None:
    sim, server = served
    key = sim.add_key(1001)
    passphrase = signing.passphrase_value(key.api_secret, key.passphrase, 3)
    head = (
        "GET /api/v1/user/api-key HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"
        f"KC-API-KEY: {key.api_key}\r\nKC-API-SIGN: sig\u00e9\u20ac\r\n"
        f"KC-API-TIMESTAMP: {sim.now_ms()}\r\nKC-API-PASSPHRASE: {passphrase}\r\n"
        "KC-API-KEY-VERSION: 3\r\n\r\n"
    )
    answer = await _raw(server, head.encode("utf-8"))
    assert answer.startswith(b"HTTP/1.1 401") and b'"code":"400005"' in answer
    await server.close()
