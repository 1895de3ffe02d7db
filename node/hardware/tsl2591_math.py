"""TSL2591 gains, integration times and the lux formula, shared by real and simulated."""

from __future__ import annotations

from typing import Final

from .base import LightReading

GAINS: Final = {"low": 1.0, "medium": 25.0, "high": 428.0, "max": 9876.0}
INTEGRATION_TIMES_MS: Final = (100, 200, 300, 400, 500, 600)
LUX_COEFFICIENT: Final = 408.0


def max_count(integration_ms: int) -> int:
    """Return the largest count a channel reaches before it saturates."""
    return 36863 if integration_ms == 100 else 65535


def compute_lux(
    full_spectrum: float, infrared: float, gain: str, integration_ms: int
) -> float:
    """Return lux from the two channel counts, as the sensor's datasheet describes."""
    if full_spectrum <= 0:
        return 0.0
    counts_per_lux = integration_ms * GAINS[gain] / LUX_COEFFICIENT
    visible = full_spectrum - infrared
    return max(visible * (1.0 - infrared / full_spectrum) / counts_per_lux, 0.0)


def reading_from_counts(
    full_count: float, infrared_count: float, gain: str, integration_ms: int
) -> LightReading:
    """Return a light reading from raw channel counts, clipped and saturation flagged."""
    limit = max_count(integration_ms)
    saturated = full_count >= limit or infrared_count >= limit
    full = float(min(full_count, limit))
    infrared = float(min(infrared_count, limit))
    return LightReading(
        lux=compute_lux(full, infrared, gain, integration_ms),
        visible=max(full - infrared, 0.0),
        infrared=infrared,
        full_spectrum=full,
        saturated=saturated,
    )
