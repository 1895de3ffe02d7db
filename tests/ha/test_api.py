"""Tests for the client of the node's API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import socket
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.smart_labeling.api import (
    NodeInfo,
    SmartLabelingAuthError,
    SmartLabelingClient,
    SmartLabelingConnectionError,
    SmartLabelingError,
    as_dict,
)
from custom_components.smart_labeling.entity import device_model
from node.testing import RunningNode

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[ClientSession]:
    """Return a plain HTTP session on loopback."""
    async with ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(node: RunningNode, session: ClientSession) -> SmartLabelingClient:
    """Return a client for the running node."""
    return SmartLabelingClient(node.host, node.port, node.token, session=session)


async def _fake_node(routes: dict[str, Handler]) -> TestServer:
    """Serve a few answers the real node never gives, on loopback."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def _port(server: TestServer) -> int:
    assert server.port is not None
    return server.port


async def _answer(body: str, *, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="application/json")


async def test_token_errors(node: RunningNode, session: ClientSession) -> None:
    """Test a missing and a wrong token both raise the authentication error."""
    for token, code in ((None, "missing_token"), ("wrong", "invalid_token")):
        client = SmartLabelingClient(node.host, node.port, token, session=session)
        with pytest.raises(SmartLabelingAuthError) as error:
            await client.state()
        assert error.value.code == code

    client = SmartLabelingClient(node.host, node.port, None, session=session)
    assert (await client.info()).node_id == node.node_id


async def test_node_errors_keep_their_code(client: SmartLabelingClient) -> None:
    """Test the node's error codes and messages reach the caller."""
    with pytest.raises(SmartLabelingError) as error:
        await client.start_recording("candle")
    assert error.value.code == "unknown_label"
    assert "candle" in str(error.value)

    with pytest.raises(SmartLabelingError) as error:
        await client.activate_model("sensors", "9.9.9")
    assert error.value.code == "not_found"


@pytest.mark.parametrize("camera", [False])
async def test_frame_without_camera(client: SmartLabelingClient) -> None:
    """Test asking a node without a camera for a frame."""
    with pytest.raises(SmartLabelingError) as error:
        await client.frame()
    assert error.value.code == "no_camera"


async def test_settings_one_at_a_time(
    node: RunningNode, client: SmartLabelingClient
) -> None:
    """Test changing only the debounce leaves the threshold alone."""
    settings = await client.update_settings(debounce=7)

    assert settings.debounce == 7
    assert settings.confidence_threshold == 0.6
    assert node.node.settings_state()["debounce"] == 7


async def test_nothing_listening(session: ClientSession) -> None:
    """Test a port nothing listens on raises the connection error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SmartLabelingClient("127.0.0.1", port, "token", session=session)

    with pytest.raises(SmartLabelingConnectionError):
        await client.info()
    with pytest.raises(SmartLabelingConnectionError):
        await client.listen(lambda kind, data: None)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("not json", 200, "/api/info did not answer with JSON"),
        ("[1, 2]", 200, "/api/info did not answer with a JSON object"),
        ('{"node_id": "x"}', 200, "/api/info answered with an unexpected object"),
        ("oops", 500, "the node answered with HTTP status 500"),
    ],
)
async def test_malformed_answers(
    session: ClientSession, body: str, status: int, message: str
) -> None:
    """Test answers that are not the API raise the API error, saying why."""

    async def handler(request: web.Request) -> web.Response:
        return await _answer(body, status=status)

    server = await _fake_node({"/api/info": handler})
    client = SmartLabelingClient("127.0.0.1", _port(server), "token", session=session)
    try:
        with pytest.raises(SmartLabelingError) as error:
            await client.info()
    finally:
        await server.close()

    assert not isinstance(error.value, SmartLabelingConnectionError)
    assert str(error.value).startswith(message)


async def test_timeouts(session: ClientSession) -> None:
    """Test a node that does not answer in time raises the connection error."""
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return await _answer("{}")

    server = await _fake_node({"/api/info": stall, "/api/ws": stall})
    client = SmartLabelingClient(
        "127.0.0.1", _port(server), "token", session=session, request_timeout=0.05
    )
    try:
        with pytest.raises(SmartLabelingConnectionError, match="timeout"):
            await client.info()
        with pytest.raises(SmartLabelingConnectionError, match="timeout"):
            await client.listen(lambda kind, data: None)
    finally:
        release.set()
        await server.close()


async def test_websocket_refused(session: ClientSession) -> None:
    """Test a WebSocket the server refuses for another reason than the token."""

    async def refuse(request: web.Request) -> web.Response:
        return await _answer("{}", status=403)

    server = await _fake_node({"/api/ws": refuse})
    client = SmartLabelingClient("127.0.0.1", _port(server), "token", session=session)
    try:
        with pytest.raises(SmartLabelingConnectionError, match="403"):
            await client.listen(lambda kind, data: None)
    finally:
        await server.close()


async def test_websocket_skips_what_it_cannot_read(session: ClientSession) -> None:
    """Test binary, broken and incomplete messages are skipped, good ones passed on."""

    async def stream(request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse()
        await websocket.prepare(request)
        await websocket.send_bytes(b"\x00")
        await websocket.send_str("not json")
        await websocket.send_str('{"data": {}}')
        await websocket.send_str('{"type": "reading", "data": [1]}')
        await websocket.send_str('{"type": "settings", "data": {"debounce": 2}}')
        await websocket.close()
        return websocket

    server = await _fake_node({"/api/ws": stream})
    client = SmartLabelingClient("127.0.0.1", _port(server), "token", session=session)
    received: list[tuple[str, dict[str, Any]]] = []
    try:
        with pytest.raises(SmartLabelingConnectionError, match="closed with code"):
            await client.listen(lambda kind, data: received.append((kind, data)))
    finally:
        await server.close()

    assert received == [("settings", {"debounce": 2})]
    assert not client.connected
    await client.disconnect()


async def test_listen_until_disconnected(
    node: RunningNode, client: SmartLabelingClient
) -> None:
    """Test the listener gets the hello and readings until it disconnects."""
    received: list[str] = []

    def on_message(kind: str, data: dict[str, Any]) -> None:
        received.append(kind)

    listener = asyncio.create_task(client.listen(on_message))
    while received.count("reading") < 2:
        await asyncio.sleep(0.01)
    assert client.connected

    await client.disconnect()
    with pytest.raises(SmartLabelingConnectionError):
        await listener
    assert received[0] == "hello"


async def test_data_as_plain_json(client: SmartLabelingClient) -> None:
    """Test the parsed data turns back into JSON-ready data for diagnostics."""
    info = await client.info()

    data = as_dict(info)

    assert data["node_id"] == info.node_id
    assert isinstance(data["drivers"]["light"]["since"], str)
    assert NodeInfo.from_dict(data) == info


def test_device_model() -> None:
    """Test the device model names the drivers of real hardware."""
    info = {
        "node_id": "1",
        "api_version": 1,
        "settings": {"confidence_threshold": 0.6, "debounce": 3},
        "drivers": {
            "light": {"model": "tsl2591", "status": "ok"},
            "distance": {"model": "hc-sr04", "status": "ok"},
        },
    }

    assert device_model(NodeInfo.from_dict(info)) == "hc-sr04, tsl2591"
    assert device_model(NodeInfo.from_dict({**info, "drivers": {}})) == (
        "Smart Labeling node"
    )
    assert device_model(NodeInfo.from_dict({**info, "simulated": True})) == (
        "Simulated node"
    )
