"""Switch of a Smart Labeling node: record every reading with a true label."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SmartLabelingConfigEntry, SmartLabelingCoordinator
from .entity import SmartLabelingEntity

PARALLEL_UPDATES = 1

DESCRIPTION = SwitchEntityDescription(key="recording", translation_key="recording")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLabelingConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the recording switch of a node."""
    async_add_entities([SmartLabelingRecordingSwitch(entry)])


class SmartLabelingRecordingSwitch(SmartLabelingEntity, SwitchEntity):
    """On while the node records readings with the chosen label."""

    def __init__(self, entry: SmartLabelingConfigEntry) -> None:
        """Describe the switch."""
        coordinator: SmartLabelingCoordinator = entry.runtime_data.coordinator
        super().__init__(coordinator, DESCRIPTION.key)
        self.entity_description = DESCRIPTION
        self._runtime = entry.runtime_data

    @property
    def is_on(self) -> bool:
        """Return whether a recording is running."""
        return self.coordinator.data.state.recording.active

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the label, session and end of the recording."""
        recording = self.coordinator.data.state.recording
        return {
            "label": recording.label,
            "session_id": recording.session_id,
            "until": recording.until,
        }

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Start recording with the label chosen in the select."""
        await self.async_call_node(
            self._runtime.client.start_recording(self._runtime.recording_label)
        )

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop the recording."""
        await self.async_call_node(self._runtime.client.stop_recording())
