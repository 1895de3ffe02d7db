"""Helpers shared by the Smart Labeling tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from syrupy.assertion import SnapshotAssertion
from syrupy.matchers import path_type

from node.testing import RunningNode

NODE_ID = "5f0c9a2e7b1d4c8e"

# The light source the simulated scene shows in every test, unless a test changes it.
SCENE_LABEL = "lighter"

# Entities whose state follows the live simulation, by unique id suffix.
VOLATILE_STATES = frozenset(
    {
        "confidence",
        "distance",
        "frame",
        "full_spectrum",
        "inference_time",
        "infrared",
        "lux",
        "sample_rate",
        "temperature",
        "visible",
    }
)
VOLATILE_ATTRIBUTES = (
    "attributes.access_token",
    "attributes.entity_picture",
    "attributes.probabilities",
)


def state_of(hass: HomeAssistant, entity_id: str) -> State:
    """Return the state of an entity, which must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} has no state"
    return state


def entry_state(entry: ConfigEntry[Any]) -> ConfigEntryState:
    """Return the state of a config entry as it is now."""
    return entry.state


async def wait_for(
    condition: Callable[[], bool], *, timeout: float = 5.0, what: str = "condition"
) -> None:
    """Wait until `condition` holds, letting the node and Home Assistant run."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError as err:
        msg = f"timed out waiting until {what}"
        raise AssertionError(msg) from err


def snapshot_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    config_entry_id: str,
) -> None:
    """Snapshot every entity of an entry, masking values the simulation varies."""
    entries = er.async_entries_for_config_entry(entity_registry, config_entry_id)
    assert entries
    for entry in entries:
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        assert entry.disabled_by is None, "Please enable all entities."
        state = hass.states.get(entry.entity_id)
        assert state, f"State not found for {entry.entity_id}"
        key = entry.unique_id.split("_", 1)[1]
        volatile = [*VOLATILE_ATTRIBUTES]
        if key in VOLATILE_STATES:
            volatile.append("state")
        matcher = path_type(dict.fromkeys(volatile, (str, dict)), strict=False)
        assert state == snapshot(name=f"{entry.entity_id}-state", matcher=matcher)


async def stop_node(node: RunningNode) -> None:
    """Stop the node as if it lost power, cutting its open WebSockets.

    A graceful stop waits up to a minute for connected clients to leave; a node
    that goes away does not wait for anyone.
    """
    await node.stop()
