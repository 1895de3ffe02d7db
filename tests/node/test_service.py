"""The node service: driver health, recording modes and the running process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import signal
import socket
import stat
import subprocess
import sys
import urllib.request

import pytest

from node.__main__ import main
from node.app import build_hardware_for, load_identity, start_node
from node.discovery import service_info
from node.hardware.base import DriverError, DriverUnavailableError, TemperatureSensor
from node.replay import ReplayError, read_recording, replay_hardware
from node.service import Node
from node.settings import (
    NodeSettings,
    SimulationSettings,
    load_settings,
    simulated_settings,
)
from node.store import DatasetStore
from node.testing import running_node


class FlakyThermometer(TemperatureSensor):
    """A temperature sensor that fails when told to."""

    model = "flaky"

    def __init__(self) -> None:
        self.failing = False

    def read(self) -> float:
        if self.failing:
            msg = "I/O error on the 1-wire bus"
            raise DriverError(msg)
        return 21.5


class MissingThermometer(TemperatureSensor):
    """A temperature sensor whose device is not there."""

    model = "missing"

    def open(self) -> None:
        msg = "no 1-wire device: add dtoverlay=w1-gpio to config.txt"
        raise DriverUnavailableError(msg)

    def read(self) -> float:  # pragma: no cover - never read once failed
        raise AssertionError


async def test_driver_faults_show_in_health_and_readings(node: Node) -> None:
    """A failing driver turns degraded, its value leaves the reading, then recovers."""
    thermometer = FlakyThermometer()
    node.hardware.temperature = thermometer
    node.health["temperature"].model = thermometer.model
    queue = node.subscribe()

    thermometer.failing = True
    reading = await node.tick()
    assert "temperature" not in reading["values"]
    assert node.health["temperature"].status == "degraded"
    assert node.health["temperature"].error == "I/O error on the 1-wire bus"

    thermometer.failing = False
    reading = await node.tick()
    assert reading["values"]["temperature"] == 21.5
    assert node.info()["drivers"]["temperature"]["status"] == "ok"

    health_messages = []
    while not queue.empty():
        message = queue.get_nowait()
        assert message is not None
        if message["type"] == "health":
            health_messages.append(message["data"]["status"])
    assert health_messages == ["degraded", "ok"]
    node.unsubscribe(queue)


async def test_failed_light_sensor_makes_the_label_unknown(
    tmp_path: Path, models_dir: Path
) -> None:
    """A driver that cannot open is failed; without light values there is no label."""
    settings = simulated_settings(tmp_path, models_dir=models_dir, camera=False)
    hardware, scene = build_hardware_for(settings)
    hardware.temperature = MissingThermometer()
    assert hardware.light is not None
    light = hardware.light

    def broken_read() -> object:
        msg = "I2C read failed"
        raise DriverError(msg)

    light.read = broken_read  # type: ignore[method-assign,assignment]
    store = DatasetStore(tmp_path)
    node = Node(settings, hardware, store, node_id="n", scene=scene)
    await node.start()
    try:
        reading = await node.tick()
        assert reading["prediction"] is None
        assert node.debouncer.label == "unknown"
        assert node.health["temperature"].status == "failed"
        assert "dtoverlay=w1-gpio" in (node.health["temperature"].error or "")
        assert node.health["light"].status == "degraded"
    finally:
        await node.stop()
        store.close()


async def test_realtime_recording_stores_predictions(
    tmp_path: Path, models_dir: Path
) -> None:
    """With realtime recording on, every reading is stored with its prediction."""
    base = simulated_settings(tmp_path, models_dir=models_dir, camera=False)
    settings = NodeSettings(
        server=base.server,
        storage=base.storage,
        labeler=type(base.labeler)(sample_rate_hz=50.0, record_realtime=True),
        hardware=base.hardware,
        simulation=base.simulation,
    )
    hardware, scene = build_hardware_for(settings)
    store = DatasetStore(tmp_path)
    node = Node(settings, hardware, store, node_id="n", scene=scene)
    await node.start()
    try:
        for _ in range(3):
            await node.tick()
    finally:
        await node.stop()
    readings = store.readings()
    assert len(readings) >= 3
    assert {reading.labelled_by for reading in readings} == {"realtime"}
    assert all(reading.true_label is None for reading in readings)
    assert all(reading.predicted_label for reading in readings)
    assert store.sessions()[0].mode == "realtime"
    store.close()


async def test_capture_before_any_reading_is_refused(node: Node) -> None:
    """Capturing a sample before the first reading says so."""
    node.latest_reading = None
    with pytest.raises(Exception, match="no reading yet"):
        await node.capture_sample("lighter", None)


def test_identity_is_made_once_and_private(tmp_path: Path) -> None:
    """The token is created on first start with owner-only permissions, then kept."""
    first = load_identity(tmp_path)
    assert first.token_created
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600
    second = load_identity(tmp_path)
    assert not second.token_created
    assert (second.node_id, second.token) == (first.node_id, first.token)


async def test_running_node_stops_and_restarts(
    tmp_path: Path, models_dir: Path
) -> None:
    """The test helper serves a real node on loopback that can go away and come back."""
    async with running_node(tmp_path, models_dir=models_dir, camera=False) as running:
        info = await asyncio.to_thread(_get_json, f"{running.url}/api/info")
        assert info["node_id"] == running.node_id
        await running.set_source("lighter")
        port = running.port
        await running.stop()
        with pytest.raises(OSError, match="refused"):
            await asyncio.to_thread(_get_json, f"{running.url}/api/info")
        await running.restart()
        assert running.port == port
        info = await asyncio.to_thread(_get_json, f"{running.url}/api/info")
        assert info["node_id"] == running.node_id


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
        result: dict[str, object] = json.load(response)
        return result


async def test_start_node_reports_a_bound_port(
    tmp_path: Path, models_dir: Path
) -> None:
    """Port 0 picks a free port, and the URL names it."""
    server = await start_node(simulated_settings(tmp_path, models_dir=models_dir))
    try:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


def test_replay_of_an_export(tmp_path: Path) -> None:
    """An exported CSV replays its rows in order through the drivers."""
    recording = tmp_path / "session.csv"
    recording.write_text(
        "id,time,lux,full_spectrum,infrared,temperature,saturated\n"
        "1,t,10,100,50,20.5,0\n2,t,20,200,20,21.0,1\n"
    )
    hardware = replay_hardware(recording)
    assert hardware.light is not None and hardware.temperature is not None
    assert hardware.distance is None
    assert hardware.light.measures == ("lux", "infrared", "full_spectrum")
    first = hardware.light.read()
    assert (first.lux, first.infrared, hardware.temperature.read()) == (
        10.0,
        50.0,
        20.5,
    )
    second = hardware.light.read()
    assert second.saturated and second.full_spectrum == 200.0
    assert hardware.light.read().lux == 10.0

    with pytest.raises(ReplayError, match="none of the reading columns"):
        bad = tmp_path / "bad.csv"
        bad.write_text("a,b\n1,2\n")
        read_recording(bad)
    with pytest.raises(ReplayError, match="line 2"):
        bad.write_text("lux\nbright\n")
        read_recording(bad)
    with pytest.raises(ReplayError, match="no readings"):
        bad.write_text("lux\n\n")
        read_recording(bad)
    with pytest.raises(ReplayError, match="cannot read"):
        read_recording(tmp_path / "missing.csv")


async def test_replayed_node_labels_the_recording(
    tmp_path: Path, models_dir: Path
) -> None:
    """A node replaying a recording labels it like the live one."""
    recording = tmp_path / "lighter.csv"
    rows = "\n".join(f"{index},100,{70 + index % 3}" for index in range(10))
    recording.write_text("id,full_spectrum,infrared\n" + rows + "\n")
    base = simulated_settings(tmp_path / "data", models_dir=models_dir)
    settings = NodeSettings(
        server=base.server,
        storage=base.storage,
        labeler=base.labeler,
        hardware=base.hardware,
        simulation=SimulationSettings(replay=recording),
    )
    server = await start_node(settings)
    try:
        for _ in range(4):
            reading = await server.node.tick()
        assert reading["prediction"]["label"] == "lighter"
        assert server.node.info()["readings"] == ["infrared", "full_spectrum"]
    finally:
        await server.stop()


def test_zeroconf_record_carries_id_and_api_version() -> None:
    """The announcement names the node id and API version (built, never sent)."""
    record = service_info(
        {
            "node_id": "abc",
            "api_version": 1,
            "software_version": "0.1.0",
            "name": "Lab",
        },
        8765,
        ["192.0.2.10"],
    )
    assert record.type == "_smart-labeling._tcp.local."
    assert record.port == 8765
    assert record.properties[b"node_id"] == b"abc"
    assert record.properties[b"api_version"] == b"1"


def test_cli_rejects_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad option prints an error naming it and exits with status 2."""
    assert main(["--debounce", "0"]) == 2
    assert "debounce" in capsys.readouterr().err


async def test_real_drivers_off_a_pi_fail_with_a_hint(tmp_path: Path) -> None:
    """Off a Pi the real drivers fail at start with a message saying what is missing."""
    settings, _ = load_settings(
        [
            "--data-dir",
            str(tmp_path),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--models-dir",
            str(tmp_path / "models"),
            "--no-zeroconf",
            "--temperature",
            "ds18b20",
            "--camera",
            "none",
        ],
        {},
    )
    server = await start_node(settings)
    try:
        drivers = server.node.info()["drivers"]
        assert {driver["status"] for driver in drivers.values()} == {"failed"}
        assert "dtoverlay=w1-gpio" in drivers["temperature"]["error"]
        assert drivers["light"]["error"]
        reading = await server.node.tick()
        assert reading["values"] == {}
        assert reading["prediction"] is None
    finally:
        await server.stop()


def test_cli_runs_a_simulated_node_until_terminated(
    tmp_path: Path, models_dir: Path
) -> None:
    """`python -m node --simulate` serves the API, prints its token once, stops on SIGTERM."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "node",
        "--simulate",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "data"),
        "--models-dir",
        str(models_dir),
        "--no-zeroconf",
        "--sample-rate",
        "5",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        assert any(f"127.0.0.1:{port}" in line for line in lines), lines
        token = (tmp_path / "data" / "token").read_text().strip()
        assert any(token in line for line in lines)
        info = _get_json(f"http://127.0.0.1:{port}/api/info")
        assert info["simulated"] is True
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


async def test_stopping_closes_open_websockets_at_once(
    tmp_path: Path, models_dir: Path
) -> None:
    """A connected client does not hold up the node's shutdown."""
    import aiohttp

    async with running_node(tmp_path, models_dir=models_dir, camera=False) as running:
        headers = {"Authorization": f"Bearer {running.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{running.url}/api/ws", headers=headers) as socket_,
        ):
            assert (await socket_.receive_json(timeout=5))["type"] == "hello"
            assert running.node.subscribers == 1
            async with asyncio.timeout(5):
                await running.stop()
            closing = await socket_.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_a_subscriber_that_stops_reading_is_dropped(node: Node) -> None:
    """When a subscriber's queue fills up, it is told to stop and forgotten."""
    queue = node.subscribe()
    for index in range(queue.maxsize + 1):
        node.publish("reading", {"id": index})
    assert node.subscribers == 0
    messages = [queue.get_nowait() for _ in range(queue.qsize())]
    assert messages[-1] is None


async def test_testing_helpers_fail_and_repair_drivers(
    tmp_path: Path, models_dir: Path
) -> None:
    """The test node can make a driver's reads fail, or fail it for good."""
    async with running_node(tmp_path, models_dir=models_dir, camera=False) as running:
        assert running.running
        assert running.data_dir == tmp_path
        running.fail_driver("distance", "no echo")
        reading = await running.node.tick()
        assert "distance" not in reading["values"]
        assert running.node.health["distance"].status == "degraded"
        running.repair_driver("distance")
        assert "distance" in (await running.node.tick())["values"]
        running.fail_driver("light", "no answer on I2C", permanently=True)
        assert running.node.info()["drivers"]["light"]["status"] == "failed"
        await running.stop()
        with pytest.raises(RuntimeError, match="stopped"):
            _ = running.node
