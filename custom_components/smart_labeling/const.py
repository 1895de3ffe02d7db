"""Constants for the Smart Labeling integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "smart_labeling"

LOGGER = logging.getLogger(__package__)

DEFAULT_PORT: Final = 8765
ZEROCONF_TYPE: Final = "_smart-labeling._tcp.local."

MIN_API_VERSION: Final = 1

CLASSES: Final = ("flashlight", "lighter", "infrared", "daylight")
UNKNOWN_LABEL: Final = "unknown"
LABELS: Final = (*CLASSES, UNKNOWN_LABEL)

MODEL_KINDS: Final = ("sensors", "image")

HEALTH_STATES: Final = ("degraded", "failed", "ok")

CONF_CONFIDENCE_THRESHOLD: Final = "confidence_threshold"
CONF_DEBOUNCE: Final = "debounce"
CONF_CLASS_BINARY_SENSORS: Final = "class_binary_sensors"
CONF_FRAME_IMAGE: Final = "frame_image"
CONF_DIAGNOSTIC_SENSORS: Final = "diagnostic_sensors"
DRIVERS: Final = ("camera", "distance", "light", "temperature")

# The keys of the entities each option creates.
ENTITY_OPTIONS: Final = {
    CONF_CLASS_BINARY_SENSORS: frozenset(f"{label}_detected" for label in CLASSES),
    CONF_DIAGNOSTIC_SENSORS: frozenset(
        {"inference_time", "sample_rate", *(f"{driver}_health" for driver in DRIVERS)}
    ),
    CONF_FRAME_IMAGE: frozenset({"frame"}),
}

DEFAULT_CONFIDENCE_THRESHOLD: Final = 0.6
DEFAULT_DEBOUNCE: Final = 3

RECONNECT_MIN_DELAY: Final = timedelta(seconds=1)
RECONNECT_MAX_DELAY: Final = timedelta(seconds=30)

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_DURATION: Final = "duration"
ATTR_KIND: Final = "kind"
ATTR_LABEL: Final = "label"
ATTR_NOTE: Final = "note"
