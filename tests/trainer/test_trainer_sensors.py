"""Sensor training and export: the node loads the bundle and agrees with Keras."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from trainer_helpers import FEATURES

from node.bundle import read_bundle
from node.classifier import Classifier, load_bundle_model
from node.const import CLASSES
from trainer.data import SensorData
from trainer.errors import DataError, TrainerError
from trainer.exporting import (
    KERAS_FILE,
    REPRESENTATIVE_FILE,
    load_keras_model,
    reexport,
    run_tflite,
)
from trainer.sensors import (
    SensorConfig,
    SensorTraining,
    targets_and_weights,
    train_sensors,
)
from trainer.simulate import simulate_sensor_data


def test_background_rows_aim_at_uniform_and_groups_weigh_the_same() -> None:
    labels = ["flashlight"] * 6 + ["lighter"] * 2 + ["none"] * 4

    targets, weights = targets_and_weights(labels, CLASSES)

    assert targets[0].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert targets[-1].tolist() == pytest.approx([0.25] * 4)
    totals = {
        name: weights[[i for i, label in enumerate(labels) if label == name]].sum()
        for name in ("flashlight", "lighter", "none")
    }
    assert totals["flashlight"] == pytest.approx(totals["lighter"])
    assert totals["lighter"] == pytest.approx(totals["none"])
    with pytest.raises(DataError, match="neither a class"):
        targets_and_weights([None], CLASSES)


def test_the_node_loads_the_bundle_and_it_agrees_with_keras(
    sensor_training: SensorTraining, sensor_bundle: Path
) -> None:
    bundle = read_bundle(sensor_bundle)
    metadata = bundle.metadata
    assert metadata.kind == "sensors"
    assert metadata.features == FEATURES
    assert metadata.classes == CLASSES
    assert metadata.name == "tiny-sensors"
    assert metadata.quantization == "float32"

    loaded = load_bundle_model(bundle, available_features=set(FEATURES))
    classifier = Classifier(CLASSES)
    classifier.install(loaded)
    inputs = sensor_training.holdout.inputs[:40]
    keras_output = load_keras_model(sensor_bundle).predict(inputs, verbose=0)
    for row, expected in zip(inputs, keras_output, strict=True):
        prediction = classifier.classify(
            dict(zip(FEATURES, map(float, row), strict=True))
        )
        assert prediction.final is not None
        got = [prediction.final.probabilities[name] for name in CLASSES]
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_training_reports_every_candidate_and_keeps_the_best(
    sensor_training: SensorTraining, sensor_bundle: Path
) -> None:
    widths = [candidate.width for candidate in sensor_training.candidates]
    assert widths == [4, 12]
    best = max(candidate.macro_f1 for candidate in sensor_training.candidates)
    assert sensor_training.chosen.macro_f1 == best

    metadata = read_bundle(sensor_bundle).metadata
    training = metadata.training
    assert [item["width"] for item in training["candidates"]] == [4, 12]
    assert training["width"] == sensor_training.chosen.width
    assert training["validation"] == "1 of 4 sessions held out"
    metrics = metadata.metrics
    assert set(metrics) >= {
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion_matrix",
        "classes",
        "per_session",
        "validation",
        "background",
    }
    matrix = np.asarray(metrics["confusion_matrix"])
    assert metrics["accuracy"] == pytest.approx(
        np.trace(matrix) / matrix.sum(), abs=1e-6
    )
    assert (
        sum(item["count"] for item in metrics["per_session"].values()) == matrix.sum()
    )
    assert (sensor_bundle / KERAS_FILE).is_file()
    assert (sensor_bundle / REPRESENTATIVE_FILE).is_file()

    report = sensor_training.report
    assert report is not None
    assert report.max_abs_diff is not None
    assert report.max_abs_diff < 1e-4
    assert report.accuracy_change == 0.0
    summary = sensor_training.to_dict()
    assert summary["chosen_width"] == sensor_training.chosen.width


def test_raw_values_are_normalised_inside_the_model(
    sensor_training: SensorTraining,
) -> None:
    model = sensor_training.model
    compress = model.get_layer("log_counts")
    assert compress.mask == [
        name in {"lux", "infrared", "full_spectrum"} for name in FEATURES
    ]
    raw = np.asarray([[100.0, 50.0, 150.0, 21.0, 0.3, 0.1]], dtype=np.float32)
    compressed = np.asarray(compress(raw))
    np.testing.assert_allclose(
        compressed[0],
        [np.log1p(100), np.log1p(50), np.log1p(150), 21.0, 0.3, 0.1],
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    ("quantization", "tolerance"), [("int8", 0.5), ("float16", 0.01)]
)
def test_reexport_quantised_stays_close_to_keras(
    sensor_bundle: Path,
    sensor_training: SensorTraining,
    tmp_path: Path,
    quantization: str,
    tolerance: float,
) -> None:
    report = reexport(
        sensor_bundle,
        tmp_path / quantization,
        quantization=quantization,
        holdout=sensor_training.holdout,
    )

    bundle = read_bundle(tmp_path / quantization)
    assert bundle.metadata.quantization == quantization
    assert report.max_abs_diff is not None
    assert report.max_abs_diff < tolerance
    assert report.accuracy_change is not None
    assert abs(report.accuracy_change) < 0.05
    tflite = run_tflite(bundle.model_path, sensor_training.holdout.inputs[:5])
    np.testing.assert_allclose(tflite.sum(axis=1), 1.0, atol=0.02)


def test_reexport_without_data_keeps_no_stale_metrics(
    sensor_bundle: Path, tmp_path: Path
) -> None:
    report = reexport(sensor_bundle, tmp_path / "again", quantization="float32")

    assert report.max_abs_diff is not None
    assert report.max_abs_diff < 1e-4
    assert read_bundle(tmp_path / "again").metadata.metrics == {}


def test_reexport_errors(tmp_path: Path, sensor_bundle: Path) -> None:
    with pytest.raises(TrainerError, match=r"model\.tflite does not exist"):
        reexport(tmp_path, tmp_path / "out", quantization="float32")
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("model.tflite", "model.json"):
        (copy / name).write_bytes((sensor_bundle / name).read_bytes())
    with pytest.raises(TrainerError, match="exported without its Keras model"):
        reexport(copy, tmp_path / "out", quantization="float32")


def test_too_few_rows_of_a_class_is_named(sensor_csv: Path) -> None:
    with pytest.raises(DataError, match="too few training rows for class"):
        train_sensors(
            [sensor_csv],
            features="temperature",
            config=SensorConfig(widths=(4,), epochs=1, min_class_rows=100_000),
        )


def test_bad_options_are_refused(sensor_csv: Path) -> None:
    with pytest.raises(TrainerError, match="no network widths"):
        train_sensors(
            [sensor_csv], features="temperature", config=SensorConfig(widths=())
        )
    with pytest.raises(TrainerError, match="name the features"):
        train_sensors([sensor_csv])


def test_training_from_simulated_data_in_memory(tmp_path: Path) -> None:
    data: SensorData = simulate_sensor_data(3, seed=21)

    result = train_sensors(
        data,
        tmp_path / "bundle",
        features=["temperature", "ir_ratio"],
        config=SensorConfig(widths=(4,), epochs=1, min_class_rows=5),
        quantization="int8",
    )

    assert result.features == ("temperature", "ir_ratio")
    metadata = read_bundle(tmp_path / "bundle").metadata
    assert metadata.quantization == "int8"
    assert metadata.features == ("temperature", "ir_ratio")
