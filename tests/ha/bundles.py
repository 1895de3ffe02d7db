"""Tiny model bundles for the tests, written as TFLite flatbuffers without TensorFlow."""

from __future__ import annotations

from pathlib import Path

from ai_edge_litert import schema_py_generated as schema
import flatbuffers  # type: ignore[import-untyped]
import numpy as np
from numpy.typing import NDArray

from node.bundle import Bundle, write_bundle
from node.const import CLASSES

# Infrared share of each simulated source's light, in CLASSES order.
IR_RATIO_CENTRES = {
    "flashlight": 0.03,
    "lighter": 0.72,
    "infrared": 0.94,
    "daylight": 0.38,
}


def _tensor(name: str, shape: list[int], buffer: int) -> schema.TensorT:
    tensor = schema.TensorT()
    tensor.name = name
    tensor.shape = shape
    tensor.type = schema.TensorType.FLOAT32
    tensor.buffer = buffer
    return tensor


def _buffer(values: NDArray[np.float64] | None) -> schema.BufferT:
    buffer = schema.BufferT()
    if values is not None:
        buffer.data = list(values.astype("<f4").tobytes())
    return buffer


def _opcode(code: int) -> schema.OperatorCodeT:
    opcode = schema.OperatorCodeT()
    opcode.builtinCode = code
    opcode.deprecatedBuiltinCode = code
    opcode.version = 1
    return opcode


def linear_softmax_tflite(
    weights: NDArray[np.float64], bias: NDArray[np.float64]
) -> bytes:
    """Return a `.tflite` model computing softmax(x @ weights + bias)."""
    inputs, outputs = weights.shape

    dense = schema.OperatorT()
    dense.opcodeIndex = 0
    dense.inputs = [0, 1, 2]
    dense.outputs = [3]
    dense.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
    dense.builtinOptions = schema.FullyConnectedOptionsT()

    softmax = schema.OperatorT()
    softmax.opcodeIndex = 1
    softmax.inputs = [3]
    softmax.outputs = [4]
    softmax.builtinOptionsType = schema.BuiltinOptions.SoftmaxOptions
    softmax.builtinOptions = schema.SoftmaxOptionsT()
    softmax.builtinOptions.beta = 1.0

    subgraph = schema.SubGraphT()
    subgraph.tensors = [
        _tensor("features", [1, inputs], 1),
        _tensor("weights", [outputs, inputs], 2),
        _tensor("bias", [outputs], 3),
        _tensor("logits", [1, outputs], 4),
        _tensor("probabilities", [1, outputs], 5),
    ]
    subgraph.inputs = [0]
    subgraph.outputs = [4]
    subgraph.operators = [dense, softmax]

    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [
        _opcode(schema.BuiltinOperator.FULLY_CONNECTED),
        _opcode(schema.BuiltinOperator.SOFTMAX),
    ]
    model.subgraphs = [subgraph]
    model.buffers = [
        _buffer(None),
        _buffer(None),
        _buffer(weights.T.copy()),
        _buffer(bias),
        _buffer(None),
        _buffer(None),
    ]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def nearest_centroid_bundle(
    directory: Path,
    *,
    version: str = "1.0.0",
    sharpness: float = 400.0,
    metrics: dict[str, float] | None = None,
) -> Bundle:
    """Write a sensors bundle that labels by the infrared ratio's nearest centroid."""
    centres = np.array([IR_RATIO_CENTRES[name] for name in CLASSES])
    weights = (2 * sharpness * centres)[None, :]
    bias = -sharpness * centres**2
    return write_bundle(
        directory,
        linear_softmax_tflite(weights, bias),
        {
            "name": "nearest-centroid",
            "version": version,
            "kind": "sensors",
            "classes": list(CLASSES),
            "features": ["ir_ratio"],
            "created": f"2026-01-0{version[0]}T00:00:00+00:00",
            "metrics": metrics if metrics is not None else {"accuracy": 0.9},
        },
    )
