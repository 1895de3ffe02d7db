"""The default bundles: the committed ones work on the node; a tiny build repeats."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from trainer_helpers import IMAGE_SIZE, TINY_DEFAULTS

from node.bundle import read_bundle
from node.classifier import Classifier, load_bundle_model
from node.const import CLASSES
from node.simulation import DEFAULT_SCHEDULE, simulate_readings
from trainer.defaults import (
    IMAGE_NAME,
    SENSORS_NAME,
    VERSION,
    build_defaults,
    check_defaults,
    compare_metrics,
    summary_lines,
)
from trainer.errors import TrainerError
from trainer.exporting import update_metrics
from trainer.model_card import MODEL_CARD_FILE

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_committed_sensor_default_labels_the_simulated_scene() -> None:
    bundle = read_bundle(MODELS / SENSORS_NAME)
    assert (bundle.metadata.name, bundle.metadata.version) == (SENSORS_NAME, VERSION)
    classifier = Classifier(CLASSES)
    classifier.install(load_bundle_model(bundle, available_features=None))

    outcomes: Counter[tuple[str, str]] = Counter()
    for sample in simulate_readings(DEFAULT_SCHEDULE, count=208, seed=12):
        prediction = classifier.classify(sample.features).final
        assert prediction is not None
        label = prediction.label if prediction.confidence >= 0.6 else "unknown"
        outcomes[(sample.source or "none", label)] += 1

    labelled = sum(count for (truth, _), count in outcomes.items() if truth != "none")
    correct = sum(count for (truth, got), count in outcomes.items() if truth == got)
    assert correct / labelled > 0.9
    background = sum(count for (truth, _), count in outcomes.items() if truth == "none")
    unknown = outcomes[("none", "unknown")]
    assert unknown / background > 0.7


def test_committed_defaults_carry_metrics_and_a_model_card() -> None:
    card = (MODELS / MODEL_CARD_FILE).read_text(encoding="utf-8")
    for name in (SENSORS_NAME, IMAGE_NAME):
        metadata = read_bundle(MODELS / name).metadata
        metrics = metadata.metrics
        assert metrics["classes"] == list(CLASSES)
        assert "never seen in training" in metrics["validation"]
        assert f"## {name} {VERSION}" in card
        assert f"{metrics['macro_f1']:.4f}" in card
        classifier = Classifier(CLASSES)
        classifier.install(load_bundle_model(read_bundle(MODELS / name)))


def test_tiny_defaults_are_complete(tiny_defaults: Path) -> None:
    sensors = read_bundle(tiny_defaults / SENSORS_NAME).metadata
    image = read_bundle(tiny_defaults / IMAGE_NAME).metadata
    assert sensors.training["data"]["sessions"] == 3
    assert image.image_input.height == IMAGE_SIZE
    assert image.training["validation_images"] > 0
    assert image.training["data"]["source"] == "node.simulation.render_frame"
    card = (tiny_defaults / MODEL_CARD_FILE).read_text(encoding="utf-8")
    assert "## Known limits" in card
    assert "tiny" in card


def test_check_defaults_repeats_the_build(tiny_defaults: Path) -> None:
    assert check_defaults(tiny_defaults, config=TINY_DEFAULTS, kinds=["sensors"]) == []


def test_compare_metrics_names_what_moved(tiny_defaults: Path) -> None:
    metrics = read_bundle(tiny_defaults / SENSORS_NAME).metadata.metrics
    moved = {
        **metrics,
        "accuracy": metrics["accuracy"] + 0.5,
        "per_class": {
            **metrics["per_class"],
            "lighter": {**metrics["per_class"]["lighter"], "f1": None},
        },
    }

    differences = compare_metrics("m", metrics, moved, 0.01)

    assert any(line.startswith("m: accuracy was") for line in differences)
    assert any("lighter f1 is missing" in line for line in differences)
    assert compare_metrics("m", metrics, metrics, 0.0) == []
    update_metrics(tiny_defaults / SENSORS_NAME, metrics)


def test_kinds_are_checked(tmp_path: Path) -> None:
    with pytest.raises(TrainerError, match="kinds must be among"):
        build_defaults(tmp_path, kinds=["audio"])
    with pytest.raises(TrainerError, match="kinds must be among"):
        build_defaults(tmp_path, kinds=[])
    lines = summary_lines({"x": {"accuracy": 0.5, "macro_f1": 0.25}})
    assert lines == ["x: accuracy 0.5000, macro-F1 0.2500"]
