"""Tests for the actions of Smart Labeling."""

from __future__ import annotations

import secrets
from typing import Any

from common import state_of, stop_node, wait_for
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_labeling.const import DOMAIN
from node.testing import RunningNode


async def _call(
    hass: HomeAssistant, service: str, *, return_response: bool = False, **data: Any
) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=return_response
    )


async def test_capture_sample(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test a sample is stored with its true label, and described back."""
    response = await _call(
        hass,
        "capture_sample",
        return_response=True,
        config_entry_id=init_integration.entry_id,
        label="daylight",
        note="window, noon",
    )

    assert set(response) == {"sample_id", "session_id", "label", "frame"}
    assert response["label"] == "daylight"
    assert response["frame"] is (node.node.frame_jpeg is not None)
    assert isinstance(response["sample_id"], int)


async def test_start_and_stop_recording(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test a recording for a while, then stopped early."""
    await _call(
        hass,
        "start_recording",
        config_entry_id=init_integration.entry_id,
        label="infrared",
        duration={"minutes": 5},
    )
    recording = node.node.recording
    assert recording is not None
    assert recording.label == "infrared"
    assert recording.until is not None
    await wait_for(
        lambda: init_integration.runtime_data.coordinator.data.state.recording.active,
        what="the node announces the recording",
    )
    assert state_of(hass, "select.smart_labeling_node_recording_label").state == (
        "infrared"
    )

    await _call(hass, "stop_recording", config_entry_id=init_integration.entry_id)
    assert node.node.recording is None


async def test_recording_conflict(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test starting a recording with another label than the running one."""
    await node.node.start_recording("lighter", None)

    with pytest.raises(ServiceValidationError) as error:
        await _call(
            hass,
            "start_recording",
            config_entry_id=init_integration.entry_id,
            label="daylight",
        )

    assert error.value.translation_key == "request_rejected"
    assert "already recording lighter" in str(error.value.translation_placeholders)
    recording = node.node.recording
    assert recording is not None
    assert recording.label == "lighter"
    await node.node.stop_recording()


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("capture_sample", {"label": "candle"}),
        ("start_recording", {"label": "candle"}),
    ],
)
async def test_invalid_label(
    hass: HomeAssistant,
    node: RunningNode,
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
) -> None:
    """Test a label that is not one of the node's classes is refused."""
    with pytest.raises(ServiceValidationError) as error:
        await _call(hass, service, config_entry_id=init_integration.entry_id, **data)

    assert error.value.translation_key == "invalid_label"
    assert error.value.translation_placeholders == {
        "label": "candle",
        "labels": "flashlight, lighter, infrared, daylight",
    }
    assert node.node.recording is None


@pytest.mark.parametrize("duration", [{"seconds": 0}, {"days": 2}])
async def test_invalid_duration(
    hass: HomeAssistant,
    node: RunningNode,
    init_integration: MockConfigEntry,
    duration: dict[str, int],
) -> None:
    """Test a recording shorter than a second or longer than a day is refused."""
    with pytest.raises(ServiceValidationError) as error:
        await _call(
            hass,
            "start_recording",
            config_entry_id=init_integration.entry_id,
            label="lighter",
            duration=duration,
        )

    assert error.value.translation_key == "invalid_duration"
    assert node.node.recording is None


async def test_unknown_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Test an entry id that is not a Smart Labeling entry is refused."""
    with pytest.raises(ServiceValidationError) as error:
        await _call(hass, "stop_recording", config_entry_id="no-such-entry")

    assert error.value.translation_key == "entry_not_found"


async def test_entry_not_loaded(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test an entry that is not loaded is refused."""
    await hass.config_entries.async_unload(init_integration.entry_id)

    with pytest.raises(ServiceValidationError) as error:
        await _call(hass, "stop_recording", config_entry_id=init_integration.entry_id)

    assert error.value.translation_key == "entry_not_loaded"


async def test_node_unreachable(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test an action fails with a communication error while the node is gone."""
    await stop_node(node)

    with pytest.raises(HomeAssistantError) as error:
        await _call(
            hass,
            "capture_sample",
            config_entry_id=init_integration.entry_id,
            label="lighter",
        )

    assert error.value.translation_key == "communication_error"


async def test_token_rejected(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test an action with a rejected token asks for reauthentication."""
    other_token = secrets.token_urlsafe(16)
    hass.config_entries.async_update_entry(
        init_integration, data={**init_integration.data, CONF_TOKEN: other_token}
    )
    init_integration.runtime_data.client.token = other_token

    with pytest.raises(HomeAssistantError) as error:
        await _call(
            hass,
            "rollback_model",
            config_entry_id=init_integration.entry_id,
            kind="sensors",
        )

    assert error.value.translation_key == "invalid_auth"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert node.node.models.active_version("sensors") == "2.0.0"


async def test_rollback_without_previous_model(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test rolling back a kind with no earlier model reports what the node said."""
    with pytest.raises(HomeAssistantError) as error:
        await _call(
            hass,
            "rollback_model",
            config_entry_id=init_integration.entry_id,
            kind="image",
        )

    assert error.value.translation_key == "request_rejected"
    placeholders = error.value.translation_placeholders
    assert placeholders is not None
    assert "no earlier image model" in placeholders["error"]
