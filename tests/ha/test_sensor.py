"""Tests for the sensors of a Smart Labeling node."""

from __future__ import annotations

from common import SCENE_LABEL, snapshot_entities
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platforms", [[Platform.SENSOR]])
async def test_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Test the sensors against a node holding a lighter."""
    snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)

    assert hass.states.get("sensor.smart_labeling_node_label").state == SCENE_LABEL
