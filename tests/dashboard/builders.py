"""Datasets and model bundles for the dashboard's tests and benchmark."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from node.bundle import Bundle, write_bundle
from node.const import CLASSES
from node.simulation import (
    DEFAULT_SCHEDULE,
    ManualClock,
    Scene,
    ScheduleStep,
    SimulatedCamera,
    simulate_readings,
)
from node.store import DatasetStore, ReadingRecord

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SENSOR_FEATURES = ("ir_ratio", "lux", "temperature")
IMAGE_SIZE = 8


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """One session to record: pre-labelled with a source, or real-time (None)."""

    label: str | None
    readings: int
    frame_every: int = 0


def jpeg(frame: np.ndarray, quality: int = 80) -> bytes:
    """Return an RGB frame as JPEG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _records(
    plan: SessionPlan, start: datetime, rng: np.random.Generator, seed: int
) -> Iterator[tuple[ReadingRecord, np.ndarray | None]]:
    """Yield a session's readings with made-up predictions, and their frames."""
    schedule = (
        [ScheduleStep(plan.label, 3600.0, 25.0)] if plan.label else DEFAULT_SCHEDULE
    )
    clock = ManualClock()
    camera = SimulatedCamera(
        Scene(schedule, seed=seed, clock=clock), width=64, height=48
    )
    samples = simulate_readings(schedule, count=plan.readings, seed=seed)
    for index, sample in enumerate(samples):
        truth = sample.source
        wrong = rng.random() < 0.15
        guess = truth if truth and not wrong else str(rng.choice(CLASSES))
        confidence = float(rng.uniform(0.3, 0.7) if wrong else rng.uniform(0.6, 1.0))
        rest = (1.0 - confidence) / (len(CLASSES) - 1)
        probabilities = {
            name: confidence if name == guess else rest for name in CLASSES
        }
        has_frame = plan.frame_every > 0 and index % plan.frame_every == 0
        camera_label = None
        if has_frame:
            camera_label = guess if rng.random() < 0.8 else str(rng.choice(CLASSES))
        values = {
            name: value
            for name, value in sample.features.items()
            if name not in ("ir_ratio", "flicker")
        }
        record = ReadingRecord(
            time=start + timedelta(seconds=sample.time_s),
            values=values,
            saturated=sample.saturated,
            predicted_label=guess,
            confidence=confidence,
            probabilities=probabilities,
            source="fused" if has_frame else "sensors",
            model_version="1.0.0",
            sensor_label=guess,
            sensor_confidence=confidence,
            camera_label=camera_label,
            camera_confidence=confidence if has_frame else None,
            true_label=plan.label,
            labelled_by="pre" if plan.label else None,
        )
        frame = None
        if has_frame:
            clock.now = sample.time_s
            frame = camera.capture()
        yield record, frame


def build_dataset(
    data_dir: Path, plans: Sequence[SessionPlan], *, seed: int = 0
) -> None:
    """Record sessions into a new store: readings in bulk, frames one by one."""
    rng = np.random.default_rng(seed)
    with DatasetStore(data_dir) as store:
        for number, plan in enumerate(plans):
            mode = "pre" if plan.label else "realtime"
            session_id = store.start_session(mode, plan.label)
            start = START + timedelta(days=number // 4, hours=number % 4)
            batch: list[ReadingRecord] = []
            for record, frame in _records(plan, start, rng, seed + number):
                if frame is None:
                    batch.append(record)
                    continue
                # Readings keep their order: flush the batch before a framed one.
                store.add_readings(session_id, batch)
                batch = []
                store.add_reading(session_id, record, jpeg(frame))
            store.add_readings(session_id, batch)
            store.end_session(session_id)


def small_dataset(data_dir: Path) -> None:
    """Build a dataset of every class with frames, and an unlabelled session."""
    build_dataset(
        data_dir,
        [
            SessionPlan("flashlight", 40, frame_every=4),
            SessionPlan("lighter", 40, frame_every=4),
            SessionPlan("infrared", 30, frame_every=5),
            SessionPlan("daylight", 30, frame_every=5),
            SessionPlan(None, 40, frame_every=4),
        ],
    )


def _convert(model: Any, representative: np.ndarray | None = None) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if representative is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [row[None, ...]] for row in representative
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return bytes(converter.convert())


def sensors_bundle(directory: Path, *, version: str = "1.0.0") -> Bundle:
    """Write a tiny float sensors model with metrics as the trainer writes them."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((len(SENSOR_FEATURES),))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    return write_bundle(
        directory,
        _convert(model),
        {
            "name": "sensors-tiny",
            "version": version,
            "kind": "sensors",
            "classes": list(CLASSES),
            "features": list(SENSOR_FEATURES),
            "created": f"2026-03-0{version[0]}T12:00:00+00:00",
            "metrics": _metrics(version),
        },
    )


def image_bundle(directory: Path, *, version: str = "1.0.0") -> Bundle:
    """Write a tiny int8-quantised image model, so tensors carry scales."""
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    hidden = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    hidden = keras.layers.GlobalAveragePooling2D()(hidden)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    representative = (
        np.random.default_rng(0)
        .uniform(0.0, 1.0, (16, IMAGE_SIZE, IMAGE_SIZE, 3))
        .astype(np.float32)
    )
    return write_bundle(
        directory,
        _convert(model, representative),
        {
            "name": "image-tiny",
            "version": version,
            "kind": "image",
            "classes": list(CLASSES),
            "image": {
                "height": IMAGE_SIZE,
                "width": IMAGE_SIZE,
                "scale": 1 / 255,
                "offset": 0.0,
            },
            "quantization": "int8",
            "created": f"2026-03-0{version[0]}T13:00:00+00:00",
        },
    )


def _metrics(version: str) -> dict[str, Any]:
    """Return plausible metrics that differ between versions."""
    base = 0.6 + 0.1 * int(version[0])
    recall = {name: min(base + 0.05 * index, 1.0) for index, name in enumerate(CLASSES)}
    return {
        "accuracy": round(base, 3),
        "macro_f1": round(base - 0.02, 3),
        "classes": list(CLASSES),
        "per_class": {
            name: {"precision": base, "recall": recall[name], "f1": base, "support": 25}
            for name in CLASSES
        },
        "confusion_matrix": [
            [
                20 if row == column else 5 if column == (row + 1) % 4 else 0
                for column in range(4)
            ]
            for row in range(4)
        ],
        "per_session": {
            "1": {"accuracy": base, "macro_f1": base - 0.05, "count": 40},
            "2": {"accuracy": base - 0.1, "macro_f1": base - 0.12, "count": 40},
        },
    }
