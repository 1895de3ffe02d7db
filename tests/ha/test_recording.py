"""Tests for the recording switch and the recording label select."""

from __future__ import annotations

from common import snapshot_entities, state_of, wait_for
from homeassistant.components.select import (
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.const import (
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from node.service import Recording
from node.testing import RunningNode

SWITCH = "switch.smart_labeling_node_recording"
SELECT = "select.smart_labeling_node_recording_label"

BOTH = pytest.mark.parametrize("platforms", [[Platform.SELECT, Platform.SWITCH]])


@pytest.mark.parametrize("platforms", [[Platform.SWITCH], [Platform.SELECT]])
async def test_recording_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Test the recording switch and select."""
    snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


def _recording(node: RunningNode) -> Recording:
    """Return the node's running recording, which must exist."""
    recording = node.node.recording
    assert recording is not None
    return recording


async def _call(hass: HomeAssistant, domain: str, service: str, **data: str) -> None:
    await hass.services.async_call(domain, service, data, blocking=True)


@BOTH
async def test_record_with_chosen_label(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test recording with the chosen label, switching label, and stopping."""
    await _call(
        hass, SELECT_DOMAIN, SERVICE_SELECT_OPTION, entity_id=SELECT, option="lighter"
    )
    assert state_of(hass, SELECT).state == "lighter"
    assert node.node.recording is None

    await _call(hass, Platform.SWITCH, SERVICE_TURN_ON, entity_id=SWITCH)
    await wait_for(lambda: state_of(hass, SWITCH).state == STATE_ON, what="on")
    first = _recording(node)
    assert first.label == "lighter"
    assert state_of(hass, SWITCH).attributes["label"] == "lighter"
    await wait_for(lambda: first.samples >= 2, what="samples are recorded")

    await _call(
        hass, SELECT_DOMAIN, SERVICE_SELECT_OPTION, entity_id=SELECT, option="daylight"
    )
    await wait_for(
        lambda: state_of(hass, SWITCH).attributes["label"] == "daylight",
        what="the recording goes on with the new label",
    )
    assert _recording(node).label == "daylight"
    assert _recording(node).session_id != first.session_id
    assert state_of(hass, SELECT).state == "daylight"

    await _call(hass, Platform.SWITCH, SERVICE_TURN_OFF, entity_id=SWITCH)
    await wait_for(lambda: state_of(hass, SWITCH).state == STATE_OFF, what="off")
    assert node.node.recording is None
    assert state_of(hass, SELECT).state == "daylight"


@BOTH
async def test_select_shows_running_recording(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test a recording started elsewhere shows its label in the select."""
    await node.node.start_recording("infrared", None)

    await wait_for(
        lambda: state_of(hass, SELECT).state == "infrared",
        what="the select follows the recording",
    )
    assert state_of(hass, SWITCH).state == STATE_ON
    await node.node.stop_recording()


@BOTH
async def test_switch_when_node_gone(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test switching fails with a clear error when the node cannot be reached."""
    init_integration.runtime_data.client.port = 1

    with pytest.raises(HomeAssistantError) as error:
        await _call(hass, Platform.SWITCH, SERVICE_TURN_ON, entity_id=SWITCH)

    assert error.value.translation_key == "communication_error"
    assert node.node.recording is None
