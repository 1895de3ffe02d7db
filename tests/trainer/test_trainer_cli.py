"""The command line: its structure, JSON output and error handling."""

from __future__ import annotations

import json
from pathlib import Path
import shutil
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from trainer_helpers import IMAGE_SIZE, TINY_DEFAULTS
import typer
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from node.bundle import read_bundle
from trainer import defaults as defaults_module
from trainer.cli import cli
from trainer.exporting import update_metrics

runner = CliRunner()


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the terminal so help and errors render the same everywhere."""
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")


def invoke(*arguments: str | Path) -> Any:
    return runner.invoke(cli, [str(argument) for argument in arguments])


def one_json_object(output: str) -> dict[str, Any]:
    data = json.loads(output)
    assert isinstance(data, dict)
    return data


def test_cli_structure(snapshot: SnapshotAssertion) -> None:
    group = typer.main.get_command(cli)
    assert isinstance(group, TyperGroup)
    structure = {
        name: {
            str(param.name): (
                sorted(param.opts) if isinstance(param, TyperOption) else "argument"
            )
            for param in command.params
        }
        for name, command in sorted(group.commands.items())
    }
    assert structure == snapshot


def test_help_lists_every_command() -> None:
    result = invoke("--help")

    assert result.exit_code == 0
    for name in ("sensors", "images", "export", "evaluate", "label", "benchmark"):
        assert name in result.output


def test_sensors_json(sensor_csv: Path, tmp_path: Path) -> None:
    result = invoke(
        "sensors",
        sensor_csv,
        "--output",
        tmp_path / "bundle",
        "--features",
        "temperature,ir_ratio",
        "--widths",
        "4",
        "--epochs",
        "1",
        "--json",
    )

    assert result.exit_code == 0, result.output
    summary = one_json_object(result.stdout)
    assert summary["chosen_width"] == 4
    assert summary["export"]["quantization"] == "float32"
    assert read_bundle(tmp_path / "bundle").metadata.name == "bundle"


def test_images_text(image_folder: Path, tmp_path: Path) -> None:
    result = invoke(
        "images",
        image_folder,
        "-o",
        tmp_path / "image",
        "--size",
        str(IMAGE_SIZE),
        "--epochs",
        "1",
        "--no-augment",
        "--name",
        "frames",
        "--version",
        "2.0.0",
    )

    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    assert "TFLite vs Keras" in result.output
    metadata = read_bundle(tmp_path / "image").metadata
    assert (metadata.name, metadata.version) == ("frames", "2.0.0")


def test_sensors_text_and_bad_widths(sensor_csv: Path, tmp_path: Path) -> None:
    result = invoke(
        "sensors",
        sensor_csv,
        "-o",
        tmp_path / "b",
        "-f",
        "temperature",
        "--widths",
        "x",
    )

    assert result.exit_code == 1
    assert "Error: --widths must be whole numbers" in result.output
    assert "Traceback" not in result.output


def test_evaluate_json_and_text(
    sensor_bundle: Path, sensor_csv: Path, tmp_path: Path
) -> None:
    as_json = invoke(
        "evaluate", sensor_bundle, sensor_csv, "--output-dir", tmp_path, "--json"
    )
    as_text = invoke("evaluate", sensor_bundle, sensor_csv, "-o", tmp_path)

    assert as_json.exit_code == 0, as_json.output
    result = one_json_object(as_json.stdout)
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix"} <= set(result)
    assert as_text.exit_code == 0
    assert f"accuracy {result['accuracy']:.4f}" in as_text.output
    assert "evaluation.json" in as_text.output


def test_benchmark_json_and_text(sensor_bundle: Path) -> None:
    as_json = invoke(
        "benchmark", sensor_bundle, "-n", "5", "--keras-runs", "1", "--json"
    )
    as_text = invoke("benchmark", sensor_bundle, "-n", "5", "--keras-runs", "1")

    assert as_json.exit_code == 0, as_json.output
    result = one_json_object(as_json.stdout)
    assert {"median_ms", "p95_ms", "size_bytes", "keras_median_ms", "ratio"} <= set(
        result
    )
    assert as_text.exit_code == 0
    assert "times the LiteRT invoke" in as_text.output


def test_label_json_and_text(
    sensor_bundle: Path, sensor_csv: Path, tmp_path: Path
) -> None:
    as_json = invoke(
        "label", sensor_bundle, sensor_csv, "-o", tmp_path / "l.csv", "--json"
    )
    as_text = invoke(
        "label",
        sensor_bundle,
        sensor_csv,
        "-o",
        tmp_path / "m.csv",
        "--review-below",
        "0",
    )

    assert as_json.exit_code == 0, as_json.output
    report = one_json_object(as_json.stdout)
    assert report["labelled"] + report["needs_review"] == report["total"]
    assert as_text.exit_code == 0
    assert "0 need review" in as_text.output


def test_export_json_and_text(
    sensor_bundle: Path, sensor_csv: Path, tmp_path: Path
) -> None:
    as_json = invoke(
        "export",
        sensor_bundle,
        "-o",
        tmp_path / "f16",
        "-q",
        "float16",
        "-d",
        sensor_csv,
        "--json",
    )
    as_text = invoke("export", sensor_bundle, "-o", tmp_path / "f32")

    assert as_json.exit_code == 0, as_json.output
    summary = one_json_object(as_json.stdout)
    assert summary["export"]["quantization"] == "float16"
    assert summary["metrics"]["count"] > 0
    assert as_text.exit_code == 0
    assert read_bundle(tmp_path / "f32").metadata.quantization == "float32"


def test_simulate_writes_csv(tmp_path: Path) -> None:
    result = invoke("simulate", tmp_path / "sim.csv", "--sessions", "1", "--seed", "2")

    assert result.exit_code == 0
    lines = (tmp_path / "sim.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("session,time,label,")
    assert f"wrote {len(lines) - 1} readings" in result.output


def test_errors_are_one_message_and_exit_one(
    sensor_bundle: Path, tmp_path: Path
) -> None:
    missing = invoke("evaluate", sensor_bundle, tmp_path / "nothing.csv")
    bad_bundle = invoke("benchmark", tmp_path)
    bad_choice = invoke("evaluate", sensor_bundle, "x.csv", "--on-error", "ignore")

    assert missing.exit_code == 1
    assert "Error: " in missing.output
    assert "nothing.csv: no such file" in missing.output
    assert "Traceback" not in missing.output
    assert bad_bundle.exit_code == 1
    assert "does not exist" in bad_bundle.output
    assert bad_choice.exit_code == 2


def test_defaults_build_and_check(
    tiny_defaults: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(defaults_module, "DefaultsConfig", lambda: TINY_DEFAULTS)
    committed = tmp_path / "models"
    shutil.copytree(tiny_defaults, committed)
    metrics = read_bundle(committed / "sensors-default").metadata.metrics
    update_metrics(committed / "sensors-default", {**metrics, "accuracy": -1.0})

    check = invoke("defaults", "--check", committed, "--kinds", "sensors", "--json")

    assert check.exit_code == 1
    result = one_json_object(check.stdout)
    assert result["matches"] is False
    assert result["differences"][0].startswith("sensors-default: accuracy was -1.0")
