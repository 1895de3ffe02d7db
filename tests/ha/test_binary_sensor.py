"""Tests for the class binary sensors of a Smart Labeling node."""

from __future__ import annotations

from common import snapshot_entities, state_of, wait_for
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from node.testing import RunningNode


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platforms", [[Platform.BINARY_SENSOR]])
async def test_binary_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Test one binary sensor per class, on for the current label."""
    snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("platforms", [[Platform.BINARY_SENSOR]])
async def test_binary_sensors_disabled_by_default(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """Test the class binary sensors are created disabled."""
    entities = er.async_entries_for_config_entry(
        entity_registry, init_integration.entry_id
    )
    assert len(entities) == 4
    assert all(
        entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        for entity in entities
    )


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platforms", [[Platform.BINARY_SENSOR]])
async def test_binary_sensors_follow_label(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test the binary sensors switch when another light source appears."""
    assert (
        state_of(hass, "binary_sensor.smart_labeling_node_lighter_detected").state
        == STATE_ON
    )

    await node.set_source("flashlight")
    await wait_for(
        lambda: (
            state_of(
                hass, "binary_sensor.smart_labeling_node_flashlight_detected"
            ).state
            == STATE_ON
        ),
        what="the flashlight is detected",
    )

    assert (
        state_of(hass, "binary_sensor.smart_labeling_node_lighter_detected").state
        == STATE_OFF
    )
