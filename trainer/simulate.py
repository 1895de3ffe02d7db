"""Simulated training data: random sessions of the node's simulated scene."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import csv
from dataclasses import dataclass
import math
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from node.classifier import is_dark
from node.const import CLASSES
from node.simulation import (
    ManualClock,
    Scene,
    ScheduleStep,
    render_frame,
    simulate_readings,
)

from .data import BACKGROUND, SensorData
from .image_data import ImageData

RATE_HZ: Final = 2.0
MIN_DISTANCE_CM: Final = 10.0
MAX_DISTANCE_CM: Final = 120.0
SOURCE_SECONDS: Final = (8.0, 30.0)
GAP_SECONDS: Final = (3.0, 12.0)
CAMERA_SIZE: Final = (160, 120)
SIMULATED_FEATURES: Final = (
    "lux",
    "visible",
    "infrared",
    "full_spectrum",
    "temperature",
    "distance",
    "ir_ratio",
    "flicker",
)


def random_schedule(
    rng: np.random.Generator, *, repeats: int = 2
) -> tuple[ScheduleStep, ...]:
    """Return every source `repeats` times in random order, with gaps of no source."""
    sources = [name for name in CLASSES for _ in range(repeats)]
    steps = []
    for index in rng.permutation(len(sources)):
        if rng.random() < 0.6:
            steps.append(
                ScheduleStep(None, float(rng.uniform(*GAP_SECONDS)), _distance(rng))
            )
        steps.append(
            ScheduleStep(
                sources[int(index)], float(rng.uniform(*SOURCE_SECONDS)), _distance(rng)
            )
        )
    return tuple(steps)


def _distance(rng: np.random.Generator) -> float:
    """Return a distance spread evenly on a log scale, as sources come and go."""
    low, high = math.log(MIN_DISTANCE_CM), math.log(MAX_DISTANCE_CM)
    return round(math.exp(float(rng.uniform(low, high))), 1)


@dataclass(frozen=True, slots=True)
class _Session:
    """One random simulated session: its name, seed, generator and schedule."""

    name: str
    seed: int
    rng: np.random.Generator
    schedule: tuple[ScheduleStep, ...]
    duration_s: float


def _random_sessions(sessions: int, seed: int) -> Iterator[_Session]:
    """Yield `sessions` random sessions, each with a seed of its own."""
    for number in range(sessions):
        session_seed = seed * 100_003 + number
        rng = np.random.default_rng(session_seed)
        schedule = random_schedule(rng)
        yield _Session(
            name=f"sim-{seed}-{number:03d}",
            seed=session_seed,
            rng=rng,
            schedule=schedule,
            duration_s=sum(step.duration_s for step in schedule),
        )


def simulate_sensor_data(
    sessions: int, *, seed: int = 0, rate_hz: float = RATE_HZ
) -> SensorData:
    """Return readings of `sessions` random sessions, each with its own seed."""
    values: list[list[float]] = []
    labels: list[str | None] = []
    session_names: list[str] = []
    times: list[float] = []
    for session in _random_sessions(sessions, seed):
        count = int(session.duration_s * rate_hz)
        for sample in simulate_readings(
            session.schedule, count=count, rate_hz=rate_hz, seed=session.seed
        ):
            values.append([sample.features[feature] for feature in SIMULATED_FEATURES])
            labels.append(sample.source or BACKGROUND)
            session_names.append(session.name)
            times.append(sample.time_s)
    return SensorData(
        features=SIMULATED_FEATURES,
        values=np.asarray(values, dtype=np.float32).reshape(
            len(labels), len(SIMULATED_FEATURES)
        ),
        labels=labels,
        sessions=session_names,
        times=times,
        origins=[
            f"{name} t={time:.1f}s"
            for name, time in zip(session_names, times, strict=True)
        ],
        row_ids=[None] * len(labels),
    )


def select_features(data: SensorData, features: Sequence[str]) -> SensorData:
    """Return the data with only these features, in this order."""
    missing = [name for name in features if name not in data.features]
    if missing:
        msg = f"data has no feature {', '.join(missing)}"
        raise ValueError(msg)
    columns = [data.features.index(name) for name in features]
    return SensorData(
        features=tuple(features),
        values=data.values[:, columns],
        labels=data.labels,
        sessions=data.sessions,
        times=data.times,
        origins=data.origins,
        row_ids=data.row_ids,
        problems=data.problems,
    )


def write_sensor_csv(data: SensorData, path: Path) -> int:
    """Write readings as CSV with session, time, label and one column per feature."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["session", "time", "label", *data.features])
        for index, row in enumerate(data.values):
            writer.writerow(
                [
                    data.sessions[index],
                    f"{data.times[index]:g}",
                    data.labels[index] or "",
                    *(f"{float(value):.6g}" for value in row),
                ]
            )
    return len(data)


def simulate_image_data(
    sessions: int,
    *,
    frames_per_session: int = 40,
    size: int = 64,
    seed: int = 0,
    camera_size: tuple[int, int] = CAMERA_SIZE,
) -> ImageData:
    """Render camera frames of random sessions, resized as the node resizes them."""
    width, height = camera_size
    rows, columns = np.mgrid[0:height, 0:width]
    row_grid = rows.astype(np.float32)
    column_grid = columns.astype(np.float32)
    images: list[NDArray[np.uint8]] = []
    labels: list[str] = []
    session_names: list[str] = []
    origins: list[str] = []
    for session in _random_sessions(sessions, seed):
        rng = session.rng
        clock = ManualClock()
        scene = Scene(session.schedule, seed=session.seed, clock=clock)
        name = session.name
        for moment in np.sort(rng.uniform(0.0, session.duration_s, frames_per_session)):
            clock.now = float(moment)
            state = scene.state()
            if state.source is None:
                continue
            frame = render_frame(state, row_grid, column_grid, rng)
            if is_dark(frame):
                continue
            resized = Image.fromarray(frame).resize(
                (size, size), Image.Resampling.BILINEAR
            )
            images.append(np.asarray(resized, dtype=np.uint8))
            labels.append(state.source)
            session_names.append(name)
            origins.append(f"{name} t={moment:.1f}s")
    stacked = (
        np.stack(images) if images else np.zeros((0, size, size, 3), dtype=np.uint8)
    )
    return ImageData(stacked, labels, session_names, origins)
