"""The node's dataset as data frames, read through `node.store` and cached per change."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
import io
import logging
from pathlib import Path
import sqlite3
from typing import Final

import numpy as np
import pandas as pd
from PIL import Image
import streamlit as st

from node.const import CLASSES
from node.store import (
    DATABASE_FILE,
    READING_NAMES,
    UNLABELLED,
    DatasetError,
    DatasetStore,
    StoredReading,
)

_LOGGER = logging.getLogger(__name__)

IMAGES_PER_CLASS: Final = 12
NOT_LABELLED: Final = "not labelled"
READING_COLUMNS: Final = (
    "id",
    "session_id",
    "time",
    *READING_NAMES,
    "saturated",
    "predicted_label",
    "confidence",
    "source",
    "model_version",
    "sensor_label",
    "sensor_confidence",
    "camera_label",
    "camera_confidence",
    "true_label",
    "labelled_by",
    "frame",
)
CATEGORY_COLUMNS: Final = (
    "predicted_label",
    "source",
    "model_version",
    "sensor_label",
    "camera_label",
    "true_label",
    "labelled_by",
)


class DatasetUnavailableError(RuntimeError):
    """The dataset directory holds no dataset this dashboard can read."""


@dataclass(frozen=True, slots=True)
class ReadingFilter:
    """What a person narrowed the readings down to; None or empty means all."""

    sessions: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()
    labelled_by: tuple[str, ...] = ()
    dates: tuple[date, date] | None = None
    confidence: tuple[float, float] | None = None


def dataset_signature(data_dir: Path) -> tuple[int, ...]:
    """Return what changes whenever the node or the Review page writes."""
    database = data_dir / DATABASE_FILE
    signature: list[int] = []
    for path in (database, database.with_name(f"{DATABASE_FILE}-wal")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            signature.extend((0, 0))
        else:
            signature.extend((stat.st_mtime_ns, stat.st_size))
    return tuple(signature)


@contextmanager
def open_store(data_dir: Path) -> Iterator[DatasetStore]:
    """Open the dataset read-only; any failure inside is a DatasetUnavailableError."""
    if not data_dir.is_dir():
        msg = f"The dataset directory {data_dir} does not exist."
        raise DatasetUnavailableError(msg)
    if not (data_dir / DATABASE_FILE).is_file():
        msg = f"There is no dataset in {data_dir} yet (no {DATABASE_FILE})."
        raise DatasetUnavailableError(msg)
    try:
        with DatasetStore(data_dir, read_only=True) as store:
            yield store
    except (DatasetError, sqlite3.Error, OSError) as err:
        msg = f"The dataset in {data_dir} cannot be read: {err}."
        raise DatasetUnavailableError(msg) from err


def load_readings(data_dir: Path) -> pd.DataFrame:
    """Return every reading as a frame; re-read only after the dataset changed."""
    return _load_readings(str(data_dir), dataset_signature(data_dir))


@st.cache_data(show_spinner="Reading the dataset...", max_entries=4)
def _load_readings(data_dir: str, signature: tuple[int, ...]) -> pd.DataFrame:
    del signature
    with open_store(Path(data_dir)) as store:
        table = store.fetch_table(READING_COLUMNS)

    frame = pd.DataFrame.from_records(table.rows, columns=table.columns)
    frame["time"] = pd.to_datetime(frame["time"], format="ISO8601", utc=True)
    for name in READING_NAMES:
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    frame["saturated"] = frame["saturated"].astype(bool)
    for name in CATEGORY_COLUMNS:
        frame[name] = frame[name].astype("category")
    frame["label"] = (
        frame["true_label"].astype("object").fillna(NOT_LABELLED).astype("category")
    )
    return frame


def load_sessions(data_dir: Path) -> pd.DataFrame:
    """Return the sessions with their counts, newest first."""
    return _load_sessions(str(data_dir), dataset_signature(data_dir))


@st.cache_data(show_spinner=False, max_entries=4)
def _load_sessions(data_dir: str, signature: tuple[int, ...]) -> pd.DataFrame:
    del signature
    with open_store(Path(data_dir)) as store:
        sessions = store.sessions()
    frame = pd.DataFrame(
        [
            {
                "id": session.id,
                "mode": session.mode,
                "label": session.label,
                "note": session.note,
                "started": session.started_at,
                "ended": session.ended_at,
                "readings": session.readings,
                "frames": session.frames,
            }
            for session in sessions
        ],
        columns=[
            "id",
            "mode",
            "label",
            "note",
            "started",
            "ended",
            "readings",
            "frames",
        ],
    )
    return frame.sort_values("id", ascending=False, ignore_index=True)


def load_counts(data_dir: Path) -> dict[str, int]:
    """Return how many readings carry each true label, and how many carry none."""
    return _load_counts(str(data_dir), dataset_signature(data_dir))


@st.cache_data(show_spinner=False, max_entries=4)
def _load_counts(data_dir: str, signature: tuple[int, ...]) -> dict[str, int]:
    del signature
    with open_store(Path(data_dir)) as store:
        return store.counts()


def apply_filter(readings: pd.DataFrame, chosen: ReadingFilter) -> pd.DataFrame:
    """Return the readings that pass every part of a filter."""
    keep = np.ones(len(readings), dtype=bool)
    if chosen.sessions:
        keep &= readings["session_id"].isin(chosen.sessions).to_numpy()
    if chosen.labels:
        keep &= readings["label"].isin(chosen.labels).to_numpy()
    if chosen.labelled_by:
        labelled_by = readings["labelled_by"].astype("object").fillna(NOT_LABELLED)
        keep &= labelled_by.isin(chosen.labelled_by).to_numpy()
    if chosen.dates is not None:
        start, end = chosen.dates
        day = readings["time"].dt.date
        keep &= ((day >= start) & (day <= end)).to_numpy()
    if chosen.confidence is not None:
        low, high = chosen.confidence
        confidence = readings["confidence"]
        # Readings the node stored without a prediction pass only an open filter.
        in_range = confidence.between(low, high).to_numpy(copy=True)
        if low <= 0.0 and high >= 1.0:
            in_range |= confidence.isna().to_numpy()
        keep &= in_range
    return readings[keep]


def class_names(counts: dict[str, int]) -> list[str]:
    """Return the dataset's classes in the node's order, then any others."""
    extra = sorted(name for name in counts if name not in (*CLASSES, UNLABELLED))
    return [*CLASSES, *extra]


def thin_out(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Return at most `limit` rows, evenly spread, so the shape of the data stays."""
    if len(frame) <= limit:
        return frame
    positions = np.linspace(0, len(frame) - 1, limit).round().astype(int)
    return frame.iloc[np.unique(positions)]


def frame_jpeg(data_dir: Path, relative: object) -> bytes | None:
    """Return a reading's frame as JPEG bytes, or None when it is missing or broken."""
    if not isinstance(relative, str) or not relative:
        return None
    try:
        data = (data_dir / relative).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    # Pillow reports a damaged file as OSError, or SyntaxError for some codecs.
    except (OSError, SyntaxError) as err:
        _LOGGER.warning("Frame %s cannot be shown: %s", relative, err)
        return None
    return data


def frames_by_label(
    readings: pd.DataFrame, column: str, data_dir: Path, limit: int = IMAGES_PER_CLASS
) -> dict[str, tuple[int, list[tuple[bytes, int]]]]:
    """Return, per label, how many readings have a frame and a few spread out."""
    with_frames = readings[readings["frame"].notna()]
    labels = with_frames[column].astype("object").fillna(NOT_LABELLED).astype(str)
    picked: dict[str, tuple[int, list[tuple[bytes, int]]]] = {}
    for label, group in with_frames.groupby(labels.to_numpy(), sort=False):
        sample = thin_out(group, limit)
        frames = [
            (jpeg, int(reading_id))
            for relative, reading_id in zip(sample["frame"], sample["id"], strict=True)
            if (jpeg := frame_jpeg(data_dir, relative)) is not None
        ]
        picked[str(label)] = (len(group), frames)
    return picked


def stored_readings(data_dir: Path, reading_ids: Sequence[int]) -> list[StoredReading]:
    """Return a few readings in full, probabilities included."""
    with open_store(data_dir) as store:
        return [store.reading(reading_id) for reading_id in reading_ids]


def write_true_label(data_dir: Path, reading_id: int, label: str) -> None:
    """Set a reading's true label as reviewed; raise DatasetError if it cannot."""
    with DatasetStore(data_dir) as store:
        store.set_true_label(reading_id, label, labelled_by="review")
    _LOGGER.info("Reviewed reading %s as %s", reading_id, label)
