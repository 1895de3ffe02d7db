"""Classifier: runs the sensor and image models and combines their probabilities.

When both a sensor model and an image model are loaded and the frame shows light, the
two probability vectors are combined as a product of experts: each class's
probabilities are multiplied (a geometric mean with equal weights) and renormalised.
A class both models find likely stays likely; one that either model rules out drops.
Without a camera, or when the frame is too dark for the image model to see anything,
the sensors decide alone. Every prediction says which source decided it.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import time
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from .bundle import Bundle, BundleError, BundleMetadata
from .hardware.base import RGBImage
from .runtime import TFLiteModel, load_model

_LOGGER = logging.getLogger(__name__)

# A frame whose brightest pixels stay below this luma holds no light source to see.
DARK_FRAME_LUMA: Final = 40.0
PROBABILITY_FLOOR: Final = 1e-6

type Source = Literal["sensors", "camera", "fused"]


@dataclass(frozen=True, slots=True)
class Prediction:
    """Class probabilities from one or both models, with what produced them."""

    label: str
    confidence: float
    probabilities: dict[str, float]
    source: Source
    model_version: str
    inference_ms: float

    def to_dict(self) -> dict[str, object]:
        """Return the prediction as the API shows it."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probabilities": {
                name: round(value, 4) for name, value in self.probabilities.items()
            },
            "source": self.source,
            "model_version": self.model_version,
            "inference_ms": round(self.inference_ms, 3),
        }


@dataclass(frozen=True, slots=True)
class Classification:
    """The final prediction and the predictions of each model that ran."""

    final: Prediction | None
    sensors: Prediction | None
    camera: Prediction | None


@dataclass(slots=True)
class LoadedModel:
    """A bundle whose model loaded and passed a test run."""

    bundle: Bundle
    model: TFLiteModel

    @property
    def metadata(self) -> BundleMetadata:
        """Return the bundle's metadata."""
        return self.bundle.metadata


def load_bundle_model(
    bundle: Bundle, *, available_features: set[str] | None = None
) -> LoadedModel:
    """Load a bundle's model and check that it fits its metadata and this node."""
    metadata = bundle.metadata
    if available_features is not None and metadata.kind == "sensors":
        missing = [name for name in metadata.features if name not in available_features]
        if missing:
            msg = (
                f"model needs features this node does not measure: {', '.join(missing)}"
            )
            raise BundleError(msg)
    try:
        model = load_model(bundle.model_path)
    except (ValueError, RuntimeError) as err:
        msg = f"model does not load: {err}"
        raise BundleError(msg) from err

    if model.output_size != len(metadata.classes):
        msg = (
            f"model outputs {model.output_size} values but metadata lists "
            f"{len(metadata.classes)} classes"
        )
        raise BundleError(msg)
    expected_input = _expected_input_shape(metadata)
    if model.input_shape[1:] != expected_input:
        msg = f"model input shape {model.input_shape[1:]} does not match metadata {expected_input}"
        raise BundleError(msg)

    loaded = LoadedModel(bundle, model)
    probe = np.zeros((1, *expected_input), dtype=np.float32)
    output = model.run(probe)
    if not np.all(np.isfinite(output)):
        msg = "model gives non-finite output on a test input"
        raise BundleError(msg)
    return loaded


def _expected_input_shape(metadata: BundleMetadata) -> tuple[int, ...]:
    if metadata.kind == "sensors":
        return (len(metadata.features),)
    return (metadata.image_input.height, metadata.image_input.width, 3)


def sensor_input(
    metadata: BundleMetadata, features: dict[str, float]
) -> NDArray[np.float32] | None:
    """Return the model's input row, or None when a feature is missing."""
    try:
        row = [features[name] for name in metadata.features]
    except KeyError:
        return None
    return np.asarray([row], dtype=np.float32)


def image_input(metadata: BundleMetadata, frame: RGBImage) -> NDArray[np.float32]:
    """Resize and scale a frame as the image model expects."""
    image = metadata.image_input
    resized = Image.fromarray(frame).resize(
        (image.width, image.height), Image.Resampling.BILINEAR
    )
    pixels = np.asarray(resized, dtype=np.float32) * image.scale + image.offset
    return np.asarray(pixels[None, ...], dtype=np.float32)


def is_dark(frame: RGBImage) -> bool:
    """Return whether a frame is too dark to show a light source."""
    luma = frame[..., :3].astype(np.float32) @ np.array(
        [0.299, 0.587, 0.114], np.float32
    )
    return float(np.percentile(luma, 99)) < DARK_FRAME_LUMA


class Classifier:
    """Holds the active models and turns readings and frames into predictions."""

    def __init__(self, classes: tuple[str, ...]) -> None:
        """Predict over these classes, in this order."""
        self.classes = classes
        self.sensor_model: LoadedModel | None = None
        self.image_model: LoadedModel | None = None

    def check_classes(self, metadata: BundleMetadata) -> None:
        """Raise BundleError unless a model predicts exactly the node's classes."""
        if set(metadata.classes) != set(self.classes):
            msg = (
                f"model classes {', '.join(metadata.classes)} do not match the node's "
                f"{', '.join(self.classes)}"
            )
            raise BundleError(msg)

    def install(self, loaded: LoadedModel) -> None:
        """Make a loaded model the active one of its kind."""
        metadata = loaded.metadata
        self.check_classes(metadata)
        if metadata.kind == "sensors":
            self.sensor_model = loaded
        else:
            self.image_model = loaded
        _LOGGER.info(
            "Active %s model: %s %s", metadata.kind, metadata.name, metadata.version
        )

    def _probabilities(
        self, loaded: LoadedModel, batch: NDArray[np.float32]
    ) -> tuple[NDArray[np.float64], float]:
        started = time.perf_counter()
        output = loaded.model.run(batch).astype(np.float64)
        elapsed_ms = (time.perf_counter() - started) * 1000
        by_name = dict(zip(loaded.metadata.classes, output, strict=True))
        ordered = np.array([by_name[name] for name in self.classes])
        ordered = np.clip(ordered, 0.0, None)
        total = ordered.sum()
        if total <= 0:
            ordered = np.full(len(self.classes), 1.0 / len(self.classes))
        else:
            ordered /= total
        return ordered, elapsed_ms

    def classify(
        self, features: dict[str, float], frame: RGBImage | None = None
    ) -> Classification:
        """Predict from a reading's features and, when it shows light, a frame."""
        sensors = camera = None
        if self.sensor_model is not None:
            batch = sensor_input(self.sensor_model.metadata, features)
            if batch is not None:
                sensors = self._prediction(
                    self.sensor_model, *self._probabilities(self.sensor_model, batch)
                )
        if self.image_model is not None and frame is not None and not is_dark(frame):
            batch = image_input(self.image_model.metadata, frame)
            camera = self._prediction(
                self.image_model, *self._probabilities(self.image_model, batch)
            )

        if sensors is None or camera is None:
            return Classification(sensors or camera, sensors, camera)
        fused = np.sqrt(
            np.maximum(_vector(sensors, self.classes), PROBABILITY_FLOOR)
            * np.maximum(_vector(camera, self.classes), PROBABILITY_FLOOR)
        )
        fused /= fused.sum()
        best = int(np.argmax(fused))
        final = Prediction(
            label=self.classes[best],
            confidence=float(fused[best]),
            probabilities=dict(zip(self.classes, map(float, fused), strict=True)),
            source="fused",
            model_version=f"{sensors.model_version}+{camera.model_version}",
            inference_ms=sensors.inference_ms + camera.inference_ms,
        )
        return Classification(final, sensors, camera)

    def _prediction(
        self,
        loaded: LoadedModel,
        probabilities: NDArray[np.float64],
        elapsed_ms: float,
    ) -> Prediction:
        best = int(np.argmax(probabilities))
        return Prediction(
            label=self.classes[best],
            confidence=float(probabilities[best]),
            probabilities=dict(
                zip(self.classes, map(float, probabilities), strict=True)
            ),
            source="sensors" if loaded.metadata.kind == "sensors" else "camera",
            model_version=loaded.metadata.version,
            inference_ms=elapsed_ms,
        )


def _vector(prediction: Prediction, classes: tuple[str, ...]) -> NDArray[np.float64]:
    return np.array([prediction.probabilities[name] for name in classes])
