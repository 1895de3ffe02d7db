"""Constants shared by the node, the trainer and the dashboard."""

from __future__ import annotations

from typing import Final

API_VERSION: Final = 1
ZEROCONF_TYPE: Final = "_smart-labeling._tcp.local."
DEFAULT_PORT: Final = 8765

CLASSES: Final = ("flashlight", "lighter", "infrared", "daylight")
UNKNOWN: Final = "unknown"

# Every value a sensor reading can carry, with its unit.
READING_UNITS: Final = {
    "lux": "lx",
    "visible": "counts",
    "infrared": "counts",
    "full_spectrum": "counts",
    "light_level": "%",
    "infrared_level": "%",
    "temperature": "°C",
    "distance": "cm",
}

# Values the node derives from recent readings for the classifier.
DERIVED_FEATURES: Final = ("ir_ratio", "flicker")

LABELLED_BY: Final = ("pre", "realtime", "post", "import", "review")
