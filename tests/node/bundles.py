"""Tiny model bundles built inside the tests with TensorFlow Lite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from node.bundle import Bundle, write_bundle
from node.const import CLASSES

# Infrared share of each source's light in the simulation, in CLASSES order.
IR_RATIO_CENTRES = {
    "flashlight": 0.03,
    "lighter": 0.72,
    "infrared": 0.94,
    "daylight": 0.38,
}


def tflite_bytes(
    weights: np.ndarray, bias: np.ndarray, *, softmax: bool = True
) -> bytes:
    """Convert a linear layer (with softmax) into a `.tflite` model."""
    import tensorflow as tf

    class Linear(tf.Module):  # type: ignore[misc]
        @tf.function(  # type: ignore[untyped-decorator]
            input_signature=[tf.TensorSpec([1, weights.shape[0]], tf.float32)]
        )
        def __call__(self, features: Any) -> Any:
            logits = tf.matmul(features, weights.astype(np.float32)) + bias.astype(
                np.float32
            )
            return tf.nn.softmax(logits) if softmax else logits

    module = Linear()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.__call__.get_concrete_function()], module
    )
    return bytes(converter.convert())


def nearest_centroid_bundle(
    directory: Path, *, version: str = "1.0.0", sharpness: float = 400.0
) -> Bundle:
    """Write a sensors bundle that labels by the infrared ratio's nearest centroid."""
    centres = np.array([IR_RATIO_CENTRES[name] for name in CLASSES])
    weights = (2 * sharpness * centres)[None, :]
    bias = -sharpness * centres**2
    return write_bundle(
        directory,
        tflite_bytes(weights, bias),
        {
            "name": "nearest-centroid",
            "version": version,
            "kind": "sensors",
            "classes": list(CLASSES),
            "features": ["ir_ratio"],
            "created": f"2026-01-0{version[0]}T00:00:00+00:00",
            "metrics": {"accuracy": 0.9},
        },
    )


def colour_bundle(directory: Path, *, version: str = "1.0.0", size: int = 8) -> Bundle:
    """Write an image bundle whose input is a small RGB frame."""
    import tensorflow as tf

    class Colour(tf.Module):  # type: ignore[misc]
        @tf.function(  # type: ignore[untyped-decorator]
            input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32)]
        )
        def __call__(self, image: Any) -> Any:
            mean = tf.reduce_mean(image, axis=[1, 2]) / 255.0
            red, green, blue = mean[:, 0], mean[:, 1], mean[:, 2]
            logits = tf.stack(
                [green * 8, red * 8 - blue * 8, blue * 8 - green * 4, red + green],
                axis=1,
            )
            return tf.nn.softmax(logits)

    module = Colour()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.__call__.get_concrete_function()], module
    )
    return write_bundle(
        directory,
        bytes(converter.convert()),
        {
            "name": "colour",
            "version": version,
            "kind": "image",
            "classes": list(CLASSES),
            "image": {"height": size, "width": size, "scale": 1.0, "offset": 0.0},
        },
    )
