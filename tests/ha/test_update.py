"""Tests for the model update entity of a Smart Labeling node."""

from __future__ import annotations

from common import snapshot_entities, state_of, wait_for
from homeassistant.components.update import (
    ATTR_INSTALLED_VERSION,
    ATTR_LATEST_VERSION,
    ATTR_VERSION,
    DOMAIN as UPDATE_DOMAIN,
    SERVICE_INSTALL,
)
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.smart_labeling.const import DOMAIN
from node.testing import RunningNode

UPDATE = "update.smart_labeling_node_sensor_model"

pytestmark = pytest.mark.parametrize("platforms", [[Platform.UPDATE]])


async def test_update_entity(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Test the sensor model entity with the newest model active."""
    snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


async def test_install_then_rollback(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    snapshot: SnapshotAssertion,
    node: RunningNode,
    init_integration: MockConfigEntry,
) -> None:
    """Test an older active model offers the newest, installing it, rolling back."""
    coordinator = init_integration.runtime_data.coordinator
    await node.node.activate_model("sensors", "1.0.0")
    await wait_for(
        lambda: state_of(hass, UPDATE).state == STATE_ON,
        what="the older model is announced",
    )
    state = state_of(hass, UPDATE)
    assert state.attributes[ATTR_INSTALLED_VERSION] == "1.0.0"
    assert state.attributes[ATTR_LATEST_VERSION] == "2.0.0"

    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "update/release_notes", "entity_id": UPDATE}
    )
    result = await client.receive_json()
    assert result["result"] == snapshot

    await hass.services.async_call(
        UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: UPDATE}, blocking=True
    )
    state = state_of(hass, UPDATE)
    assert state.state == STATE_OFF
    assert state.attributes[ATTR_INSTALLED_VERSION] == "2.0.0"
    assert node.node.models.active_version("sensors") == "2.0.0"
    await wait_for(
        lambda: coordinator.data.info.models["sensors"].version == "2.0.0",
        what="the node announces its model",
    )

    await hass.services.async_call(
        DOMAIN,
        "rollback_model",
        {"config_entry_id": init_integration.entry_id, "kind": "sensors"},
        blocking=True,
    )
    state = state_of(hass, UPDATE)
    assert state.state == STATE_ON
    assert state.attributes[ATTR_INSTALLED_VERSION] == "1.0.0"
    assert node.node.models.active_version("sensors") == "1.0.0"


async def test_install_specific_version(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test installing an older version by name."""
    await hass.services.async_call(
        UPDATE_DOMAIN,
        SERVICE_INSTALL,
        {ATTR_ENTITY_ID: UPDATE, ATTR_VERSION: "1.0.0"},
        blocking=True,
    )

    assert state_of(hass, UPDATE).attributes[ATTR_INSTALLED_VERSION] == "1.0.0"
    assert node.node.models.active_version("sensors") == "1.0.0"


async def test_install_unknown_version(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test installing a version the node does not have fails clearly."""
    with pytest.raises(HomeAssistantError) as error:
        await hass.services.async_call(
            UPDATE_DOMAIN,
            SERVICE_INSTALL,
            {ATTR_ENTITY_ID: UPDATE, ATTR_VERSION: "9.9.9"},
            blocking=True,
        )

    assert error.value.translation_key == "unknown_model_version"
    assert node.node.models.active_version("sensors") == "2.0.0"
