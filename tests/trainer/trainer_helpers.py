"""Builders shared by the trainer tests: class folders, JPEG frames, dataset stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import io
from pathlib import Path

import numpy as np
from PIL import Image

from node.store import DatasetStore, ReadingRecord
from trainer.defaults import DefaultsConfig
from trainer.image_data import ImageData
from trainer.images import ImageConfig
from trainer.sensors import SensorConfig
from trainer.simulate import select_features, simulate_sensor_data

FEATURES = ("lux", "infrared", "full_spectrum", "temperature", "ir_ratio", "flicker")
IMAGE_SIZE = 32
START = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
TINY_DEFAULTS = DefaultsConfig(
    seed=3,
    sensor_sessions=3,
    sensor_test_sessions=1,
    sensor=SensorConfig(widths=(4,), epochs=2, min_class_rows=5, run_eagerly=True),
    image_sessions=4,
    image_test_sessions=1,
    frames_per_session=12,
    image_size=IMAGE_SIZE,
    image=ImageConfig(epochs=1, run_eagerly=True),
)


def save_class_folders(data: ImageData, folder: Path) -> Path:
    """Write frames as PNG files in one sub-folder per class."""
    for index, (frame, label) in enumerate(zip(data.images, data.labels, strict=True)):
        target = folder / label / f"{index:04d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(frame).save(target)
    return folder


def jpeg_of(frame: np.ndarray) -> bytes:
    """Return a frame encoded as JPEG."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def make_store(
    folder: Path,
    *,
    sessions: int = 2,
    seed: int = 3,
    labelled: bool = True,
    frames: ImageData | None = None,
) -> Path:
    """Fill a dataset store with simulated sessions, labelled or not."""
    simulated = select_features(
        simulate_sensor_data(sessions, seed=seed),
        ("lux", "visible", "infrared", "full_spectrum", "temperature", "distance"),
    )
    with DatasetStore(folder) as store:
        for session in sorted(set(simulated.sessions)):
            session_id = store.start_session("pre")
            rows = [i for i, name in enumerate(simulated.sessions) if name == session]
            records = []
            for index in rows:
                label = simulated.labels[index]
                true_label = label if labelled and label != "none" else None
                records.append(
                    ReadingRecord(
                        time=START + timedelta(seconds=simulated.times[index]),
                        values=dict(
                            zip(
                                simulated.features,
                                map(float, simulated.values[index]),
                                strict=True,
                            )
                        ),
                        true_label=true_label,
                        labelled_by="pre" if true_label else None,
                    )
                )
            store.add_readings(session_id, records)
            store.end_session(session_id)
        if frames is not None:
            session_id = store.start_session("pre")
            for index, frame in enumerate(frames.images):
                label = frames.labels[index]
                store.add_reading(
                    session_id,
                    ReadingRecord(
                        time=START + timedelta(seconds=index),
                        values={"lux": 1.0},
                        true_label=label if labelled else None,
                        labelled_by="pre" if labelled else None,
                    ),
                    jpeg_of(frame),
                )
            store.end_session(session_id)
    return folder
