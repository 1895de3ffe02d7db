"""Evaluation with the node's runtime, metrics, the confusion plot and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
import pytest

from node.bundle import read_bundle, write_bundle
from trainer.benchmarking import benchmark
from trainer.errors import TrainerError
from trainer.evaluation import CONFUSION_FILE, EVALUATION_FILE, evaluate
from trainer.metrics import classification_metrics, macro_f1
from trainer.plot import draw_confusion_matrix


def test_classification_metrics_by_hand() -> None:
    true = ["lighter", "lighter", "daylight", "daylight"]
    predicted = ["lighter", "daylight", "daylight", "daylight"]

    metrics = classification_metrics(
        true, predicted, ["lighter", "daylight"], sessions=["a", "a", "b", "b"]
    )

    assert metrics["accuracy"] == 0.75
    assert metrics["per_class"]["lighter"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3, abs=1e-6),
        "support": 2,
    }
    assert metrics["per_class"]["daylight"]["precision"] == pytest.approx(
        2 / 3, abs=1e-6
    )
    assert metrics["per_class"]["daylight"]["f1"] == 0.8
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2, abs=1e-6)
    assert metrics["confusion_matrix"] == [[1, 1], [0, 2]]
    assert metrics["per_session"]["b"] == {"accuracy": 1.0, "macro_f1": 1.0, "count": 2}
    assert metrics["per_session"]["a"]["accuracy"] == 0.5


def test_macro_f1_ignores_classes_never_seen() -> None:
    assert macro_f1(["a"], ["a"], ["a", "b", "c"]) == 1.0
    assert macro_f1([], [], ["a"]) == 0.0


def test_evaluate_writes_json_and_plot(
    sensor_bundle: Path, sensor_csv: Path, tmp_path: Path
) -> None:
    result = evaluate(sensor_bundle, [sensor_csv], output_dir=tmp_path)

    written = json.loads((tmp_path / EVALUATION_FILE).read_text(encoding="utf-8"))
    assert written["accuracy"] == result["accuracy"]
    matrix = np.asarray(result["confusion_matrix"])
    assert result["count"] == matrix.sum()
    assert result["accuracy"] == pytest.approx(
        np.trace(matrix) / matrix.sum(), abs=1e-6
    )
    assert len(result["per_session"]) == 4
    assert result["background"]["count"] > 0
    assert 0.0 <= result["background"]["unknown_rate"] <= 1.0
    with Image.open(tmp_path / CONFUSION_FILE) as image:
        assert image.format == "PNG"
        assert image.size[0] > 200


def test_evaluate_with_a_column_mapping(
    sensor_bundle: Path, sensor_csv: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "renamed.csv"
    text = sensor_csv.read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    renamed.write_text(
        header.replace("temperature", "Temperature") + "\n" + rest, encoding="utf-8"
    )

    mapped = evaluate(
        sensor_bundle, [renamed], features="Temperature=temperature", write=False
    )
    plain = evaluate(sensor_bundle, [sensor_csv], write=False)

    assert mapped["accuracy"] == plain["accuracy"]
    assert "files" not in mapped


def test_evaluate_image_bundle_on_folders(
    image_bundle: Path, image_folder: Path
) -> None:
    result = evaluate(image_bundle, [image_folder], write=False)

    assert result["kind"] == "image"
    assert result["count"] == sum(
        1 for path in image_folder.rglob("*.png") if path.is_file()
    )


def test_a_bundle_whose_classes_do_not_match_is_named(
    sensor_bundle: Path, sensor_csv: Path, tmp_path: Path
) -> None:
    bundle = read_bundle(sensor_bundle)
    metadata = bundle.metadata.to_dict()
    metadata["classes"] = ["flashlight", "lighter", "infrared", "candle"]
    for key in ("sha256", "format_version", "image"):
        metadata.pop(key)
    write_bundle(tmp_path / "candle", bundle.model_path.read_bytes(), metadata)

    with pytest.raises(TrainerError, match=r"classes daylight are not among") as caught:
        evaluate(tmp_path / "candle", [sensor_csv], write=False)
    assert "candle" in str(caught.value)


def test_wrong_data_kind_and_broken_bundles(
    sensor_bundle: Path, image_bundle: Path, image_folder: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainerError, match=r"model\.tflite does not exist"):
        evaluate(tmp_path, [image_folder])
    from trainer.simulate import simulate_image_data, simulate_sensor_data

    with pytest.raises(TrainerError, match="is a sensors model"):
        evaluate(sensor_bundle, simulate_image_data(1, frames_per_session=4, size=8))
    with pytest.raises(TrainerError, match="is an image model"):
        evaluate(image_bundle, simulate_sensor_data(1))
    only_background = tmp_path / "none.csv"
    only_background.write_text(
        "label,lux,infrared,full_spectrum,temperature\nnone,1,1,2,20\n",
        encoding="utf-8",
    )
    with pytest.raises(
        TrainerError, match="no rows labelled with the bundle's classes"
    ):
        evaluate(sensor_bundle, [only_background])


def test_confusion_plot_shades_by_share(tmp_path: Path) -> None:
    path = draw_confusion_matrix([[9, 1], [0, 0]], ["a", "b"], tmp_path / "m.png")

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        strong = rgb.getpixel((110 + 5, 110 + 5))
        empty = rgb.getpixel((110 + 72 + 5, 110 + 72 + 5))
    assert isinstance(strong, tuple)
    assert isinstance(empty, tuple)
    assert strong[0] < empty[0]


def test_benchmark_reports_litert_and_keras(sensor_bundle: Path) -> None:
    result = benchmark(sensor_bundle, runs=20, keras_runs=2)

    assert result["runtime"] in {"ai_edge_litert", "tflite_runtime", "tensorflow"}
    assert 0 < result["median_ms"] <= result["p95_ms"]
    assert result["size_bytes"] == (sensor_bundle / "model.tflite").stat().st_size
    assert result["keras_median_ms"] > 0
    assert result["keras_call_median_ms"] > 0
    expected_ratio = result["keras_median_ms"] / result["median_ms"]
    assert result["ratio"] == pytest.approx(expected_ratio, rel=0.01)


def test_benchmark_without_keras_model(sensor_bundle: Path, tmp_path: Path) -> None:
    for name in ("model.tflite", "model.json"):
        (tmp_path / name).write_bytes((sensor_bundle / name).read_bytes())

    result = benchmark(tmp_path, runs=3)

    assert result["ratio"] is None
    assert result["keras_median_ms"] is None
    with pytest.raises(TrainerError, match="runs must be at least 1"):
        benchmark(tmp_path, runs=0)
