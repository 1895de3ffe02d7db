"""Post-labeling of CSV files, dataset stores and image folders."""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image
import pytest
from trainer_helpers import make_store

from node.store import DatasetStore
from trainer.errors import DataError, TrainerError
from trainer.image_data import ImageData
from trainer.labelling import label


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_gets_prediction_columns(sensor_bundle: Path, sensor_csv: Path) -> None:
    report = label(sensor_bundle, sensor_csv, review_below=0.7)

    assert report.output == sensor_csv.with_name("simulated.labelled.csv")
    rows = read_rows(report.output)
    original = read_rows(sensor_csv)
    assert len(rows) == len(original) == report.total
    assert rows[0]["session"] == original[0]["session"]
    for row in rows:
        assert row["predicted_label"] in {
            "flashlight",
            "lighter",
            "infrared",
            "daylight",
        }
        assert (row["needs_review"] == "true") == (float(row["confidence"]) < 0.7)
    assert report.needs_review == sum(row["needs_review"] == "true" for row in rows)
    assert report.labelled + report.needs_review == report.total
    assert sum(report.by_class.values()) == report.total


def test_csv_rows_that_cannot_be_read_are_flagged_when_skipped(
    sensor_bundle: Path, tmp_path: Path
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "lux,infrared,full_spectrum,temperature,predicted_label\n"
        "10,100,110,21,old\n"
        "x,100,110,21,old\n",
        encoding="utf-8",
    )

    report = label(sensor_bundle, path, output=tmp_path / "out.csv", on_error="skip")

    rows = read_rows(tmp_path / "out.csv")
    assert [row["needs_review"] for row in rows][1] == "true"
    assert rows[1]["predicted_label"] == ""
    assert rows[0]["predicted_label"] != "old"
    assert report.skipped["count"] == 1
    assert report.to_dict()["total"] == 2


def test_store_readings_get_post_labels(sensor_bundle: Path, tmp_path: Path) -> None:
    store_dir = make_store(tmp_path / "store", sessions=1, seed=9, labelled=False)

    report = label(
        sensor_bundle, store_dir, review_below=0.5, output=tmp_path / "r.csv"
    )

    with DatasetStore(store_dir, read_only=True) as store:
        readings = store.readings()
    post = [reading for reading in readings if reading.labelled_by == "post"]
    assert len(post) == report.labelled
    assert (
        len(readings) - len(post)
        == report.needs_review
        == report.total - report.labelled
    )
    rows = read_rows(tmp_path / "r.csv")
    confident = {
        int(row["reading_id"]) for row in rows if row["needs_review"] == "false"
    }
    assert confident == {reading.id for reading in post}
    predicted = {int(row["reading_id"]): row for row in rows}
    for reading in readings:
        row = predicted[reading.id]
        assert reading.predicted_label == row["predicted_label"]
        assert reading.confidence == pytest.approx(float(row["confidence"]), abs=1e-4)


def test_image_store_and_folder(
    image_bundle: Path, image_data: ImageData, tmp_path: Path
) -> None:
    frames = image_data.subset(range(6))
    store_dir = make_store(
        tmp_path / "store", sessions=1, labelled=False, frames=frames
    )
    folder = tmp_path / "unlabelled"
    folder.mkdir()
    for index, frame in enumerate(frames.images):
        Image.fromarray(frame).save(folder / f"{index}.png")
    (folder / "notes.txt").write_text("skip me", encoding="utf-8")
    (folder / "broken.png").write_bytes(b"nope")

    from_store = label(image_bundle, store_dir, review_below=0.0)
    from_folder = label(image_bundle, folder, on_error="skip")

    assert from_store.total == 6
    assert from_store.labelled == 6
    assert from_folder.total == 6
    assert from_folder.skipped["count"] == 1
    assert from_folder.output == folder / "labels.csv"
    assert len(read_rows(folder / "labels.csv")) == 6


def test_bad_label_requests(
    sensor_bundle: Path, image_bundle: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainerError, match="review_below must be between 0 and 1"):
        label(sensor_bundle, tmp_path, review_below=2.0)
    with pytest.raises(DataError, match="no such CSV file or dataset store"):
        label(sensor_bundle, tmp_path / "missing.csv")
    with pytest.raises(DataError, match="labels a folder of images"):
        label(image_bundle, tmp_path / "missing")
