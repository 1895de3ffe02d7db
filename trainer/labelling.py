"""Post-labeling: a bundle labels recordings, and flags the doubtful ones for review."""

from __future__ import annotations

from collections.abc import Sequence
import csv
from dataclasses import dataclass, field
import logging
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.bundle import Bundle
from node.classifier import LoadedModel

from .data import STORE_FILE, load_sensor_data
from .errors import DataError, OnError, Problems, TrainerError
from .evaluation import (
    bundle_feature_columns,
    open_bundle,
    predict_images,
    predict_sensors,
)
from .image_data import IMAGE_SUFFIXES, read_image

_LOGGER = logging.getLogger(__name__)

DEFAULT_REVIEW_BELOW: Final = 0.6
PREDICTION_COLUMNS: Final = ("predicted_label", "confidence", "needs_review")
# The store's word for a label set after recording, by a model.
POST_LABELLED_BY: Final = "post"


@dataclass(slots=True)
class LabelReport:
    """How many recordings were labelled and how many need a person's review."""

    total: int = 0
    labelled: int = 0
    needs_review: int = 0
    output: Path | None = None
    skipped: dict[str, object] = field(default_factory=dict)
    by_class: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready object."""
        return {
            "total": self.total,
            "labelled": self.labelled,
            "needs_review": self.needs_review,
            "output": str(self.output) if self.output else None,
            "skipped": self.skipped,
            "by_class": self.by_class,
        }


def _best(
    probabilities: NDArray[np.float32], classes: Sequence[str]
) -> list[tuple[str, float]]:
    """Return each row's most likely class and its probability."""
    return [(classes[int(np.argmax(row))], float(np.max(row))) for row in probabilities]


def label(
    bundle_dir: Path,
    data: Path,
    *,
    output: Path | None = None,
    features: str | Sequence[str] | None = None,
    review_below: float = DEFAULT_REVIEW_BELOW,
    label_column: str = "label",
    session_column: str = "session",
    time_column: str = "time",
    on_error: OnError = "stop",
) -> LabelReport:
    """Label unlabelled recordings: a new CSV, or post labels in a dataset store."""
    if not 0.0 <= review_below <= 1.0:
        msg = f"review_below must be between 0 and 1, not {review_below}"
        raise TrainerError(msg)
    bundle, loaded = open_bundle(bundle_dir)
    if data.is_dir() and (data / STORE_FILE).is_file():
        return _label_store(bundle, loaded, data, output, review_below, on_error)
    if bundle.metadata.kind == "image":
        return _label_images(loaded, data, output, review_below, on_error)
    if not data.is_file():
        msg = f"{data}: no such CSV file or dataset store"
        raise DataError(msg)
    return _label_csv(
        bundle,
        loaded,
        data,
        output or data.with_name(f"{data.stem}.labelled.csv"),
        features=features,
        review_below=review_below,
        label_column=label_column,
        session_column=session_column,
        time_column=time_column,
        on_error=on_error,
    )


def _label_csv(
    bundle: Bundle,
    loaded: LoadedModel,
    path: Path,
    output: Path,
    *,
    features: str | Sequence[str] | None,
    review_below: float,
    label_column: str,
    session_column: str,
    time_column: str,
    on_error: OnError,
) -> LabelReport:
    """Write a copy of a CSV with prediction columns added."""
    data = load_sensor_data(
        [path],
        bundle_feature_columns(bundle, features),
        label_column=label_column,
        session_column=session_column,
        time_column=time_column,
        require_labels=False,
        on_error=on_error,
    )
    predictions = dict(
        zip(
            data.row_ids,
            _best(
                predict_sensors(loaded, data.features, data.values),
                bundle.metadata.classes,
            ),
            strict=True,
        )
    )
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = [
            name for name in reader.fieldnames or [] if name not in PREDICTION_COLUMNS
        ]
        records = [(reader.line_num, record) for record in reader]

    report = LabelReport(output=output, skipped=data.problems.summary())
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*header, *PREDICTION_COLUMNS])
        writer.writeheader()
        for line, record in records:
            row = {name: record.get(name, "") for name in header}
            report.total += 1
            if line not in predictions:
                writer.writerow(
                    {
                        **row,
                        "predicted_label": "",
                        "confidence": "",
                        "needs_review": "true",
                    }
                )
                report.needs_review += 1
                continue
            name, confidence = predictions[line]
            doubtful = confidence < review_below
            report.needs_review += doubtful
            report.labelled += not doubtful
            report.by_class[name] = report.by_class.get(name, 0) + 1
            writer.writerow(
                {
                    **row,
                    "predicted_label": name,
                    "confidence": f"{confidence:.4f}",
                    "needs_review": "true" if doubtful else "false",
                }
            )
    _LOGGER.info(
        "Labelled %s rows of %s into %s", report.labelled, report.total, output
    )
    return report


def _label_store(
    bundle: Bundle,
    loaded: LoadedModel,
    path: Path,
    output: Path | None,
    review_below: float,
    on_error: OnError,
) -> LabelReport:
    """Set post labels on unlabelled readings the model is sure of; leave the rest."""
    from node.store import DatasetStore

    if bundle.metadata.kind == "sensors":
        data = load_sensor_data(
            [path],
            bundle_feature_columns(bundle),
            require_labels=False,
            on_error=on_error,
        )
        unlabelled = data.subset(
            i for i, name in enumerate(data.labels) if name is None
        )
        ids = [int(row_id) for row_id in unlabelled.row_ids if row_id is not None]
        probabilities = predict_sensors(loaded, unlabelled.features, unlabelled.values)
        skipped = data.problems.summary()
        store = DatasetStore(path)
    else:
        store = DatasetStore(path)
        problems = Problems(on_error)
        ids, frames = [], []
        size = (bundle.metadata.image_input.height, bundle.metadata.image_input.width)
        for reading in store.readings():
            frame_path = store.frame_path(reading.id) if reading.frame else None
            if reading.true_label or frame_path is None:
                continue
            try:
                frames.append(read_image(frame_path, size))
            except (OSError, ValueError) as err:
                problems.report(f"{frame_path}: cannot read image: {err}")
                continue
            ids.append(reading.id)
        probabilities = predict_images(loaded, np.asarray(frames, dtype=np.uint8))
        skipped = problems.summary()

    report = LabelReport(output=output, skipped=skipped, total=len(ids))
    rows = []
    try:
        for reading_id, (name, confidence) in zip(
            ids, _best(probabilities, bundle.metadata.classes), strict=True
        ):
            doubtful = confidence < review_below
            store.set_prediction(
                reading_id, name, confidence, model_version=bundle.metadata.version
            )
            if not doubtful:
                store.set_true_label(reading_id, name, POST_LABELLED_BY)
                report.labelled += 1
                report.by_class[name] = report.by_class.get(name, 0) + 1
            report.needs_review += doubtful
            rows.append((reading_id, name, confidence, doubtful))
    finally:
        store.close()
    if output is not None:
        _write_rows(output, ["reading_id", *PREDICTION_COLUMNS], rows)
    _LOGGER.info(
        "Labelled %s readings in %s; %s left for review",
        report.labelled,
        path,
        report.needs_review,
    )
    return report


def _label_images(
    loaded: LoadedModel,
    data: Path,
    output: Path | None,
    review_below: float,
    on_error: OnError,
) -> LabelReport:
    """Write a CSV of predictions for a folder of images."""
    if not data.is_dir():
        msg = f"{data}: an image model labels a folder of images or a dataset store"
        raise DataError(msg)
    problems = Problems(on_error)
    image = loaded.metadata.image_input
    paths, frames = [], []
    for path in sorted(data.iterdir()):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            frames.append(read_image(path, (image.height, image.width)))
        except (OSError, ValueError) as err:
            problems.report(f"{path}: cannot read image: {err}")
            continue
        paths.append(path)
    probabilities = predict_images(loaded, np.asarray(frames, dtype=np.uint8))
    target = output or data / "labels.csv"
    report = LabelReport(output=target, skipped=problems.summary(), total=len(paths))
    rows = []
    for path, (name, confidence) in zip(
        paths, _best(probabilities, loaded.metadata.classes), strict=True
    ):
        doubtful = confidence < review_below
        report.needs_review += doubtful
        report.labelled += not doubtful
        report.by_class[name] = report.by_class.get(name, 0) + 1
        rows.append((path.name, name, confidence, doubtful))
    _write_rows(target, ["path", *PREDICTION_COLUMNS], rows)
    return report


def _write_rows(
    path: Path, header: list[str], rows: list[tuple[Any, str, float, bool]]
) -> None:
    """Write prediction rows as CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for key, name, confidence, doubtful in rows:
            writer.writerow(
                [key, name, f"{confidence:.4f}", "true" if doubtful else "false"]
            )
