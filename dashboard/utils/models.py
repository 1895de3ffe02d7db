"""Model bundles for the dashboard: listing, metrics and what is inside a `.tflite`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import json
import logging
from pathlib import Path
import threading
from typing import Any, Final

import numpy as np
import pandas as pd
import streamlit as st

from node.bundle import (
    METADATA_FILE,
    MODEL_FILE,
    Bundle,
    BundleError,
    BundleMetadata,
    read_bundle,
)
from node.classifier import Classification, Classifier, load_bundle_model
from node.hardware.base import RGBImage

_LOGGER = logging.getLogger(__name__)

EVALUATION_FILE: Final = "evaluation.json"
METRIC_COLUMNS: Final = ("precision", "recall", "f1", "support")


class EvaluationError(ValueError):
    """An evaluation file beside a bundle cannot be read."""


@dataclass(frozen=True, slots=True)
class BundleProblem:
    """A folder that looks like a bundle but cannot be used, and why."""

    path: Path
    error: str


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    """The bundles in the models directory, and the folders that failed to read."""

    bundles: tuple[Bundle, ...]
    problems: tuple[BundleProblem, ...]
    evaluations: Mapping[Path, dict[str, Any]] = field(default_factory=dict)

    def metrics(self, bundle: Bundle) -> dict[str, Any]:
        """Return a bundle's metrics, from its evaluation file when there is one."""
        return self.evaluations.get(bundle.path) or bundle.metadata.metrics

    def label(self, bundle: Bundle) -> str:
        """Return how a bundle is named in selection boxes."""
        metadata = bundle.metadata
        return f"{metadata.name} {metadata.version} ({metadata.kind})"


@dataclass(frozen=True, slots=True)
class ModelGraph:
    """The operators and tensors of a `.tflite` model, as a model viewer lists them."""

    operators: pd.DataFrame
    tensors: pd.DataFrame
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    wiring: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]


def _signature(models_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Return what changes when a bundle is added, replaced or evaluated."""
    entries = []
    try:
        for directory in sorted(models_dir.iterdir()):
            for name in (METADATA_FILE, MODEL_FILE, EVALUATION_FILE):
                path = directory / name
                if path.is_file():
                    stat = path.stat()
                    entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    except OSError:
        # The catalog itself reports an unreadable folder; here it only means "read".
        return ((str(models_dir), -1, -1),)
    return tuple(entries)


def load_catalog(models_dir: Path) -> ModelCatalog:
    """Return the bundles in a directory, re-reading only when the files changed."""
    return _load_catalog(str(models_dir), _signature(models_dir))


@st.cache_data(show_spinner=False, max_entries=8)
def _load_catalog(
    models_dir: str, signature: tuple[tuple[str, int, int], ...]
) -> ModelCatalog:
    del signature
    root = Path(models_dir)
    bundles: list[Bundle] = []
    problems: list[BundleProblem] = []
    evaluations: dict[Path, dict[str, Any]] = {}
    if not root.is_dir():
        return ModelCatalog((), ())
    try:
        directories = sorted(root.iterdir())
    except OSError as err:
        return ModelCatalog((), (BundleProblem(root, str(err)),))

    for directory in directories:
        if not (directory / METADATA_FILE).is_file():
            continue
        try:
            bundle = read_bundle(directory)
        except (BundleError, OSError) as err:
            _LOGGER.warning("Skipping bundle %s: %s", directory, err)
            problems.append(BundleProblem(directory, str(err)))
            continue
        bundles.append(bundle)
        try:
            evaluation = read_evaluation(directory)
        except EvaluationError as err:
            problems.append(BundleProblem(directory / EVALUATION_FILE, str(err)))
        else:
            if evaluation is not None:
                evaluations[directory] = evaluation

    bundles.sort(key=lambda bundle: bundle.metadata.created, reverse=True)
    return ModelCatalog(tuple(bundles), tuple(problems), evaluations)


def read_evaluation(bundle_dir: Path) -> dict[str, Any] | None:
    """Return the trainer's evaluation beside a bundle, or None when there is none."""
    path = bundle_dir / EVALUATION_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        msg = f"{path} is not readable JSON: {err}"
        raise EvaluationError(msg) from err
    if not isinstance(data, dict):
        msg = f"{path} must hold a JSON object"
        raise EvaluationError(msg)
    # The trainer may wrap the metrics with details of the run that produced them.
    metrics = data.get("metrics", data)
    if not isinstance(metrics, dict):
        msg = f"{path}: 'metrics' must be a JSON object"
        raise EvaluationError(msg)
    return metrics


def catalog_frame(catalog: ModelCatalog) -> pd.DataFrame:
    """Return one row per bundle with what a person compares models by."""
    rows = []
    for bundle in catalog.bundles:
        metadata = bundle.metadata
        metrics = catalog.metrics(bundle)
        rows.append(
            {
                "name": metadata.name,
                "version": metadata.version,
                "kind": metadata.kind,
                "classes": ", ".join(metadata.classes),
                "inputs": _input_description(metadata),
                "quantization": metadata.quantization,
                "size_kb": round(bundle.size_bytes / 1024, 1),
                "created": metadata.created,
                "accuracy": _number(metrics.get("accuracy")),
                "macro_f1": _number(metrics.get("macro_f1")),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "name",
            "version",
            "kind",
            "classes",
            "inputs",
            "quantization",
            "size_kb",
            "created",
            "accuracy",
            "macro_f1",
        ],
    )


def _input_description(metadata: BundleMetadata) -> str:
    if metadata.kind == "sensors":
        return ", ".join(metadata.features)
    image = metadata.image_input
    return f"{image.width}x{image.height} RGB"


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def per_class_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Return precision, recall, f1 and support per class from a metrics object."""
    per_class = metrics.get("per_class") or {}
    rows = []
    if isinstance(per_class, Mapping):
        items = list(per_class.items())
    elif isinstance(per_class, list):
        items = [
            (str(entry.get("class", entry.get("label", ""))), entry)
            for entry in per_class
            if isinstance(entry, Mapping)
        ]
    else:
        items = []
    for name, scores in items:
        if not isinstance(scores, Mapping):
            continue
        row: dict[str, Any] = {"class": name}
        for column in METRIC_COLUMNS:
            row[column] = _number(scores.get(column, scores.get(f"{column}_score")))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["class", *METRIC_COLUMNS])
    # Bundle metadata is written with sorted keys; the classes list keeps their order.
    order = metrics.get("classes")
    if isinstance(order, list):
        position = {name: index for index, name in enumerate(order)}
        frame = frame.sort_values(
            "class",
            key=lambda names: names.map(lambda name: position.get(name, len(position))),
        ).reset_index(drop=True)
    return frame


def confusion_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Return the confusion matrix as rows of true class, predicted class and count."""
    matrix = metrics.get("confusion_matrix")
    classes = metrics.get("classes")
    if isinstance(matrix, Mapping):
        classes = matrix.get("classes", classes)
        matrix = matrix.get("matrix", matrix.get("counts"))
    if not isinstance(matrix, list) or not isinstance(classes, list):
        return pd.DataFrame(columns=["true", "predicted", "count"])
    rows = []
    for true_name, counts in zip(classes, matrix, strict=False):
        if not isinstance(counts, list):
            continue
        for predicted_name, count in zip(classes, counts, strict=False):
            rows.append(
                {
                    "true": str(true_name),
                    "predicted": str(predicted_name),
                    "count": _number(count) or 0.0,
                }
            )
    return pd.DataFrame(rows, columns=["true", "predicted", "count"])


def per_session_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Return the scores the trainer measured on each recording session."""
    per_session = metrics.get("per_session") or {}
    if isinstance(per_session, Mapping):
        entries = [
            {"session": str(session), **scores}
            for session, scores in per_session.items()
            if isinstance(scores, Mapping)
        ]
    elif isinstance(per_session, list):
        entries = [
            {**entry, "session": str(entry.get("session", entry.get("session_id")))}
            for entry in per_session
            if isinstance(entry, Mapping)
        ]
    else:
        entries = []
    frame = pd.DataFrame(entries)
    if frame.empty:
        return pd.DataFrame(columns=["session", "score", "value"])
    scores = [
        column
        for column in frame.columns
        if column != "session" and pd.api.types.is_numeric_dtype(frame[column])
    ]
    return frame.melt(
        id_vars=["session"], value_vars=scores, var_name="score", value_name="value"
    )


def inspect_model(bundle: Bundle) -> ModelGraph:
    """Return the operators and tensors of a bundle's `.tflite` file."""
    return _inspect_model(str(bundle.model_path), bundle.metadata.sha256)


@st.cache_data(show_spinner=False, max_entries=16)
def _inspect_model(model_path: str, sha256: str) -> ModelGraph:
    del sha256
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Without the default delegate the interpreter lists the model's own operators;
    # with it, XNNPACK folds them into one DELEGATE node after allocation.
    interpreter = Interpreter(
        model_path=model_path,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    tensor_details = interpreter.get_tensor_details()
    operator_details = interpreter._get_ops_details()  # noqa: SLF001

    names = {int(detail["index"]): str(detail["name"]) for detail in tensor_details}
    tensors = pd.DataFrame(
        [_tensor_row(detail) for detail in tensor_details],
        columns=[
            "index",
            "name",
            "shape",
            "dtype",
            "scale",
            "zero_point",
            "quantized_dimension",
        ],
    )
    operators = pd.DataFrame(
        [
            {
                "index": int(detail["index"]),
                "operator": str(detail["op_name"]),
                "inputs": _tensor_names(detail["inputs"], names),
                "outputs": _tensor_names(detail["outputs"], names),
            }
            for detail in operator_details
        ],
        columns=["index", "operator", "inputs", "outputs"],
    )
    return ModelGraph(
        operators=operators,
        tensors=tensors,
        inputs=tuple(int(d["index"]) for d in interpreter.get_input_details()),
        outputs=tuple(int(d["index"]) for d in interpreter.get_output_details()),
        wiring=tuple(
            (_present(detail["inputs"]), _present(detail["outputs"]))
            for detail in operator_details
        ),
    )


def _tensor_row(detail: Mapping[str, Any]) -> dict[str, Any]:
    parameters = detail.get("quantization_parameters") or {}
    scales = np.asarray(parameters.get("scales", []), dtype=np.float64)
    zero_points = np.asarray(parameters.get("zero_points", []), dtype=np.int64)
    return {
        "index": int(detail["index"]),
        "name": str(detail["name"]),
        "shape": "[" + ", ".join(str(int(size)) for size in detail["shape"]) + "]",
        "dtype": np.dtype(detail["dtype"]).name,
        "scale": _summarise(scales, "{:.6g}"),
        "zero_point": _summarise(zero_points, "{:d}"),
        "quantized_dimension": int(parameters.get("quantized_dimension", 0))
        if scales.size > 1
        else None,
    }


def _summarise(values: np.ndarray, template: str) -> str:
    """Show one quantisation parameter, or the range of a per-channel list."""
    if values.size == 0:
        return ""
    if values.size == 1:
        return template.format(values.item())
    low, high = values.min().item(), values.max().item()
    return f"{values.size} values, {template.format(low)} to {template.format(high)}"


def _present(indices: Any) -> tuple[int, ...]:
    # An index of -1 marks an optional input the model leaves out, such as a bias.
    return tuple(int(index) for index in indices if int(index) >= 0)


def _tensor_names(indices: Any, names: Mapping[int, str]) -> str:
    return ", ".join(names.get(index, str(index)) for index in _present(indices))


def graph_dot(graph: ModelGraph) -> str:
    """Return the model as a Graphviz graph: operators as boxes, tensors on edges."""
    descriptions = {
        int(index): f"{shape} {dtype}"
        for index, shape, dtype in zip(
            graph.tensors["index"],
            graph.tensors["shape"],
            graph.tensors["dtype"],
            strict=True,
        )
    }

    def describe(index: int) -> str:
        return descriptions.get(index, "")

    lines = [
        "digraph model {",
        'node [shape=box, style="rounded,filled", fillcolor="#dbeafe", '
        'fontname="Helvetica"];',
        'edge [fontname="Helvetica", fontsize=10];',
    ]
    producers: dict[int, str] = {}
    for index in graph.inputs:
        producers[index] = f"in{index}"
        lines.append(
            f'in{index} [label="input\\n{describe(index)}", shape=ellipse, '
            'fillcolor="#dcfce7"];'
        )
    operators = graph.operators["operator"]
    for position, (operator, (inputs, outputs)) in enumerate(
        zip(operators, graph.wiring, strict=True)
    ):
        # Inputs no operator produces are weights and biases; the box lists them.
        constants = [describe(index) for index in inputs if index not in producers]
        label = "\\n".join([str(operator), *constants])
        lines.append(f'op{position} [label="{label}"];')
        lines.extend(
            f'{producers[index]} -> op{position} [label="{describe(index)}"];'
            for index in inputs
            if index in producers
        )
        producers.update(dict.fromkeys(outputs, f"op{position}"))
    for index in graph.outputs:
        lines.append(
            f'out{index} [label="output\\n{describe(index)}", shape=ellipse, '
            'fillcolor="#fee2e2"];'
        )
        if index in producers:
            lines.append(
                f'{producers[index]} -> out{index} [label="{describe(index)}"];'
            )
    lines.append("}")
    return "\n".join(lines)


@dataclass(slots=True)
class ModelRunner:
    """A classifier holding one model, safe to share between browser sessions."""

    classifier: Classifier
    lock: threading.Lock

    def classify(
        self, features: dict[str, float], frame: RGBImage | None = None
    ) -> Classification:
        """Classify one reading or frame, one caller at a time."""
        # An interpreter keeps its tensors between calls, so two sessions must not
        # run it at once.
        with self.lock:
            return self.classifier.classify(features, frame)


@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def model_runner(model_dir: str, sha256: str) -> ModelRunner:
    """Load a bundle's model once per file version and keep it for every session."""
    del sha256
    bundle = read_bundle(Path(model_dir))
    loaded = load_bundle_model(bundle)
    classifier = Classifier(bundle.metadata.classes)
    classifier.install(loaded)
    return ModelRunner(classifier, threading.Lock())
