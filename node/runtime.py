"""The TFLite runtime: LiteRT first, then tflite_runtime, then TensorFlow Lite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import importlib
import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

_LOGGER = logging.getLogger(__name__)

RUNTIME_MODULES = (
    ("ai_edge_litert.interpreter", "Interpreter"),
    ("tflite_runtime.interpreter", "Interpreter"),
    ("tensorflow.lite", "Interpreter"),
)


class RuntimeMissingError(RuntimeError):
    """No TFLite runtime can be imported."""


class InterpreterLike(Protocol):
    """The part of the TFLite interpreter API the node uses."""

    def allocate_tensors(self) -> None:
        """Allocate the model's tensors."""

    def get_input_details(self) -> list[dict[str, Any]]:
        """Describe the input tensors."""

    def get_output_details(self) -> list[dict[str, Any]]:
        """Describe the output tensors."""

    def set_tensor(self, tensor_index: int, value: NDArray[Any]) -> None:
        """Set an input tensor."""

    def invoke(self) -> None:
        """Run the model."""

    def get_tensor(self, tensor_index: int) -> NDArray[Any]:
        """Read an output tensor."""


def _interpreter_class() -> tuple[str, Callable[..., InterpreterLike]]:
    for module_name, class_name in RUNTIME_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        return module_name.split(".", 1)[0], getattr(module, class_name)
    msg = (
        "no TFLite runtime found: install ai-edge-litert "
        "(pip install ai-edge-litert), tflite-runtime or tensorflow"
    )
    raise RuntimeMissingError(msg)


@dataclass(slots=True)
class TFLiteModel:
    """A loaded `.tflite` model with one input and one output tensor."""

    runtime: str
    interpreter: InterpreterLike
    input_detail: dict[str, Any]
    output_detail: dict[str, Any]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Return the input shape, batch dimension included."""
        return tuple(int(size) for size in self.input_detail["shape"])

    @property
    def output_size(self) -> int:
        """Return the number of values the model outputs per example."""
        return int(self.output_detail["shape"][-1])

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """Run one example (batch of one) and return the dequantised output row."""
        interpreter = self.interpreter
        input_value = _quantise(batch, self.input_detail)
        interpreter.set_tensor(self.input_detail["index"], input_value)
        interpreter.invoke()
        output = interpreter.get_tensor(self.output_detail["index"])
        row: NDArray[np.float32] = _dequantise(output, self.output_detail)[0]
        return row


def load_model(model_path: Path, *, num_threads: int = 1) -> TFLiteModel:
    """Load a `.tflite` file with the first runtime that imports."""
    runtime, interpreter_class = _interpreter_class()
    interpreter = interpreter_class(model_path=str(model_path), num_threads=num_threads)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        msg = f"expected one input and one output tensor, found {len(inputs)} and {len(outputs)}"
        raise ValueError(msg)
    _LOGGER.debug("Loaded %s with %s", model_path, runtime)
    return TFLiteModel(runtime, interpreter, inputs[0], outputs[0])


def _quantise(batch: NDArray[np.float32], detail: dict[str, Any]) -> NDArray[Any]:
    dtype = detail["dtype"]
    if dtype == np.float32:
        return batch.astype(np.float32)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    quantised = np.round(batch / scale + zero_point)
    result: NDArray[Any] = np.clip(quantised, info.min, info.max).astype(dtype)
    return result


def _dequantise(output: NDArray[Any], detail: dict[str, Any]) -> NDArray[np.float32]:
    if detail["dtype"] == np.float32:
        as_float: NDArray[np.float32] = output.astype(np.float32)
        return as_float
    scale, zero_point = detail["quantization"]
    result: NDArray[np.float32] = (output.astype(np.float32) - zero_point) * scale
    return result.astype(np.float32)
