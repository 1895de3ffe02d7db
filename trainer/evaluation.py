"""Evaluate a bundle with the node's own runtime on a labelled dataset."""

from __future__ import annotations

from collections.abc import Sequence
import json
import logging
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.bundle import Bundle, BundleError, read_bundle
from node.classifier import LoadedModel, image_input, load_bundle_model, sensor_input

from .data import BACKGROUND, FeatureColumn, SensorData, load_sensor_data, parse_features
from .errors import DataError, OnError, TrainerError
from .image_data import ImageData, load_image_data
from .export import DEFAULT_THRESHOLD, Holdout, holdout_metrics
from .plot import draw_confusion_matrix

_LOGGER = logging.getLogger(__name__)

EVALUATION_FILE: Final = "evaluation.json"
CONFUSION_FILE: Final = "confusion_matrix.png"


def open_bundle(bundle_dir: Path) -> tuple[Bundle, LoadedModel]:
    """Read a bundle and load its model as the node does, or raise TrainerError."""
    try:
        bundle = read_bundle(bundle_dir)
        return bundle, load_bundle_model(bundle)
    except BundleError as err:
        msg = f"{bundle_dir}: {err}"
        raise TrainerError(msg) from err


def bundle_feature_columns(
    bundle: Bundle, mapping: str | Sequence[str] | None = None
) -> tuple[FeatureColumn, ...]:
    """Return the columns holding the bundle's features: same name unless mapped."""
    columns = {name: name for name in bundle.metadata.features}
    if mapping:
        for column in parse_features(mapping):
            columns[column.feature] = column.column
    return tuple(FeatureColumn(columns[name], name) for name in bundle.metadata.features)


def predict_sensors(loaded: LoadedModel, data: SensorData) -> NDArray[np.float32]:
    """Return the model's probabilities for every row, one invoke per row."""
    metadata = loaded.metadata
    outputs = []
    for index, row in enumerate(data.values):
        features = dict(zip(data.features, map(float, row), strict=True))
        batch = sensor_input(metadata, features)
        if batch is None:
            msg = f"{data.origins[index]}: missing a feature of {', '.join(metadata.features)}"
            raise DataError(msg)
        outputs.append(loaded.model.run(batch))
    return _stack(outputs, len(metadata.classes))


def predict_images(loaded: LoadedModel, images: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Return the model's probabilities for every frame, resized as the node does."""
    outputs = [loaded.model.run(image_input(loaded.metadata, frame)) for frame in images]
    return _stack(outputs, len(loaded.metadata.classes))


def _stack(outputs: list[NDArray[np.float32]], width: int) -> NDArray[np.float32]:
    if not outputs:
        return np.zeros((0, width), dtype=np.float32)
    return np.stack(outputs).astype(np.float32)


def check_classes(bundle: Bundle, labels: Sequence[str | None]) -> None:
    """Raise TrainerError when the data holds classes the bundle does not predict."""
    classes = bundle.metadata.classes
    unknown = sorted({str(label) for label in labels if label and label != BACKGROUND} - set(classes))
    if unknown:
        msg = (
            f"the data's classes {', '.join(unknown)} are not among the bundle's "
            f"classes {', '.join(classes)}"
        )
        raise TrainerError(msg)
    if not any(label in classes for label in labels):
        msg = f"the data holds no rows labelled with the bundle's classes {', '.join(classes)}"
        raise TrainerError(msg)


def evaluate(
    bundle_dir: Path,
    data: Sequence[Path] | SensorData | ImageData,
    *,
    output_dir: Path | None = None,
    features: str | Sequence[str] | None = None,
    label_column: str = "label",
    session_column: str = "session",
    time_column: str = "time",
    threshold: float = DEFAULT_THRESHOLD,
    on_error: OnError = "stop",
    write: bool = True,
) -> dict[str, Any]:
    """Score a bundle on labelled data; write evaluation.json and a confusion plot."""
    bundle, loaded = open_bundle(bundle_dir)
    classes = bundle.metadata.classes
    skipped: dict[str, object] = {"count": 0, "first": []}
    if bundle.metadata.kind == "sensors":
        if isinstance(data, SensorData):
            sensor_data = data
        elif isinstance(data, list | tuple):
            sensor_data = load_sensor_data(
                [Path(item) for item in data],
                bundle_feature_columns(bundle, features),
                label_column=label_column,
                session_column=session_column,
                time_column=time_column,
                on_error=on_error,
            )
        else:
            msg = f"{bundle_dir} is a sensors model; give it sensor readings"
            raise TrainerError(msg)
        sensor_data = sensor_data.labelled()
        skipped = sensor_data.problems.summary()
        check_classes(bundle, sensor_data.labels)
        probabilities = predict_sensors(loaded, sensor_data)
        holdout = Holdout(sensor_data.values, sensor_data.labels, sensor_data.sessions)
    else:
        if isinstance(data, ImageData):
            image_data = data
        elif isinstance(data, list | tuple):
            image_data = load_image_data(
                [Path(item) for item in data],
                size=None,
                on_error=on_error,
            )
            skipped = image_data.problems.summary()
        else:
            msg = f"{bundle_dir} is an image model; give it images"
            raise TrainerError(msg)
        check_classes(bundle, list(image_data.labels))
        keep = [i for i, label in enumerate(image_data.labels) if label in classes]
        probabilities = predict_images(loaded, image_data.images[keep])
        holdout = Holdout(
            image_data.images[keep],
            [image_data.labels[i] for i in keep],
            [image_data.sessions[i] for i in keep],
        )

    metrics = holdout_metrics(probabilities, holdout, classes, threshold=threshold)
    result: dict[str, Any] = {
        "bundle": str(bundle_dir),
        "name": bundle.metadata.name,
        "version": bundle.metadata.version,
        "kind": bundle.metadata.kind,
        "quantization": bundle.metadata.quantization,
        **metrics,
        "skipped": skipped,
    }
    if write:
        target = output_dir or bundle_dir
        target.mkdir(parents=True, exist_ok=True)
        (target / EVALUATION_FILE).write_text(
            json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        draw_confusion_matrix(
            metrics["confusion_matrix"], list(classes), target / CONFUSION_FILE
        )
        result["files"] = [str(target / EVALUATION_FILE), str(target / CONFUSION_FILE)]
    _LOGGER.info(
        "Accuracy %.4f, macro-F1 %.4f on %s rows",
        metrics["accuracy"],
        metrics["macro_f1"],
        metrics["count"],
    )
    return result
