"""Train the sensor model: a small network on raw readings, normalised inside the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
import logging
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.const import CLASSES

from .data import (
    BACKGROUND,
    SensorData,
    check_class_counts,
    load_sensor_data,
    split_by_session,
)
from .errors import DataError, OnError, TrainerError
from .exporting import ExportReport, Holdout, export_trained, representative_rows
from .metrics import accuracy, macro_f1
from .simulate import select_features

_LOGGER = logging.getLogger(__name__)

# Counts and lux grow with the square of closeness; a log keeps them comparable.
COUNT_FEATURES: Final = frozenset({"lux", "visible", "infrared", "full_spectrum"})
REPRESENTATIVE_ROWS: Final = 200


@dataclass(frozen=True, slots=True)
class SensorConfig:
    """Hyper-parameters of sensor training; the defaults suit a few thousand rows."""

    widths: tuple[int, ...] = (16, 32, 64)
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 3e-3
    patience: int = 5
    holdout: float = 0.2
    seed: int = 0
    min_class_rows: int = 10
    dropout: float = 0.1
    # Eager steps skip graph tracing, which costs more than a few tiny batches.
    run_eagerly: bool = False


@dataclass(slots=True)
class Candidate:
    """One network size tried, with its validation figures."""

    width: int
    epochs: int
    macro_f1: float
    accuracy: float
    val_loss: float

    def to_dict(self) -> dict[str, Any]:
        """Return the candidate as a JSON-ready object."""
        return asdict(self)


@dataclass(slots=True)
class SensorTraining:
    """A trained sensor model, how it was chosen and, once exported, its bundle."""

    model: Any
    features: tuple[str, ...]
    candidates: list[Candidate]
    chosen: Candidate
    validation: str
    training_rows: int
    validation_rows: int
    class_counts: dict[str, int]
    skipped: dict[str, object]
    holdout: Holdout
    representative: NDArray[np.float32]
    report: ExportReport | None = None
    training_metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "features": list(self.features),
            "chosen_width": self.chosen.width,
            "candidates": [candidate.to_dict() for candidate in self.candidates],
            "validation": self.validation,
            "training_rows": self.training_rows,
            "validation_rows": self.validation_rows,
            "class_counts": self.class_counts,
            "skipped": self.skipped,
            "export": self.report.to_dict() if self.report else None,
            "metrics": self.report.metrics if self.report else {},
        }


def targets_and_weights(
    labels: Sequence[str | None], classes: Sequence[str]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Return soft targets and balancing weights; background rows aim at uniform."""
    groups = [*classes, BACKGROUND]
    counts = {name: sum(1 for label in labels if label == name) for name in groups}
    present = [name for name in groups if counts[name]]
    targets = np.zeros((len(labels), len(classes)), dtype=np.float32)
    weights = np.zeros(len(labels), dtype=np.float32)
    for row, label in enumerate(labels):
        if label == BACKGROUND:
            targets[row] = 1.0 / len(classes)
        elif label in classes:
            targets[row, classes.index(label)] = 1.0
        else:
            msg = f"row {row}: label {label!r} is neither a class nor {BACKGROUND!r}"
            raise DataError(msg)
        weights[row] = len(labels) / (len(present) * counts[str(label)])
    return targets, weights


def build_sensor_model(
    features: Sequence[str],
    width: int,
    training_values: NDArray[np.float32],
    *,
    dropout: float = 0.1,
    classes: Sequence[str] = CLASSES,
) -> Any:
    """Return a Functional model that takes raw feature values."""
    import keras

    from .layers import LogCounts

    inputs = keras.Input(shape=(len(features),), name="features")
    compress = LogCounts(
        [name in COUNT_FEATURES for name in features], name="log_counts"
    )
    normalise = keras.layers.Normalization(name="normalise")
    normalise.adapt(np.asarray(compress(training_values)))

    x = normalise(compress(inputs))
    x = keras.layers.Dense(width, activation="relu", name="hidden_1")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = keras.layers.Dense(width, activation="relu", name="hidden_2")(x)
    outputs = keras.layers.Dense(
        len(classes), activation="softmax", name="probabilities"
    )(x)
    return keras.Model(inputs, outputs, name=f"sensors_{width}")


class _EpochBar:
    """A tqdm bar advanced by a Keras callback after each epoch."""

    def __init__(self, total: int, description: str, enabled: bool) -> None:
        """Open a bar of `total` epochs."""
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=description, disable=not enabled, leave=False)

    def callback(self) -> Any:
        """Return a Keras callback that advances the bar."""
        import keras

        bar = self.bar

        class _Callback(keras.callbacks.Callback):  # type: ignore[misc]
            """Advance the bar at each epoch's end."""

            def on_epoch_end(
                self, epoch: int, logs: dict[str, float] | None = None
            ) -> None:
                """Advance the bar and show the validation loss."""
                bar.update(1)
                if logs and "val_loss" in logs:
                    bar.set_postfix(val_loss=f"{logs['val_loss']:.4f}")

        return _Callback()


def seed_everything(seed: int) -> None:
    """Make Keras and TensorFlow repeat the same run for the same seed."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit_candidate(
    training: SensorData,
    validation: SensorData,
    width: int,
    config: SensorConfig,
    *,
    progress: bool = False,
) -> tuple[Any, Candidate]:
    """Train one network size and score it on the validation sessions."""
    import keras

    seed_everything(config.seed)
    model = build_sensor_model(
        training.features, width, training.values, dropout=config.dropout
    )
    model.compile(
        jit_compile=False,
        run_eagerly=config.run_eagerly,
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=keras.losses.CategoricalCrossentropy(),
    )
    targets, weights = targets_and_weights(training.labels, CLASSES)
    validation_targets, _ = targets_and_weights(validation.labels, CLASSES)
    bar = _EpochBar(config.epochs, f"width {width}", progress)
    history = model.fit(
        training.values,
        targets,
        sample_weight=weights,
        validation_data=(validation.values, validation_targets),
        epochs=config.epochs,
        batch_size=config.batch_size,
        callbacks=[
            keras.callbacks.EarlyStopping(
                patience=config.patience, restore_best_weights=True
            ),
            bar.callback(),
        ],
        verbose=0,
    )
    bar.bar.close()

    labelled = [i for i, label in enumerate(validation.labels) if label in CLASSES]
    probabilities = model.predict(
        validation.values[labelled], verbose=0, batch_size=512
    )
    predicted = [CLASSES[int(index)] for index in np.argmax(probabilities, axis=1)]
    true = [str(validation.labels[i]) for i in labelled]
    losses = history.history["val_loss"]
    candidate = Candidate(
        width=width,
        epochs=len(losses),
        macro_f1=round(macro_f1(true, predicted, CLASSES), 6),
        accuracy=round(accuracy(true, predicted), 6),
        val_loss=round(float(min(losses)), 6),
    )
    _LOGGER.info(
        "Width %s: validation macro-F1 %.4f after %s epochs",
        width,
        candidate.macro_f1,
        candidate.epochs,
    )
    return model, candidate


def train_sensors(
    data: Sequence[Path] | SensorData,
    output: Path | None = None,
    *,
    features: str | Sequence[str] | None = None,
    label_column: str = "label",
    session_column: str = "session",
    time_column: str = "time",
    on_error: OnError = "stop",
    config: SensorConfig | None = None,
    quantization: str = "float32",
    name: str = "sensors",
    version: str = "1.0.0",
    progress: bool = False,
) -> SensorTraining:
    """Train candidate sizes, keep the best by validation macro-F1, and export it."""
    config = config or SensorConfig()
    if not config.widths:
        msg = "no network widths to try"
        raise TrainerError(msg)
    if isinstance(data, SensorData):
        dataset = data if features is None else select_features(data, _names(features))
    else:
        if features is None:
            msg = "name the features to train on, e.g. --features temperature,infrared"
            raise TrainerError(msg)
        dataset = load_sensor_data(
            list(data),
            features,
            label_column=label_column,
            session_column=session_column,
            time_column=time_column,
            on_error=on_error,
        )
    dataset = dataset.labelled()
    check_class_counts(dataset, config.min_class_rows)

    training_rows, validation_rows, validation = split_by_session(
        dataset, holdout=config.holdout, seed=config.seed
    )
    training = dataset.subset(training_rows)
    held_out = dataset.subset(validation_rows)
    check_class_counts(training, config.min_class_rows)
    _LOGGER.info(
        "Training on %s rows, validating on %s (%s)",
        len(training),
        len(held_out),
        validation,
    )

    best_model: Any = None
    best: Candidate | None = None
    candidates = []
    for width in config.widths:
        model, candidate = fit_candidate(
            training, held_out, width, config, progress=progress
        )
        candidates.append(candidate)
        if best is None or candidate.macro_f1 > best.macro_f1:
            best_model, best = model, candidate
    assert best is not None  # noqa: S101  # widths is not empty

    sample = representative_rows(len(training), REPRESENTATIVE_ROWS, config.seed)
    result = SensorTraining(
        model=best_model,
        features=dataset.features,
        candidates=candidates,
        chosen=best,
        validation=validation,
        training_rows=len(training),
        validation_rows=len(held_out),
        class_counts=training.class_counts(),
        skipped=dataset.problems.summary(),
        holdout=Holdout(
            inputs=held_out.values,
            labels=held_out.labels,
            sessions=held_out.sessions,
            validation=validation,
        ),
        representative=training.values[sample],
    )
    result.training_metadata = {
        "rows": len(training),
        "validation_rows": len(held_out),
        "validation": validation,
        "class_counts": result.class_counts,
        "candidates": [candidate.to_dict() for candidate in candidates],
        "width": best.width,
        "epochs": best.epochs,
        "seed": config.seed,
        "background": "rows with no source trained towards 1/4 per class",
        "class_weights": "balanced over the classes and the background",
        "skipped": dataset.problems.count,
    }
    if output is not None:
        export_sensors(
            result, output, name=name, version=version, quantization=quantization
        )
    return result


def export_sensors(
    result: SensorTraining,
    output: Path,
    *,
    name: str,
    version: str,
    quantization: str = "float32",
    extra_training: dict[str, Any] | None = None,
) -> ExportReport:
    """Write a trained sensor model as a bundle, with metrics from its holdout."""
    return export_trained(
        result,
        output,
        metadata={
            "name": name,
            "version": version,
            "kind": "sensors",
            "classes": list(CLASSES),
            "features": list(result.features),
        },
        quantization=quantization,
        extra_training=extra_training,
    )


def _names(features: str | Sequence[str]) -> list[str]:
    """Return feature names from a comma-separated string or a list."""
    texts = [features] if isinstance(features, str) else list(features)
    return [part.strip() for text in texts for part in text.split(",") if part.strip()]
