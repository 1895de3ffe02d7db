"""Reading sensor data: feature mapping, labels, derived features, splits, bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from trainer_helpers import make_store

from node.features import FeatureWindow
from trainer.data import (
    FeatureColumn,
    check_class_counts,
    load_sensor_data,
    normalise_label,
    parse_features,
    split_by_session,
)
from trainer.errors import DataError, Problems, TrainerError
from trainer.simulate import simulate_sensor_data, write_sensor_csv


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_parse_features_maps_columns_and_matches_names_ignoring_case() -> None:
    columns = parse_features("Temperature,Luminosity=lux, Infrared ")
    assert columns == (
        FeatureColumn("Temperature", "temperature"),
        FeatureColumn("Luminosity", "lux"),
        FeatureColumn("Infrared", "infrared"),
    )
    assert parse_features(["ir_ratio", "flicker"]) == (
        FeatureColumn("ir_ratio", "ir_ratio"),
        FeatureColumn("flicker", "flicker"),
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Luminosity", "'Luminosity' is not a node feature"),
        ("Light=brightness", "'brightness' is not a node feature"),
        ("lux,Lux", "feature 'lux' is given twice"),
        (" , ", "no features given"),
    ],
)
def test_parse_features_rejects_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_features(spec)


def test_normalise_label() -> None:
    assert normalise_label(" Flashlight ") == "flashlight"
    assert normalise_label("NONE") == "none"
    with pytest.raises(ValueError, match="empty label"):
        normalise_label("  ")
    with pytest.raises(ValueError, match="unknown label 'candle'"):
        normalise_label("candle")


def test_csv_derived_features_match_the_node_feature_window(tmp_path: Path) -> None:
    simulated = simulate_sensor_data(1, seed=4)
    path = tmp_path / "one.csv"
    write_sensor_csv(simulated, path)

    data = load_sensor_data(
        [path], "full_spectrum,infrared,ir_ratio,flicker", label_column="label"
    )

    window = FeatureWindow()
    expected = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            values = {
                name: float(row[name])
                for name in ("lux", "visible", "infrared", "full_spectrum")
            }
            values["temperature"] = float(row["temperature"])
            values["distance"] = float(row["distance"])
            features = window.update(values)
            expected.append([features["ir_ratio"], features["flicker"]])
    assert len(data) == len(simulated)
    np.testing.assert_allclose(data.values[:, 2:], np.asarray(expected), rtol=1e-5)
    assert data.labels == simulated.labels


def test_csv_without_derived_columns_computes_them_per_session(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "two.csv",
        ["session", "time", "label", "Full", "IR"],
        [
            ["b", 0, "lighter", 100, 80],
            ["a", 1, "flashlight", 1000, 10],
            ["a", 0, "flashlight", 1000, 10],
            ["b", 1, "lighter", 300, 240],
        ],
    )

    data = load_sensor_data([path], "Full=full_spectrum,IR=infrared,ir_ratio,flicker")

    by_session = {
        (session, time): row.tolist()
        for session, time, row in zip(
            data.sessions, data.times, data.values, strict=True
        )
    }
    assert by_session[("two.csv:a", 0.0)] == pytest.approx([1000, 10, 0.01, 0.0])
    assert by_session[("two.csv:b", 0.0)] == pytest.approx([100, 80, 0.8, 0.0])
    flicker_b = np.std([100, 300], ddof=1) / 200
    assert by_session[("two.csv:b", 1.0)][3] == pytest.approx(flicker_b, rel=1e-5)


def test_csv_iso_times_order_rows(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "iso.csv",
        ["time", "true_label", "temperature"],
        [
            ["2026-12-03T17:00:01+00:00", "daylight", 22],
            ["2026-12-03T17:00:00", "daylight", 21],
        ],
    )

    data = load_sensor_data([path], "temperature", label_column="true_label")

    assert data.values[:, 0].tolist() == [21.0, 22.0]
    assert data.times[1] - data.times[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        (["label", "lux"], ["flashlight", 1], "missing column 'temperature'"),
        (["kind", "temperature"], ["flashlight", 1], "missing label column 'label'"),
        (
            ["label", "temperature"],
            ["flashlight", "warm"],
            r"row 2: column 'temperature' is not a number: 'warm'",
        ),
        (
            ["label", "temperature"],
            ["flashlight", ""],
            r"row 2: column 'temperature' is empty",
        ),
        (
            ["label", "temperature"],
            ["flashlight", "nan"],
            r"row 2: column 'temperature' is not finite",
        ),
        (["label", "temperature"], ["", 20], r"row 2: empty label"),
        (["label", "temperature"], ["candle", 20], r"row 2: unknown label 'candle'"),
        (
            ["label", "temperature", "time"],
            ["lighter", 20, "noon"],
            r"row 2: column 'time' is neither",
        ),
    ],
)
def test_bad_csv_input_names_file_row_and_column(
    tmp_path: Path, header: list[str], row: list[object], message: str
) -> None:
    path = write_csv(tmp_path / "bad.csv", header, [row])

    with pytest.raises(DataError, match=message) as caught:
        load_sensor_data([path], "temperature")
    assert "bad.csv" in str(caught.value)


def test_skip_counts_bad_rows_and_files(tmp_path: Path) -> None:
    good = write_csv(
        tmp_path / "good.csv",
        ["label", "temperature"],
        [["lighter", 30], ["candle", 20], ["daylight", "x"], ["daylight", 22]],
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    folder = tmp_path / "folder"
    folder.mkdir()

    data = load_sensor_data(
        [good, empty, folder, tmp_path / "missing.csv"], "temperature", on_error="skip"
    )

    assert data.labels == ["lighter", "daylight"]
    assert data.problems.count == 5
    summary = data.problems.summary()
    assert summary["count"] == 5
    assert any("no header row" in line for line in data.problems.skipped)
    assert any("holds no dataset.sqlite3" in line for line in data.problems.skipped)
    assert any("no such file" in line for line in data.problems.skipped)


def test_derived_feature_without_its_inputs_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["label", "temperature"], [["lighter", 30]])

    with pytest.raises(DataError, match=r"missing ir_ratio \(needs full_spectrum"):
        load_sensor_data([path], "temperature,ir_ratio")


def test_unlabelled_rows_are_allowed_when_labels_are_not_required(
    tmp_path: Path,
) -> None:
    path = write_csv(
        tmp_path / "u.csv", ["label", "temperature"], [["", 20], ["lighter", 30]]
    )

    data = load_sensor_data([path], "temperature", require_labels=False)

    assert data.labels == [None, "lighter"]
    assert data.labelled().labels == ["lighter"]
    assert data.row_ids == [2, 3]


def test_store_readings_become_rows_with_derived_features(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store", sessions=2, seed=8)

    data = load_sensor_data([store], "lux,temperature,ir_ratio,flicker")

    assert len(set(data.sessions)) == 2
    labelled = data.labelled()
    assert set(labelled.labels) <= {"flashlight", "lighter", "infrared", "daylight"}
    assert None in data.labels
    assert all(row_id is not None for row_id in data.row_ids)
    assert np.all((data.values[:, 2] >= 0) & (data.values[:, 2] <= 1))


def test_split_by_session_keeps_sessions_whole() -> None:
    data = simulate_sensor_data(5, seed=2)

    training, validation, description = split_by_session(data, holdout=0.2, seed=1)

    training_sessions = {data.sessions[i] for i in training}
    validation_sessions = {data.sessions[i] for i in validation}
    assert not training_sessions & validation_sessions
    assert len(validation_sessions) == 1
    assert sorted(training + validation) == list(range(len(data)))
    assert description == "1 of 5 sessions held out"


def test_one_session_holds_out_the_last_stretch_of_each_label() -> None:
    data = simulate_sensor_data(1, seed=2)

    training, validation, description = split_by_session(data, holdout=0.25)

    assert description.startswith("one session")
    for label in set(data.labels):
        rows = [i for i, name in enumerate(data.labels) if name == label]
        held = [i for i in rows if i in set(validation)]
        kept = [i for i in rows if i in set(training)]
        assert held
        assert max(data.times[i] for i in kept) < min(data.times[i] for i in held)


def test_check_class_counts_names_short_classes() -> None:
    data = simulate_sensor_data(1, seed=2)
    only_light = data.subset(
        i for i, name in enumerate(data.labels) if name != "lighter"
    )

    with pytest.raises(DataError, match=r"class lighter \(0\)"):
        check_class_counts(only_light, 5)


def test_problems_policy() -> None:
    with pytest.raises(TrainerError, match="on_error must be"):
        Problems("ignore")  # type: ignore[arg-type]
    problems = Problems("skip")
    problems.report("one")
    assert problems.count == 1
    with pytest.raises(DataError, match="two"):
        Problems().report("two")
