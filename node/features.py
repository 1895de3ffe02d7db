"""Classifier features: a reading's values plus values derived from recent readings."""

from __future__ import annotations

from collections import deque
import math
from typing import Final

FLICKER_WINDOW: Final = 6


def infrared_ratio(values: dict[str, float]) -> float | None:
    """Return the share of infrared in the light, from whichever sensor measured it."""
    full = values.get("full_spectrum")
    infrared = values.get("infrared")
    if full is not None and infrared is not None:
        return min(infrared / full, 1.0) if full > 0 else 0.0
    light_level = values.get("light_level")
    infrared_level = values.get("infrared_level")
    if light_level is not None and infrared_level is not None:
        total = light_level + infrared_level
        return infrared_level / total if total > 0 else 0.0
    return None


class FeatureWindow:
    """Turns a stream of readings into feature dictionaries for the classifier."""

    def __init__(self, size: int = FLICKER_WINDOW) -> None:
        """Keep the brightness of the last `size` readings."""
        self._brightness: deque[float] = deque(maxlen=size)

    def reset(self) -> None:
        """Forget earlier readings, as after a gap in the stream."""
        self._brightness.clear()

    def update(self, values: dict[str, float]) -> dict[str, float]:
        """Add a reading and return its values with the derived features."""
        features = dict(values)
        ratio = infrared_ratio(values)
        if ratio is not None:
            features["ir_ratio"] = ratio

        brightness = values.get("full_spectrum", values.get("light_level"))
        if brightness is not None:
            self._brightness.append(brightness)
            features["flicker"] = _coefficient_of_variation(self._brightness)
        return features


def _coefficient_of_variation(samples: deque[float]) -> float:
    """Return the standard deviation over the mean, 0 for a flat or dark signal."""
    if len(samples) < 2:
        return 0.0
    mean = sum(samples) / len(samples)
    if mean <= 1.0:
        return 0.0
    variance = sum((sample - mean) ** 2 for sample in samples) / (len(samples) - 1)
    return math.sqrt(variance) / mean
