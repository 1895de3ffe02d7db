"""Train, export, evaluate and benchmark the node's models; TensorFlow loads on first use."""

from __future__ import annotations

from .benchmarking import benchmark
from .errors import DataError, TrainerError
from .evaluation import evaluate
from .exporting import export
from .images import ImageConfig, train_images
from .labelling import label
from .sensors import SensorConfig, train_sensors

__all__ = [
    "DataError",
    "ImageConfig",
    "SensorConfig",
    "TrainerError",
    "benchmark",
    "evaluate",
    "export",
    "label",
    "train_images",
    "train_sensors",
]
