"""Small builders shared by the dataset store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import io
from pathlib import Path
import sqlite3
from typing import Any

from PIL import Image

from node.store import DATABASE_FILE, FRAMES_DIR, ReadingRecord

START = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """Return a fixed UTC time some seconds after START."""
    return START + timedelta(seconds=seconds)


def jpeg_bytes(width: int = 16, height: int = 12, color: str = "orange") -> bytes:
    """Return a small JPEG image."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def record(seconds: float = 0.0, **fields: Any) -> ReadingRecord:
    """Return a plausible reading, with any field overridden."""
    values = {"lux": 120.5 + seconds, "infrared": 950.0, "temperature": 21.4}
    return ReadingRecord(time=at(seconds), values=values, **fields)


def raw_rows(data_dir: Path, query: str) -> list[tuple[Any, ...]]:
    """Run a query on the database file directly, beside the store."""
    connection = sqlite3.connect(data_dir / DATABASE_FILE)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def files_under_frames(data_dir: Path) -> set[str]:
    """Return every file below the frames folder, relative to the data folder."""
    return {
        path.relative_to(data_dir).as_posix()
        for path in (data_dir / FRAMES_DIR).rglob("*")
        if path.is_file()
    }
