"""Replay of a recorded session: drivers that read back an exported CSV in order."""

from __future__ import annotations

import csv
from pathlib import Path

from .const import READING_UNITS
from .hardware.base import (
    DistanceSensor,
    DriverError,
    Hardware,
    LightReading,
    LightSensor,
    TemperatureSensor,
)

LIGHT_FIELDS = (
    "lux",
    "visible",
    "infrared",
    "full_spectrum",
    "light_level",
    "infrared_level",
)


class ReplayError(ValueError):
    """A recording cannot be replayed."""


class Recording:
    """The rows of a recording and the row being replayed; loops at the end."""

    def __init__(self, rows: list[dict[str, float]]) -> None:
        """Replay these rows."""
        if not rows:
            msg = "the recording has no readings"
            raise ReplayError(msg)
        self.rows = rows
        self.index = -1

    def advance(self) -> dict[str, float]:
        """Move to the next row and return it."""
        self.index = (self.index + 1) % len(self.rows)
        return self.rows[self.index]

    def current(self) -> dict[str, float]:
        """Return the row being replayed."""
        return self.rows[max(self.index, 0)]


def read_recording(path: Path) -> Recording:
    """Read a CSV export of the dataset store (any subset of reading columns)."""
    try:
        with path.open(newline="", encoding="utf-8") as csv_file:
            reader = csv.DictReader(csv_file)
            columns = [
                name for name in reader.fieldnames or [] if name in READING_UNITS
            ]
            if not columns:
                msg = (
                    f"{path} has none of the reading columns {', '.join(READING_UNITS)}"
                )
                raise ReplayError(msg)
            rows = []
            for line, row in enumerate(reader, start=2):
                try:
                    values = {
                        name: float(row[name]) for name in columns if row.get(name)
                    }
                except ValueError as err:
                    msg = f"{path}, line {line}: {err}"
                    raise ReplayError(msg) from err
                if values:
                    values["saturated"] = float(
                        str(row.get("saturated", "")).lower() in ("1", "true")
                    )
                    rows.append(values)
    except OSError as err:
        msg = f"cannot read {path}: {err.strerror}"
        raise ReplayError(msg) from err
    return Recording(rows)


class ReplayLight(LightSensor):
    """Light values from the recording; each read moves to the next row."""

    model = "replay"

    def __init__(self, recording: Recording) -> None:
        """Replay this recording."""
        self.recording = recording
        columns = set().union(*(row.keys() for row in recording.rows))
        self.measures = tuple(name for name in LIGHT_FIELDS if name in columns)

    def read(self) -> LightReading:
        """Return the next row's light values."""
        row = self.recording.advance()
        values = {name: row[name] for name in LIGHT_FIELDS if name in row}
        if not values:
            msg = "no light values in this row of the recording"
            raise DriverError(msg)
        return LightReading(**values, saturated=bool(row.get("saturated")))


class ReplayTemperature(TemperatureSensor):
    """The temperature of the row being replayed."""

    model = "replay"

    def __init__(self, recording: Recording) -> None:
        """Replay this recording."""
        self.recording = recording

    def read(self) -> float:
        """Return the current row's temperature."""
        row = self.recording.current()
        if "temperature" not in row:
            msg = "no temperature in this row of the recording"
            raise DriverError(msg)
        return row["temperature"]


class ReplayDistance(DistanceSensor):
    """The distance of the row being replayed."""

    model = "replay"

    def __init__(self, recording: Recording) -> None:
        """Replay this recording."""
        self.recording = recording

    def read(self) -> float:
        """Return the current row's distance."""
        row = self.recording.current()
        if "distance" not in row:
            msg = "no distance in this row of the recording"
            raise DriverError(msg)
        return row["distance"]


def replay_hardware(path: Path) -> Hardware:
    """Return drivers replaying a recording, for the values it has."""
    recording = read_recording(path)
    names = set().union(*(row.keys() for row in recording.rows))
    return Hardware(
        light=ReplayLight(recording) if names & set(LIGHT_FIELDS) else None,
        temperature=ReplayTemperature(recording) if "temperature" in names else None,
        distance=ReplayDistance(recording) if "distance" in names else None,
    )
