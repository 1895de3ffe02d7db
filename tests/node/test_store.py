"""Tests of the dataset store: sessions, readings, labels, models, settings, repair."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
import io
from pathlib import Path
import threading
from typing import Any

import numpy as np
from PIL import Image
import pytest
from store_helpers import (
    START,
    at,
    files_under_frames,
    jpeg_bytes,
    raw_rows,
    record,
)

from node.const import CLASSES, READING_UNITS
import node.store
from node.store import (
    DATABASE_FILE,
    SCHEMA_VERSION,
    TABLE_COLUMNS,
    UNLABELLED,
    DatasetError,
    DatasetStore,
    ReadingRecord,
)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    """Return a fresh store in a temporary folder, closed after the test."""
    with DatasetStore(tmp_path / "data") as opened:
        yield opened


def test_opening_creates_database_in_wal_mode(tmp_path: Path) -> None:
    """A new store creates its files and uses WAL, NORMAL sync and foreign keys."""
    data_dir = tmp_path / "data"
    with DatasetStore(data_dir) as store:
        assert (data_dir / DATABASE_FILE).is_file()
        assert (data_dir / "frames").is_dir()
        connection = store._db
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA synchronous").fetchone() == (1,)
        assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert raw_rows(data_dir, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    tables = {name for (name,) in raw_rows(data_dir, "SELECT name FROM sqlite_master")}
    assert {
        "sessions",
        "readings",
        "frames",
        "models",
        "model_activations",
        "settings",
        "readings_session",
        "readings_time",
        "readings_true_label",
    } <= tables
    columns = {row[1] for row in raw_rows(data_dir, "PRAGMA table_info(readings)")}
    assert set(READING_UNITS) <= columns


def test_session_counts_readings_and_frames(store: DatasetStore) -> None:
    """Sessions report their mode, label, note, times and counts."""
    session_id = store.start_session("pre", label="lighter", note="desk lamp off")
    store.add_reading(
        session_id, record(0, true_label="lighter", labelled_by="pre"), jpeg_bytes()
    )
    store.add_reading(session_id, record(1, true_label="lighter", labelled_by="pre"))
    other = store.start_session("realtime")

    active = store.session(session_id)
    assert active.active
    assert (active.mode, active.label, active.note) == (
        "pre",
        "lighter",
        "desk lamp off",
    )
    assert (active.readings, active.frames) == (2, 1)

    store.end_session(session_id)
    ended = store.session(session_id)
    assert not ended.active
    assert ended.ended_at is not None
    assert ended.ended_at >= ended.started_at
    store.end_session(session_id)
    assert store.session(session_id).ended_at == ended.ended_at

    assert [session.id for session in store.sessions()] == [session_id, other]
    assert store.sessions()[1].readings == 0


def test_reading_round_trip_keeps_every_field(store: DatasetStore) -> None:
    """A reading comes back with every field, its ids and its frame."""
    session_id = store.start_session("realtime")
    original = ReadingRecord(
        time=at(1.5),
        values={name: float(index) + 0.25 for index, name in enumerate(READING_UNITS)},
        saturated=True,
        predicted_label="flashlight",
        confidence=0.97,
        probabilities={"flashlight": 0.97, "lighter": 0.01, "infrared": 0.02},
        source="fused",
        model_version="1.0.0",
        sensor_label="flashlight",
        sensor_confidence=0.9,
        camera_label="lighter",
        camera_confidence=0.55,
        true_label="daylight",
        labelled_by="review",
        note="window, noon",
    )
    frame = jpeg_bytes(32, 24)
    reading_id = store.add_reading(session_id, original, frame)

    (stored,) = store.readings()
    assert (stored.id, stored.session_id, stored.frame) == (
        reading_id,
        session_id,
        True,
    )
    assert (
        ReadingRecord(
            **{
                name: getattr(stored, name)
                for name in ReadingRecord.__dataclass_fields__
            }
        )
        == original
    )
    assert store.reading(reading_id) == stored

    path = store.frame_path(reading_id)
    assert path == store.data_dir / f"frames/{session_id}/{reading_id}.jpg"
    assert path.read_bytes() == frame
    assert store.fetch_table(["frame_width", "frame_height"]).rows == [(32, 24)]


def test_times_are_stored_in_utc(store: DatasetStore) -> None:
    """An aware time in another zone comes back as the same instant in UTC."""
    session_id = store.start_session("realtime")
    local = START.astimezone(timezone(timedelta(hours=2)))
    store.add_reading(session_id, ReadingRecord(time=local))
    (stored,) = store.readings()
    assert stored.time == START
    assert stored.time.utcoffset() == timedelta(0)
    assert store.fetch_table(["time"]).rows == [("2026-12-03T17:00:00.000000+00:00",)]


def test_numbers_are_normalised_to_floats() -> None:
    """Integer and NumPy values become plain floats."""
    values: dict[str, Any] = {"lux": 3, "visible": np.float32(2.5)}
    built = ReadingRecord(time=START, values=values, confidence=1)
    assert built.values == {"lux": 3.0, "visible": 2.5}
    assert all(type(value) is float for value in built.values.values())
    assert type(built.confidence) is float


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"time": START.replace(tzinfo=None)}, "time must be a timezone-aware"),
        ({"values": {"brightness": 1.0}}, "unknown reading 'brightness'"),
        ({"values": {"lux": float("nan")}}, "lux must be finite"),
        ({"values": {"lux": "bright"}}, "lux must be a number"),
        ({"values": {"lux": True}}, "lux must be a number"),
        ({"predicted_label": "candle"}, "predicted_label 'candle' is not one of"),
        ({"camera_label": "torch"}, "camera_label 'torch' is not one of"),
        ({"confidence": 1.5}, "confidence must be between 0 and 1"),
        ({"sensor_confidence": -0.1}, "sensor_confidence must be between 0 and 1"),
        ({"probabilities": {"candle": 0.5}}, "probabilities class 'candle'"),
        ({"probabilities": {"lighter": 2.0}}, "probability of lighter must be"),
        ({"source": "radar"}, "source 'radar' is not one of sensors, camera, fused"),
        (
            {"true_label": "candle", "labelled_by": "review"},
            "true_label 'candle' is not one of flashlight, lighter, infrared, daylight",
        ),
        ({"true_label": "unknown", "labelled_by": "review"}, "true_label 'unknown'"),
        ({"true_label": "lighter", "labelled_by": "guess"}, "labelled_by 'guess'"),
        ({"true_label": "lighter"}, "a true_label needs labelled_by"),
    ],
)
def test_invalid_records_are_rejected(fields: dict[str, Any], message: str) -> None:
    """Every field is checked, and the error names what is wrong."""
    arguments: dict[str, Any] = {"time": START, **fields}
    with pytest.raises(DatasetError, match=message):
        ReadingRecord(**arguments)


def test_predictions_may_say_unknown_and_realtime_needs_no_label() -> None:
    """A prediction may be 'unknown'; labelled_by may be set before a true label."""
    built = ReadingRecord(time=START, predicted_label="unknown", labelled_by="realtime")
    assert (built.predicted_label, built.true_label) == ("unknown", None)


def test_session_arguments_are_checked(store: DatasetStore) -> None:
    """Session modes and labels are checked, naming the valid ones."""
    with pytest.raises(DatasetError, match="session mode 'live' is not one of pre"):
        store.start_session("live")
    with pytest.raises(
        DatasetError,
        match="label 'candle' is not one of flashlight, lighter, infrared, daylight",
    ):
        store.start_session("pre", label="candle")
    with pytest.raises(DatasetError, match="no session with id 42"):
        store.end_session(42)
    with pytest.raises(DatasetError, match="no session with id 42"):
        store.session(42)
    assert store.sessions() == []


def test_add_reading_refuses_bad_sessions_and_frames(store: DatasetStore) -> None:
    """A missing or ended session, or a frame that is no JPEG, stores nothing."""
    session_id = store.start_session("realtime")
    with pytest.raises(DatasetError, match="no session with id 99"):
        store.add_reading(99, record())

    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, format="PNG")
    with pytest.raises(DatasetError, match="frame must be a JPEG image, not PNG"):
        store.add_reading(session_id, record(), png.getvalue())
    with pytest.raises(DatasetError, match="frame is not a readable image"):
        store.add_reading(session_id, record(), b"\xff\xd8 not really")

    store.end_session(session_id)
    with pytest.raises(DatasetError, match=f"session {session_id} has ended"):
        store.add_reading(session_id, record(), jpeg_bytes())
    with pytest.raises(DatasetError, match=f"session {session_id} has ended"):
        store.add_readings(session_id, [record()])

    assert store.readings() == []
    assert files_under_frames(store.data_dir) == set()


def test_failed_frame_write_leaves_no_row_and_no_file(
    store: DatasetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If anything fails after the frame file was written, both are undone."""
    session_id = store.start_session("realtime")
    write = node.store._write_file_durably

    def write_then_fail(path: Path, data: bytes) -> None:
        write(path, data)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(node.store, "_write_file_durably", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        store.add_reading(session_id, record(), jpeg_bytes())
    assert store.readings() == []
    assert files_under_frames(store.data_dir) == set()


def test_readings_filters_and_limit(store: DatasetStore) -> None:
    """readings() filters by session and label and keeps the insertion order."""
    first = store.start_session("pre", label="lighter")
    second = store.start_session("realtime")
    store.add_readings(
        first,
        [record(index, true_label="lighter", labelled_by="pre") for index in range(3)],
    )
    store.add_readings(second, [record(10 + index) for index in range(4)])

    assert [reading.values["lux"] for reading in store.readings()] == [
        120.5,
        121.5,
        122.5,
        130.5,
        131.5,
        132.5,
        133.5,
    ]
    assert {reading.session_id for reading in store.readings(session_id=second)} == {
        second
    }
    assert len(store.readings(labelled_only=True)) == 3
    assert len(store.readings(session_id=second, labelled_only=True)) == 0
    assert [reading.id for reading in store.readings(limit=2)] == [1, 2]
    assert store.readings(limit=0) == []
    with pytest.raises(DatasetError, match="limit must be 0 or more"):
        store.readings(limit=-1)
    with pytest.raises(DatasetError, match="no reading with id 999"):
        store.reading(999)


def test_set_true_label_and_counts(store: DatasetStore) -> None:
    """Reviewing sets the label and who set it; counts follow."""
    session_id = store.start_session("realtime")
    first = store.add_reading(session_id, record(0, predicted_label="lighter"))
    store.add_reading(session_id, record(1))
    assert store.counts() == {**dict.fromkeys(CLASSES, 0), UNLABELLED: 2}

    store.set_true_label(first, "lighter")
    assert (store.reading(first).true_label, store.reading(first).labelled_by) == (
        "lighter",
        "review",
    )
    store.set_true_label(first, "daylight", labelled_by="post")
    assert store.reading(first).labelled_by == "post"
    assert store.counts() == {
        "flashlight": 0,
        "lighter": 0,
        "infrared": 0,
        "daylight": 1,
        UNLABELLED: 1,
    }

    with pytest.raises(DatasetError, match="label 'Lighter' is not one of"):
        store.set_true_label(first, "Lighter")
    with pytest.raises(DatasetError, match="labelled_by 'me' is not one of pre"):
        store.set_true_label(first, "lighter", labelled_by="me")
    with pytest.raises(DatasetError, match="no reading with id 77"):
        store.set_true_label(77, "lighter")


def test_frame_path_without_frame_or_reading(store: DatasetStore) -> None:
    """A reading without frame has no frame path; an unknown id is an error."""
    session_id = store.start_session("realtime")
    reading_id = store.add_reading(session_id, record())
    assert store.frame_path(reading_id) is None
    with pytest.raises(DatasetError, match="no reading with id 5"):
        store.frame_path(5)


def test_fetch_table_selects_columns_and_filters(store: DatasetStore) -> None:
    """fetch_table returns plain rows of the asked columns."""
    session_id = store.start_session("pre", label="infrared")
    store.add_reading(
        session_id,
        record(0, true_label="infrared", labelled_by="pre", saturated=True),
        jpeg_bytes(),
    )
    other = store.start_session("realtime")
    store.add_reading(other, record(1, probabilities={"lighter": 1.0}))

    everything = store.fetch_table()
    assert everything.columns == list(TABLE_COLUMNS)
    assert len(everything.rows) == 2

    table = store.fetch_table(
        ["id", "lux", "visible", "saturated", "true_label", "frame", "probabilities"]
    )
    assert table.rows == [
        (1, 120.5, None, 1, "infrared", f"frames/{session_id}/1.jpg", None),
        (2, 121.5, None, 0, None, None, '{"lighter": 1.0}'),
    ]
    assert store.fetch_table(["id"], session_id=other).rows == [(2,)]
    assert store.fetch_table(["id"], labelled_only=True).rows == [(1,)]
    assert store.fetch_table(["id"], limit=1).rows == [(1,)]
    with pytest.raises(
        DatasetError, match="unknown columns 'colour'; valid columns: id"
    ):
        store.fetch_table(["id", "colour"])
    with pytest.raises(DatasetError, match="valid columns"):
        store.fetch_table([])


def test_model_registry_and_rollback_order(store: DatasetStore) -> None:
    """Activations form a history; rollback goes to the one before, then back."""
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        store.record_model(
            "sensors",
            version,
            "sensors-default",
            f"/models/{version}",
            f"sha-{version}",
            {"metrics": {"accuracy": 0.9}},
        )
    assert store.active_model("sensors") is None
    assert store.previous_model("sensors") is None

    store.activate_model("sensors", "1.0.0")
    assert store.active_model("sensors") == "1.0.0"
    assert store.previous_model("sensors") is None
    with pytest.raises(DatasetError, match="no earlier sensors model"):
        store.rollback_model("sensors")

    store.activate_model("sensors", "1.1.0")
    store.activate_model("sensors", "2.0.0")
    store.activate_model("sensors", "2.0.0")
    assert (store.active_model("sensors"), store.previous_model("sensors")) == (
        "2.0.0",
        "1.1.0",
    )

    assert store.rollback_model("sensors") == "1.1.0"
    assert (store.active_model("sensors"), store.previous_model("sensors")) == (
        "1.1.0",
        "2.0.0",
    )
    assert store.rollback_model("sensors") == "2.0.0"
    assert store.active_model("image") is None

    records = store.models()
    assert [model.version for model in records] == ["2.0.0", "1.1.0", "1.0.0"]
    assert [model.active for model in records] == [True, False, False]
    assert records[0].metadata == {"metrics": {"accuracy": 0.9}}
    assert records[0].path == "/models/2.0.0"


def test_recording_a_model_again_replaces_it(store: DatasetStore) -> None:
    """Recording the same kind and version again updates the record."""
    store.record_model("image", "1", "old", "/a", "sha-a", {})
    store.record_model("image", "1", "new", "/b", "sha-b", {"classes": ["lighter"]})
    (model,) = store.models()
    assert (model.name, model.path, model.sha256, model.metadata) == (
        "new",
        "/b",
        "sha-b",
        {"classes": ["lighter"]},
    )


def test_model_arguments_are_checked(store: DatasetStore) -> None:
    """Unknown kinds and versions, and metadata that is no JSON, are refused."""
    with pytest.raises(DatasetError, match="model kind 'audio' is not one of"):
        store.record_model("audio", "1", "n", "/p", "s", {})
    with pytest.raises(DatasetError, match="model version must be a non-empty"):
        store.record_model("sensors", "", "n", "/p", "s", {})
    with pytest.raises(DatasetError, match="model metadata cannot be stored as JSON"):
        store.record_model("sensors", "1", "n", "/p", "s", {"when": START})
    with pytest.raises(DatasetError, match="no sensors model with version '9'"):
        store.activate_model("sensors", "9")
    with pytest.raises(DatasetError, match="model kind 'audio'"):
        store.activate_model("audio", "9")
    assert store.models() == []


def test_settings_round_trip(store: DatasetStore) -> None:
    """Settings are JSON values by key, replaced on write."""
    assert store.get_setting("labeler") is None
    store.set_setting("labeler", {"confidence_threshold": 0.7, "debounce": 4})
    store.set_setting("labeler", {"confidence_threshold": 0.8, "debounce": 4})
    store.set_setting("name", "kitchen node")
    assert store.get_setting("labeler") == {"confidence_threshold": 0.8, "debounce": 4}
    assert store.settings() == {
        "labeler": {"confidence_threshold": 0.8, "debounce": 4},
        "name": "kitchen node",
    }
    with pytest.raises(DatasetError, match="setting key must be a non-empty string"):
        store.set_setting("", 1)
    with pytest.raises(DatasetError, match="setting 'rate' cannot be stored as JSON"):
        store.set_setting("rate", float("inf"))


def test_data_survives_reopening(tmp_path: Path) -> None:
    """Everything written is there after closing and opening again."""
    data_dir = tmp_path / "data"
    with DatasetStore(data_dir) as store:
        session_id = store.start_session("pre", label="daylight")
        reading_id = store.add_reading(
            session_id, record(true_label="daylight", labelled_by="pre"), jpeg_bytes()
        )
        store.end_session(session_id)
        store.set_setting("debounce", 3)
    with DatasetStore(data_dir) as store:
        assert store.reading(reading_id).true_label == "daylight"
        assert store.reading(reading_id).frame
        assert store.get_setting("debounce") == 3


def test_writers_share_a_folder_and_only_the_first_repairs(tmp_path: Path) -> None:
    """A second store beside an open one writes too, but leaves its files alone."""
    data_dir = tmp_path / "data"
    with DatasetStore(data_dir) as first:
        session_id = first.start_session("realtime")
        in_flight = data_dir / "frames" / str(session_id) / ".1.jpg.tmp"
        in_flight.parent.mkdir()
        in_flight.write_bytes(b"being written")

        with DatasetStore(data_dir) as second:
            assert second.session(session_id).active
            assert in_flight.exists()
            reading_id = second.add_reading(session_id, record(), jpeg_bytes())
        assert first.reading(reading_id).frame
        first.add_reading(session_id, record(1))

    with DatasetStore(data_dir) as alone:
        assert not in_flight.exists()
        assert not alone.session(session_id).active
        assert alone.session(session_id).readings == 2


def test_read_only_store_reads_beside_a_writer(tmp_path: Path) -> None:
    """A read-only store sees the writer's data and refuses to write."""
    data_dir = tmp_path / "data"
    with pytest.raises(DatasetError, match="no dataset at"):
        DatasetStore(data_dir, read_only=True)
    with DatasetStore(data_dir) as writer:
        session_id = writer.start_session("realtime")
        writer.add_reading(session_id, record())
        with DatasetStore(data_dir, read_only=True) as reader:
            assert len(reader.readings()) == 1
            with pytest.raises(DatasetError, match="open read-only"):
                reader.start_session("realtime")
            writer.add_reading(session_id, record(1))
            assert reader.counts()[UNLABELLED] == 2
    with DatasetStore(data_dir, read_only=True) as reader:
        assert reader.session(session_id).readings == 2


def test_closed_store_says_so(tmp_path: Path) -> None:
    """Using a closed store raises DatasetError; closing twice is fine."""
    store = DatasetStore(tmp_path)
    store.close()
    store.close()
    with pytest.raises(DatasetError, match="closed"):
        store.sessions()
    with pytest.raises(DatasetError, match="closed"):
        store.start_session("realtime")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database from a newer node is not touched."""
    DatasetStore(tmp_path).close()
    import sqlite3

    connection = sqlite3.connect(tmp_path / DATABASE_FILE)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(DatasetError, match="schema version 2; this node understands"):
        DatasetStore(tmp_path)
    # The failed open released the folder again.
    with pytest.raises(DatasetError, match="schema version"):
        DatasetStore(tmp_path)


def test_opening_repairs_what_a_crash_left(tmp_path: Path) -> None:
    """Stray and temporary files go, rows of missing frames go, sessions end."""
    data_dir = tmp_path / "data"
    with DatasetStore(data_dir) as store:
        session_id = store.start_session("pre", label="lighter")
        kept = store.add_reading(
            session_id, record(0, true_label="lighter", labelled_by="pre"), jpeg_bytes()
        )
        lost = store.add_reading(
            session_id, record(5, true_label="lighter", labelled_by="pre"), jpeg_bytes()
        )
        lost_path = store.frame_path(lost)
        kept_path = store.frame_path(kept)
    assert lost_path is not None
    assert kept_path is not None
    frames = data_dir / "frames"
    lost_path.unlink()
    (frames / str(session_id) / "999.jpg").write_bytes(jpeg_bytes())
    (frames / str(session_id) / f".{lost + 1}.jpg.tmp").write_bytes(b"half")
    (frames / "77").mkdir()
    (frames / "77" / "1.jpg").write_bytes(jpeg_bytes())

    with DatasetStore(data_dir) as store:
        assert files_under_frames(data_dir) == {
            kept_path.relative_to(data_dir).as_posix()
        }
        assert not (frames / "77").exists()
        assert store.reading(kept).frame
        assert not store.reading(lost).frame
        assert store.frame_path(lost) is None
        session = store.session(session_id)
        assert session.ended_at == at(5)
        assert (session.readings, session.frames) == (2, 1)
        assert store._db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_an_empty_session_left_open_ends_at_its_start(tmp_path: Path) -> None:
    """A session with no readings that was never ended ends when it started."""
    with DatasetStore(tmp_path) as store:
        session_id = store.start_session("realtime")
    with DatasetStore(tmp_path) as store:
        session = store.session(session_id)
        assert session.ended_at == session.started_at


def test_threads_share_one_store(store: DatasetStore) -> None:
    """Readings added from several threads at once are all stored."""
    session_id = store.start_session("realtime")
    frame = jpeg_bytes()

    def add(offset: int) -> None:
        for index in range(20):
            reading = record(offset + index)
            store.add_reading(session_id, reading, frame if index % 5 == 0 else None)

    threads = [threading.Thread(target=add, args=(100 * n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session = store.session(session_id)
    assert (session.readings, session.frames) == (80, 16)
    assert len(files_under_frames(store.data_dir)) == 16


def test_replace_keeps_validation() -> None:
    """A record changed with dataclasses.replace is checked again."""
    built = record()
    assert replace(built, true_label="lighter", labelled_by="pre").true_label == (
        "lighter"
    )
    with pytest.raises(DatasetError, match="true_label 'fire'"):
        replace(built, true_label="fire", labelled_by="pre")


def test_frames_are_durable_files(store: DatasetStore) -> None:
    """Frames are written whole, with no temporary file left beside them."""
    session_id = store.start_session("realtime")
    reading_id = store.add_reading(session_id, record(), jpeg_bytes())
    path = store.frame_path(reading_id)
    assert path is not None
    assert list(path.parent.iterdir()) == [path]


def test_set_prediction_records_a_post_label_guess(tmp_path: Path) -> None:
    """A post-labeling prediction is stored with its confidence, checked for sense."""
    with DatasetStore(tmp_path) as store:
        session = store.start_session("realtime")
        reading_id = store.add_reading(
            session,
            ReadingRecord(time=datetime.now(UTC), values={"lux": 1.0}, saturated=False),
        )
        store.set_prediction(reading_id, "lighter", 0.42, model_version="2.0.0")
        stored = store.reading(reading_id)
        assert (stored.predicted_label, stored.confidence) == ("lighter", 0.42)
        assert stored.model_version == "2.0.0"
        with pytest.raises(DatasetError, match="candle"):
            store.set_prediction(reading_id, "candle", 0.5)
        with pytest.raises(DatasetError, match="between 0 and 1"):
            store.set_prediction(reading_id, "lighter", 1.5)
        with pytest.raises(DatasetError, match="no reading with id 999"):
            store.set_prediction(999, "lighter", 0.5)
