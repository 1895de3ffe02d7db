"""Select of a Smart Labeling node: the true label for the next recording."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CLASSES
from .coordinator import SmartLabelingConfigEntry, SmartLabelingCoordinator
from .entity import SmartLabelingEntity

PARALLEL_UPDATES = 1

DESCRIPTION = SelectEntityDescription(
    key="recording_label", translation_key="recording_label"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLabelingConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the recording label select of a node."""
    async_add_entities([SmartLabelingRecordingLabelSelect(entry)])


class SmartLabelingRecordingLabelSelect(SmartLabelingEntity, SelectEntity):
    """The label a recording stores with its readings."""

    def __init__(self, entry: SmartLabelingConfigEntry) -> None:
        """Describe the select."""
        coordinator: SmartLabelingCoordinator = entry.runtime_data.coordinator
        super().__init__(coordinator, DESCRIPTION.key)
        self.entity_description = DESCRIPTION
        self._runtime = entry.runtime_data
        self._attr_options = list(coordinator.data.info.classes or CLASSES)
        if self._runtime.recording_label not in self._attr_options:
            self._runtime.recording_label = self._attr_options[0]

    @property
    def current_option(self) -> str:
        """Return the label of the running recording, or the one chosen next."""
        recording = self.coordinator.data.state.recording
        if recording.active and recording.label in self.options:
            return recording.label
        return self._runtime.recording_label

    async def async_select_option(self, option: str) -> None:
        """Choose the label; a running recording goes on with the new one."""
        self._runtime.recording_label = option
        recording = self.coordinator.data.state.recording
        if recording.active and recording.label != option:
            await self.async_call_node(self._runtime.client.stop_recording())
            await self.async_call_node(self._runtime.client.start_recording(option))
        self.async_write_ha_state()
