"""The default bundles the node ships: trained on simulated sessions, reproducibly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
import logging
from pathlib import Path
import tempfile
from typing import Any, Final

from node.bundle import BundleError, read_bundle

from .data import SensorData
from .errors import TrainerError
from .evaluation import evaluate
from .exporting import update_metrics
from .image_data import ImageData
from .images import ImageConfig, export_images, train_images
from .model_card import write_model_card
from .sensors import SensorConfig, export_sensors, train_sensors
from .simulate import (
    MAX_DISTANCE_CM,
    MIN_DISTANCE_CM,
    RATE_HZ,
    select_features,
    simulate_image_data,
    simulate_sensor_data,
)

_LOGGER = logging.getLogger(__name__)

VERSION: Final = "1.0.0"
SENSORS_NAME: Final = "sensors-default"
IMAGE_NAME: Final = "image-default"
KINDS: Final = ("sensors", "image")
# Distance is left out so that a node without a distance sensor can use the model.
SENSOR_FEATURES: Final = (
    "lux",
    "visible",
    "infrared",
    "full_spectrum",
    "temperature",
    "ir_ratio",
    "flicker",
)
METRIC_KEYS: Final = (
    "accuracy",
    "macro_f1",
    "per_class",
    "confusion_matrix",
    "classes",
    "count",
    "per_session",
    "unknown_rate",
    "background",
)
CHECK_TOLERANCE: Final = 0.01


@dataclass(frozen=True, slots=True)
class DefaultsConfig:
    """How much simulated data the defaults use and how they are trained."""

    seed: int = 7
    sensor_sessions: int = 40
    sensor_test_sessions: int = 12
    sensor: SensorConfig = field(default_factory=SensorConfig)
    image_sessions: int = 30
    image_test_sessions: int = 10
    frames_per_session: int = 48
    image_size: int = 64
    image: ImageConfig = field(default_factory=ImageConfig)


def _test_metrics(
    directory: Path, test_data: SensorData | ImageData, sessions: int, seed: int
) -> dict[str, Any]:
    """Score a written bundle on the test sessions and store the metrics in it."""
    test = evaluate(directory, test_data, write=False)
    metrics = {
        **_metric_subset(test),
        "validation": (
            f"{sessions} simulated sessions (seed {seed}) never seen in training or "
            "model selection"
        ),
    }
    update_metrics(directory, metrics)
    return metrics


def build_sensor_default(
    output: Path, config: DefaultsConfig, *, progress: bool = False
) -> dict[str, Any]:
    """Train, export and score the default sensor bundle; return its metrics."""
    training_data = simulate_sensor_data(config.sensor_sessions, seed=config.seed)
    test_data = select_features(
        simulate_sensor_data(config.sensor_test_sessions, seed=config.seed + 1),
        SENSOR_FEATURES,
    )
    result = train_sensors(
        training_data,
        None,
        features=SENSOR_FEATURES,
        config=config.sensor,
        progress=progress,
    )
    directory = output / SENSORS_NAME
    report = export_sensors(
        result,
        directory,
        name=SENSORS_NAME,
        version=VERSION,
        extra_training={"data": _sensor_data_description(config)},
    )
    metrics = _test_metrics(
        directory, test_data, config.sensor_test_sessions, config.seed + 1
    )
    _LOGGER.info(
        "Default sensor model: test macro-F1 %.4f (%s bytes)",
        metrics["macro_f1"],
        report.size_bytes,
    )
    return metrics


def build_image_default(
    output: Path, config: DefaultsConfig, *, progress: bool = False
) -> dict[str, Any]:
    """Train, export and score the default image bundle; return its metrics."""
    training_data = simulate_image_data(
        config.image_sessions,
        frames_per_session=config.frames_per_session,
        size=config.image_size,
        seed=config.seed,
    )
    test_data = simulate_image_data(
        config.image_test_sessions,
        frames_per_session=config.frames_per_session,
        size=config.image_size,
        seed=config.seed + 1,
    )
    image_config = replace(config.image, size=config.image_size)
    result = train_images(training_data, None, config=image_config, progress=progress)
    directory = output / IMAGE_NAME
    export_images(
        result,
        directory,
        name=IMAGE_NAME,
        version=VERSION,
        extra_training={"data": _image_data_description(config)},
    )
    metrics = _test_metrics(
        directory, test_data, config.image_test_sessions, config.seed + 1
    )
    _LOGGER.info("Default image model: test macro-F1 %.4f", metrics["macro_f1"])
    return metrics


def build_defaults(
    output: Path,
    *,
    config: DefaultsConfig | None = None,
    kinds: Iterable[str] = KINDS,
    progress: bool = False,
    model_card: bool = True,
) -> dict[str, dict[str, Any]]:
    """Build the default bundles in `output` and write the model card beside them."""
    config = config or DefaultsConfig()
    chosen = _check_kinds(kinds)
    output.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    if "sensors" in chosen:
        results[SENSORS_NAME] = build_sensor_default(output, config, progress=progress)
    if "image" in chosen:
        results[IMAGE_NAME] = build_image_default(output, config, progress=progress)
    if model_card:
        write_model_card(output)
    return results


def check_defaults(
    models_dir: Path,
    *,
    config: DefaultsConfig | None = None,
    kinds: Iterable[str] = KINDS,
    tolerance: float = CHECK_TOLERANCE,
    progress: bool = False,
) -> list[str]:
    """Rebuild the defaults in a temporary folder; return how their metrics differ."""
    chosen = _check_kinds(kinds)
    with tempfile.TemporaryDirectory(prefix="smart-labeling-defaults-") as folder:
        fresh = build_defaults(
            Path(folder),
            config=config,
            kinds=chosen,
            progress=progress,
            model_card=False,
        )
    differences = []
    for name, metrics in fresh.items():
        try:
            committed = read_bundle(models_dir / name).metadata.metrics
        except BundleError as err:
            differences.append(f"{name}: {err}")
            continue
        differences.extend(compare_metrics(name, committed, metrics, tolerance))
    return differences


def compare_metrics(
    name: str, committed: dict[str, Any], fresh: dict[str, Any], tolerance: float
) -> list[str]:
    """Return a line for every headline figure that moved by more than the tolerance."""
    pairs: list[tuple[str, Any, Any]] = [
        ("accuracy", committed.get("accuracy"), fresh.get("accuracy")),
        ("macro_f1", committed.get("macro_f1"), fresh.get("macro_f1")),
    ]
    for class_name, figures in sorted(dict(fresh.get("per_class", {})).items()):
        old = dict(committed.get("per_class", {})).get(class_name, {})
        pairs.append((f"{class_name} f1", old.get("f1"), figures.get("f1")))
    differences = []
    for label, old_value, new_value in pairs:
        if old_value is None or new_value is None:
            differences.append(
                f"{name}: {label} is missing ({old_value} vs {new_value})"
            )
        elif abs(float(old_value) - float(new_value)) > tolerance:
            differences.append(
                f"{name}: {label} was {old_value}, a fresh build gives {new_value}"
            )
    return differences


def _check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """Return the chosen kinds, or raise naming an unknown one."""
    chosen = tuple(kinds)
    unknown = [kind for kind in chosen if kind not in KINDS]
    if unknown or not chosen:
        msg = f"kinds must be among {', '.join(KINDS)}, not {', '.join(unknown) or 'none'}"
        raise TrainerError(msg)
    return chosen


def _metric_subset(metrics: dict[str, Any]) -> dict[str, Any]:
    """Return the keys of an evaluation that belong in bundle metrics."""
    return {key: metrics[key] for key in METRIC_KEYS if key in metrics}


def _sensor_data_description(config: DefaultsConfig) -> dict[str, Any]:
    """Describe the simulated sensor training data."""
    return {
        "source": "node.simulation",
        "sessions": config.sensor_sessions,
        "seed": config.seed,
        "rate_hz": RATE_HZ,
        "distance_cm": [MIN_DISTANCE_CM, MAX_DISTANCE_CM],
        "schedule": "each source twice in random order, random durations, gaps of no source",
    }


def _image_data_description(config: DefaultsConfig) -> dict[str, Any]:
    """Describe the simulated image training data."""
    return {
        "source": "node.simulation.render_frame",
        "sessions": config.image_sessions,
        "frames_per_session": config.frames_per_session,
        "size": config.image_size,
        "seed": config.seed,
        "distance_cm": [MIN_DISTANCE_CM, MAX_DISTANCE_CM],
        "dark_frames": "left out, as the node does not run the image model on them",
    }


def summary_lines(results: dict[str, dict[str, Any]]) -> Sequence[str]:
    """Return one line per built bundle with its headline figures."""
    return [
        f"{name}: accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f}"
        for name, metrics in results.items()
    ]
