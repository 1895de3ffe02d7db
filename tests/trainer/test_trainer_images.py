"""Image data and training: folders, list files, stores, EXIF, backbones, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
import pytest
from trainer_helpers import IMAGE_SIZE, make_store

from node.bundle import read_bundle
from node.classifier import Classifier, load_bundle_model
from node.const import CLASSES
from node.simulation import SceneState, render_frame
from trainer.errors import DataError, TrainerError
from trainer.exporting import load_keras_model
from trainer.image_data import ImageData, load_image_data, read_image
from trainer.images import ImageConfig, build_backbone, train_images


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise when shown
    path = tmp_path / "sideways.jpg"
    image.save(path, exif=exif.tobytes(), quality=95)

    pixels = read_image(path, None)

    assert pixels.shape == (40, 20, 3)
    assert pixels[2, 10, 2] > 200
    assert pixels[37, 10, 0] > 200


def test_class_folders_and_list_files(tmp_path: Path, image_data: ImageData) -> None:
    folder = tmp_path / "frames"
    (folder / "Lighter").mkdir(parents=True)
    Image.fromarray(image_data.images[0]).save(folder / "Lighter" / "a.png")
    (folder / "Lighter" / ".hidden").write_text("x", encoding="utf-8")
    list_file = tmp_path / "list.csv"
    list_file.write_text(
        "path,label,session\nframes/Lighter/a.png,daylight,s1\n", encoding="utf-8"
    )

    data = load_image_data([folder, list_file], size=(16, 16))

    assert data.labels == ["lighter", "daylight"]
    assert data.sessions == ["frames", "s1"]
    assert data.images.shape == (2, 16, 16, 3)
    assert data.class_counts()["lighter"] == 1


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"candle/a.png": "image"}, r"candle: unknown label 'candle'"),
        ({"none/a.png": "image"}, "has no light source to learn from"),
        ({"lighter/a.png": "text"}, r"lighter/a.png: cannot read image"),
        ({}, "no class sub-folders"),
    ],
)
def test_bad_image_folders_are_named(
    tmp_path: Path, layout: dict[str, str], message: str
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, kind in layout.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "image":
            Image.new("RGB", (8, 8)).save(path)
        else:
            path.write_text("not an image", encoding="utf-8")

    with pytest.raises(DataError, match=message):
        load_image_data([folder], size=(8, 8))


def test_bad_list_files_and_paths(tmp_path: Path) -> None:
    no_label = tmp_path / "no_label.csv"
    no_label.write_text("path\na.png\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column 'label'"):
        load_image_data([no_label], size=(8, 8))
    with pytest.raises(DataError, match="no images given"):
        load_image_data([], size=(8, 8))
    stray = tmp_path / "stray.png"
    Image.new("RGB", (8, 8)).save(stray)
    with pytest.raises(DataError, match="not a folder, a dataset store or a list file"):
        load_image_data([stray], size=(8, 8))


def test_skip_counts_unreadable_and_odd_sized_images(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    (folder / "infrared").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "infrared" / "a.png")
    Image.new("RGB", (9, 8)).save(folder / "infrared" / "b.png")
    (folder / "infrared" / "c.png").write_bytes(b"broken")

    data = load_image_data([folder, tmp_path / "gone"], size=None, on_error="skip")

    assert len(data) == 1
    assert data.problems.count == 3
    assert any("differs from 8x8" in line for line in data.problems.skipped)


def test_store_frames_with_true_labels(tmp_path: Path, image_data: ImageData) -> None:
    frames = image_data.subset(range(8))
    store = make_store(tmp_path / "store", sessions=1, frames=frames)

    data = load_image_data([store], size=(IMAGE_SIZE, IMAGE_SIZE))

    assert data.labels == frames.labels
    assert len(set(data.sessions)) == 1


def test_the_node_loads_the_image_bundle_and_it_agrees_with_keras(
    image_bundle: Path,
) -> None:
    bundle = read_bundle(image_bundle)
    image = bundle.metadata.image_input
    assert (image.height, image.width, image.scale, image.offset) == (
        IMAGE_SIZE,
        IMAGE_SIZE,
        1.0,
        0.0,
    )
    assert bundle.metadata.training["backbone"] == "tiny"

    classifier = Classifier(CLASSES)
    classifier.install(load_bundle_model(bundle))
    state = SceneState("lighter", 20.0, 1.0, 3.0, 25.0, 0.8)
    rows, columns = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32)
    frame = render_frame(state, rows, columns, np.random.default_rng(1))
    prediction = classifier.classify({}, frame)
    assert prediction.camera is not None
    expected = load_keras_model(image_bundle).predict(
        frame[None].astype(np.float32), verbose=0
    )[0]
    got = [prediction.camera.probabilities[name] for name in CLASSES]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_mobilenet_head_then_fine_tuning(image_data: ImageData) -> None:
    result = train_images(
        image_data,
        config=ImageConfig(
            backbone="mobilenet_v3_small",
            size=IMAGE_SIZE,
            epochs=1,
            fine_tune_epochs=1,
            fine_tune_layers=5,
            batch_size=32,
            augment=False,
            run_eagerly=True,
        ),
    )

    assert len(result.history["loss"]) == 1
    assert len(result.history["fine_tune_loss"]) == 1
    base = next(layer for layer in result.model.layers if hasattr(layer, "layers"))
    trainable = [layer for layer in base.layers if layer.trainable]
    assert 0 < len(trainable) <= 5
    assert result.training_metadata["fine_tune_epochs"] == 1
    assert result.to_dict()["backbone"] == "mobilenet_v3_small"
    assert result.report is None


def test_backbone_choices_and_weights(tmp_path: Path) -> None:
    with pytest.raises(TrainerError, match="trained from scratch"):
        build_backbone("tiny", "imagenet", 32)
    with pytest.raises(TrainerError, match="backbone must be one of"):
        build_backbone("resnet", "none", 32)
    with pytest.raises(TrainerError, match="does not exist"):
        build_backbone("mobilenet_v3_small", str(tmp_path / "w.h5"), 32)
    with pytest.raises(TrainerError, match="backbone must be one of"):
        train_images([tmp_path], config=ImageConfig(backbone="resnet"))
    base, scale = build_backbone("efficientnet_b0", "none", 32)
    assert base.name.startswith("efficientnet")
    assert scale.name == "scale"
    assert ImageConfig(backbone="inception_v3").input_size == 299


def test_too_few_images_of_a_class_is_named(image_data: ImageData) -> None:
    no_daylight = image_data.subset(
        [i for i, name in enumerate(image_data.labels) if name != "daylight"]
    )

    with pytest.raises(DataError, match=r"too few images for class daylight \(0\)"):
        train_images(no_daylight, config=ImageConfig(size=IMAGE_SIZE, epochs=1))
