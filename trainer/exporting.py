"""Export a Keras model as a node bundle, checked against Keras through the node's runtime."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import logging
from pathlib import Path
import tempfile
from typing import Any, Final, Protocol
import warnings

import numpy as np
from numpy.typing import NDArray

from node.bundle import Bundle, BundleError, read_bundle, write_bundle
from node.runtime import load_model

from .errors import TrainerError
from .metrics import background_metrics, classification_metrics

_LOGGER = logging.getLogger(__name__)

QUANTIZATIONS: Final = ("float32", "float16", "int8")
KERAS_FILE: Final = "keras_model.keras"
REPRESENTATIVE_FILE: Final = "representative.npy"
REPRESENTATIVE_ROWS: Final = 200
FLOAT32_TOLERANCE: Final = 1e-4
DEFAULT_THRESHOLD: Final = 0.6

# Raw sensor values span five orders of magnitude in one tensor, so one int8 scale
# would erase the small ones: the steps before normalisation stay in float.
SENSOR_FLOAT_OPS: Final = (
    "ABS",
    "ADD",
    "DIV",
    "LOG",
    "MAXIMUM",
    "MUL",
    "RELU",
    "RSQRT",
    "SQRT",
    "SUB",
)


@dataclass(slots=True)
class Holdout:
    """Inputs kept out of training, with their labels and sessions."""

    inputs: NDArray[Any]
    labels: list[str | None]
    sessions: list[str]
    validation: str = ""
    skipped: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class ExportReport:
    """What was written and how the TFLite model compares with the Keras model."""

    bundle: Bundle
    quantization: str
    size_bytes: int
    max_abs_diff: float | None = None
    keras_accuracy: float | None = None
    tflite_accuracy: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy_change(self) -> float | None:
        """Return the TFLite accuracy minus the Keras accuracy."""
        if self.keras_accuracy is None or self.tflite_accuracy is None:
            return None
        return self.tflite_accuracy - self.keras_accuracy

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready object."""
        return {
            "bundle": str(self.bundle.path),
            "quantization": self.quantization,
            "size_bytes": self.size_bytes,
            "max_abs_diff": self.max_abs_diff,
            "keras_accuracy": self.keras_accuracy,
            "tflite_accuracy": self.tflite_accuracy,
            "accuracy_change": self.accuracy_change,
        }


class Trained(Protocol):
    """A trained model with the inputs and metadata its export needs."""

    model: Any
    holdout: Holdout
    representative: NDArray[Any]
    training_metadata: dict[str, Any]
    report: ExportReport | None


def representative_rows(count: int, limit: int, seed: int) -> NDArray[np.intp]:
    """Return up to `limit` of `count` row positions, drawn with the seed and sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=min(limit, count), replace=False))


def _representative_batches(
    samples: NDArray[Any],
) -> Iterator[list[NDArray[np.float32]]]:
    """Yield calibration inputs one example at a time."""
    for row in samples:
        yield [np.asarray(row, dtype=np.float32)[None, ...]]


def convert(
    model: Any,
    *,
    quantization: str = "float32",
    kind: str = "sensors",
    representative: NDArray[Any] | None = None,
) -> bytes:
    """Convert a Keras model to TFLite bytes, quantised as asked."""
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        msg = f"quantization must be one of {', '.join(QUANTIZATIONS)}, not {quantization!r}"
        raise TrainerError(msg)
    if quantization == "int8" and (representative is None or len(representative) == 0):
        msg = "int8 quantization needs representative inputs from the training data"
        raise TrainerError(msg)

    with tempfile.TemporaryDirectory(prefix="smart-labeling-export-") as folder:
        saved_model = Path(folder) / "saved_model"
        model.export(str(saved_model), format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
        if quantization == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantization == "int8" and representative is not None:
            samples = representative
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: _representative_batches(samples)
            if kind == "sensors":
                return _selective_int8(tf, converter, samples)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        model_bytes: bytes = converter.convert()
        return model_bytes


def _selective_int8(tf: Any, converter: Any, samples: NDArray[Any]) -> bytes:
    """Quantise to int8 all but the float preprocessing steps."""
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_ops=list(SENSOR_FLOAT_OPS)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=lambda: _representative_batches(samples),
            debug_options=options,
        )
        model_bytes: bytes = debugger.get_nondebug_quantized_model()
    return model_bytes


def run_tflite(model_path: Path, inputs: NDArray[Any]) -> NDArray[np.float32]:
    """Run every input row through the node's runtime, one example at a time."""
    model = load_model(model_path)
    outputs = [
        model.run(np.asarray(row, dtype=np.float32)[None, ...]) for row in inputs
    ]
    if not outputs:
        return np.zeros((0, model.output_size), dtype=np.float32)
    return np.stack(outputs).astype(np.float32)


def holdout_metrics(
    probabilities: NDArray[np.float32],
    holdout: Holdout,
    classes: Sequence[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """Return the metrics of predicted probabilities on labelled and background rows."""
    labelled = [i for i, label in enumerate(holdout.labels) if label in classes]
    background = [
        i
        for i, label in enumerate(holdout.labels)
        if label is not None and label not in classes
    ]
    predicted = [classes[int(np.argmax(probabilities[i]))] for i in labelled]
    true = [str(holdout.labels[i]) for i in labelled]
    metrics = classification_metrics(
        true,
        predicted,
        classes,
        sessions=[holdout.sessions[i] for i in labelled],
        validation=holdout.validation,
    )
    if labelled:
        confidence = probabilities[labelled].max(axis=1)
        metrics["unknown_rate"] = round(float(np.mean(confidence < threshold)), 6)
    if background:
        metrics["background"] = background_metrics(probabilities[background], threshold)
    return metrics


def export(
    model: Any,
    directory: Path,
    *,
    metadata: dict[str, Any],
    quantization: str = "float32",
    representative: NDArray[Any] | None = None,
    holdout: Holdout | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    save_keras: bool = True,
) -> ExportReport:
    """Write a bundle for the node and compare its TFLite model with Keras."""
    kind = str(metadata.get("kind", "sensors"))
    classes = tuple(str(name) for name in metadata.get("classes", ()))
    model_bytes = convert(
        model, quantization=quantization, kind=kind, representative=representative
    )

    size_bytes = len(model_bytes)
    max_abs_diff = keras_accuracy = tflite_accuracy = None
    metrics: dict[str, Any] = {}
    comparison = holdout.inputs if holdout is not None else representative
    if comparison is not None and len(comparison) > 0:
        comparison_inputs = np.asarray(comparison, dtype=np.float32)
        with tempfile.TemporaryDirectory(prefix="smart-labeling-check-") as folder:
            model_path = Path(folder) / "model.tflite"
            model_path.write_bytes(model_bytes)
            tflite_output = run_tflite(model_path, comparison_inputs)
        keras_output = np.asarray(
            model.predict(comparison_inputs, batch_size=256, verbose=0),
            dtype=np.float32,
        )
        max_abs_diff = float(np.max(np.abs(tflite_output - keras_output)))
        if quantization == "float32" and max_abs_diff > FLOAT32_TOLERANCE:
            msg = (
                f"float32 TFLite output differs from Keras by {max_abs_diff:.2e}, "
                f"more than {FLOAT32_TOLERANCE:.0e}"
            )
            raise TrainerError(msg)
        if holdout is not None:
            metrics = holdout_metrics(
                tflite_output, holdout, classes, threshold=threshold
            )
            keras_metrics = holdout_metrics(
                keras_output, holdout, classes, threshold=threshold
            )
            tflite_accuracy = float(metrics["accuracy"])
            keras_accuracy = float(keras_metrics["accuracy"])

    complete = {
        **metadata,
        "quantization": quantization,
        "created": metadata.get("created")
        or datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": metrics or metadata.get("metrics") or {},
    }
    try:
        bundle = write_bundle(directory, model_bytes, complete)
    except BundleError as err:
        msg = f"cannot write the bundle in {directory}: {err}"
        raise TrainerError(msg) from err
    if save_keras:
        model.save(directory / KERAS_FILE)
    if representative is not None and len(representative) > 0:
        np.save(directory / REPRESENTATIVE_FILE, representative[:REPRESENTATIVE_ROWS])
    _LOGGER.info(
        "Wrote %s (%s, %s bytes, largest difference from Keras %s)",
        directory,
        quantization,
        size_bytes,
        max_abs_diff,
    )
    return ExportReport(
        bundle=bundle,
        quantization=quantization,
        size_bytes=size_bytes,
        max_abs_diff=max_abs_diff,
        keras_accuracy=keras_accuracy,
        tflite_accuracy=tflite_accuracy,
        metrics=metrics,
    )


def export_trained(
    trained: Trained,
    directory: Path,
    *,
    metadata: dict[str, Any],
    quantization: str = "float32",
    extra_training: dict[str, Any] | None = None,
) -> ExportReport:
    """Export a trained model with its training metadata; keep the report on it."""
    trained.report = export(
        trained.model,
        directory,
        metadata={
            **metadata,
            "training": {**trained.training_metadata, **(extra_training or {})},
        },
        quantization=quantization,
        representative=trained.representative,
        holdout=trained.holdout,
    )
    return trained.report


def update_metrics(directory: Path, metrics: dict[str, Any]) -> Bundle:
    """Replace the metrics in a bundle's metadata, keeping its model."""
    bundle = read_bundle(directory)
    data = bundle.metadata.to_dict()
    data["metrics"] = metrics
    for key in ("sha256", "format_version"):
        data.pop(key, None)
    if data.get("image") is None:
        data.pop("image", None)
    return write_bundle(directory, bundle.model_path.read_bytes(), data)


def load_keras_model(directory: Path) -> Any:
    """Load the Keras model saved beside a bundle's TFLite model."""
    import keras

    from . import layers  # noqa: F401  # registers the custom layers for loading

    path = directory / KERAS_FILE
    if not path.is_file():
        msg = f"{path} does not exist: the bundle was exported without its Keras model"
        raise TrainerError(msg)
    return keras.models.load_model(path)


def reexport(
    bundle_dir: Path,
    output: Path,
    *,
    quantization: str,
    holdout: Holdout | None = None,
    representative: NDArray[Any] | None = None,
) -> ExportReport:
    """Export a bundle's saved Keras model again, as another quantization."""
    try:
        source = read_bundle(bundle_dir)
    except BundleError as err:
        msg = f"{bundle_dir}: {err}"
        raise TrainerError(msg) from err
    model = load_keras_model(bundle_dir)
    if representative is None and (bundle_dir / REPRESENTATIVE_FILE).is_file():
        representative = np.load(bundle_dir / REPRESENTATIVE_FILE)
    if representative is None and holdout is not None:
        representative = holdout.inputs[:REPRESENTATIVE_ROWS]
    metadata = source.metadata.to_dict()
    for key in ("sha256", "format_version", "quantization", "created"):
        metadata.pop(key, None)
    if metadata.get("image") is None:
        metadata.pop("image", None)
    # Figures measured on the source model do not describe another quantization.
    metadata["metrics"] = {}
    with contextlib.suppress(FileExistsError):
        output.mkdir(parents=True)
    return export(
        model,
        output,
        metadata=metadata,
        quantization=quantization,
        representative=representative,
        holdout=holdout,
    )
