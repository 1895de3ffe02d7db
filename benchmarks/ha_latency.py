"""Time from a reading on the node to the matching state change in Home Assistant.

Starts a simulated node and a real Home Assistant, adds the node through the config
flow, then pairs every `reading` the node sends on its WebSocket with the
`state_changed` event of the illuminance sensor that shows the same value, and prints
percentiles of (event `time_fired` - reading `time`). Label changes are paired the
same way. Runs itself inside a fresh network namespace (scripts/netns-run)::

    .venv-ha/bin/python benchmarks/ha_latency.py --readings 300
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
import datetime as dt
import math
import os
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Any

# Run by path, Python puts benchmarks/ first on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from demo.ha import (
    REPO_ROOT,
    BootstrapError,
    HomeAssistantClient,
    HomeAssistantProcess,
    HomeAssistantWebSocket,
    NodeProcess,
    bootstrap,
    free_port,
    network_is_isolated,
    prepare_config_dir,
)

NETNS_RUN = REPO_ROOT / "scripts" / "netns-run"
# Set before running again in a namespace, so that a namespace that does not look
# isolated fails instead of looping.
REEXEC_MARKER = "SMART_LABELING_BENCHMARK_IN_NETNS"

SCHEDULE = "flashlight:5@25,lighter:5@20,infrared:5@15,daylight:5@80"
WARM_UP_S = 3.0
# Readings kept for pairing; Home Assistant is far less than this many behind.
PAIRING_WINDOW = 200


@dataclass(slots=True)
class Pairing:
    """Node messages waiting for their Home Assistant state change, and the results."""

    readings: dict[float, dt.datetime] = field(default_factory=dict)
    labels: dict[str, dt.datetime] = field(default_factory=dict)
    reading_latencies_ms: list[float] = field(default_factory=list)
    label_latencies_ms: list[float] = field(default_factory=list)
    readings_sent: int = 0
    states_unmatched: int = 0

    def add_reading(self, lux: float, moment: dt.datetime) -> None:
        """Remember the time of a reading by its illuminance."""
        self.readings_sent += 1
        self.readings[lux] = moment
        while len(self.readings) > PAIRING_WINDOW:
            del self.readings[next(iter(self.readings))]

    def match_reading(self, lux: float, fired: dt.datetime) -> None:
        """Pair a state change of the illuminance sensor with its reading."""
        moment = self.readings.pop(lux, None)
        if moment is None:
            self.states_unmatched += 1
            return
        self.reading_latencies_ms.append((fired - moment).total_seconds() * 1000)

    def match_label(self, label: str, fired: dt.datetime) -> None:
        """Pair a state change of the label sensor with the node's label change."""
        moment = self.labels.pop(label, None)
        if moment is not None:
            self.label_latencies_ms.append((fired - moment).total_seconds() * 1000)


def percentile(values: Sequence[float], share: float) -> float:
    """Return the value below which a share of the values lie (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def summary(name: str, values: Sequence[float]) -> str:
    """Return one line of percentiles in milliseconds."""
    if not values:
        return f"{name}: no pairs"
    return (
        f"{name}: n={len(values)}  p50={percentile(values, 0.5):.1f} ms  "
        f"p95={percentile(values, 0.95):.1f} ms  max={max(values):.1f} ms  "
        f"mean={statistics.fmean(values):.1f} ms"
    )


async def read_node(
    session: aiohttp.ClientSession,
    node: NodeProcess,
    pairing: Pairing,
    started: asyncio.Event,
) -> None:
    """Record the time of every reading and label change the node sends."""
    url = f"{node.base_url}/api/ws"
    async with session.ws_connect(url, params={"token": node.token()}) as websocket:
        async for message in websocket:
            if not started.is_set() or message.type != aiohttp.WSMsgType.TEXT:
                continue
            payload = message.json()
            data = payload["data"]
            if payload["type"] == "reading" and "lux" in data["values"]:
                moment = dt.datetime.fromisoformat(data["time"])
                pairing.add_reading(float(data["values"]["lux"]), moment)
            elif payload["type"] == "label":
                pairing.labels[data["new"]] = dt.datetime.fromisoformat(data["time"])


async def entity_ids(
    websocket: HomeAssistantWebSocket, entry_id: str
) -> dict[str, str]:
    """Return the illuminance and label sensors of the config entry."""
    found = {}
    for entity in await websocket.command("config/entity_registry/list"):
        if entity["config_entry_id"] != entry_id:
            continue
        if entity["unique_id"].endswith("_lux"):
            found["illuminance"] = entity["entity_id"]
        elif entity["unique_id"].endswith("_label") and entity["entity_id"].startswith(
            "sensor."
        ):
            found["label"] = entity["entity_id"]
    if set(found) != {"illuminance", "label"}:
        msg = f"the entry lacks an illuminance or label sensor: {found}"
        raise BootstrapError(msg)
    return found


async def follow_home_assistant(
    queue: asyncio.Queue[dict[str, Any]],
    entities: dict[str, str],
    pairing: Pairing,
    readings: int,
) -> None:
    """Pair state changes with node messages until enough readings were paired."""
    while len(pairing.reading_latencies_ms) < readings:
        event = await queue.get()
        new_state = event["data"]["new_state"]
        if new_state is None:
            continue
        fired = dt.datetime.fromisoformat(event["time_fired"])
        if event["data"]["entity_id"] == entities["illuminance"]:
            try:
                lux = float(new_state["state"])
            except ValueError:
                continue
            pairing.match_reading(lux, fired)
        elif event["data"]["entity_id"] == entities["label"]:
            pairing.match_label(new_state["state"], fired)


async def measure(arguments: argparse.Namespace, work_dir: Path) -> Pairing:
    """Run both processes and pair readings with state changes."""
    node = NodeProcess(
        work_dir / "node" / "data",
        free_port(),
        models_dir=arguments.models_dir,
        schedule=SCHEDULE,
        sample_rate_hz=arguments.sample_rate,
    )
    hass_port = free_port()
    while hass_port == node.port:
        hass_port = free_port()
    hass = HomeAssistantProcess(work_dir / "ha", hass_port)
    prepare_config_dir(hass.config_dir, hass.port)
    pairing = Pairing()
    try:
        await asyncio.gather(node.start(), hass.start())
        async with aiohttp.ClientSession() as session:
            result = await bootstrap(
                session,
                hass.base_url,
                hass.config_dir,
                node_host="127.0.0.1",
                node_port=node.port,
                node_token=node.token(),
            )
            client = HomeAssistantClient(session, result.base_url, result.access_token)
            async with client.websocket() as websocket:
                entities = await entity_ids(websocket, result.entry_id)
                queue = await websocket.subscribe_events("state_changed")
                started = asyncio.Event()
                node_reader = asyncio.create_task(
                    read_node(session, node, pairing, started)
                )
                await asyncio.sleep(WARM_UP_S)
                while not queue.empty():
                    queue.get_nowait()
                started.set()
                # Twice the time the readings take at the node's rate, and some.
                budget_s = 2 * arguments.readings / arguments.sample_rate + 30
                try:
                    async with asyncio.timeout(budget_s):
                        await follow_home_assistant(
                            queue, entities, pairing, arguments.readings
                        )
                except TimeoutError:
                    print(
                        f"only {len(pairing.reading_latencies_ms)} readings paired "
                        f"in {budget_s:.0f} s",
                        file=sys.stderr,
                    )
                node_reader.cancel()
    finally:
        await asyncio.gather(hass.stop(), node.stop())
    return pairing


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--readings", type=int, default=300, help="readings to pair (300)"
    )
    parser.add_argument(
        "--sample-rate", type=float, default=10.0, help="node readings per second (10)"
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=REPO_ROOT / "models",
        help="the node's default models (the repository's models/)",
    )
    return parser.parse_args(argv)


def run_in_namespace(argv: Sequence[str]) -> None:
    """Replace this process with itself run inside a fresh network namespace."""
    if os.environ.get(REEXEC_MARKER):
        msg = "still not in an isolated network namespace after scripts/netns-run"
        raise SystemExit(msg)
    os.environ[REEXEC_MARKER] = "1"
    command = [str(NETNS_RUN), sys.executable, str(Path(__file__).resolve()), *argv]
    os.execv(command[0], command)  # noqa: S606


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    arguments = parse_arguments(argv)
    if not network_is_isolated():
        run_in_namespace(sys.argv[1:] if argv is None else argv)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ha-latency-") as work_dir:
        try:
            pairing = asyncio.run(measure(arguments, Path(work_dir)))
        except BootstrapError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1

    print(
        f"Node reading -> Home Assistant state change, {arguments.sample_rate:g} "
        f"readings/s, {time.monotonic() - started:.0f} s in all"
    )
    print(summary("illuminance", pairing.reading_latencies_ms))
    print(summary("label", pairing.label_latencies_ms))
    print(
        f"readings sent {pairing.readings_sent}, paired "
        f"{len(pairing.reading_latencies_ms)}, state changes without a reading "
        f"{pairing.states_unmatched}"
    )
    return 0 if len(pairing.reading_latencies_ms) >= arguments.readings else 1


if __name__ == "__main__":
    sys.exit(main())
