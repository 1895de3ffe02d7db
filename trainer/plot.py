"""A confusion-matrix picture drawn with Pillow, since matplotlib is not installed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFont

CELL: Final = 72
MARGIN: Final = 110
BACKGROUND_COLOUR: Final = (255, 255, 255)
TEXT_COLOUR: Final = (20, 20, 20)


def draw_confusion_matrix(
    matrix: Sequence[Sequence[int]], classes: Sequence[str], path: Path
) -> Path:
    """Draw rows of true classes against columns of predicted classes as a PNG."""
    count = len(classes)
    size = (MARGIN + CELL * count + 20, MARGIN + CELL * count + 20)
    image = Image.new("RGB", size, BACKGROUND_COLOUR)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()

    draw.text((MARGIN, 8), "predicted", fill=TEXT_COLOUR, font=font)
    draw.text((8, MARGIN - 30), "true", fill=TEXT_COLOUR, font=font)
    for row, true_name in enumerate(classes):
        total = max(sum(matrix[row]), 1)
        top = MARGIN + row * CELL
        draw.text((8, top + CELL // 2 - 6), true_name, fill=TEXT_COLOUR, font=font)
        for column, value in enumerate(matrix[row]):
            left = MARGIN + column * CELL
            # Shade by the share of the true class, so rare classes stay readable.
            share = value / total
            shade = int(255 - 200 * share)
            fill = (shade, shade, 255)
            draw.rectangle((left, top, left + CELL - 2, top + CELL - 2), fill=fill)
            colour = (255, 255, 255) if share > 0.6 else TEXT_COLOUR
            draw.text(
                (left + CELL // 2 - 12, top + CELL // 2 - 6),
                str(value),
                fill=colour,
                font=font,
            )
    for column, predicted_name in enumerate(classes):
        left = MARGIN + column * CELL
        draw.text(
            (left + 4, MARGIN - 16), predicted_name[:11], fill=TEXT_COLOUR, font=font
        )

    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path
