"""Reading model bundles, their scores and their `.tflite` graphs."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import pytest

from dashboard.utils.models import (
    EVALUATION_FILE,
    catalog_frame,
    confusion_frame,
    graph_dot,
    inspect_model,
    load_catalog,
    per_class_frame,
    per_session_frame,
)
from node.bundle import METADATA_FILE
from node.const import CLASSES


@pytest.fixture
def models_copy(tmp_path: Path, models_dir: Path) -> Path:
    """Return a copy of the test bundles that a test may break."""
    directory = tmp_path / "models"
    shutil.copytree(models_dir, directory)
    return directory


def test_catalog_lists_bundles_newest_first(models_dir: Path) -> None:
    """Every valid bundle is listed with its kind, size and scores."""
    catalog = load_catalog(models_dir)
    frame = catalog_frame(catalog)

    assert frame["version"].tolist() == ["2.0.0", "1.0.0", "1.0.0"]
    assert frame["kind"].tolist() == ["sensors", "image", "sensors"]
    assert frame.loc[0, "accuracy"] == pytest.approx(0.8)
    assert frame.loc[1, "inputs"] == "8x8 RGB"
    assert (frame["size_kb"] > 0).all()
    assert catalog.problems == ()


def test_broken_bundle_is_reported_not_hidden(models_copy: Path) -> None:
    """A bundle whose hash does not match is skipped with the reason."""
    model_file = models_copy / "sensors-1" / "model.tflite"
    model_file.write_bytes(model_file.read_bytes() + b"tampered")

    catalog = load_catalog(models_copy)

    assert len(catalog.bundles) == 2
    (problem,) = catalog.problems
    assert problem.path == models_copy / "sensors-1"
    assert "sha256" in problem.error


def test_evaluation_file_overrides_metadata_scores(models_copy: Path) -> None:
    """The trainer's evaluation beside a bundle is what the dashboard shows."""
    metadata = json.loads((models_copy / "sensors-1" / METADATA_FILE).read_text())
    evaluation = {**metadata["metrics"], "accuracy": 0.42}
    (models_copy / "sensors-1" / EVALUATION_FILE).write_text(json.dumps(evaluation))
    (models_copy / "sensors-2" / EVALUATION_FILE).write_text("{not json")

    catalog = load_catalog(models_copy)
    by_version = {bundle.metadata.version: bundle for bundle in catalog.bundles}

    assert catalog.metrics(by_version["1.0.0"])["accuracy"] == 0.42
    assert catalog.metrics(by_version["2.0.0"])["accuracy"] == pytest.approx(0.8)
    (problem,) = catalog.problems
    assert problem.path == models_copy / "sensors-2" / EVALUATION_FILE
    assert "not readable JSON" in problem.error


def test_missing_directory_is_an_empty_catalog(tmp_path: Path) -> None:
    """A models directory that does not exist holds no bundles and no problems."""
    catalog = load_catalog(tmp_path / "absent")

    assert catalog.bundles == ()
    assert catalog.problems == ()


def test_score_frames_follow_the_trainer_shape(models_dir: Path) -> None:
    """Per-class scores, the confusion matrix and sessions become long frames."""
    bundle = load_catalog(models_dir).bundles[0]
    metrics = bundle.metadata.metrics

    per_class = per_class_frame(metrics)
    cells = confusion_frame(metrics)
    sessions = per_session_frame(metrics)

    assert per_class["class"].tolist() == list(CLASSES)
    assert per_class["support"].tolist() == [25.0] * 4
    assert len(cells) == 16
    assert cells["count"].sum() == sum(map(sum, metrics["confusion_matrix"]))
    diagonal = cells[cells["true"] == cells["predicted"]]
    assert diagonal["count"].tolist() == [20.0] * 4
    assert set(sessions["session"]) == {"1", "2"}
    assert set(sessions["score"]) == {"accuracy", "macro_f1", "count"}


def test_score_frames_tolerate_missing_scores() -> None:
    """A bundle without scores gives empty frames, not an error."""
    assert per_class_frame({}).empty
    assert confusion_frame({"confusion_matrix": [[1]]}).empty
    assert per_session_frame({"per_session": "bad"}).empty


def test_quantised_model_graph(models_dir: Path) -> None:
    """Operators come from the model itself, and int8 tensors carry their scales."""
    bundle = next(
        bundle
        for bundle in load_catalog(models_dir).bundles
        if bundle.metadata.kind == "image"
    )

    graph = inspect_model(bundle)

    operators = graph.operators["operator"].tolist()
    assert "CONV_2D" in operators
    assert "FULLY_CONNECTED" in operators
    assert "DELEGATE" not in operators
    int8 = graph.tensors[graph.tensors["dtype"] == "int8"]
    assert not int8.empty
    assert (int8["scale"] != "").all()
    assert len(graph.inputs) == 1
    assert len(graph.outputs) == 1
    input_shape = graph.tensors.set_index("index").loc[graph.inputs[0], "shape"]
    assert input_shape == "[1, 8, 8, 3]"

    dot = graph_dot(graph)
    assert dot.startswith("digraph model {")
    assert dot.count("->") >= len(operators)
    assert "CONV_2D" in dot
