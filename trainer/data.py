"""Sensor readings for training and evaluation, from CSV files and dataset stores."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime
import logging
import math
from pathlib import Path
import sqlite3
from typing import Final

import numpy as np
from numpy.typing import NDArray

from node.const import CLASSES, DERIVED_FEATURES, READING_UNITS
from node.features import FeatureWindow

from .errors import DataError, OnError, Problems

_LOGGER = logging.getLogger(__name__)

BACKGROUND: Final = "none"
NODE_FEATURES: Final = (*READING_UNITS, *DERIVED_FEATURES)
STORE_FILE: Final = "dataset.sqlite3"
DERIVED_NEEDS: Final = {
    "ir_ratio": "full_spectrum and infrared (or light_level and infrared_level)",
    "flicker": "full_spectrum (or light_level)",
}


@dataclass(frozen=True, slots=True)
class FeatureColumn:
    """A data column and the node feature it holds."""

    column: str
    feature: str


def parse_features(spec: str | Sequence[str]) -> tuple[FeatureColumn, ...]:
    """Parse 'Column=feature,feature,...' into columns mapped to node features."""
    texts = [spec] if isinstance(spec, str) else list(spec)
    parts = [part.strip() for text in texts for part in text.split(",")]
    by_lower_name = {name.lower(): name for name in NODE_FEATURES}
    columns: list[FeatureColumn] = []
    for part in parts:
        if not part:
            continue
        column, separator, feature = part.partition("=")
        column = column.strip()
        feature = feature.strip() if separator else column
        node_feature = by_lower_name.get(feature.lower())
        if not column or node_feature is None:
            msg = (
                f"feature {part!r}: {feature!r} is not a node feature; map the column "
                f"as {column or 'Column'}=<feature> with a feature from "
                f"{', '.join(NODE_FEATURES)}"
            )
            raise DataError(msg)
        if any(existing.feature == node_feature for existing in columns):
            msg = f"feature {node_feature!r} is given twice"
            raise DataError(msg)
        columns.append(FeatureColumn(column, node_feature))
    if not columns:
        msg = "no features given"
        raise DataError(msg)
    return tuple(columns)


def normalise_label(raw: str) -> str:
    """Return a class name or the background label; raise ValueError when unknown."""
    value = raw.strip().lower()
    if not value:
        msg = "empty label"
        raise ValueError(msg)
    if value in CLASSES or value == BACKGROUND:
        return value
    msg = f"unknown label {raw!r}, expected one of {', '.join((*CLASSES, BACKGROUND))}"
    raise ValueError(msg)


@dataclass(slots=True)
class SensorData:
    """Feature rows with their labels, sessions and where each came from."""

    features: tuple[str, ...]
    values: NDArray[np.float32]
    labels: list[str | None]
    sessions: list[str]
    times: list[float]
    origins: list[str]
    # The store's reading id, or the CSV line number.
    row_ids: list[int | None]
    problems: Problems = field(default_factory=Problems)

    def __len__(self) -> int:
        """Return the number of rows."""
        return len(self.labels)

    def subset(self, indices: Iterable[int]) -> SensorData:
        """Return the rows at these positions."""
        chosen = list(indices)
        return SensorData(
            features=self.features,
            values=self.values[chosen] if chosen else self.values[:0],
            labels=[self.labels[index] for index in chosen],
            sessions=[self.sessions[index] for index in chosen],
            times=[self.times[index] for index in chosen],
            origins=[self.origins[index] for index in chosen],
            row_ids=[self.row_ids[index] for index in chosen],
            problems=self.problems,
        )

    def labelled(self) -> SensorData:
        """Return the rows that carry a class or the background label."""
        return self.subset(
            index for index, label in enumerate(self.labels) if label is not None
        )

    def class_counts(self) -> dict[str, int]:
        """Return the number of rows of each class and of the background."""
        counts = dict.fromkeys((*CLASSES, BACKGROUND), 0)
        for label in self.labels:
            if label is not None:
                counts[label] += 1
        return counts


@dataclass(slots=True)
class _Row:
    """One reading on its way into a SensorData."""

    session: str
    time: float
    order: int
    origin: str
    values: dict[str, float]
    label: str | None
    row_id: int | None = None


def load_sensor_data(
    paths: Sequence[Path],
    features: str | Sequence[str] | Sequence[FeatureColumn],
    *,
    label_column: str = "label",
    session_column: str = "session",
    time_column: str = "time",
    require_labels: bool = True,
    on_error: OnError = "stop",
) -> SensorData:
    """Read rows from CSV files and dataset stores, with derived features computed."""
    columns = _feature_columns(features)
    problems = Problems(on_error)
    if not paths:
        msg = "no data given: pass CSV files or dataset store directories"
        raise DataError(msg)

    rows: list[_Row] = []
    for path in paths:
        if path.is_dir() and (path / STORE_FILE).is_file():
            rows.extend(_store_rows(path, problems))
        elif path.is_dir():
            problems.report(f"{path}: directory holds no {STORE_FILE}")
        elif not path.is_file():
            problems.report(f"{path}: no such file")
        else:
            rows.extend(
                _csv_rows(
                    path,
                    columns,
                    label_column=label_column,
                    session_column=session_column,
                    time_column=time_column,
                    require_labels=require_labels,
                    problems=problems,
                )
            )
    return _assemble(rows, columns, problems)


def _feature_columns(
    features: str | Sequence[str] | Sequence[FeatureColumn],
) -> tuple[FeatureColumn, ...]:
    """Return feature columns from a spec string, names or columns."""
    if isinstance(features, str):
        return parse_features(features)
    items = list(features)
    if items and all(isinstance(item, FeatureColumn) for item in items):
        return tuple(item for item in items if isinstance(item, FeatureColumn))
    return parse_features([str(item) for item in items])


def _parse_float(text: str | None, where: str, column: str) -> float:
    """Return a finite number from a cell, or raise ValueError naming it."""
    if text is None or not text.strip():
        msg = f"{where}: column {column!r} is empty"
        raise ValueError(msg)
    try:
        value = float(text)
    except ValueError:
        msg = f"{where}: column {column!r} is not a number: {text!r}"
        raise ValueError(msg) from None
    if not math.isfinite(value):
        msg = f"{where}: column {column!r} is not finite: {text!r}"
        raise ValueError(msg)
    return value


def _parse_time(text: str | None, where: str, column: str) -> float:
    """Return seconds from a number or an ISO 8601 time, as the store exports it."""
    try:
        return _parse_float(text, where, column)
    except ValueError:
        if not text or not text.strip():
            raise
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        msg = f"{where}: column {column!r} is neither seconds nor an ISO time: {text!r}"
        raise ValueError(msg) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _csv_rows(
    path: Path,
    columns: tuple[FeatureColumn, ...],
    *,
    label_column: str,
    session_column: str,
    time_column: str,
    require_labels: bool,
    problems: Problems,
) -> list[_Row]:
    """Read one CSV file's rows, reporting bad input through `problems`."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            records = [(reader.line_num, record) for record in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        problems.report(f"{path}: cannot read CSV: {err}")
        return []
    if not header:
        problems.report(f"{path}: no header row")
        return []

    # Columns that hold node readings feed the feature window, as on the node.
    mapped = {column.column: column.feature for column in columns}
    reading_names = {name.lower(): name for name in READING_UNITS}
    for name in header:
        if name not in mapped and name.lower() in reading_names:
            mapped[name] = reading_names[name.lower()]
    for column in columns:
        if column.column not in header and column.feature not in DERIVED_FEATURES:
            problems.report(
                f"{path}: missing column {column.column!r} "
                f"(columns: {', '.join(header)})"
            )
            return []
    has_labels = label_column in header
    if require_labels and not has_labels:
        problems.report(
            f"{path}: missing label column {label_column!r} (columns: {', '.join(header)})"
        )
        return []

    rows = []
    for line, record in records:
        where = f"{path} row {line}"
        try:
            values = {
                feature: _parse_float(record.get(column), where, column)
                for column, feature in mapped.items()
                if column in header
            }
            time_value = (
                _parse_time(record.get(time_column), where, time_column)
                if time_column in header
                else float(line)
            )
            label = (
                _label_of(record.get(label_column) or "", where, require_labels)
                if has_labels
                else None
            )
        except ValueError as err:
            problems.report(str(err))
            continue
        session = (record.get(session_column) or "").strip()
        rows.append(
            _Row(
                session=f"{path.name}:{session}" if session else path.name,
                time=time_value,
                order=line,
                origin=where,
                values=values,
                label=label,
                row_id=line,
            )
        )
    return rows


def _label_of(raw: str, where: str, required: bool) -> str | None:
    """Return a cell's label, None for an allowed blank, or raise naming the row."""
    if not raw.strip() and not required:
        return None
    try:
        return normalise_label(raw)
    except ValueError as err:
        msg = f"{where}: {err}"
        raise ValueError(msg) from None


def _store_rows(path: Path, problems: Problems) -> list[_Row]:
    """Read every reading of a dataset store, with its true label."""
    from node.store import DatasetStore

    try:
        store = DatasetStore(path, read_only=True)
    except (OSError, ValueError, sqlite3.Error) as err:
        problems.report(f"{path}: cannot open the dataset store: {err}")
        return []
    try:
        readings = store.readings()
    finally:
        store.close()
    rows = []
    for reading in readings:
        where = f"{path} reading {reading.id}"
        label = None
        if reading.true_label:
            try:
                label = normalise_label(str(reading.true_label))
            except ValueError as err:
                problems.report(f"{where}: {err}")
                continue
        rows.append(
            _Row(
                session=f"{path.name}:{reading.session_id}",
                time=float(_timestamp(reading.time)),
                order=int(reading.id),
                origin=where,
                values=dict(reading.values),
                label=label,
                row_id=int(reading.id),
            )
        )
    return rows


def _timestamp(value: datetime | float) -> float:
    """Return seconds since the epoch."""
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _assemble(
    rows: list[_Row], columns: tuple[FeatureColumn, ...], problems: Problems
) -> SensorData:
    """Compute derived features per session in time order and stack the rows."""
    features = tuple(column.feature for column in columns)
    by_session: dict[str, list[_Row]] = {}
    for row in rows:
        by_session.setdefault(row.session, []).append(row)

    kept: list[tuple[_Row, list[float]]] = []
    for session in sorted(by_session):
        window = FeatureWindow()
        for row in sorted(
            by_session[session], key=lambda item: (item.time, item.order)
        ):
            computed = window.update(
                {
                    name: value
                    for name, value in row.values.items()
                    if name in READING_UNITS
                }
            )
            merged = {**computed, **row.values}
            missing = [name for name in features if name not in merged]
            if missing:
                problems.report(_missing_message(row.origin, missing))
                continue
            kept.append((row, [merged[name] for name in features]))

    values = np.asarray([vector for _, vector in kept], dtype=np.float32)
    _LOGGER.debug("Read %s rows of %s features", len(kept), len(features))
    return SensorData(
        features=features,
        values=values.reshape(len(kept), len(features)),
        labels=[row.label for row, _ in kept],
        sessions=[row.session for row, _ in kept],
        times=[row.time for row, _ in kept],
        origins=[row.origin for row, _ in kept],
        row_ids=[row.row_id for row, _ in kept],
        problems=problems,
    )


def _missing_message(origin: str, missing: list[str]) -> str:
    """Say which features a row lacks and what derived ones need."""
    parts = []
    for name in missing:
        if name in DERIVED_NEEDS:
            parts.append(f"{name} (needs {DERIVED_NEEDS[name]})")
        else:
            parts.append(name)
    return f"{origin}: missing {', '.join(parts)}"


def check_class_counts(data: SensorData, minimum: int, what: str = "training") -> None:
    """Raise DataError naming every class with fewer rows than the minimum."""
    require_per_class(data.class_counts(), minimum, f"{what} rows")


def require_per_class(counts: dict[str, int], minimum: int, what: str) -> None:
    """Raise DataError naming every class counted fewer times than the minimum."""
    short = [f"{name} ({counts[name]})" for name in CLASSES if counts[name] < minimum]
    if short:
        msg = (
            f"too few {what} for class {', '.join(short)}: "
            f"each class needs at least {minimum}"
        )
        raise DataError(msg)


def split_by_session(
    data: SensorData, *, holdout: float = 0.2, seed: int = 0
) -> tuple[list[int], list[int], str]:
    """Split row positions into training and validation by whole sessions."""
    return split_rows(
        data.labels, data.sessions, data.times, holdout=holdout, seed=seed
    )


def split_rows(
    labels: Sequence[str | None],
    sessions: Sequence[str],
    times: Sequence[float],
    *,
    holdout: float = 0.2,
    seed: int = 0,
) -> tuple[list[int], list[int], str]:
    """Hold out whole sessions, or the last stretch of each label in one session."""
    names = sorted(set(sessions))
    if len(names) >= 2:
        rng = np.random.default_rng(seed)
        order = [names[index] for index in rng.permutation(len(names))]
        count = min(max(1, round(len(names) * holdout)), len(names) - 1)
        held = set(order[:count])
        validation = [i for i, name in enumerate(sessions) if name in held]
        training = [i for i, name in enumerate(sessions) if name not in held]
        return training, validation, f"{count} of {len(names)} sessions held out"

    positions = sorted(range(len(labels)), key=lambda index: times[index])
    by_label: dict[str | None, list[int]] = {}
    for index in positions:
        by_label.setdefault(labels[index], []).append(index)
    held_rows: set[int] = set()
    for indices in by_label.values():
        count = math.ceil(len(indices) * holdout) if len(indices) > 1 else 0
        held_rows.update(indices[len(indices) - count :])
    training = [index for index in range(len(labels)) if index not in held_rows]
    validation = sorted(held_rows)
    return (
        training,
        validation,
        f"one session: last {holdout:.0%} of each label's rows in time order held out",
    )
