"""Tests of exporting the dataset as CSV and as class folders, and importing it back."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from store_helpers import jpeg_bytes, record

from node.const import READING_UNITS
from node.csv_import import ColumnMapping
from node.store import EXPORT_COLUMNS, DatasetError, DatasetStore, ReadingRecord


@pytest.fixture
def store(tmp_path: Path) -> Any:
    """Return a store holding labelled and unlabelled readings, some with frames."""
    with DatasetStore(tmp_path / "data") as opened:
        labelled = opened.start_session("pre", label="lighter")
        opened.add_reading(
            labelled,
            record(0, true_label="lighter", labelled_by="pre", saturated=True),
            jpeg_bytes(color="yellow"),
        )
        opened.add_reading(labelled, record(1, true_label="lighter", labelled_by="pre"))
        realtime = opened.start_session("realtime")
        opened.add_reading(
            realtime,
            ReadingRecord(
                time=record(2).time,
                values={
                    name: 1 / 3 + index for index, name in enumerate(READING_UNITS)
                },
                predicted_label="daylight",
                confidence=0.875,
                source="sensors",
                model_version="1.2.0",
            ),
            jpeg_bytes(color="white"),
        )
        reviewed = opened.add_reading(realtime, record(3), jpeg_bytes(color="blue"))
        opened.set_true_label(reviewed, "daylight")
        yield opened


def read_csv(path: Path) -> list[dict[str, str]]:
    """Return the rows of a CSV file as dictionaries."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_export_columns_and_cells(store: DatasetStore, tmp_path: Path) -> None:
    """The CSV has the documented columns, empty cells for missing values."""
    destination = tmp_path / "dataset.csv"
    assert store.export_csv(destination) == 4

    with destination.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == list(EXPORT_COLUMNS)
    rows = read_csv(destination)
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    first, second, third, _ = rows
    assert (first["saturated"], first["true_label"], first["labelled_by"]) == (
        "1",
        "lighter",
        "pre",
    )
    assert first["frame"] == "frames/1/1.jpg"
    assert (store.data_dir / first["frame"]).is_file()
    assert (second["frame"], second["visible"], second["predicted_label"]) == (
        "",
        "",
        "",
    )
    assert float(third["visible"]) == 1 / 3 + 1
    assert (third["confidence"], third["source"], third["model_version"]) == (
        "0.875",
        "sensors",
        "1.2.0",
    )
    assert third["time"] == "2026-12-03T17:00:02.000000+00:00"
    assert not list(tmp_path.glob(".*.tmp"))


def test_csv_export_filters(store: DatasetStore) -> None:
    """Exports can be limited to one session and to labelled readings."""
    buffer = io.StringIO()
    assert store.export_csv(buffer, session_id=2) == 2
    assert store.export_csv(io.StringIO(), labelled_only=True) == 3
    assert store.export_csv(io.StringIO(), session_id=2, labelled_only=True) == 1
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert {row["session_id"] for row in rows} == {"2"}


def test_csv_export_to_a_missing_folder_fails_cleanly(
    store: DatasetStore, tmp_path: Path
) -> None:
    """A destination that cannot be written raises DatasetError."""
    with pytest.raises(DatasetError, match="cannot write"):
        store.export_csv(tmp_path / "nowhere" / "dataset.csv")


def test_csv_export_imports_back_unchanged(store: DatasetStore, tmp_path: Path) -> None:
    """Exported readings import into another store with the same values."""
    destination = tmp_path / "dataset.csv"
    store.export_csv(destination)
    columns = ["time", *READING_UNITS, "saturated", "true_label"]

    with DatasetStore(tmp_path / "copy") as copy:
        result = copy.import_csv(destination, ColumnMapping.exported())
        assert (result.imported, result.skipped) == (4, 0)
        assert copy.fetch_table(columns).rows == store.fetch_table(columns).rows
        assert {
            reading.labelled_by for reading in copy.readings(labelled_only=True)
        } == {"import"}


def test_class_folders_export(store: DatasetStore, tmp_path: Path) -> None:
    """Labelled readings go to readings.csv, their frames to one folder per label."""
    destination = tmp_path / "export"
    assert store.export_class_folders(destination) == 3

    assert sorted(
        path.relative_to(destination).as_posix() for path in destination.rglob("*.*")
    ) == ["daylight/4.jpg", "lighter/1.jpg", "readings.csv"]
    rows = read_csv(destination / "readings.csv")
    assert [(row["id"], row["true_label"], row["frame"]) for row in rows] == [
        ("1", "lighter", "lighter/1.jpg"),
        ("2", "lighter", ""),
        ("4", "daylight", "daylight/4.jpg"),
    ]
    for row in rows:
        if row["frame"]:
            original = store.frame_path(int(row["id"]))
            assert original is not None
            assert (destination / row["frame"]).read_bytes() == original.read_bytes()

    assert store.export_class_folders(tmp_path / "one", session_id=2) == 1


def test_class_folders_need_an_empty_destination(
    store: DatasetStore, tmp_path: Path
) -> None:
    """Exporting over existing files is refused."""
    destination = tmp_path / "used"
    destination.mkdir()
    (destination / "old.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="must be an empty folder"):
        store.export_class_folders(destination)
    (tmp_path / "file").write_text("")
    with pytest.raises(DatasetError, match="must be an empty folder"):
        store.export_class_folders(tmp_path / "file")
    (destination / "old.txt").unlink()
    assert store.export_class_folders(destination) == 3


def test_class_folders_import_back(store: DatasetStore, tmp_path: Path) -> None:
    """The frames of a class-folder export import as labelled images."""
    destination = tmp_path / "export"
    store.export_class_folders(destination)
    with DatasetStore(tmp_path / "copy") as copy:
        result = copy.import_image_folder(destination)
        assert result.imported == 2
        assert copy.counts()["lighter"] == 1
        assert copy.counts()["daylight"] == 1
