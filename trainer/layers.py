"""Keras layers carried inside the trainer's models, so the node feeds raw values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops
import numpy as np


@keras.saving.register_keras_serializable(package="smart_labeling")
class LogCounts(keras.layers.Layer):  # type: ignore[misc]
    """Compress count-like columns with log(1 + x), passing the others through."""

    def __init__(self, mask: Sequence[bool], **kwargs: Any) -> None:
        """Take one flag per input column: True where the column is count-like."""
        super().__init__(**kwargs)
        self.mask = [bool(flag) for flag in mask]

    def call(self, inputs: Any) -> Any:
        """Return the inputs with count-like columns log-compressed."""
        mask = ops.convert_to_tensor(np.asarray(self.mask, dtype="float32"))
        compressed = ops.log(1.0 + ops.maximum(inputs, 0.0))
        return compressed * mask + inputs * (1.0 - mask)

    def get_config(self) -> dict[str, Any]:
        """Return the layer's configuration for saving."""
        return {**super().get_config(), "mask": self.mask}
