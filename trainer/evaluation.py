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

from .data import (
    BACKGROUND,
    FeatureColumn,
    SensorData,
    load_sensor_data,
    parse_features,
)
from .errors import DataError, OnError, TrainerError
from .exporting import DEFAULT_THRESHOLD, Holdout, holdout_metrics
from .image_data import ImageData, load_image_data
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
    return tuple(
        FeatureColumn(columns[name], name) for name in bundle.metadata.features
    )


def predict_sensors(
    loaded: LoadedModel, features: Sequence[str], values: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Return the model's probabilities for every row, one invoke per row."""
    metadata = loaded.metadata
    missing = [name for name in metadata.features if name not in features]
    if missing:
        msg = f"the data lacks the bundle's features {', '.join(missing)}"
        raise DataError(msg)
    outputs = []
    for row in values:
        batch = sensor_input(
            metadata, dict(zip(features, map(float, row), strict=True))
        )
        if batch is not None:
            outputs.append(loaded.model.run(batch))
    return _stack(outputs, len(metadata.classes))


def predict_images(
    loaded: LoadedModel, images: NDArray[np.uint8]
) -> NDArray[np.float32]:
    """Return the model's probabilities for every frame, resized as the node does."""
    outputs = [
        loaded.model.run(image_input(loaded.metadata, frame)) for frame in images
    ]
    return _stack(outputs, len(loaded.metadata.classes))


def _stack(outputs: list[NDArray[np.float32]], width: int) -> NDArray[np.float32]:
    """Stack output rows, or return an empty array of the right width."""
    if not outputs:
        return np.zeros((0, width), dtype=np.float32)
    return np.stack(outputs).astype(np.float32)


def check_classes(bundle: Bundle, labels: Sequence[str | None]) -> None:
    """Raise TrainerError when the data holds classes the bundle does not predict."""
    classes = bundle.metadata.classes
    unknown = sorted(
        {str(label) for label in labels if label and label != BACKGROUND} - set(classes)
    )
    if unknown:
        msg = (
            f"the data's classes {', '.join(unknown)} are not among the bundle's "
            f"classes {', '.join(classes)}"
        )
        raise TrainerError(msg)
    if not any(label in classes for label in labels):
        msg = f"the data holds no rows labelled with the bundle's classes {', '.join(classes)}"
        raise TrainerError(msg)


def load_for_bundle(
    bundle: Bundle,
    data: Sequence[Path] | SensorData | ImageData,
    *,
    features: str | Sequence[str] | None = None,
    label_column: str = "label",
    session_column: str = "session",
    time_column: str = "time",
    on_error: OnError = "stop",
) -> Holdout:
    """Read labelled data in the form the bundle takes, checking its classes."""
    classes = bundle.metadata.classes
    if bundle.metadata.kind == "sensors":
        if isinstance(data, ImageData):
            msg = f"{bundle.path} is a sensors model; give it sensor readings"
            raise TrainerError(msg)
        if isinstance(data, SensorData):
            sensor_data = data
        else:
            sensor_data = load_sensor_data(
                list(data),
                bundle_feature_columns(bundle, features),
                label_column=label_column,
                session_column=session_column,
                time_column=time_column,
                on_error=on_error,
            )
        sensor_data = sensor_data.labelled()
        check_classes(bundle, sensor_data.labels)
        return Holdout(
            sensor_data.values,
            sensor_data.labels,
            sensor_data.sessions,
            skipped=sensor_data.problems.summary(),
        )

    if isinstance(data, SensorData):
        msg = f"{bundle.path} is an image model; give it images"
        raise TrainerError(msg)
    image = bundle.metadata.image_input
    if isinstance(data, ImageData):
        image_data = data
    else:
        image_data = load_image_data(
            list(data), size=(image.height, image.width), on_error=on_error
        )
    check_classes(bundle, list(image_data.labels))
    keep = [i for i, name in enumerate(image_data.labels) if name in classes]
    return Holdout(
        image_data.images[keep],
        [image_data.labels[i] for i in keep],
        [image_data.sessions[i] for i in keep],
        skipped=image_data.problems.summary(),
    )


def holdout_for_bundle(
    bundle_dir: Path,
    data: Sequence[Path],
    *,
    features: str | Sequence[str] | None = None,
    label_column: str = "label",
    on_error: OnError = "stop",
) -> Holdout:
    """Read labelled data to compare a re-exported bundle with its Keras model."""
    bundle, _ = open_bundle(bundle_dir)
    return load_for_bundle(
        bundle, data, features=features, label_column=label_column, on_error=on_error
    )


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
    holdout = load_for_bundle(
        bundle,
        data,
        features=features,
        label_column=label_column,
        session_column=session_column,
        time_column=time_column,
        on_error=on_error,
    )
    if bundle.metadata.kind == "sensors":
        probabilities = predict_sensors(
            loaded, bundle.metadata.features, holdout.inputs
        )
    else:
        probabilities = predict_images(loaded, holdout.inputs)
    skipped = holdout.skipped

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
