"""Labelled frames for the image model: class folders, dataset stores or a list file."""

from __future__ import annotations

from collections.abc import Sequence
import csv
from dataclasses import dataclass, field
import logging
from pathlib import Path
import sqlite3
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from node.const import CLASSES

from .data import BACKGROUND, STORE_FILE, normalise_label
from .errors import DataError, OnError, Problems

_LOGGER = logging.getLogger(__name__)

IMAGE_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
LIST_SUFFIXES: Final = frozenset({".csv", ".tsv", ".txt"})


@dataclass(slots=True)
class ImageData:
    """RGB frames of one size with their class names and sessions."""

    images: NDArray[np.uint8]
    labels: list[str]
    sessions: list[str]
    origins: list[str]
    problems: Problems = field(default_factory=Problems)

    def __len__(self) -> int:
        """Return the number of frames."""
        return len(self.labels)

    def subset(self, indices: Sequence[int]) -> ImageData:
        """Return the frames at these positions."""
        chosen = list(indices)
        return ImageData(
            images=self.images[chosen] if chosen else self.images[:0],
            labels=[self.labels[i] for i in chosen],
            sessions=[self.sessions[i] for i in chosen],
            origins=[self.origins[i] for i in chosen],
            problems=self.problems,
        )

    def class_counts(self) -> dict[str, int]:
        """Return the number of frames of each class."""
        counts = dict.fromkeys(CLASSES, 0)
        for label in self.labels:
            counts[label] = counts.get(label, 0) + 1
        return counts


def read_image(path: Path, size: tuple[int, int] | None) -> NDArray[np.uint8]:
    """Read an image upright (EXIF orientation applied) as RGB, resized if asked."""
    with Image.open(path) as opened:
        upright = ImageOps.exif_transpose(opened)
        rgb = upright.convert("RGB")
    if size is not None:
        height, width = size
        rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)


@dataclass(slots=True)
class _Item:
    """One image file with its label, on its way into ImageData."""

    path: Path
    label: str
    session: str
    origin: str


def load_image_data(
    paths: Sequence[Path],
    *,
    size: tuple[int, int] | None,
    on_error: OnError = "stop",
) -> ImageData:
    """Read labelled frames; every frame is resized to `size` (height, width)."""
    problems = Problems(on_error)
    if not paths:
        msg = "no images given: pass class folders, dataset stores or a list file"
        raise DataError(msg)
    items: list[_Item] = []
    for path in paths:
        if path.is_dir() and (path / STORE_FILE).is_file():
            items.extend(_store_items(path, problems))
        elif path.is_dir():
            items.extend(_folder_items(path, problems))
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            items.extend(_list_items(path, problems))
        elif path.is_file():
            problems.report(f"{path}: not a folder, a dataset store or a list file")
        else:
            problems.report(f"{path}: no such file or folder")

    frames: list[NDArray[np.uint8]] = []
    kept: list[_Item] = []
    for item in items:
        try:
            frame = read_image(item.path, size)
        except (OSError, UnidentifiedImageError, ValueError) as err:
            problems.report(f"{item.origin}: cannot read image: {err}")
            continue
        if frames and frame.shape != frames[0].shape:
            problems.report(
                f"{item.origin}: size {frame.shape[1]}x{frame.shape[0]} differs from "
                f"{frames[0].shape[1]}x{frames[0].shape[0]}; give an input size"
            )
            continue
        frames.append(frame)
        kept.append(item)
    if frames:
        images = np.stack(frames)
    else:
        height, width = size or (0, 0)
        images = np.zeros((0, height, width, 3), dtype=np.uint8)
    _LOGGER.debug("Read %s images of shape %s", len(kept), images.shape[1:])
    return ImageData(
        images=images,
        labels=[item.label for item in kept],
        sessions=[item.session for item in kept],
        origins=[item.origin for item in kept],
        problems=problems,
    )


def _image_label(raw: str, where: str, problems: Problems) -> str | None:
    """Return a class for an image, or report why there is none."""
    try:
        label = normalise_label(raw)
    except ValueError as err:
        problems.report(f"{where}: {err}")
        return None
    if label == BACKGROUND:
        problems.report(
            f"{where}: label {BACKGROUND!r} has no light source to learn from"
        )
        return None
    return label


def _folder_items(folder: Path, problems: Problems) -> list[_Item]:
    """List the images of a folder of class sub-folders."""
    items: list[_Item] = []
    subfolders = sorted(child for child in folder.iterdir() if child.is_dir())
    if not subfolders:
        problems.report(f"{folder}: no class sub-folders ({', '.join(CLASSES)})")
        return []
    for subfolder in subfolders:
        label = _image_label(subfolder.name, str(subfolder), problems)
        if label is None:
            continue
        items.extend(
            _Item(path, label, folder.name, str(path))
            for path in sorted(subfolder.iterdir())
            if path.is_file() and not path.name.startswith(".")
        )
    return items


def _list_items(list_file: Path, problems: Problems) -> list[_Item]:
    """List the images of a CSV or TSV file with path and label columns."""
    delimiter = "\t" if list_file.suffix.lower() == ".tsv" else ","
    try:
        with list_file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            header = list(reader.fieldnames or [])
            records = [(reader.line_num, record) for record in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        problems.report(f"{list_file}: cannot read: {err}")
        return []
    for required in ("path", "label"):
        if required not in header:
            problems.report(
                f"{list_file}: missing column {required!r} (columns: {', '.join(header)})"
            )
            return []
    items = []
    for line, record in records:
        where = f"{list_file} row {line}"
        label = _image_label(record.get("label") or "", where, problems)
        if label is None:
            continue
        path = Path(record.get("path") or "")
        if not path.is_absolute():
            path = list_file.parent / path
        session = (record.get("session") or "").strip() or list_file.name
        items.append(_Item(path, label, session, where))
    return items


def _store_items(path: Path, problems: Problems) -> list[_Item]:
    """List the frames of a dataset store's labelled readings."""
    from node.store import DatasetStore

    try:
        store = DatasetStore(path, read_only=True)
    except (OSError, ValueError, sqlite3.Error) as err:
        problems.report(f"{path}: cannot open the dataset store: {err}")
        return []
    items = []
    try:
        for reading in store.readings(labelled_only=True):
            where = f"{path} reading {reading.id}"
            frame_path = store.frame_path(reading.id)
            if frame_path is None or not reading.true_label:
                continue
            label = _image_label(str(reading.true_label), where, problems)
            if label is not None:
                items.append(
                    _Item(
                        Path(frame_path),
                        label,
                        f"{path.name}:{reading.session_id}",
                        where,
                    )
                )
    finally:
        store.close()
    return items
