"""Tests for the label change event of a Smart Labeling node."""

from __future__ import annotations

from common import snapshot_entities, state_of, wait_for
from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from node.testing import RunningNode

EVENT = "event.smart_labeling_node_label_change"


@pytest.mark.parametrize("platforms", [[Platform.EVENT]])
async def test_event_entity(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Test the event entity before any change."""
    snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("platforms", [[Platform.EVENT]])
async def test_event_fires_on_label_change(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test each change of the label fires an event with the old and new label."""
    assert state_of(hass, EVENT).state == STATE_UNKNOWN

    await node.set_source("flashlight")
    await wait_for(
        lambda: state_of(hass, EVENT).attributes.get("event_type") == "flashlight",
        what="the event fires",
    )

    state = state_of(hass, EVENT)
    assert state.state != STATE_UNKNOWN
    assert state.attributes["old"] == "lighter"
    assert state.attributes["new"] == "flashlight"
    assert state.attributes["source"] == "sensors"
    assert 0.6 <= state.attributes["confidence"] <= 1


@pytest.mark.parametrize("platforms", [[Platform.EVENT]])
async def test_event_ignores_labels_it_does_not_know(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Test a label outside the known classes fires nothing."""
    coordinator = init_integration.runtime_data.coordinator
    coordinator._async_handle_message(
        "label",
        {
            "old": "lighter",
            "new": "candle",
            "confidence": 0.9,
            "source": "sensors",
            "time": "2026-12-03T17:00:00+00:00",
        },
    )
    await hass.async_block_till_done()

    assert state_of(hass, EVENT).state == STATE_UNKNOWN
    assert state_of(hass, EVENT).attributes.get("event_type") is None
