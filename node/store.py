"""The node's dataset: sessions, readings, labels and models in SQLite, frames as JPEGs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime
import fcntl
import io
import itertools
import json
import logging
import math
import numbers
import os
from pathlib import Path
import shutil
import sqlite3
import threading
from typing import IO, TYPE_CHECKING, Any, Final, Literal, NamedTuple, Self

from PIL import Image, ImageOps, UnidentifiedImageError

from node.const import CLASSES, LABELLED_BY, READING_UNITS, UNKNOWN

if TYPE_CHECKING:
    from types import TracebackType

    from node.csv_import import ColumnMapping

_LOGGER = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1
DATABASE_FILE: Final = "dataset.sqlite3"
LOCK_FILE: Final = "dataset.lock"
FRAMES_DIR: Final = "frames"
TEMP_SUFFIX: Final = ".tmp"
JPEG_QUALITY: Final = 90
SESSION_MODES: Final = ("pre", "realtime", "import")
SOURCES: Final = ("sensors", "camera", "fused")
MODEL_KINDS: Final = ("sensors", "image")
UNLABELLED: Final = "unlabelled"

READING_NAMES: Final = tuple(READING_UNITS)
EXPORT_COLUMNS: Final = (
    "id",
    "session_id",
    "time",
    *READING_NAMES,
    "saturated",
    "true_label",
    "labelled_by",
    "predicted_label",
    "confidence",
    "source",
    "model_version",
    "frame",
)

type OnError = Literal["stop", "skip"]

_BATCH_SIZE: Final = 1000

# Column expressions that fetch_table may select, by the name it returns them under.
_TABLE_EXPRESSIONS: Final = {
    "id": "r.id",
    "session_id": "r.session_id",
    "time": "r.time",
    **{name: f"r.{name}" for name in READING_NAMES},
    "saturated": "r.saturated",
    "predicted_label": "r.predicted_label",
    "confidence": "r.confidence",
    "probabilities": "r.probabilities",
    "source": "r.source",
    "model_version": "r.model_version",
    "sensor_label": "r.sensor_label",
    "sensor_confidence": "r.sensor_confidence",
    "camera_label": "r.camera_label",
    "camera_confidence": "r.camera_confidence",
    "true_label": "r.true_label",
    "labelled_by": "r.labelled_by",
    "note": "r.note",
    "frame": "f.path",
    "frame_width": "f.width",
    "frame_height": "f.height",
}
TABLE_COLUMNS: Final = tuple(_TABLE_EXPRESSIONS)

_RECORD_COLUMNS: Final = (
    "time",
    *READING_NAMES,
    "saturated",
    "predicted_label",
    "confidence",
    "probabilities",
    "source",
    "model_version",
    "sensor_label",
    "sensor_confidence",
    "camera_label",
    "camera_confidence",
    "true_label",
    "labelled_by",
    "note",
)
_INSERT_READING: Final = (
    f"INSERT INTO readings (session_id, {', '.join(_RECORD_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' * (len(_RECORD_COLUMNS) + 1))})"
)
_SELECT_READINGS: Final = (
    f"SELECT r.id, r.session_id, {', '.join(f'r.{name}' for name in _RECORD_COLUMNS)}, "  # noqa: S608
    "f.path IS NOT NULL FROM readings r LEFT JOIN frames f ON f.reading_id = r.id"
)

_VALUE_COLUMNS_SQL: Final = ",\n".join(f"    {name} REAL" for name in READING_NAMES)
_MIGRATIONS: Final = (
    (
        """CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mode TEXT NOT NULL CHECK (mode IN ('pre', 'realtime', 'import')),
    label TEXT,
    note TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT
)""",
        f"""CREATE TABLE readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    time TEXT NOT NULL,
{_VALUE_COLUMNS_SQL},
    saturated INTEGER NOT NULL DEFAULT 0 CHECK (saturated IN (0, 1)),
    predicted_label TEXT,
    confidence REAL,
    probabilities TEXT,
    source TEXT,
    model_version TEXT,
    sensor_label TEXT,
    sensor_confidence REAL,
    camera_label TEXT,
    camera_confidence REAL,
    true_label TEXT,
    labelled_by TEXT,
    note TEXT
)""",
        "CREATE INDEX readings_session ON readings (session_id)",
        "CREATE INDEX readings_time ON readings (time)",
        "CREATE INDEX readings_true_label ON readings (true_label)",
        """CREATE TABLE frames (
    reading_id INTEGER NOT NULL UNIQUE REFERENCES readings (id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL
)""",
        """CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (kind, version)
)""",
        """CREATE TABLE model_activations (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    activated_at TEXT NOT NULL,
    FOREIGN KEY (kind, version) REFERENCES models (kind, version)
)""",
        "CREATE INDEX model_activations_kind ON model_activations (kind)",
        """CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
    ),
)


class DatasetError(ValueError):
    """A request to the dataset is invalid, or a file cannot be imported."""


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def check_label(label: Any, *, what: str = "label", allow_unknown: bool = False) -> str:
    """Return a label if it is one of the classes; raise DatasetError otherwise."""
    valid = (*CLASSES, UNKNOWN) if allow_unknown else CLASSES
    if label not in valid:
        msg = f"{what} {label!r} is not one of {', '.join(valid)}"
        raise DatasetError(msg)
    return str(label)


def _check_choice(value: Any, valid: Sequence[str], what: str) -> str:
    """Return a value if it is one of a few names; raise DatasetError otherwise."""
    if value not in valid:
        msg = f"{what} {value!r} is not one of {', '.join(valid)}"
        raise DatasetError(msg)
    return str(value)


def _finite(value: Any, what: str) -> float:
    """Return a real number as a float; raise DatasetError if it is not finite."""
    value_type = type(value)
    # The exact-type test spares the slow ABC check for the common plain numbers.
    if value_type not in {float, int} and (
        value_type is bool or not isinstance(value, numbers.Real)
    ):
        msg = f"{what} must be a number, not {value!r}"
        raise DatasetError(msg)
    number = float(value)
    if not math.isfinite(number):
        msg = f"{what} must be finite, not {number!r}"
        raise DatasetError(msg)
    return number


def _fraction(value: Any, what: str) -> float:
    """Return a number between 0 and 1; raise DatasetError otherwise."""
    number = _finite(value, what)
    if not 0.0 <= number <= 1.0:
        msg = f"{what} must be between 0 and 1, not {number!r}"
        raise DatasetError(msg)
    return number


def _time_text(moment: datetime) -> str:
    """Return a UTC time as sortable ISO 8601 text with microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingRecord:
    """One reading as the node stores it: values, prediction and true label."""

    time: datetime
    values: dict[str, float] = field(default_factory=dict)
    saturated: bool = False
    predicted_label: str | None = None
    confidence: float | None = None
    probabilities: dict[str, float] | None = None
    source: str | None = None
    model_version: str | None = None
    sensor_label: str | None = None
    sensor_confidence: float | None = None
    camera_label: str | None = None
    camera_confidence: float | None = None
    true_label: str | None = None
    labelled_by: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        """Check every field, and normalise the time to UTC and numbers to floats."""
        if not isinstance(self.time, datetime) or self.time.utcoffset() is None:
            msg = f"time must be a timezone-aware datetime, not {self.time!r}"
            raise DatasetError(msg)
        object.__setattr__(self, "time", self.time.astimezone(UTC))

        values = {}
        for name, value in self.values.items():
            if name not in READING_UNITS:
                msg = f"unknown reading {name!r}; valid readings: {', '.join(READING_NAMES)}"
                raise DatasetError(msg)
            values[name] = _finite(value, name)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "saturated", bool(self.saturated))

        for what in ("predicted_label", "sensor_label", "camera_label"):
            label = getattr(self, what)
            if label is not None:
                check_label(label, what=what, allow_unknown=True)
        for what in ("confidence", "sensor_confidence", "camera_confidence"):
            confidence = getattr(self, what)
            if confidence is not None:
                object.__setattr__(self, what, _fraction(confidence, what))
        if self.probabilities is not None:
            probabilities = {
                check_label(name, what="probabilities class"): _fraction(
                    value, f"probability of {name}"
                )
                for name, value in self.probabilities.items()
            }
            object.__setattr__(self, "probabilities", probabilities)
        if self.source is not None:
            _check_choice(self.source, SOURCES, "source")

        if self.true_label is not None:
            check_label(self.true_label, what="true_label")
        if self.labelled_by is not None:
            _check_choice(self.labelled_by, LABELLED_BY, "labelled_by")
        if self.true_label is not None and self.labelled_by is None:
            msg = "a true_label needs labelled_by, saying how it was labelled"
            raise DatasetError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredReading(ReadingRecord):
    """A reading read back from the store, with its id, session and frame flag."""

    id: int
    session_id: int
    frame: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    """A stretch of recording or one import, with how much it holds."""

    id: int
    mode: str
    label: str | None
    note: str | None
    started_at: datetime
    ended_at: datetime | None
    readings: int
    frames: int

    @property
    def active(self) -> bool:
        """Return whether the session has not ended yet."""
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A model bundle the node has installed."""

    kind: str
    version: str
    name: str
    path: str
    sha256: str
    metadata: dict[str, Any]
    recorded_at: datetime
    active: bool


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import stored, what it skipped and why."""

    imported: int
    skipped: int
    errors: list[str]
    session_id: int | None


class Table(NamedTuple):
    """Readings as column names and plain SQL row tuples, for fast bulk reading."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


class _Transaction:
    """An open write transaction and the frame files written inside it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        """Hold the connection."""
        self.connection = connection
        self.written: list[Path] = []


def _record_row(session_id: int, record: ReadingRecord) -> tuple[Any, ...]:
    """Return the values of an INSERT into readings for one record."""
    probabilities = (
        None
        if record.probabilities is None
        else json.dumps(record.probabilities, sort_keys=True)
    )
    return (
        session_id,
        _time_text(record.time),
        *(record.values.get(name) for name in READING_NAMES),
        int(record.saturated),
        record.predicted_label,
        record.confidence,
        probabilities,
        record.source,
        record.model_version,
        record.sensor_label,
        record.sensor_confidence,
        record.camera_label,
        record.camera_confidence,
        record.true_label,
        record.labelled_by,
        record.note,
    )


def _stored_reading(row: Sequence[Any]) -> StoredReading:
    """Build a StoredReading from a row of _SELECT_READINGS."""
    reading_id, session_id, time_text, *rest = row
    measured = rest[: len(READING_NAMES)]
    (
        saturated,
        predicted_label,
        confidence,
        probabilities,
        source,
        model_version,
        sensor_label,
        sensor_confidence,
        camera_label,
        camera_confidence,
        true_label,
        labelled_by,
        note,
        frame,
    ) = rest[len(READING_NAMES) :]
    return StoredReading(
        id=reading_id,
        session_id=session_id,
        time=datetime.fromisoformat(time_text),
        values={
            name: value
            for name, value in zip(READING_NAMES, measured, strict=True)
            if value is not None
        },
        saturated=bool(saturated),
        predicted_label=predicted_label,
        confidence=confidence,
        probabilities=None if probabilities is None else json.loads(probabilities),
        source=source,
        model_version=model_version,
        sensor_label=sensor_label,
        sensor_confidence=sensor_confidence,
        camera_label=camera_label,
        camera_confidence=camera_confidence,
        true_label=true_label,
        labelled_by=labelled_by,
        note=note,
        frame=bool(frame),
    )


def _jpeg_size(frame_jpeg: bytes) -> tuple[int, int]:
    """Return the width and height of JPEG bytes; raise DatasetError if not a JPEG."""
    try:
        with Image.open(io.BytesIO(frame_jpeg)) as image:
            image_format = image.format
            width, height = image.size
    except (OSError, UnidentifiedImageError) as err:
        msg = f"frame is not a readable image: {err}"
        raise DatasetError(msg) from err
    if image_format != "JPEG":
        msg = f"frame must be a JPEG image, not {image_format}"
        raise DatasetError(msg)
    return int(width), int(height)


def _encode_image_file(path: Path) -> tuple[bytes, tuple[int, int]]:
    """Read any image file upright and return it as JPEG bytes with its size."""
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            image.load()
            upright = (ImageOps.exif_transpose(image) or image).convert("RGB")
    # Pillow reports corrupt files with many exception types, depending on the codec.
    except Exception as err:
        msg = f"{path.name}: not a readable image ({type(err).__name__}: {err})"
        raise DatasetError(msg) from err
    buffer = io.BytesIO()
    upright.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue(), upright.size


def _write_file_durably(path: Path, data: bytes) -> None:
    """Write a file through a synced temporary file, so it is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}{TEMP_SUFFIX}")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def _json_text(value: Any, what: str) -> str:
    """Return a value as JSON text; raise DatasetError if it cannot be JSON."""
    try:
        return json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as err:
        msg = f"{what} cannot be stored as JSON: {err}"
        raise DatasetError(msg) from err


def _good_items[T](
    items: Iterable[T | DatasetError], on_error: OnError, errors: list[str]
) -> Iterator[T]:
    """Yield the good items; raise the first error, or list the errors and go on."""
    for item in items:
        if not isinstance(item, DatasetError):
            yield item
        elif on_error == "stop":
            raise item
        else:
            errors.append(str(item))


def _csv_cell(value: Any) -> Any:
    """Return a value as a CSV cell: empty for missing values."""
    return "" if value is None else value


class DatasetStore:
    """Readings, frames, models and settings of one node, in one data directory.

    Several processes may open the same folder at once; each call is atomic.
    """

    def __init__(self, data_dir: Path, *, read_only: bool = False) -> None:
        """Open (or create) the store; the first to open the folder repairs it."""
        self.data_dir = data_dir
        self.database_path = data_dir / DATABASE_FILE
        self.frames_dir = data_dir / FRAMES_DIR
        self.read_only = read_only
        self._lock = threading.RLock()
        self._lock_file: IO[str] | None = None
        self._connection: sqlite3.Connection | None = None

        if read_only:
            if not self.database_path.is_file():
                msg = f"no dataset at {self.database_path}"
                raise DatasetError(msg)
            uri = f"{self.database_path.resolve().as_uri()}?mode=ro"
            self._connection = self._connect(uri, uri=True)
            self._check_schema_version()
            return

        self.frames_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file, alone = self._share_folder()
        try:
            self._connection = self._connect(str(self.database_path), uri=False)
            self._migrate()
            if alone:
                self._recover()
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_SH)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Self:
        """Return the open store."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    def close(self) -> None:
        """Close the database and release the data directory; safe to call twice."""
        with self._lock:
            if self._connection is not None:
                if not self.read_only:
                    self._connection.execute("PRAGMA optimize")
                self._connection.close()
                self._connection = None
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    # Opening and repair

    def _share_folder(self) -> tuple[IO[str], bool]:
        """Lock the data folder for sharing; return it and whether no one else has it.

        A store that is alone holds the lock exclusively until it has repaired the
        folder: the files a repair removes could be another process's frames in
        flight, so only the first store to open the folder repairs it.
        """
        lock_file = (self.data_dir / LOCK_FILE).open("a", encoding="utf-8")
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_SH)
            return lock_file, False
        return lock_file, True

    def _connect(self, database: str, *, uri: bool) -> sqlite3.Connection:
        """Connect and set the pragmas every connection needs."""
        connection = sqlite3.connect(
            database, uri=uri, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 5000")
        if not uri:
            (journal_mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            if journal_mode != "wal":
                _LOGGER.warning(
                    "Journal mode of %s is %s, not wal", database, journal_mode
                )
            # A process killed with WAL and NORMAL keeps every committed row; only a
            # power cut may lose the last commits, and never corrupts the file. FULL
            # would sync at every sample and wear the Pi's SD card.
            connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    def _check_schema_version(self) -> int:
        """Return the schema version; raise DatasetError if it is newer than ours."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            msg = (
                f"{self.database_path} has schema version {version}; this node "
                f"understands up to {SCHEMA_VERSION}"
            )
            raise DatasetError(msg)
        return int(version)

    def _migrate(self) -> None:
        """Create the tables, or bring an older schema up to date."""
        if self._check_schema_version() == SCHEMA_VERSION:
            return
        with self._transaction() as transaction:
            # Another process may have migrated since the check above.
            version = self._check_schema_version()
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    transaction.connection.execute(statement)
            transaction.connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        _LOGGER.info(
            "Dataset schema at %s is now version %s", self.database_path, SCHEMA_VERSION
        )

    def _recover(self) -> None:
        """Remove what a killed process left behind: orphan frames, open sessions."""
        on_disk = set()
        removed = 0
        for directory, _, names in os.walk(self.frames_dir):
            for name in names:
                path = Path(directory, name)
                if name.endswith(TEMP_SUFFIX):
                    path.unlink()
                    removed += 1
                else:
                    on_disk.add(path.relative_to(self.data_dir).as_posix())

        with self._transaction() as transaction:
            connection = transaction.connection
            referenced = {
                path for (path,) in connection.execute("SELECT path FROM frames")
            }
            for relative in sorted(on_disk - referenced):
                (self.data_dir / relative).unlink()
                removed += 1
            missing = sorted(referenced - on_disk)
            connection.executemany(
                "DELETE FROM frames WHERE path = ?", [(path,) for path in missing]
            )
            ended = connection.execute(
                "UPDATE sessions SET ended_at = coalesce("
                "(SELECT max(time) FROM readings WHERE session_id = sessions.id), "
                "started_at) WHERE ended_at IS NULL"
            ).rowcount

        for directory, subdirectories, names in os.walk(self.frames_dir, False):
            if not subdirectories and not names and Path(directory) != self.frames_dir:
                Path(directory).rmdir()
        if removed or missing or ended:
            _LOGGER.warning(
                "Repaired dataset: removed %s stray files, dropped %s missing frames, "
                "ended %s open sessions",
                removed,
                len(missing),
                ended,
            )

    @property
    def _db(self) -> sqlite3.Connection:
        """Return the open connection; raise DatasetError once the store is closed."""
        if self._connection is None:
            msg = "the dataset store is closed"
            raise DatasetError(msg)
        return self._connection

    @contextmanager
    def _transaction(self) -> Iterator[_Transaction]:
        """Run a write transaction; on failure roll back and delete its new frames."""
        if self.read_only:
            msg = "the dataset store is open read-only"
            raise DatasetError(msg)
        with self._lock:
            transaction = _Transaction(self._db)
            transaction.connection.execute("BEGIN IMMEDIATE")
            try:
                yield transaction
                transaction.connection.execute("COMMIT")
            except BaseException:
                if transaction.connection.in_transaction:
                    transaction.connection.execute("ROLLBACK")
                for path in transaction.written:
                    path.unlink(missing_ok=True)
                raise

    # Sessions

    def start_session(
        self, mode: str, label: str | None = None, note: str | None = None
    ) -> int:
        """Start a session of pre-labelled, real-time or imported readings."""
        with self._transaction() as transaction:
            return self._insert_session(transaction.connection, mode, label, note)

    def _insert_session(
        self,
        connection: sqlite3.Connection,
        mode: str,
        label: str | None,
        note: str | None,
    ) -> int:
        """Insert a session row and return its id."""
        _check_choice(mode, SESSION_MODES, "session mode")
        if label is not None:
            check_label(label)
        cursor = connection.execute(
            "INSERT INTO sessions (mode, label, note, started_at) VALUES (?, ?, ?, ?)",
            (mode, label, note, _time_text(utc_now())),
        )
        assert cursor.lastrowid is not None  # noqa: S101
        return cursor.lastrowid

    def end_session(self, session_id: int) -> None:
        """End a session; ending it again changes nothing."""
        with self._transaction() as transaction:
            self._require_session(transaction.connection, session_id)
            transaction.connection.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                (_time_text(utc_now()), session_id),
            )

    def _require_session(
        self,
        connection: sqlite3.Connection,
        session_id: int,
        *,
        open_only: bool = False,
    ) -> None:
        """Raise DatasetError unless the session exists (and is still open)."""
        row = connection.execute(
            "SELECT ended_at FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            msg = f"no session with id {session_id}"
            raise DatasetError(msg)
        if open_only and row[0] is not None:
            msg = f"session {session_id} has ended"
            raise DatasetError(msg)

    def sessions(self) -> list[Session]:
        """Return every session, oldest first, with its reading and frame counts."""
        return self._select_sessions("", ())

    def session(self, session_id: int) -> Session:
        """Return one session; raise DatasetError if there is none with that id."""
        found = self._select_sessions("WHERE s.id = ?", (session_id,))
        if not found:
            msg = f"no session with id {session_id}"
            raise DatasetError(msg)
        return found[0]

    def _select_sessions(
        self, where: str, parameters: tuple[Any, ...]
    ) -> list[Session]:
        """Return the sessions matching a WHERE clause."""
        query = (
            "SELECT s.id, s.mode, s.label, s.note, s.started_at, s.ended_at, "  # noqa: S608
            "(SELECT count(*) FROM readings r WHERE r.session_id = s.id), "
            "(SELECT count(*) FROM readings r JOIN frames f ON f.reading_id = r.id "
            f"WHERE r.session_id = s.id) FROM sessions s {where} ORDER BY s.id"
        )
        with self._lock:
            rows = self._db.execute(query, parameters).fetchall()
        return [
            Session(
                id=row[0],
                mode=row[1],
                label=row[2],
                note=row[3],
                started_at=datetime.fromisoformat(row[4]),
                ended_at=None if row[5] is None else datetime.fromisoformat(row[5]),
                readings=row[6],
                frames=row[7],
            )
            for row in rows
        ]

    # Readings

    def add_reading(
        self, session_id: int, reading: ReadingRecord, frame_jpeg: bytes | None = None
    ) -> int:
        """Store one reading, and its camera frame when given; return the reading id."""
        size = None if frame_jpeg is None else _jpeg_size(frame_jpeg)
        with self._transaction() as transaction:
            connection = transaction.connection
            self._require_session(connection, session_id, open_only=True)
            reading_id = self._insert_reading(connection, session_id, reading)
            if frame_jpeg is not None and size is not None:
                self._add_frame(transaction, session_id, reading_id, frame_jpeg, size)
            return reading_id

    def add_readings(self, session_id: int, readings: Iterable[ReadingRecord]) -> int:
        """Store many readings without frames in one transaction; return how many."""
        count = 0
        with self._transaction() as transaction:
            connection = transaction.connection
            self._require_session(connection, session_id, open_only=True)
            for batch in itertools.batched(readings, _BATCH_SIZE, strict=False):
                connection.executemany(
                    _INSERT_READING, [_record_row(session_id, row) for row in batch]
                )
                count += len(batch)
        return count

    def _insert_reading(
        self, connection: sqlite3.Connection, session_id: int, reading: ReadingRecord
    ) -> int:
        """Insert one reading row and return its id."""
        cursor = connection.execute(_INSERT_READING, _record_row(session_id, reading))
        assert cursor.lastrowid is not None  # noqa: S101
        return cursor.lastrowid

    def _add_frame(
        self,
        transaction: _Transaction,
        session_id: int,
        reading_id: int,
        frame_jpeg: bytes,
        size: tuple[int, int],
    ) -> None:
        """Write a frame file durably and insert its row in the open transaction."""
        relative = f"{FRAMES_DIR}/{session_id}/{reading_id}.jpg"
        path = self.data_dir / relative
        transaction.written.append(path)
        _write_file_durably(path, frame_jpeg)
        transaction.connection.execute(
            "INSERT INTO frames (reading_id, path, width, height) VALUES (?, ?, ?, ?)",
            (reading_id, relative, size[0], size[1]),
        )

    def readings(
        self,
        *,
        session_id: int | None = None,
        labelled_only: bool = False,
        limit: int | None = None,
    ) -> list[StoredReading]:
        """Return stored readings in the order they were added."""
        where, parameters = self._filter(session_id, labelled_only)
        query = f"{_SELECT_READINGS} {where} ORDER BY r.id LIMIT ?"
        with self._lock:
            rows = self._db.execute(query, (*parameters, self._limit(limit))).fetchall()
        return [_stored_reading(row) for row in rows]

    def reading(self, reading_id: int) -> StoredReading:
        """Return one reading; raise DatasetError if there is none with that id."""
        with self._lock:
            row = self._db.execute(
                f"{_SELECT_READINGS} WHERE r.id = ?", (reading_id,)
            ).fetchone()
        if row is None:
            msg = f"no reading with id {reading_id}"
            raise DatasetError(msg)
        return _stored_reading(row)

    @staticmethod
    def _filter(
        session_id: int | None, labelled_only: bool
    ) -> tuple[str, tuple[Any, ...]]:
        """Return the WHERE clause and parameters of the common reading filters."""
        conditions = []
        parameters: tuple[Any, ...] = ()
        if session_id is not None:
            conditions.append("r.session_id = ?")
            parameters = (session_id,)
        if labelled_only:
            conditions.append("r.true_label IS NOT NULL")
        if not conditions:
            return "", parameters
        return f"WHERE {' AND '.join(conditions)}", parameters

    @staticmethod
    def _limit(limit: int | None) -> int:
        """Return a SQL LIMIT value; -1 means no limit."""
        if limit is None:
            return -1
        if limit < 0:
            msg = f"limit must be 0 or more, not {limit}"
            raise DatasetError(msg)
        return limit

    def fetch_table(
        self,
        columns: Sequence[str] | None = None,
        *,
        session_id: int | None = None,
        labelled_only: bool = False,
        limit: int | None = None,
    ) -> Table:
        """Return readings as plain rows (times as ISO text, saturated as 0/1)."""
        names = list(TABLE_COLUMNS if columns is None else columns)
        unknown = [name for name in names if name not in _TABLE_EXPRESSIONS]
        if unknown or not names:
            msg = (
                f"unknown columns {', '.join(map(repr, unknown))}; "
                f"valid columns: {', '.join(TABLE_COLUMNS)}"
            )
            raise DatasetError(msg)
        where, parameters = self._filter(session_id, labelled_only)
        selected = ", ".join(_TABLE_EXPRESSIONS[name] for name in names)
        query = (
            f"SELECT {selected} FROM readings r "  # noqa: S608
            f"LEFT JOIN frames f ON f.reading_id = r.id {where} ORDER BY r.id LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(query, (*parameters, self._limit(limit))).fetchall()
        return Table(names, rows)

    def set_true_label(
        self, reading_id: int, label: str, labelled_by: str = "review"
    ) -> None:
        """Set the true label of a stored reading."""
        check_label(label)
        _check_choice(labelled_by, LABELLED_BY, "labelled_by")
        with self._transaction() as transaction:
            updated = transaction.connection.execute(
                "UPDATE readings SET true_label = ?, labelled_by = ? WHERE id = ?",
                (label, labelled_by, reading_id),
            ).rowcount
            if not updated:
                msg = f"no reading with id {reading_id}"
                raise DatasetError(msg)

    def set_prediction(
        self,
        reading_id: int,
        label: str,
        confidence: float,
        *,
        model_version: str | None = None,
    ) -> None:
        """Record a model's prediction for a stored reading, as post-labeling does."""
        check_label(label, what="predicted label", allow_unknown=True)
        confidence = _fraction(confidence, "confidence")
        with self._transaction() as transaction:
            updated = transaction.connection.execute(
                "UPDATE readings SET predicted_label = ?, confidence = ?, "
                "model_version = coalesce(?, model_version) WHERE id = ?",
                (label, confidence, model_version, reading_id),
            ).rowcount
            if not updated:
                msg = f"no reading with id {reading_id}"
                raise DatasetError(msg)

    def frame_path(self, reading_id: int) -> Path | None:
        """Return the JPEG file of a reading, or None if it has no frame."""
        with self._lock:
            row = self._db.execute(
                "SELECT f.path FROM readings r LEFT JOIN frames f "
                "ON f.reading_id = r.id WHERE r.id = ?",
                (reading_id,),
            ).fetchone()
        if row is None:
            msg = f"no reading with id {reading_id}"
            raise DatasetError(msg)
        return None if row[0] is None else self.data_dir / row[0]

    def counts(self) -> dict[str, int]:
        """Return how many readings carry each true label, and how many none."""
        counts = dict.fromkeys((*CLASSES, UNLABELLED), 0)
        with self._lock:
            rows = self._db.execute(
                "SELECT true_label, count(*) FROM readings GROUP BY true_label"
            ).fetchall()
        for label, count in rows:
            counts[UNLABELLED if label is None else label] = count
        return counts

    # Models

    def record_model(
        self,
        kind: str,
        version: str,
        name: str,
        path: str,
        sha256: str,
        metadata: dict[str, Any],
    ) -> None:
        """Record an installed model bundle, replacing an earlier record of it."""
        _check_choice(kind, MODEL_KINDS, "model kind")
        if not isinstance(version, str) or not version:
            msg = f"model version must be a non-empty string, not {version!r}"
            raise DatasetError(msg)
        metadata_text = _json_text(metadata, "model metadata")
        with self._transaction() as transaction:
            transaction.connection.execute(
                "INSERT INTO models "
                "(kind, version, name, path, sha256, metadata, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, version) DO UPDATE "
                "SET name = excluded.name, path = excluded.path, "
                "sha256 = excluded.sha256, metadata = excluded.metadata, "
                "recorded_at = excluded.recorded_at",
                (
                    kind,
                    version,
                    name,
                    path,
                    sha256,
                    metadata_text,
                    _time_text(utc_now()),
                ),
            )

    def activate_model(self, kind: str, version: str) -> None:
        """Make a recorded model the active one of its kind, keeping the history."""
        _check_choice(kind, MODEL_KINDS, "model kind")
        with self._transaction() as transaction:
            connection = transaction.connection
            known = connection.execute(
                "SELECT 1 FROM models WHERE kind = ? AND version = ?", (kind, version)
            ).fetchone()
            if known is None:
                msg = f"no {kind} model with version {version!r}"
                raise DatasetError(msg)
            if self._activation(connection, kind, 0) == version:
                return
            connection.execute(
                "INSERT INTO model_activations (kind, version, activated_at) "
                "VALUES (?, ?, ?)",
                (kind, version, _time_text(utc_now())),
            )

    def active_model(self, kind: str) -> str | None:
        """Return the version of the active model of a kind, if any."""
        with self._lock:
            return self._activation(self._db, kind, 0)

    def previous_model(self, kind: str) -> str | None:
        """Return the version that was active before the current one, if any."""
        with self._lock:
            return self._activation(self._db, kind, 1)

    def rollback_model(self, kind: str) -> str:
        """Activate the previous model of a kind again and return its version.

        The rollback is itself an activation, so rolling back twice returns to
        where it started.
        """
        with self._lock:
            previous = self.previous_model(kind)
            if previous is None:
                msg = f"no earlier {kind} model to roll back to"
                raise DatasetError(msg)
            self.activate_model(kind, previous)
            return previous

    @staticmethod
    def _activation(connection: sqlite3.Connection, kind: str, back: int) -> str | None:
        """Return the version activated `back` activations before the latest one."""
        row = connection.execute(
            "SELECT version FROM model_activations WHERE kind = ? "
            "ORDER BY id DESC LIMIT 1 OFFSET ?",
            (kind, back),
        ).fetchone()
        return None if row is None else str(row[0])

    def models(self) -> list[ModelRecord]:
        """Return every recorded model, the most recently recorded first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, version, name, path, sha256, metadata, recorded_at "
                "FROM models ORDER BY recorded_at DESC, id DESC"
            ).fetchall()
            active = {kind: self.active_model(kind) for kind in MODEL_KINDS}
        return [
            ModelRecord(
                kind=kind,
                version=version,
                name=name,
                path=path,
                sha256=sha256,
                metadata=json.loads(metadata),
                recorded_at=datetime.fromisoformat(recorded_at),
                active=active.get(kind) == version,
            )
            for kind, version, name, path, sha256, metadata, recorded_at in rows
        ]

    # Settings

    def get_setting(self, key: str) -> Any | None:
        """Return a stored setting, or None if it was never set."""
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM settings WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting as JSON, replacing its earlier value."""
        if not isinstance(key, str) or not key:
            msg = f"setting key must be a non-empty string, not {key!r}"
            raise DatasetError(msg)
        value_text = _json_text(value, f"setting {key!r}")
        with self._transaction() as transaction:
            transaction.connection.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value_text),
            )

    def settings(self) -> dict[str, Any]:
        """Return every stored setting."""
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM settings").fetchall()
        return {key: json.loads(value) for key, value in rows}

    # Import

    def import_csv(
        self, path: Path, mapping: ColumnMapping, *, on_error: OnError = "stop"
    ) -> ImportResult:
        """Import the rows of a CSV file as readings of a new import session.

        With on_error="stop" the first bad row raises DatasetError and nothing is
        imported; with "skip" the good rows are imported and the bad ones listed.
        """
        from node.csv_import import iter_csv_readings

        _check_choice(on_error, ("stop", "skip"), "on_error")
        errors: list[str] = []
        imported = 0
        session_id = None
        with self._transaction() as transaction:
            connection = transaction.connection
            rows = iter_csv_readings(path, mapping, default_time=utc_now())
            good_rows = _good_items(rows, on_error, errors)
            for batch in itertools.batched(good_rows, _BATCH_SIZE, strict=False):
                if session_id is None:
                    session_id = self._insert_session(
                        connection, "import", None, path.name
                    )
                connection.executemany(
                    _INSERT_READING, [_record_row(session_id, row) for row in batch]
                )
                imported += len(batch)
            if session_id is not None:
                self._end_import_session(connection, session_id)
        _LOGGER.info(
            "Imported %s readings from %s, skipped %s", imported, path, len(errors)
        )
        return ImportResult(imported, len(errors), errors, session_id)

    def import_image_folder(
        self,
        path: Path,
        *,
        labels_file: Path | None = None,
        on_error: OnError = "stop",
    ) -> ImportResult:
        """Import images as labelled frames without sensor values.

        The folder holds one sub-folder per class (`lighter/*.jpg`), or, with a
        labels file (CSV with columns file and label), the images themselves.
        Files beside the class folders are ignored. Every image is stored upright
        as a JPEG; an unreadable file is a bad row, as in import_csv.
        """
        _check_choice(on_error, ("stop", "skip"), "on_error")
        if not path.is_dir():
            msg = f"{path} is not a folder"
            raise DatasetError(msg)
        entries = (
            self._class_folder_entries(path)
            if labels_file is None
            else self._labels_file_entries(path, labels_file)
        )
        errors: list[str] = []
        imported = 0
        session_id = None
        imported_at = utc_now()
        with self._transaction() as transaction:
            connection = transaction.connection
            for entry in entries:
                try:
                    if isinstance(entry, DatasetError):
                        raise entry
                    image_path, label = entry
                    frame_jpeg, size = _encode_image_file(image_path)
                except DatasetError as err:
                    if on_error == "stop":
                        raise
                    errors.append(str(err))
                    continue
                if session_id is None:
                    session_id = self._insert_session(
                        connection, "import", None, path.name
                    )
                record = ReadingRecord(
                    time=imported_at,
                    true_label=label,
                    labelled_by=None if label is None else "import",
                    note=image_path.relative_to(path).as_posix(),
                )
                reading_id = self._insert_reading(connection, session_id, record)
                self._add_frame(transaction, session_id, reading_id, frame_jpeg, size)
                imported += 1
            if session_id is not None:
                self._end_import_session(connection, session_id)
        _LOGGER.info(
            "Imported %s images from %s, skipped %s", imported, path, len(errors)
        )
        return ImportResult(imported, len(errors), errors, session_id)

    @staticmethod
    def _end_import_session(connection: sqlite3.Connection, session_id: int) -> None:
        """Mark an import session as ended now."""
        connection.execute(
            "UPDATE sessions SET ended_at = ? WHERE id = ?",
            (_time_text(utc_now()), session_id),
        )

    @staticmethod
    def _class_folder_entries(
        path: Path,
    ) -> Iterator[tuple[Path, str | None] | DatasetError]:
        """Yield the images of class sub-folders with their labels, or errors."""
        folders = sorted(
            child
            for child in path.iterdir()
            if child.is_dir() and not child.name.startswith(".")
        )
        if not folders:
            msg = (
                f"{path} has no class folders; expected sub-folders named "
                f"{', '.join(CLASSES)}, or a labels file"
            )
            raise DatasetError(msg)
        for folder in folders:
            label = folder.name.strip().lower()
            for image_path in sorted(folder.iterdir()):
                if image_path.name.startswith("."):
                    continue
                if label not in CLASSES:
                    yield DatasetError(
                        f"{folder.name}/{image_path.name}: folder {folder.name!r} "
                        f"is not one of {', '.join(CLASSES)}"
                    )
                elif not image_path.is_file():
                    yield DatasetError(
                        f"{folder.name}/{image_path.name}: is not a file"
                    )
                else:
                    yield image_path, label

    @staticmethod
    def _labels_file_entries(
        path: Path, labels_file: Path
    ) -> Iterator[tuple[Path, str | None] | DatasetError]:
        """Yield the images listed in a labels file with their labels, or errors."""
        from node.csv_import import iter_labels_file

        folder = path.resolve()
        seen: set[Path] = set()
        for item in iter_labels_file(labels_file):
            if isinstance(item, DatasetError):
                yield item
                continue
            row, name, label = item
            where = f"{labels_file.name}, row {row}, column 'file'"
            image_path = (folder / name).resolve()
            if not image_path.is_relative_to(folder):
                yield DatasetError(f"{where}: {name!r} is outside {path}")
            elif not image_path.is_file():
                yield DatasetError(f"{where}: {name!r} does not exist in {path}")
            elif image_path in seen:
                yield DatasetError(f"{where}: {name!r} is listed twice")
            else:
                seen.add(image_path)
                yield image_path, label

    # Export

    def export_csv(
        self,
        destination: Path | IO[str],
        *,
        session_id: int | None = None,
        labelled_only: bool = False,
    ) -> int:
        """Write readings as CSV (EXPORT_COLUMNS) and return how many rows."""
        table = self.fetch_table(
            EXPORT_COLUMNS, session_id=session_id, labelled_only=labelled_only
        )
        if not isinstance(destination, Path):
            _write_csv(destination, table)
            return len(table.rows)
        temporary = destination.with_name(f".{destination.name}{TEMP_SUFFIX}")
        try:
            with temporary.open("w", encoding="utf-8", newline="") as handle:
                _write_csv(handle, table)
            temporary.replace(destination)
        except OSError as err:
            temporary.unlink(missing_ok=True)
            msg = f"cannot write {destination}: {err.strerror or err}"
            raise DatasetError(msg) from err
        return len(table.rows)

    def export_class_folders(
        self, destination: Path, *, session_id: int | None = None
    ) -> int:
        """Write labelled readings to readings.csv and their frames to label folders.

        Frames go to destination/<true label>/<reading id>.jpg, and the frame
        column of readings.csv gives that path relative to destination. Returns
        how many readings were exported.
        """
        if destination.exists() and (
            not destination.is_dir() or any(destination.iterdir())
        ):
            msg = f"{destination} must be an empty folder or not exist"
            raise DatasetError(msg)
        table = self.fetch_table(
            EXPORT_COLUMNS, session_id=session_id, labelled_only=True
        )
        destination.mkdir(parents=True, exist_ok=True)
        label_index = EXPORT_COLUMNS.index("true_label")
        frame_index = EXPORT_COLUMNS.index("frame")
        rows = []
        for row in table.rows:
            cells = list(row)
            if row[frame_index] is not None:
                relative = f"{row[label_index]}/{row[0]}.jpg"
                target = destination / relative
                target.parent.mkdir(exist_ok=True)
                shutil.copyfile(self.data_dir / row[frame_index], target)
                cells[frame_index] = relative
            rows.append(tuple(cells))
        with (destination / "readings.csv").open(
            "w", encoding="utf-8", newline=""
        ) as handle:
            _write_csv(handle, Table(table.columns, rows))
        return len(rows)


def _write_csv(handle: IO[str], table: Table) -> None:
    """Write a table as CSV, with empty cells for missing values."""
    writer = csv.writer(handle)
    writer.writerow(table.columns)
    writer.writerows([_csv_cell(value) for value in row] for row in table.rows)
