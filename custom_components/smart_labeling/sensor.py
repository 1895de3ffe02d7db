"""Sensors of a Smart Labeling node: readings, the label and the node's health."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    LIGHT_LUX,
    PERCENTAGE,
    EntityCategory,
    UnitOfFrequency,
    UnitOfLength,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .api import NodeInfo
from .const import CONF_DIAGNOSTIC_SENSORS, DRIVERS, HEALTH_STATES, LABELS
from .coordinator import (
    SmartLabelingConfigEntry,
    SmartLabelingCoordinator,
    SmartLabelingData,
)
from .entity import SmartLabelingEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SmartLabelingSensorDescription(SensorEntityDescription):
    """Describe a sensor of a Smart Labeling node."""

    value_fn: Callable[[SmartLabelingData], StateType]
    available_fn: Callable[[SmartLabelingData], bool] = lambda _: True
    attributes_fn: Callable[[SmartLabelingData], dict[str, Any] | None] = lambda _: None
    has_fn: Callable[[NodeInfo], bool] = lambda _: True
    diagnostic: bool = False


def _reading_description(
    key: str, driver: str, **kwargs: Any
) -> SmartLabelingSensorDescription:
    """Describe a sensor for one value of the node's readings."""

    def value(data: SmartLabelingData) -> StateType:
        reading = data.state.reading
        return None if reading is None else reading.values.get(key)

    def available(data: SmartLabelingData) -> bool:
        status = data.info.drivers.get(driver)
        if status is not None and status.status == "failed":
            return False
        reading = data.state.reading
        return reading is not None and key in reading.values

    return SmartLabelingSensorDescription(
        key=key,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=value,
        available_fn=available,
        has_fn=lambda info: key in info.readings,
        **kwargs,
    )


def _health_description(driver: str) -> SmartLabelingSensorDescription:
    """Describe the health sensor of one driver."""

    def value(data: SmartLabelingData) -> StateType:
        status = data.info.drivers.get(driver)
        if status is None or status.status not in HEALTH_STATES:
            return None
        return status.status

    def attributes(data: SmartLabelingData) -> dict[str, Any] | None:
        status = data.info.drivers.get(driver)
        if status is None:
            return None
        return {"model": status.model, "error": status.error}

    return SmartLabelingSensorDescription(
        key=f"{driver}_health",
        translation_key=f"{driver}_health",
        device_class=SensorDeviceClass.ENUM,
        entity_category=EntityCategory.DIAGNOSTIC,
        options=list(HEALTH_STATES),
        value_fn=value,
        attributes_fn=attributes,
        has_fn=lambda info: driver in info.drivers,
        diagnostic=True,
    )


def _label(data: SmartLabelingData) -> StateType:
    label = data.state.label.label
    return label if label in LABELS else None


def _label_attributes(data: SmartLabelingData) -> dict[str, Any]:
    prediction = None if data.state.reading is None else data.state.reading.prediction
    return {
        "probabilities": None if prediction is None else prediction.probabilities,
        "source": data.state.label.source,
        "model_version": None if prediction is None else prediction.model_version,
    }


def _confidence(data: SmartLabelingData) -> StateType:
    confidence = data.state.label.confidence
    return None if confidence is None else round(confidence * 100, 1)


DESCRIPTIONS: tuple[SmartLabelingSensorDescription, ...] = (
    _reading_description(
        "lux",
        "light",
        device_class=SensorDeviceClass.ILLUMINANCE,
        native_unit_of_measurement=LIGHT_LUX,
        suggested_display_precision=1,
    ),
    _reading_description("visible", "light", translation_key="visible"),
    _reading_description("infrared", "light", translation_key="infrared"),
    _reading_description("full_spectrum", "light", translation_key="full_spectrum"),
    _reading_description(
        "light_level",
        "light",
        translation_key="light_level",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
    ),
    _reading_description(
        "infrared_level",
        "light",
        translation_key="infrared_level",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
    ),
    _reading_description(
        "temperature",
        "temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
    ),
    _reading_description(
        "distance",
        "distance",
        device_class=SensorDeviceClass.DISTANCE,
        native_unit_of_measurement=UnitOfLength.CENTIMETERS,
        suggested_display_precision=0,
    ),
    SmartLabelingSensorDescription(
        key="label",
        translation_key="label",
        device_class=SensorDeviceClass.ENUM,
        options=list(LABELS),
        value_fn=_label,
        attributes_fn=_label_attributes,
    ),
    SmartLabelingSensorDescription(
        key="confidence",
        translation_key="confidence",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_confidence,
    ),
    SmartLabelingSensorDescription(
        key="inference_time",
        translation_key="inference_time",
        device_class=SensorDeviceClass.DURATION,
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda data: data.state.stats.inference_ms,
        diagnostic=True,
    ),
    SmartLabelingSensorDescription(
        key="sample_rate",
        translation_key="sample_rate",
        device_class=SensorDeviceClass.FREQUENCY,
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: data.state.stats.sample_rate_hz,
        diagnostic=True,
    ),
    *(_health_description(driver) for driver in DRIVERS),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLabelingConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of a node."""
    coordinator = entry.runtime_data.coordinator
    with_diagnostics = entry.runtime_data.entity_options[CONF_DIAGNOSTIC_SENSORS]
    async_add_entities(
        SmartLabelingSensor(coordinator, description)
        for description in DESCRIPTIONS
        if description.has_fn(coordinator.data.info)
        and (with_diagnostics or not description.diagnostic)
    )


class SmartLabelingSensor(SmartLabelingEntity, SensorEntity):
    """A sensor of a Smart Labeling node."""

    entity_description: SmartLabelingSensorDescription

    # The probabilities change with every reading; the history needs only the label.
    _unrecorded_attributes = frozenset({"probabilities"})

    def __init__(
        self,
        coordinator: SmartLabelingCoordinator,
        description: SmartLabelingSensorDescription,
    ) -> None:
        """Describe the sensor."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """Return whether the node and the value are there."""
        return super().available and self.entity_description.available_fn(
            self.coordinator.data
        )

    @property
    def native_value(self) -> StateType:
        """Return the value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the details of the value."""
        return self.entity_description.attributes_fn(self.coordinator.data)
