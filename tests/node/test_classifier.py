"""Bundles, the TFLite runtime and the classifier on tiny bundles built here."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import numpy as np
import pytest

from node import runtime
from node.bundle import (
    METADATA_FILE,
    MODEL_FILE,
    BundleError,
    BundleMetadata,
    find_bundles,
    parse_bundle,
    read_bundle,
)
from node.classifier import PROBABILITY_FLOOR, Classifier, is_dark, load_bundle_model
from node.const import CLASSES


def test_bundle_round_trip(bundle_source: Path) -> None:
    """A written bundle reads back with its hash checked."""
    bundle = read_bundle(bundle_source / "sensors-1")
    metadata = bundle.metadata
    assert metadata.kind == "sensors"
    assert metadata.classes == CLASSES
    assert metadata.features == ("ir_ratio",)
    assert (
        bundle.size_bytes == (bundle_source / "sensors-1" / MODEL_FILE).stat().st_size
    )
    assert BundleMetadata.from_dict(metadata.to_dict()) == metadata


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 2}, "format_version"),
        ({"kind": "audio"}, "kind"),
        ({"classes": []}, "classes"),
        ({"classes": ["a", "a"]}, "classes"),
        ({"version": ""}, "version"),
        ({"version": "../x"}, "version"),
        ({"features": []}, "features"),
        ({"sha256": "abc"}, "sha256"),
        ({"name": None, "drop": "name"}, "missing 'name'"),
    ],
)
def test_bad_metadata_is_named(
    bundle_source: Path, change: dict[str, object], message: str
) -> None:
    """Each problem in the metadata raises BundleError naming it."""
    directory = bundle_source / "sensors-1"
    metadata = json.loads((directory / METADATA_FILE).read_text())
    drop = change.pop("drop", None)
    metadata.update(change)
    if drop:
        del metadata[drop]
    with pytest.raises(BundleError, match=message):
        parse_bundle(
            (directory / MODEL_FILE).read_bytes(), json.dumps(metadata).encode()
        )


def test_image_metadata_needs_its_input() -> None:
    """An image model without its image description is rejected."""
    base = {
        "format_version": 1,
        "name": "x",
        "version": "1",
        "classes": ["a"],
        "sha256": "",
    }
    with pytest.raises(BundleError, match="image"):
        BundleMetadata.from_dict({**base, "kind": "image"})
    with pytest.raises(BundleError, match="invalid image input"):
        BundleMetadata.from_dict({**base, "kind": "image", "image": {"height": "x"}})
    with pytest.raises(BundleError, match="JSON object"):
        BundleMetadata.from_dict([])
    sensors = BundleMetadata.from_dict({**base, "kind": "sensors", "features": ["lux"]})
    with pytest.raises(BundleError, match="not an image model"):
        _ = sensors.image_input


def test_unreadable_bundles(tmp_path: Path, bundle_source: Path) -> None:
    """Empty, oversized, non-JSON and incomplete bundles are rejected; scans skip them."""
    with pytest.raises(BundleError, match="empty"):
        parse_bundle(b"", b"{}")
    with pytest.raises(BundleError, match="not valid JSON"):
        parse_bundle(b"x", b"{")
    with pytest.raises(BundleError, match="does not exist"):
        read_bundle(tmp_path)

    shutil.copytree(bundle_source / "sensors-1", tmp_path / "good")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / METADATA_FILE).write_text("{}")
    assert [bundle.path.name for bundle in find_bundles(tmp_path)] == ["good"]
    assert find_bundles(tmp_path / "missing") == []


def test_classifier_labels_by_infrared_ratio(bundle_source: Path) -> None:
    """The tiny bundle gives the class whose infrared ratio is nearest."""
    classifier = Classifier(CLASSES)
    classifier.install(load_bundle_model(read_bundle(bundle_source / "sensors-1")))
    for ratio, label in [
        (0.02, "flashlight"),
        (0.4, "daylight"),
        (0.7, "lighter"),
        (0.95, "infrared"),
    ]:
        result = classifier.classify({"ir_ratio": ratio})
        assert result.final is not None
        assert result.final.label == label
        assert result.final.source == "sensors"
        assert sum(result.final.probabilities.values()) == pytest.approx(1.0)
        assert result.camera is None


def test_missing_feature_gives_no_prediction(bundle_source: Path) -> None:
    """Without the features a model needs, the classifier does not guess."""
    classifier = Classifier(CLASSES)
    assert classifier.classify({"ir_ratio": 0.5}).final is None
    classifier.install(load_bundle_model(read_bundle(bundle_source / "sensors-1")))
    assert classifier.classify({"lux": 10.0}).final is None


def test_fusion_and_dark_frames(bundle_source: Path) -> None:
    """Sensors and camera fuse by product of experts; dark frames are left out."""
    classifier = Classifier(CLASSES)
    classifier.install(load_bundle_model(read_bundle(bundle_source / "sensors-1")))
    classifier.install(load_bundle_model(read_bundle(bundle_source / "image-1")))

    orange = np.zeros((32, 32, 3), dtype=np.uint8)
    orange[8:24, 8:24] = (255, 140, 30)
    result = classifier.classify({"ir_ratio": 0.7}, orange)
    assert result.final is not None and result.camera is not None
    assert result.final.source == "fused"
    assert result.final.model_version == "1.0.0+1.0.0"
    assert result.final.label == "lighter"
    assert result.sensors is not None
    sensors = np.array([result.sensors.probabilities[name] for name in CLASSES])
    camera = np.array([result.camera.probabilities[name] for name in CLASSES])
    expected = np.sqrt(
        np.maximum(sensors, PROBABILITY_FLOOR) * np.maximum(camera, PROBABILITY_FLOOR)
    )
    expected /= expected.sum()
    assert result.final.confidence == pytest.approx(expected.max(), rel=1e-3)

    dark = np.full((32, 32, 3), 10, dtype=np.uint8)
    assert is_dark(dark)
    assert not is_dark(orange)
    result = classifier.classify({"ir_ratio": 0.7}, dark)
    assert result.final is not None
    assert result.final.source == "sensors"

    camera_only = Classifier(CLASSES)
    camera_only.install(load_bundle_model(read_bundle(bundle_source / "image-1")))
    result = camera_only.classify({}, orange)
    assert result.final is not None
    assert result.final.source == "camera"


def test_bundle_that_does_not_fit(tmp_path: Path, bundle_source: Path) -> None:
    """Wrong class count, unavailable features or other classes are refused."""
    bundle = read_bundle(bundle_source / "sensors-1")
    with pytest.raises(BundleError, match="does not measure: ir_ratio"):
        load_bundle_model(bundle, available_features={"lux"})

    classifier = Classifier(("a", "b", "c", "d"))
    with pytest.raises(BundleError, match="do not match"):
        classifier.install(load_bundle_model(bundle))

    directory = tmp_path / "mismatch"
    shutil.copytree(bundle_source / "sensors-1", directory)
    metadata = json.loads((directory / METADATA_FILE).read_text())
    metadata["features"] = ["ir_ratio", "flicker"]
    (directory / METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(BundleError, match="input shape"):
        load_bundle_model(read_bundle(directory))

    garbage = tmp_path / "garbage"
    shutil.copytree(bundle_source / "sensors-1", garbage)
    content = b"not a flatbuffer at all"
    (garbage / MODEL_FILE).write_bytes(content)
    metadata = json.loads((garbage / METADATA_FILE).read_text())
    metadata["sha256"] = __import__("hashlib").sha256(content).hexdigest()
    (garbage / METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(BundleError, match="does not load"):
        load_bundle_model(read_bundle(garbage))


def test_runtime_prefers_litert(bundle_source: Path) -> None:
    """The node runs models with ai-edge-litert when it is installed."""
    model = runtime.load_model(bundle_source / "sensors-1" / MODEL_FILE)
    assert model.runtime == "ai_edge_litert"
    assert model.input_shape == (1, 1)
    assert model.output_size == 4


def test_runtime_missing(monkeypatch: pytest.MonkeyPatch, bundle_source: Path) -> None:
    """Without any runtime the error says what to install."""
    monkeypatch.setattr(runtime, "RUNTIME_MODULES", (("no_such_runtime", "X"),))
    with pytest.raises(runtime.RuntimeMissingError, match="ai-edge-litert"):
        runtime.load_model(bundle_source / "sensors-1" / MODEL_FILE)


def test_quantised_tensors_round_trip() -> None:
    """int8 inputs are quantised and outputs dequantised with the tensor's scale."""
    detail = {"dtype": np.int8, "quantization": (0.5, -10)}
    values = np.array([[1.0, -2.0, 100.0]], dtype=np.float32)
    quantised = runtime._quantise(values, detail)
    assert quantised.dtype == np.int8
    assert quantised.tolist() == [[-8, -14, 127]]
    assert runtime._dequantise(quantised, detail).tolist() == [[1.0, -2.0, 68.5]]
