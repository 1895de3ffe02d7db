"""Binary sensors of a Smart Labeling node: one per class, on while it is the label."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CLASSES, CONF_CLASS_BINARY_SENSORS
from .coordinator import SmartLabelingConfigEntry, SmartLabelingCoordinator
from .entity import SmartLabelingEntity

PARALLEL_UPDATES = 0

DESCRIPTIONS: tuple[BinarySensorEntityDescription, ...] = tuple(
    BinarySensorEntityDescription(
        key=f"{label}_detected",
        translation_key=f"{label}_detected",
        entity_registry_enabled_default=False,
    )
    for label in CLASSES
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLabelingConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the class binary sensors of a node."""
    if not entry.runtime_data.entity_options[CONF_CLASS_BINARY_SENSORS]:
        return
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        SmartLabelingClassBinarySensor(coordinator, description, label)
        for description, label in zip(DESCRIPTIONS, CLASSES, strict=True)
    )


class SmartLabelingClassBinarySensor(SmartLabelingEntity, BinarySensorEntity):
    """On while the node's debounced label is one class."""

    def __init__(
        self,
        coordinator: SmartLabelingCoordinator,
        description: BinarySensorEntityDescription,
        label: str,
    ) -> None:
        """Describe the binary sensor of one class."""
        super().__init__(coordinator, description.key)
        self.entity_description = description
        self._label = label

    @property
    def is_on(self) -> bool:
        """Return whether the label is this class."""
        return self.coordinator.data.state.label.label == self._label
