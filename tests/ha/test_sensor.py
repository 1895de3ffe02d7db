"""Tests for the sensors of a Smart Labeling node."""

from __future__ import annotations

from common import SCENE_LABEL, snapshot_entities, state_of, wait_for
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from node.testing import RunningNode

PREFIX = "sensor.smart_labeling_node_"
READING_SENSORS = {
    f"{PREFIX}illuminance": "lux",
    f"{PREFIX}visible_light": "visible",
    f"{PREFIX}infrared_light": "infrared",
    f"{PREFIX}full_spectrum_light": "full_spectrum",
    f"{PREFIX}temperature": "temperature",
    f"{PREFIX}distance": "distance",
}
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

    assert state_of(hass, f"{PREFIX}label").state == SCENE_LABEL


async def test_readings_match_the_node(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test each reading sensor shows the value of the latest reading."""
    reading = init_integration.runtime_data.coordinator.data.state.reading
    assert reading is not None

    for entity_id, key in READING_SENSORS.items():
        assert float(state_of(hass, entity_id).state) == reading.values[key]
    confidence = init_integration.runtime_data.coordinator.data.state.label.confidence
    assert float(state_of(hass, f"{PREFIX}confidence").state) == round(
        confidence * 100, 1
    )
    label = state_of(hass, f"{PREFIX}label")
    assert label.attributes["probabilities"] == reading.prediction.probabilities
    assert max(label.attributes["probabilities"].values()) > 0.6


async def test_sensor_without_its_value_is_unavailable(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test a reading without a distance makes that sensor unavailable, not wrong."""
    node.fail_driver("distance", "no echo")
    await wait_for(
        lambda: state_of(hass, f"{PREFIX}distance").state == STATE_UNAVAILABLE,
        what="the distance sensor turns unavailable",
    )
    health = state_of(hass, f"{PREFIX}distance_sensor_health")
    assert health.state == "degraded"
    assert health.attributes["error"] == "no echo"
    assert state_of(hass, f"{PREFIX}temperature").state != STATE_UNAVAILABLE

    node.repair_driver("distance")
    await wait_for(
        lambda: state_of(hass, f"{PREFIX}distance").state != STATE_UNAVAILABLE,
        what="the distance sensor is back",
    )
    assert state_of(hass, f"{PREFIX}distance_sensor_health").state == "ok"


async def test_failed_driver_makes_its_sensors_unavailable(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test a light sensor that failed turns its sensors unavailable."""
    node.fail_driver("light", "no answer on I2C", permanently=True)

    await wait_for(
        lambda: state_of(hass, f"{PREFIX}light_sensor_health").state == "failed",
        what="the failure is announced",
    )
    assert state_of(hass, f"{PREFIX}illuminance").state == STATE_UNAVAILABLE
    assert state_of(hass, f"{PREFIX}infrared_light").state == STATE_UNAVAILABLE
    assert state_of(hass, f"{PREFIX}temperature").state != STATE_UNAVAILABLE


@pytest.mark.parametrize("with_models", [False])
async def test_node_without_model(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """Test a node without a model: readings but no prediction, and no update."""
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(
        lambda: coordinator.data.state.reading is not None, what="a reading arrives"
    )

    label = state_of(hass, f"{PREFIX}label")
    assert label.state == "unknown"
    assert label.attributes["probabilities"] is None
    assert label.attributes["model_version"] is None
    assert state_of(hass, f"{PREFIX}illuminance").state != STATE_UNAVAILABLE
    assert not any(
        entity.domain == "update"
        for entity in er.async_entries_for_config_entry(
            entity_registry, init_integration.entry_id
        )
    )
