"""Trainer figures: training time, image epoch time, LiteRT against Keras, int8 accuracy.

Prints sensor training time for 10k and 100k simulated rows, the head-only epoch
time of mobilenet_v3_small (no pretrained weights) on 1,000 frames at 160 px, the
invoke latency of the default bundles on LiteRT against Keras `predict`, and the
accuracy of int8 exports of the defaults against float32 on fresh simulated sessions.
"""

from __future__ import annotations

import os
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.benchmarking import benchmark  # noqa: E402
from trainer.defaults import IMAGE_NAME, SENSOR_FEATURES, SENSORS_NAME  # noqa: E402
from trainer.evaluation import load_for_bundle, open_bundle  # noqa: E402
from trainer.exporting import reexport  # noqa: E402
from trainer.images import ImageConfig, build_image_model  # noqa: E402
from trainer.sensors import SensorConfig, fit_candidate  # noqa: E402
from trainer.simulate import (  # noqa: E402
    select_features,
    simulate_image_data,
    simulate_sensor_data,
)

MODELS = ROOT / "models"
SENSOR_ROWS = (10_000, 100_000)
SENSOR_EPOCHS = 5
IMAGE_COUNT = 1000
IMAGE_SIZE = 160


def sensor_rows(rows: int, seed: int) -> Any:
    """Return at least `rows` simulated readings, cut to exactly that many."""
    sessions = 8
    while True:
        data = simulate_sensor_data(sessions, seed=seed)
        if len(data) >= rows:
            return select_features(data, SENSOR_FEATURES).subset(range(rows))
        sessions = int(sessions * rows / max(len(data), 1)) + 2


def sensor_training_time() -> None:
    """Time one network width for a fixed number of epochs at each row count."""
    print(f"Sensor training, width 32, {SENSOR_EPOCHS} epochs, 80/20 by session:")
    for rows in SENSOR_ROWS:
        data = sensor_rows(rows, seed=rows)
        names = sorted(set(data.sessions))
        held = set(names[: max(1, len(names) // 5)])
        training = data.subset(i for i, s in enumerate(data.sessions) if s not in held)
        validation = data.subset(i for i, s in enumerate(data.sessions) if s in held)
        config = SensorConfig(
            widths=(32,), epochs=SENSOR_EPOCHS, patience=SENSOR_EPOCHS
        )
        started = time.perf_counter()
        _, candidate = fit_candidate(training, validation, 32, config)
        elapsed = time.perf_counter() - started
        print(
            f"  {rows:>7,} rows: {elapsed:6.1f} s ({elapsed / candidate.epochs:5.2f} s "
            f"per epoch), validation macro-F1 {candidate.macro_f1:.4f}"
        )


def image_epoch_time() -> None:
    """Time head-only epochs of mobilenet_v3_small on simulated frames."""
    import keras
    import numpy as np

    data = simulate_image_data(80, frames_per_session=24, size=IMAGE_SIZE, seed=1)
    images = data.images[:IMAGE_COUNT].astype(np.float32)
    labels = np.asarray(
        [
            ("flashlight", "lighter", "infrared", "daylight").index(n)
            for n in data.labels
        ]
    )[:IMAGE_COUNT]
    config = ImageConfig(backbone="mobilenet_v3_small", weights="none", size=IMAGE_SIZE)
    model, _, _ = build_image_model(config)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        jit_compile=False,
    )
    epoch_times: list[float] = []

    class EpochTimer(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            epoch_times.append(time.perf_counter() - self.started)

    model.fit(
        images, labels, epochs=2, batch_size=32, verbose=0, callbacks=[EpochTimer()]
    )
    print(
        f"Image head-only, mobilenet_v3_small (weights none), {len(images)} images "
        f"at {IMAGE_SIZE} px: first epoch {epoch_times[0]:.1f} s (with tracing), "
        f"second {epoch_times[1]:.1f} s"
    )


def latency() -> None:
    """Print LiteRT invoke against Keras predict for the default bundles."""
    print("Invoke latency, one example (LiteRT interpreter vs Keras predict):")
    for name in (SENSORS_NAME, IMAGE_NAME):
        result = benchmark(MODELS / name, runs=500, keras_runs=30)
        print(
            f"  {name}: LiteRT median {result['median_ms']:.3f} ms, p95 "
            f"{result['p95_ms']:.3f} ms, {result['size_bytes']:,} bytes; Keras predict "
            f"median {result['keras_median_ms']:.1f} ms (direct call "
            f"{result['keras_call_median_ms']:.2f} ms); ratio {result['ratio']:.0f}x"
        )


def quantised_accuracy() -> None:
    """Export the defaults as int8 and compare accuracy on fresh sessions."""
    print("int8 against float32 on fresh simulated sessions (node runtime):")
    sensors = select_features(simulate_sensor_data(10, seed=1234), SENSOR_FEATURES)
    frames = simulate_image_data(10, frames_per_session=40, size=64, seed=1234)
    with tempfile.TemporaryDirectory() as folder:
        for name, data in ((SENSORS_NAME, sensors), (IMAGE_NAME, frames)):
            bundle, _ = open_bundle(MODELS / name)
            holdout = load_for_bundle(bundle, data)
            for quantization in ("float32", "int8"):
                report = reexport(
                    MODELS / name,
                    Path(folder) / f"{name}-{quantization}",
                    quantization=quantization,
                    holdout=holdout,
                )
                print(
                    f"  {name} {quantization:>7}: accuracy {report.tflite_accuracy:.4f} "
                    f"(Keras {report.keras_accuracy:.4f}), largest difference "
                    f"{report.max_abs_diff:.4f}, {report.size_bytes:,} bytes"
                )


def main() -> None:
    """Print every trainer figure."""
    sensor_training_time()
    image_epoch_time()
    latency()
    quantised_accuracy()


if __name__ == "__main__":
    main()
