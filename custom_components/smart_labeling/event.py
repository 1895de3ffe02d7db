"""Event entity of a Smart Labeling node, fired on every change of the label."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import LabelChange
from .const import LABELS
from .coordinator import SmartLabelingConfigEntry, SmartLabelingCoordinator
from .entity import SmartLabelingEntity

PARALLEL_UPDATES = 0

DESCRIPTION = EventEntityDescription(
    key="label_change",
    translation_key="label_change",
    event_types=list(LABELS),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLabelingConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the label change event of a node."""
    async_add_entities([SmartLabelingLabelEvent(entry.runtime_data.coordinator)])


class SmartLabelingLabelEvent(SmartLabelingEntity, EventEntity):
    """Fires with the new label as event type, and the old one as data."""

    def __init__(self, coordinator: SmartLabelingCoordinator) -> None:
        """Describe the event entity."""
        super().__init__(coordinator, DESCRIPTION.key)
        self.entity_description = DESCRIPTION

    async def async_added_to_hass(self) -> None:
        """Listen to label changes once the entity is added."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_label_listener(self._async_label_changed)
        )

    @callback
    def _async_label_changed(self, change: LabelChange) -> None:
        """Fire the event for one change."""
        if change.new not in LABELS:
            return
        self._trigger_event(
            change.new,
            {
                "old": change.old,
                "new": change.new,
                "confidence": change.confidence,
                "source": change.source,
            },
        )
        self.async_write_ha_state()
