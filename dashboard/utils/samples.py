"""Typical readings and frames of each light source, from the node's simulation."""

from __future__ import annotations

from typing import Final

import numpy as np

from node.hardware.base import RGBImage
from node.simulation import (
    ManualClock,
    Scene,
    ScheduleStep,
    SimulatedCamera,
    simulate_readings,
)

# Enough readings for the flicker window to fill, so a flame shows its flicker.
WARM_UP_READINGS: Final = 12


def typical_features(source: str, *, seed: int = 0) -> dict[str, float]:
    """Return the features of one simulated reading of a light source."""
    samples = list(
        simulate_readings(
            [ScheduleStep(source, 3600.0)], count=WARM_UP_READINGS, seed=seed
        )
    )
    return samples[-1].features


def typical_frame(
    source: str, *, seed: int = 0, size: tuple[int, int] = (160, 120)
) -> RGBImage:
    """Return one simulated camera frame of a light source."""
    clock = ManualClock()
    scene = Scene([ScheduleStep(source, 3600.0)], seed=seed, clock=clock)
    clock.now = 1.0 + np.random.default_rng(seed).uniform(0.0, 60.0)
    width, height = size
    return SimulatedCamera(scene, width=width, height=height).capture()
