"""The model card of the default bundles, written from their metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from node.bundle import BundleMetadata, find_bundles

from .exporting import DEFAULT_THRESHOLD

MODEL_CARD_FILE: Final = "MODEL_CARD.md"

LIMITS: Final = """\
## Known limits

- **Simulation only.** Both models learned from `node.simulation`, a physical sketch
  of the four sources, never from a real sensor or camera. Real sources differ (LED
  colours, flame sizes, windows, the room's own light), so expect lower figures on a
  real node; record labelled sessions there and train again with
  `python -m trainer sensors` or `python -m trainer images`.
- **No pretrained weights.** This machine cannot download ImageNet weights, so the
  image model uses the `tiny` backbone, a small CNN trained from scratch on rendered
  frames. With weights at hand, `--backbone mobilenet_v3_small --weights imagenet`
  (or a local weights file) gives transfer learning with the same command.
- **Easy pictures.** The rendered frames differ only in the glow's colour and shape,
  so the image model's perfect test score says little about a real camera.
- **Far, weak sources.** An infrared LED or a lighter beyond about a metre gives
  counts close to the sensor's noise; such readings are the hardest to tell from no
  source at all.
- **Saturation.** Close flashlights and bright daylight clip the sensor; the model
  learned the clipped counts of the simulated TSL2591 at medium gain and 100 ms.
- **Nothing in front.** Readings with no source were trained towards equal
  probabilities, so the node's confidence threshold turns them into `unknown`;
  each model's figures above say how often that works.
"""


def _table(metrics: dict[str, Any]) -> list[str]:
    """Return the per-class table in Markdown."""
    lines = [
        "| class | precision | recall | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    per_class = metrics.get("per_class", {})
    for name in metrics.get("classes", list(per_class)):
        figures = per_class[name]
        lines.append(
            f"| {name} | {figures['precision']:.3f} | {figures['recall']:.3f} | "
            f"{figures['f1']:.3f} | {figures['support']} |"
        )
    return lines


def _confusion(metrics: dict[str, Any]) -> list[str]:
    """Return the confusion matrix in Markdown."""
    classes = metrics.get("classes", [])
    matrix = metrics.get("confusion_matrix", [])
    if not classes or not matrix:
        return []
    lines = [
        "| true \\ predicted | " + " | ".join(classes) + " |",
        "| --- |" + " ---: |" * len(classes),
    ]
    for name, row in zip(classes, matrix, strict=True):
        lines.append(f"| {name} | " + " | ".join(str(value) for value in row) + " |")
    return lines


def _section(metadata: BundleMetadata, size_bytes: int) -> list[str]:
    """Return the model card section of one bundle."""
    metrics = metadata.metrics
    training = metadata.training
    data = training.get("data", {})
    lines = [
        f"## {metadata.name} {metadata.version} ({metadata.kind})",
        "",
        f"- Classes: {', '.join(metadata.classes)}",
    ]
    if metadata.kind == "sensors":
        lines.append(f"- Features (raw values in): {', '.join(metadata.features)}")
        lines.append(
            f"- Network: dense, width {training.get('width')} chosen by validation "
            "macro-F1 among "
            + ", ".join(
                f"{item['width']} ({item['macro_f1']:.4f})"
                for item in training.get("candidates", [])
            )
        )
        lines.append(
            f"- Training rows: {training.get('rows')} from {data.get('sessions')} "
            f"simulated sessions at {data.get('rate_hz')} Hz, distances "
            f"{data.get('distance_cm')} cm; validation: {training.get('validation')}"
        )
    else:
        image = metadata.image_input
        lines.append(
            f"- Input: {image.height}x{image.width} RGB, raw 0-255 "
            f"(scale {image.scale}, offset {image.offset})"
        )
        lines.append(
            f"- Backbone: {training.get('backbone')}, weights {training.get('weights')}; "
            f"augmentation: {', '.join(training.get('augmentation', [])) or 'none'}"
        )
        lines.append(
            f"- Training images: {training.get('images')} from {data.get('sessions')} "
            f"simulated sessions; validation: {training.get('validation')}"
        )
    lines += [
        f"- TFLite: {metadata.quantization}, {size_bytes} bytes, sha256 "
        f"`{metadata.sha256[:16]}...`",
        "",
        f"Test set: {metrics.get('validation', 'not recorded')}. Accuracy "
        f"**{metrics.get('accuracy', 0):.4f}**, macro-F1 **{metrics.get('macro_f1', 0):.4f}** "
        f"over {metrics.get('count', 0)} examples.",
        "",
        *_table(metrics),
        "",
        *_confusion(metrics),
    ]
    background = metrics.get("background")
    if background:
        lines += [
            "",
            f"No source in front: {background['count']} readings, "
            f"{background['unknown_rate']:.1%} below the confidence threshold "
            f"{background['threshold']} (so `unknown` on the node), mean confidence "
            f"{background['mean_confidence']:.3f}.",
        ]
    if "unknown_rate" in metrics:
        lines += [
            "",
            f"Examples with a source that fall below the confidence threshold "
            f"{DEFAULT_THRESHOLD}: {metrics['unknown_rate']:.1%}.",
        ]
    return [*lines, ""]


def write_model_card(models_dir: Path) -> Path:
    """Write MODEL_CARD.md describing every bundle in the folder."""
    lines = [
        "# Model card: Smart Labeling default models",
        "",
        "Generated by `python -m trainer defaults --output models` (`make models`) from",
        "the bundles' metadata; do not edit by hand. `python -m trainer defaults --check",
        "models` retrains with the same seeds and compares the figures below.",
        "",
        "Intended use: label the light source in front of a Smart Labeling node",
        "(flashlight, lighter, infrared, daylight) out of the box, until a model trained",
        "on the node's own recordings replaces them.",
        "",
    ]
    for bundle in find_bundles(models_dir):
        lines += _section(bundle.metadata, bundle.size_bytes)
    lines.append(LIMITS)
    path = models_dir / MODEL_CARD_FILE
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path
