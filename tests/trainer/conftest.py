"""Shared fixtures of the trainer tests: tiny simulated data and tiny trained bundles."""

from __future__ import annotations

import os
from pathlib import Path

# TensorFlow reads this when it loads, which the first training test triggers.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest
from trainer_helpers import FEATURES, IMAGE_SIZE, TINY_DEFAULTS, save_class_folders

from trainer.defaults import build_defaults
from trainer.image_data import ImageData
from trainer.images import ImageConfig, train_images
from trainer.sensors import SensorConfig, SensorTraining, train_sensors
from trainer.simulate import simulate_image_data, simulate_sensor_data, write_sensor_csv


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder shared by the session's fixtures."""
    return tmp_path_factory.mktemp("trainer-data")


@pytest.fixture(scope="session")
def sensor_csv(data_dir: Path) -> Path:
    """Return a CSV of four simulated sessions, with a session column."""
    path = data_dir / "simulated.csv"
    write_sensor_csv(simulate_sensor_data(4, seed=11), path)
    return path


@pytest.fixture(scope="session")
def sensor_training(data_dir: Path, sensor_csv: Path) -> SensorTraining:
    """Return a tiny sensor model trained from the CSV and exported as a bundle."""
    return train_sensors(
        [sensor_csv],
        data_dir / "sensors-bundle",
        features=",".join(FEATURES),
        config=SensorConfig(
            widths=(4, 12), epochs=3, patience=2, min_class_rows=5, run_eagerly=True
        ),
        name="tiny-sensors",
        version="0.1.0",
    )


@pytest.fixture(scope="session")
def sensor_bundle(sensor_training: SensorTraining) -> Path:
    """Return the folder of the tiny sensor bundle."""
    assert sensor_training.report is not None
    return sensor_training.report.bundle.path


@pytest.fixture(scope="session")
def image_data() -> ImageData:
    """Return simulated frames of six sessions at the test size."""
    return simulate_image_data(6, frames_per_session=14, size=IMAGE_SIZE, seed=5)


@pytest.fixture(scope="session")
def image_folder(data_dir: Path, image_data: ImageData) -> Path:
    """Return a folder of class sub-folders of PNG frames."""
    return save_class_folders(image_data, data_dir / "images")


@pytest.fixture(scope="session")
def image_bundle(data_dir: Path, image_folder: Path) -> Path:
    """Return a tiny image bundle trained for one epoch on the class folders."""
    result = train_images(
        [image_folder],
        data_dir / "image-bundle",
        config=ImageConfig(size=IMAGE_SIZE, epochs=1, batch_size=16, run_eagerly=True),
        name="tiny-image",
        version="0.1.0",
    )
    assert result.report is not None
    return result.report.bundle.path


@pytest.fixture(scope="session")
def tiny_defaults(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder of defaults built from very little simulated data."""
    folder = tmp_path_factory.mktemp("defaults")
    build_defaults(folder, config=TINY_DEFAULTS)
    return folder
