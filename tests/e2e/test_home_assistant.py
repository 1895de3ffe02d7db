"""A real node and a real Home Assistant, in a network namespace of their own.

Outside such a namespace the test runs itself again through scripts/netns-run, so
that no packet, multicast included, leaves the machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import csv
from dataclasses import dataclass, field
import io
import logging
import os
from pathlib import Path
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest

from demo.ha import (
    DOMAIN,
    REPO_ROOT,
    HomeAssistantClient,
    HomeAssistantProcess,
    HomeAssistantWebSocket,
    ManagedProcess,
    NodeProcess,
    bootstrap,
    free_port,
    network_is_isolated,
    prepare_config_dir,
)
from node.const import CLASSES

_LOGGER = logging.getLogger(__name__)

pytestmark = pytest.mark.e2e

NETNS_RUN = REPO_ROOT / "scripts" / "netns-run"
MODELS_DIR = Path(os.environ.get("SMART_LABELING_E2E_MODELS", REPO_ROOT / "models"))

# Six seconds per source: a round of all four takes 24 s.
SCHEDULE = "flashlight:6@25,lighter:6@20,infrared:6@15,daylight:6@80"
SAMPLE_RATE_HZ = 4.0

LABELS_WITHIN_S = 60.0
UNAVAILABLE_WITHIN_S = 5.0
RECOVERY_WITHIN_S = 30.0
# Home Assistant shows a node's label change a moment after the node sends it.
LABEL_MATCH_WINDOW_S = 1.5
ISOLATED_RUN_TIMEOUT_S = 280

UNAVAILABLE = "unavailable"


@dataclass(slots=True)
class StateLog:
    """The states Home Assistant reported, as they changed."""

    states: dict[str, str] = field(default_factory=dict)
    changes: list[tuple[float, str, str, dict[str, Any]]] = field(default_factory=list)

    def record(self, event: dict[str, Any]) -> None:
        """Record one state_changed event."""
        entity_id = event["data"]["entity_id"]
        new_state = event["data"]["new_state"]
        if new_state is None:
            return
        self.states[entity_id] = new_state["state"]
        self.changes.append(
            (time.monotonic(), entity_id, new_state["state"], new_state["attributes"])
        )

    def values(self, entity_id: str, since: float = 0.0) -> list[str]:
        """Return the states one entity changed to since a moment."""
        return [
            state
            for moment, changed, state, _ in self.changes
            if changed == entity_id and moment >= since
        ]

    def event_types(self, entity_id: str, since: float = 0.0) -> list[str]:
        """Return the event types an event entity fired since a moment."""
        return [
            attributes["event_type"]
            for moment, changed, state, attributes in self.changes
            if changed == entity_id
            and moment >= since
            and state != UNAVAILABLE
            and attributes.get("event_type") is not None
        ]


async def watch_until(
    queue: asyncio.Queue[dict[str, Any]],
    log: StateLog,
    condition: Callable[[], bool],
    *,
    within_s: float,
    what: str,
    since: float | None = None,
) -> float:
    """Record state changes until a condition holds; return how long that took."""
    started = time.monotonic() if since is None else since
    try:
        async with asyncio.timeout_at(_loop_time_of(started) + within_s):
            while not condition():
                log.record(await queue.get())
    except TimeoutError:
        pytest.fail(f"{what} did not happen within {within_s:.0f} s")
    return time.monotonic() - started


def _loop_time_of(moment: float) -> float:
    """Return the event loop's clock reading at a time.monotonic() moment."""
    return asyncio.get_running_loop().time() - (time.monotonic() - moment)


async def record_node_labels(
    session: aiohttp.ClientSession,
    node: NodeProcess,
    labels: list[tuple[float, str]],
) -> None:
    """Append every debounced label the node announces on its WebSocket."""
    url = f"{node.base_url}/api/ws"
    async with session.ws_connect(url, params={"token": node.token()}) as websocket:
        async for message in websocket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            payload = message.json()
            if payload["type"] == "hello":
                label = payload["data"]["state"]["label"]["label"]
                labels.append((time.monotonic(), label))
            elif payload["type"] == "label":
                labels.append((time.monotonic(), payload["data"]["new"]))


def node_labels_around(labels: list[tuple[float, str]], moment: float) -> set[str]:
    """Return the labels the node had in the match window before and after a moment."""
    before = [label for at, label in labels if at <= moment - LABEL_MATCH_WINDOW_S]
    during = {
        label
        for at, label in labels
        if moment - LABEL_MATCH_WINDOW_S < at <= moment + LABEL_MATCH_WINDOW_S
    }
    return during | set(before[-1:])


async def node_request(
    session: aiohttp.ClientSession, node: NodeProcess, path: str
) -> aiohttp.ClientResponse:
    """Send an authenticated GET to the node and return the read response."""
    headers = {"Authorization": f"Bearer {node.token()}"}
    async with session.get(f"{node.base_url}{path}", headers=headers) as response:
        await response.read()
        assert response.status == 200, f"GET {path}: {response.status}"
        return response


async def entities_of_entry(
    websocket: HomeAssistantWebSocket, entry_id: str
) -> list[dict[str, Any]]:
    """Return the enabled registry entries of one config entry."""
    registry = await websocket.command("config/entity_registry/list")
    return [
        entity
        for entity in registry
        if entity["config_entry_id"] == entry_id and entity["disabled_by"] is None
    ]


def entity_with_key(entities: list[dict[str, Any]], domain: str, key: str) -> str:
    """Return the entity id of the entity of a domain that a description key made."""
    for entity in entities:
        if entity["entity_id"].startswith(f"{domain}.") and (
            entity["translation_key"] == key or entity["unique_id"].endswith(f"_{key}")
        ):
            return str(entity["entity_id"])
    found = sorted(entity["entity_id"] for entity in entities)
    pytest.fail(f"no {domain} entity for {key!r} among {found}")


def print_output_tails(*processes: ManagedProcess) -> None:
    """Print the end of each process's output, for a failing test's report."""
    for process in processes:
        _LOGGER.error(
            "Last output of %s (%s):\n%s",
            process.name,
            process.output_path,
            process.output_tail(60),
        )


async def run_scenario(tmp_path: Path) -> None:
    """Start both processes, add the node to Home Assistant and check what it shows."""
    node_port = free_port()
    hass_port = free_port()
    while hass_port == node_port:
        hass_port = free_port()
    node_data = tmp_path / "node" / "data"
    node = NodeProcess(
        node_data,
        node_port,
        models_dir=MODELS_DIR,
        schedule=SCHEDULE,
        sample_rate_hz=SAMPLE_RATE_HZ,
    )
    restarted_node = NodeProcess(
        node_data,
        node_port,
        models_dir=MODELS_DIR,
        schedule=SCHEDULE,
        sample_rate_hz=SAMPLE_RATE_HZ,
    )
    hass = HomeAssistantProcess(tmp_path / "ha", hass_port)
    prepare_config_dir(hass.config_dir, hass.port)
    node_labels: list[tuple[float, str]] = []
    label_recorder: asyncio.Task[None] | None = None
    try:
        started = time.monotonic()
        await asyncio.gather(node.start(), hass.start())
        _LOGGER.info(
            "Node and Home Assistant answered after %.1f s", time.monotonic() - started
        )

        async with aiohttp.ClientSession() as session:
            info = await (await node_request(session, node, "/api/info")).json()
            assert info["models"]["sensors"] is not None, (
                f"the node found no sensors model in {MODELS_DIR}; "
                "build the default models first (make models)"
            )
            label_recorder = asyncio.create_task(
                record_node_labels(session, node, node_labels)
            )

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
                await check_home_assistant(
                    client, websocket, session, node, restarted_node, node_labels
                )
    except BaseException:
        print_output_tails(hass, node, restarted_node)
        raise
    finally:
        if label_recorder is not None:
            label_recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await label_recorder
        await asyncio.gather(hass.stop(), node.stop(), restarted_node.stop())


async def check_home_assistant(
    client: HomeAssistantClient,
    websocket: HomeAssistantWebSocket,
    session: aiohttp.ClientSession,
    node: NodeProcess,
    restarted_node: NodeProcess,
    node_labels: list[tuple[float, str]],
) -> None:
    """Check labels, events, the capture action, and a node that dies and returns."""
    entries = await client.request(
        "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
    )
    assert [entry["state"] for entry in entries] == ["loaded"]
    entry_id = entries[0]["entry_id"]
    entities = await entities_of_entry(websocket, entry_id)
    label_entity = entity_with_key(entities, "sensor", "label")
    event_entity = entity_with_key(entities, "event", "label_change")

    queue = await websocket.subscribe_events("state_changed")
    log = StateLog()
    for state in await client.request("GET", "/api/states"):
        log.states[state["entity_id"]] = state["state"]

    # The label follows the simulated scene through every class, and each change
    # fires the event entity with the new label as its event type.
    watch_start = time.monotonic()

    def every_class_labelled_and_fired() -> bool:
        labels = set(log.values(label_entity, watch_start)) - {UNAVAILABLE}
        fired = set(log.event_types(event_entity, watch_start))
        return set(CLASSES) <= labels <= fired

    took = await watch_until(
        queue,
        log,
        every_class_labelled_and_fired,
        within_s=LABELS_WITHIN_S,
        what=f"{label_entity} taking each of {CLASSES} with an event per change",
    )
    _LOGGER.info("Every class labelled in Home Assistant after %.1f s", took)
    for moment, entity_id, state, _ in log.changes:
        if entity_id == label_entity and state != UNAVAILABLE:
            around = node_labels_around(node_labels, moment)
            assert state in around, (
                f"{label_entity} showed {state!r} while the node's label was {around}"
            )

    # The capture action stores a labelled sample on the node.
    answer = await client.request(
        "POST",
        f"/api/services/{DOMAIN}/capture_sample?return_response",
        json_body={
            "config_entry_id": entry_id,
            "label": "daylight",
            "note": "end-to-end test",
        },
    )
    sample = answer["service_response"]
    assert sample["label"] == "daylight"
    export = await node_request(session, node, "/api/export?format=csv")
    rows = list(csv.DictReader(io.StringIO(await export.text())))
    stored = [row for row in rows if row["id"] == str(sample["sample_id"])]
    assert len(stored) == 1, f"sample {sample['sample_id']} not in the node's export"
    assert stored[0]["true_label"] == "daylight"

    # A node that dies makes every entity unavailable, and a restart brings them back.
    watched = [
        entity["entity_id"]
        for entity in await entities_of_entry(websocket, entry_id)
        if log.states.get(entity["entity_id"], UNAVAILABLE) != UNAVAILABLE
    ]
    assert label_entity in watched
    killed = time.monotonic()
    await node.kill()
    took = await watch_until(
        queue,
        log,
        lambda: all(log.states[entity] == UNAVAILABLE for entity in watched),
        within_s=UNAVAILABLE_WITHIN_S,
        what=f"all of {watched} becoming unavailable after SIGKILL of the node",
        since=killed,
    )
    _LOGGER.info("%d entities unavailable %.1f s after SIGKILL", len(watched), took)

    restarted = time.monotonic()
    await restarted_node.start()
    answered = time.monotonic()
    took = await watch_until(
        queue,
        log,
        lambda: all(log.states[entity] != UNAVAILABLE for entity in watched),
        within_s=RECOVERY_WITHIN_S,
        what=f"all of {watched} available again after the node restarted",
        since=restarted,
    )
    _LOGGER.info(
        "Entities available again %.1f s after the restart (the node answered "
        "after %.1f s)",
        took,
        answered - restarted,
    )


def run_isolated(test_id: str, tmp_path: Path) -> None:
    """Run one test of this module again inside a fresh network namespace."""
    probe = subprocess.run(
        [str(NETNS_RUN), "true"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"no network namespace can be made here: {probe.stderr.strip()}")
    isolated = subprocess.run(
        [
            str(NETNS_RUN),
            sys.executable,
            "-m",
            "pytest",
            f"{Path(__file__).relative_to(REPO_ROOT)}::{test_id}",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "log_cli=true",
            "--log-cli-level=INFO",
            f"--basetemp={tmp_path / 'isolated'}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=ISOLATED_RUN_TIMEOUT_S,
        check=False,
    )
    _LOGGER.info("Run in a network namespace:\n%s", isolated.stdout[-20000:])
    assert isolated.returncode == 0, (
        f"the run in a network namespace failed:\n{isolated.stdout[-8000:]}\n"
        f"{isolated.stderr[-4000:]}"
    )


def test_home_assistant_follows_the_node(tmp_path: Path) -> None:
    """Home Assistant shows a real node's labels, events, samples and outages."""
    if not network_is_isolated():
        run_isolated("test_home_assistant_follows_the_node", tmp_path)
        return
    asyncio.run(run_scenario(tmp_path))


def test_only_loopback_and_a_dead_end_inside_the_namespace() -> None:
    """scripts/netns-run leaves the command no interface that leads out."""
    completed = subprocess.run(
        [str(NETNS_RUN), "ip", "-o", "route", "show", "table", "all"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if completed.returncode != 0 and "Operation not permitted" in completed.stderr:
        pytest.skip(f"no network namespace can be made here: {completed.stderr}")
    assert completed.returncode == 0, completed.stderr
    devices = {
        line.split(" dev ")[1].split()[0]
        for line in completed.stdout.splitlines()
        if " dev " in line
    }
    assert devices <= {"lo", "nowhere0", "nowhere1"}
    assert not any(line.startswith("default") for line in completed.stdout.splitlines())
