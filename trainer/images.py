"""Train the image model: transfer learning on a Keras backbone, or a tiny CNN."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
import functools
import logging
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.const import CLASSES

from .data import require_per_class, split_rows
from .errors import OnError, TrainerError
from .exporting import ExportReport, Holdout, export_trained, representative_rows
from .image_data import ImageData, load_image_data
from .metrics import accuracy, macro_f1
from .sensors import _EpochBar, seed_everything

_LOGGER = logging.getLogger(__name__)

BACKBONES: Final = ("tiny", "mobilenet_v3_small", "efficientnet_b0", "inception_v3")
# The size each backbone was designed for; inception_v3 as in the original article.
NATIVE_SIZES: Final = {
    "tiny": 64,
    "mobilenet_v3_small": 224,
    "efficientnet_b0": 224,
    "inception_v3": 299,
}
REPRESENTATIVE_IMAGES: Final = 32


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """Hyper-parameters of image training."""

    backbone: str = "tiny"
    weights: str = "none"
    size: int | None = None
    epochs: int = 12
    fine_tune_epochs: int = 0
    fine_tune_layers: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-5
    holdout: float = 0.2
    seed: int = 0
    min_class_images: int = 4
    dropout: float = 0.2
    augment: bool = True
    # Eager steps skip graph tracing, which costs more than a few tiny batches.
    run_eagerly: bool = False

    @property
    def input_size(self) -> int:
        """Return the square input size, the backbone's own unless one is set."""
        return self.size or NATIVE_SIZES.get(self.backbone, 64)


@dataclass(slots=True)
class ImageTraining:
    """A trained image model and, once exported, its bundle."""

    model: Any
    config: ImageConfig
    validation: str
    training_images: int
    validation_images: int
    class_counts: dict[str, int]
    skipped: dict[str, object]
    holdout: Holdout
    representative: NDArray[np.uint8]
    history: dict[str, list[float]] = field(default_factory=dict)
    report: ExportReport | None = None
    training_metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "backbone": self.config.backbone,
            "size": self.config.input_size,
            "validation": self.validation,
            "training_images": self.training_images,
            "validation_images": self.validation_images,
            "class_counts": self.class_counts,
            "skipped": self.skipped,
            "export": self.report.to_dict() if self.report else None,
            "metrics": self.report.metrics if self.report else {},
        }


def _weights_argument(weights: str) -> str | None:
    """Return what Keras takes for 'imagenet', 'none' or a weights file."""
    if weights == "none":
        return None
    if weights == "imagenet":
        return "imagenet"
    path = Path(weights)
    if not path.is_file():
        msg = f"weights must be 'imagenet', 'none' or a weights file; {weights} does not exist"
        raise TrainerError(msg)
    return str(path)


def build_backbone(name: str, weights: str, size: int) -> tuple[Any, Any]:
    """Return the backbone and the layer that scales raw 0-255 pixels for it."""
    import keras

    shape = (size, size, 3)
    if name == "tiny":
        if weights != "none":
            msg = "the tiny backbone is trained from scratch; use --weights none"
            raise TrainerError(msg)
        return _tiny_backbone(shape), keras.layers.Rescaling(1.0 / 255, name="scale")
    if name not in BACKBONES:
        msg = f"backbone must be one of {', '.join(BACKBONES)}, not {name!r}"
        raise TrainerError(msg)
    arguments: dict[str, Any] = {
        "input_shape": shape,
        "include_top": False,
        "weights": _weights_argument(weights),
    }
    try:
        if name == "mobilenet_v3_small":
            # MobileNetV3 and EfficientNet scale raw pixels themselves.
            base = keras.applications.MobileNetV3Small(
                include_preprocessing=True, **arguments
            )
            scale = keras.layers.Identity(name="scale")
        elif name == "efficientnet_b0":
            base = keras.applications.EfficientNetB0(**arguments)
            scale = keras.layers.Identity(name="scale")
        else:
            base = keras.applications.InceptionV3(**arguments)
            scale = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")
    # Keras reports a failed weights download as a bare Exception.
    except Exception as err:
        msg = f"cannot build {name} with weights {weights!r}: {err}"
        raise TrainerError(msg) from err
    return base, scale


def _tiny_backbone(shape: tuple[int, int, int]) -> Any:
    """Return a small CNN to train from scratch."""
    import keras

    inputs = keras.Input(shape=shape)
    x = inputs
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    return keras.Model(inputs, x, name="tiny")


def build_image_model(
    config: ImageConfig, classes: Sequence[str] = CLASSES
) -> tuple[Any, Any, Any]:
    """Return the model to train, the model to export (raw RGB in) and the backbone."""
    import keras

    size = config.input_size
    base_model, scale = build_backbone(config.backbone, config.weights, size)
    base_model.trainable = config.backbone == "tiny"

    inputs = keras.Input(shape=(size, size, 3), name="image")
    x = scale(inputs)

    # Batch normalisation layers keep their moving statistics in inference mode, even
    # when the base is unfrozen for fine-tuning, so that the few new images do not
    # wreck what was learned on a large dataset.
    x = base_model(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(config.dropout, name="dropout")(x)
    outputs = keras.layers.Dense(
        len(classes), activation="softmax", name="probabilities"
    )(x)
    inference_model = keras.Model(inputs, outputs, name=f"image_{config.backbone}")
    if not config.augment:
        return inference_model, inference_model, base_model

    # Augmentation only exists while training: its random ops have no TFLite kernels.
    augmentation = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(0.05),
            keras.layers.RandomContrast(0.2),
        ],
        name="augmentation",
    )
    training_inputs = keras.Input(shape=(size, size, 3), name="image")
    training_model = keras.Model(
        training_inputs,
        inference_model(augmentation(training_inputs)),
        name=f"train_{config.backbone}",
    )
    return training_model, inference_model, base_model


def _class_weights(labels: Sequence[int], count: int) -> dict[int, float]:
    """Return balanced class weights; absent classes weigh nothing."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=count)
    present = int(np.count_nonzero(counts))
    return {
        index: float(len(labels) / (present * counts[index])) if counts[index] else 0.0
        for index in range(count)
    }


def _fit_stage(
    model: Any,
    config: ImageConfig,
    training: tuple[NDArray[np.float32], NDArray[Any]],
    validation: tuple[NDArray[np.float32], NDArray[Any]],
    *,
    learning_rate: float,
    epochs: int,
    description: str,
    class_weight: dict[int, float],
    progress: bool,
) -> dict[str, list[float]]:
    """Compile the model at this learning rate, fit it and return its history."""
    import keras

    model.compile(
        jit_compile=False,
        run_eagerly=config.run_eagerly,
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    bar = _EpochBar(epochs, description, progress)
    history = model.fit(
        *training,
        validation_data=validation if len(validation[0]) else None,
        epochs=epochs,
        batch_size=config.batch_size,
        class_weight=class_weight,
        callbacks=[bar.callback()],
        verbose=0,
    )
    bar.bar.close()
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def train_images(
    data: Sequence[Path] | ImageData,
    output: Path | None = None,
    *,
    config: ImageConfig | None = None,
    on_error: OnError = "stop",
    quantization: str = "float32",
    name: str = "image",
    version: str = "1.0.0",
    progress: bool = False,
) -> ImageTraining:
    """Train the head on a frozen backbone, optionally fine-tune, and export."""
    config = config or ImageConfig()
    if config.backbone not in BACKBONES:
        msg = f"backbone must be one of {', '.join(BACKBONES)}, not {config.backbone!r}"
        raise TrainerError(msg)
    size = config.input_size
    if isinstance(data, ImageData):
        dataset = data
        if len(dataset) and dataset.images.shape[1:3] != (size, size):
            dataset = _resized(dataset, size)
    else:
        dataset = load_image_data(list(data), size=(size, size), on_error=on_error)
    require_per_class(dataset.class_counts(), config.min_class_images, "images")

    training_rows, validation_rows, validation = split_rows(
        dataset.labels,
        dataset.sessions,
        [float(i) for i in range(len(dataset))],
        holdout=config.holdout,
        seed=config.seed,
    )
    training = dataset.subset(training_rows)
    held_out = dataset.subset(validation_rows)
    require_per_class(training.class_counts(), 1, "images")
    _LOGGER.info(
        "Training on %s images, validating on %s (%s)",
        len(training),
        len(held_out),
        validation,
    )

    seed_everything(config.seed)
    model, inference_model, base_model = build_image_model(config)
    train_x = training.images.astype(np.float32)
    train_y = np.asarray([CLASSES.index(label) for label in training.labels])
    val_x = held_out.images.astype(np.float32)
    val_y = np.asarray([CLASSES.index(label) for label in held_out.labels])
    class_weight = _class_weights([int(value) for value in train_y], len(CLASSES))

    stage = functools.partial(
        _fit_stage,
        model,
        config,
        (train_x, train_y),
        (val_x, val_y),
        class_weight=class_weight,
        progress=progress,
    )
    histories = stage(
        learning_rate=config.learning_rate, epochs=config.epochs, description="head"
    )

    if config.fine_tune_epochs > 0 and config.backbone != "tiny":
        base_model.trainable = True
        for layer in base_model.layers[: -config.fine_tune_layers]:
            layer.trainable = False
        tuned = stage(
            learning_rate=config.fine_tune_learning_rate,
            epochs=config.fine_tune_epochs,
            description="fine-tune",
        )
        for key, values in tuned.items():
            histories.setdefault(f"fine_tune_{key}", []).extend(values)

    validation_f1 = None
    if len(val_x):
        predicted = np.argmax(
            inference_model.predict(val_x, verbose=0, batch_size=64), axis=1
        )
        true_names = list(held_out.labels)
        predicted_names = [CLASSES[int(index)] for index in predicted]
        validation_f1 = macro_f1(true_names, predicted_names, CLASSES)
        _LOGGER.info(
            "Validation accuracy %.4f, macro-F1 %.4f",
            accuracy(true_names, predicted_names),
            validation_f1,
        )

    sample = representative_rows(len(training), REPRESENTATIVE_IMAGES, config.seed)
    result = ImageTraining(
        model=inference_model,
        config=config,
        validation=validation,
        training_images=len(training),
        validation_images=len(held_out),
        class_counts=training.class_counts(),
        skipped=dataset.problems.summary(),
        holdout=Holdout(
            inputs=val_x,
            labels=list(held_out.labels),
            sessions=held_out.sessions,
            validation=validation,
        ),
        representative=training.images[sample],
        history=histories,
    )
    result.training_metadata = {
        "backbone": config.backbone,
        "weights": config.weights,
        "images": len(training),
        "validation_images": len(held_out),
        "validation": validation,
        "class_counts": result.class_counts,
        "epochs": config.epochs,
        "fine_tune_epochs": config.fine_tune_epochs if config.backbone != "tiny" else 0,
        "fine_tune_layers": config.fine_tune_layers,
        "augmentation": ["flip", "rotation", "contrast"] if config.augment else [],
        "seed": config.seed,
        "class_weights": "balanced",
        "skipped": dataset.problems.count,
    }
    if output is not None:
        export_images(
            result, output, name=name, version=version, quantization=quantization
        )
    return result


def export_images(
    result: ImageTraining,
    output: Path,
    *,
    name: str,
    version: str,
    quantization: str = "float32",
    extra_training: dict[str, Any] | None = None,
) -> ExportReport:
    """Write a trained image model as a bundle: raw 0-255 RGB in."""
    size = result.config.input_size
    return export_trained(
        result,
        output,
        metadata={
            "name": name,
            "version": version,
            "kind": "image",
            "classes": list(CLASSES),
            "image": {"height": size, "width": size, "scale": 1.0, "offset": 0.0},
        },
        quantization=quantization,
        extra_training=extra_training,
    )


def _resized(data: ImageData, size: int) -> ImageData:
    """Return the frames resized to a square size as the node resizes."""
    from PIL import Image

    frames = [
        np.asarray(
            Image.fromarray(frame).resize((size, size), Image.Resampling.BILINEAR),
            dtype=np.uint8,
        )
        for frame in data.images
    ]
    return ImageData(
        images=np.stack(frames),
        labels=data.labels,
        sessions=data.sessions,
        origins=data.origins,
        problems=data.problems,
    )


def config_dict(config: ImageConfig) -> dict[str, Any]:
    """Return the configuration as a JSON-ready object."""
    return {**asdict(config), "input_size": config.input_size}
