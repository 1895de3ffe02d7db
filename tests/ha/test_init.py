"""Tests for setting up and unloading Smart Labeling, its device and repairs."""

from __future__ import annotations

from datetime import timedelta
import socket
from unittest.mock import patch

from common import NODE_ID, SCENE_LABEL, entry_state, state_of, stop_node, wait_for
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_PORT, CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.smart_labeling.const import (
    CONF_CLASS_BINARY_SENSORS,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_DEBOUNCE,
    CONF_DIAGNOSTIC_SENSORS,
    CONF_FRAME_IMAGE,
    DOMAIN,
)
from node.testing import RunningNode


@pytest.fixture
def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_load_unload(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test the entry loads, connects, and closes the connection on unload."""
    assert entry_state(init_integration) is ConfigEntryState.LOADED
    assert init_integration.runtime_data.client.connected
    assert node.node.subscribers

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()

    assert entry_state(init_integration) is ConfigEntryState.NOT_LOADED
    await wait_for(lambda: not node.node.subscribers, what="the node sees HA leave")


async def test_device(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Test one device is created for the node."""
    device = device_registry.async_get_device(identifiers={(DOMAIN, NODE_ID)})
    assert device is not None
    assert device == snapshot(exclude=props("configuration_url"))
    port = init_integration.data[CONF_PORT]
    assert device.configuration_url == f"http://127.0.0.1:{port}/api/info"


async def test_device_follows_software_version(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    node: RunningNode,
    init_integration: MockConfigEntry,
) -> None:
    """Test the device shows the new software version after a node update."""
    coordinator = init_integration.runtime_data.coordinator
    await stop_node(node)
    await wait_for(lambda: not coordinator.connected, what="the loss is noticed")

    with patch("node.service.__version__", "0.2.0"):
        await node.restart()
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
        await wait_for(lambda: coordinator.connected, what="the node is back")

    device = device_registry.async_get_device(identifiers={(DOMAIN, NODE_ID)})
    assert device is not None
    assert device.sw_version == "0.2.0"


async def test_setup_retry_when_node_down(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, closed_port: int
) -> None:
    """Test the entry retries later when the node does not answer."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PORT: closed_port}
    )

    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert entry_state(mock_config_entry) is ConfigEntryState.SETUP_RETRY


async def test_setup_rejected_token(
    hass: HomeAssistant, node: RunningNode, mock_config_entry: MockConfigEntry
) -> None:
    """Test a rejected token fails the setup and asks for a new one."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_TOKEN: "wrong"}
    )

    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert entry_state(mock_config_entry) is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_api_version_too_old(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    snapshot: SnapshotAssertion,
    node: RunningNode,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Test a node with an old API raises a repair issue until it is updated."""
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.smart_labeling.coordinator.MIN_API_VERSION", 2):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()

    assert entry_state(mock_config_entry) is ConfigEntryState.SETUP_RETRY
    issue = issue_registry.async_get_issue(DOMAIN, f"api_version_{NODE_ID}")
    assert issue == snapshot
    await hass.async_block_till_done()

    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert entry_state(mock_config_entry) is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, f"api_version_{NODE_ID}") is None
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_model_classes_mismatch(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    snapshot: SnapshotAssertion,
    node: RunningNode,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Test a model with other classes raises a repair issue until it matches."""
    mock_config_entry.add_to_hass(hass)
    with patch(
        "custom_components.smart_labeling.coordinator.CLASSES",
        ("flashlight", "lighter", "infrared", "daylight", "candle"),
    ):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()

        assert entry_state(mock_config_entry) is ConfigEntryState.LOADED
        issue = issue_registry.async_get_issue(DOMAIN, f"model_classes_{NODE_ID}")
        assert issue == snapshot

    # A model change checks the classes again
    await node.node.activate_model("sensors", "1.0.0")
    await wait_for(
        lambda: (
            issue_registry.async_get_issue(DOMAIN, f"model_classes_{NODE_ID}") is None
        ),
        what="the issue is cleared",
    )
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_options_change_settings_without_reload(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test new thresholds reach the node and the entry keeps running."""
    coordinator = init_integration.runtime_data.coordinator
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    schema = result["data_schema"]
    assert schema is not None
    suggested = {str(key): key.description["suggested_value"] for key in schema.schema}
    assert suggested[CONF_CONFIDENCE_THRESHOLD] == 0.6

    await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_CONFIDENCE_THRESHOLD: 0.8,
            CONF_DEBOUNCE: 4,
            CONF_CLASS_BINARY_SENSORS: True,
            CONF_DIAGNOSTIC_SENSORS: True,
            CONF_FRAME_IMAGE: True,
        },
    )
    await wait_for(
        lambda: coordinator.data.info.settings.confidence_threshold == 0.8,
        what="the node announces its new settings",
    )
    await hass.async_block_till_done()

    assert init_integration.runtime_data.coordinator is coordinator
    assert coordinator.data.info.settings.debounce == 4
    assert node.node.settings_state()["confidence_threshold"] == 0.8


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_options_remove_optional_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """Test switching off optional entities removes them after a reload."""
    entry_id = init_integration.entry_id
    before = {
        entity.unique_id.split("_", 1)[1]
        for entity in er.async_entries_for_config_entry(entity_registry, entry_id)
    }
    assert {"frame", "lighter_detected", "sample_rate", "light_health"} <= before

    result = await hass.config_entries.options.async_init(entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_CONFIDENCE_THRESHOLD: 0.6,
            CONF_DEBOUNCE: 3,
            CONF_CLASS_BINARY_SENSORS: False,
            CONF_DIAGNOSTIC_SENSORS: False,
            CONF_FRAME_IMAGE: False,
        },
    )
    await hass.async_block_till_done()
    await wait_for(
        lambda: (
            init_integration.state is ConfigEntryState.LOADED
            and init_integration.runtime_data.coordinator.connected
        ),
        what="the entry is reloaded",
    )

    after = {
        entity.unique_id.split("_", 1)[1]
        for entity in er.async_entries_for_config_entry(entity_registry, entry_id)
    }
    assert before - after == {
        "frame",
        "flashlight_detected",
        "lighter_detected",
        "infrared_detected",
        "daylight_detected",
        "inference_time",
        "sample_rate",
        "camera_health",
        "distance_health",
        "light_health",
        "temperature_health",
    }
    assert state_of(hass, "sensor.smart_labeling_node_label").state == SCENE_LABEL


async def test_remove_entry_forgets_issues(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    node: RunningNode,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Test removing a node removes its repair issues."""
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.smart_labeling.coordinator.MIN_API_VERSION", 2):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"api_version_{NODE_ID}")

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert issue_registry.async_get_issue(DOMAIN, f"api_version_{NODE_ID}") is None
