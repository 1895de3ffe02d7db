"""Measure a bundle's invoke latency on LiteRT against Keras `predict` in one run."""

from __future__ import annotations

from pathlib import Path
import time
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .errors import TrainerError
from .evaluation import open_bundle
from .exporting import KERAS_FILE, REPRESENTATIVE_FILE, load_keras_model

DEFAULT_RUNS: Final = 200
KERAS_RUNS: Final = 30
WARMUP_RUNS: Final = 5


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    """Return the median and 95th percentile of some timings."""
    values = np.asarray(samples_ms, dtype=np.float64)
    return float(np.median(values)), float(np.percentile(values, 95))


def _inputs(bundle_dir: Path, shape: tuple[int, ...], runs: int) -> NDArray[np.float32]:
    """Return stored training inputs to time with, else random ones."""
    path = bundle_dir / REPRESENTATIVE_FILE
    if path.is_file():
        stored: NDArray[np.float32] = np.load(path).astype(np.float32)
        if stored.shape[1:] == shape[1:] and len(stored):
            return stored
    rng = np.random.default_rng(0)
    return rng.uniform(0.0, 255.0, size=(min(runs, 16), *shape[1:])).astype(np.float32)


def benchmark(
    bundle_dir: Path,
    *,
    runs: int = DEFAULT_RUNS,
    keras_runs: int = KERAS_RUNS,
    with_keras: bool = True,
) -> dict[str, Any]:
    """Return median and p95 invoke latency, model size and the Keras ratio."""
    if runs < 1 or keras_runs < 1:
        msg = "runs must be at least 1"
        raise TrainerError(msg)
    bundle, loaded = open_bundle(bundle_dir)
    inputs = _inputs(bundle_dir, loaded.model.input_shape, runs)
    model = loaded.model
    for index in range(WARMUP_RUNS):
        model.run(inputs[index % len(inputs)][None, ...])
    samples = []
    for index in range(runs):
        batch = inputs[index % len(inputs)][None, ...]
        started = time.perf_counter()
        model.run(batch)
        samples.append((time.perf_counter() - started) * 1000)
    median_ms, p95_ms = _percentiles(samples)
    result: dict[str, Any] = {
        "bundle": str(bundle_dir),
        "name": bundle.metadata.name,
        "version": bundle.metadata.version,
        "quantization": bundle.metadata.quantization,
        "runtime": model.runtime,
        "runs": runs,
        "median_ms": round(median_ms, 4),
        "p95_ms": round(p95_ms, 4),
        "size_bytes": bundle.size_bytes,
        "keras_median_ms": None,
        "keras_p95_ms": None,
        "ratio": None,
    }
    if with_keras and (bundle_dir / KERAS_FILE).is_file():
        keras_model = load_keras_model(bundle_dir)
        for index in range(WARMUP_RUNS):
            keras_model.predict(inputs[index % len(inputs)][None, ...], verbose=0)
        keras_samples = []
        for index in range(keras_runs):
            batch = inputs[index % len(inputs)][None, ...]
            started = time.perf_counter()
            keras_model.predict(batch, verbose=0)
            keras_samples.append((time.perf_counter() - started) * 1000)
        keras_median, keras_p95 = _percentiles(keras_samples)
        # A direct call skips predict's per-call data pipeline: the fairer floor.
        call_samples = []
        for index in range(keras_runs):
            batch = inputs[index % len(inputs)][None, ...]
            started = time.perf_counter()
            keras_model(batch, training=False)
            call_samples.append((time.perf_counter() - started) * 1000)
        result["keras_call_median_ms"] = round(_percentiles(call_samples)[0], 4)
        result["keras_median_ms"] = round(keras_median, 4)
        result["keras_p95_ms"] = round(keras_p95, 4)
        result["keras_runs"] = keras_runs
        result["ratio"] = round(keras_median / median_ms, 2) if median_ms > 0 else None
    return result
