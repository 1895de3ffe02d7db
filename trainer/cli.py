"""The trainer's command line: thin commands over the importable functions."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
import functools
import json
import logging
import os
from pathlib import Path
import sys
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from node.bundle import BundleError

from .errors import TrainerError

_LOGGER = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class OnErrorChoice(StrEnum):
    """What to do with bad input."""

    STOP = "stop"
    SKIP = "skip"


class Quantization(StrEnum):
    """How the TFLite model stores its weights and runs."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    INT8 = "int8"


class Backbone(StrEnum):
    """The image model's feature extractor."""

    TINY = "tiny"
    MOBILENET_V3_SMALL = "mobilenet_v3_small"
    EFFICIENTNET_B0 = "efficientnet_b0"
    INCEPTION_V3 = "inception_v3"


class TrainerTyper(typer.Typer):
    """A Typer app whose commands report registered errors as a message and exit 1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the app with no error handlers yet."""
        super().__init__(*args, **kwargs)
        self.error_handlers: dict[type[Exception], Callable[[Exception], None]] = {}

    def error_handler(
        self, exception: type[Exception]
    ) -> Callable[[Callable[[Exception], None]], Callable[[Exception], None]]:
        """Register a function that reports one kind of error."""

        def register(
            handler: Callable[[Exception], None],
        ) -> Callable[[Exception], None]:
            """Remember the handler for its kind of error."""
            self.error_handlers[exception] = handler
            return handler

        return register

    def command(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Register a command whose errors go through the error handlers."""
        register = super().command(*args, **kwargs)

        def decorator(function: Callable[P, R]) -> Callable[P, R]:
            """Register the command with its errors handled."""

            @functools.wraps(function)
            def wrapper(*call_args: P.args, **call_kwargs: P.kwargs) -> R:
                """Run the command; report a handled error and exit 1."""
                try:
                    return function(*call_args, **call_kwargs)
                except tuple(self.error_handlers) as err:
                    for exception, handler in self.error_handlers.items():
                        if isinstance(err, exception):
                            handler(err)
                            break
                    raise typer.Exit(code=1) from err

            register(wrapper)
            return function

        return decorator


cli = TrainerTyper(
    help="Train, export, evaluate and benchmark Smart Labeling models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@cli.error_handler(TrainerError)
@cli.error_handler(BundleError)
@cli.error_handler(ValueError)
@cli.error_handler(OSError)
def report_error(error: Exception) -> None:
    """Print the error's message, without a traceback."""
    typer.echo(f"Error: {error}", err=True)


@cli.callback()
def setup(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress and details.")
    ] = False,
) -> None:
    """Train, export, evaluate and benchmark Smart Labeling models."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


SensorData = Annotated[
    list[Path],
    typer.Argument(
        help="CSV files or dataset store folders (holding dataset.sqlite3)."
    ),
]
Features = Annotated[
    str,
    typer.Option(
        "--features",
        "-f",
        help="Feature columns, comma separated; map a column with Column=feature.",
    ),
]
OptionalFeatures = Annotated[
    str | None,
    typer.Option(
        "--features",
        "-f",
        help="Map CSV columns to the bundle's features, e.g. Temperature=temperature.",
    ),
]
LabelColumn = Annotated[
    str, typer.Option("--label", "-l", help="Column holding the true label.")
]
SessionColumn = Annotated[
    str, typer.Option("--session-column", help="Column naming the session, if any.")
]
TimeColumn = Annotated[
    str, typer.Option("--time-column", help="Column holding the time, if any.")
]
Output = Annotated[Path, typer.Option("--output", "-o", help="Bundle folder to write.")]
OnError = Annotated[
    OnErrorChoice,
    typer.Option("--on-error", help="Stop at bad input, or skip it and count it."),
]
QuantizationOption = Annotated[
    Quantization, typer.Option("--quantization", "-q", help="TFLite number format.")
]
Name = Annotated[str | None, typer.Option("--name", help="Bundle name.")]
Version = Annotated[str, typer.Option("--version", help="Bundle version.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
Epochs = Annotated[int, typer.Option("--epochs", "-e", min=1, help="Training epochs.")]
Json = Annotated[
    bool, typer.Option("--json", help="Print exactly one JSON object and nothing else.")
]
BundleDir = Annotated[
    Path,
    typer.Argument(help="Bundle folder (model.tflite and model.json)."),
]
Threshold = Annotated[
    float,
    typer.Option(
        "--threshold", min=0.0, max=1.0, help="The node's confidence threshold."
    ),
]


def _print_json(data: Any) -> None:
    """Print one JSON object on one line."""
    typer.echo(json.dumps(data, sort_keys=True, default=str))


def _progress(json_output: bool) -> bool:
    """Return whether to draw progress bars: on a terminal, without --json."""
    return not json_output and sys.stderr.isatty()


@cli.command()
def sensors(
    data: SensorData,
    output: Output,
    features: Features,
    label_column: LabelColumn = "label",
    session_column: SessionColumn = "session",
    time_column: TimeColumn = "time",
    widths: Annotated[
        str,
        typer.Option("--widths", help="Hidden layer widths to try, comma separated."),
    ] = "16,32,64",
    epochs: Annotated[
        int,
        typer.Option("--epochs", "-e", min=1, help="Most training epochs per width."),
    ] = 40,
    quantization: QuantizationOption = Quantization.FLOAT32,
    name: Name = None,
    version: Version = "1.0.0",
    seed: Seed = 0,
    on_error: OnError = OnErrorChoice.STOP,
    json_output: Json = False,
) -> None:
    """Train the sensor model on readings and export it as a bundle."""
    from .sensors import SensorConfig, train_sensors

    try:
        width_values = tuple(int(part) for part in widths.split(",") if part.strip())
    except ValueError:
        msg = f"--widths must be whole numbers separated by commas, not {widths!r}"
        raise TrainerError(msg) from None
    result = train_sensors(
        data,
        output,
        features=features,
        label_column=label_column,
        session_column=session_column,
        time_column=time_column,
        on_error=on_error.value,
        config=SensorConfig(widths=width_values, epochs=epochs, seed=seed),
        quantization=quantization.value,
        name=name or output.name,
        version=version,
        progress=_progress(json_output),
    )
    summary = result.to_dict()
    if json_output:
        _print_json(summary)
        return
    for candidate in result.candidates:
        typer.echo(
            f"width {candidate.width}: validation macro-F1 {candidate.macro_f1:.4f}, "
            f"accuracy {candidate.accuracy:.4f}, {candidate.epochs} epochs"
        )
    _echo_export(summary)


def _echo_export(summary: dict[str, Any]) -> None:
    """Print what an export wrote and how it compares with Keras."""
    report = summary.get("export") or {}
    metrics = summary.get("metrics") or {}
    skipped = summary.get("skipped") or {}
    if skipped.get("count"):
        typer.echo(f"skipped {skipped['count']} bad inputs")
    typer.echo(
        f"wrote {report.get('bundle')} ({report.get('quantization')}, "
        f"{report.get('size_bytes')} bytes); validation accuracy "
        f"{metrics.get('accuracy', 0):.4f}, macro-F1 {metrics.get('macro_f1', 0):.4f}"
    )
    if report.get("max_abs_diff") is not None:
        typer.echo(
            f"TFLite vs Keras: largest difference {report['max_abs_diff']:.2e}, "
            f"accuracy change {report.get('accuracy_change') or 0:+.4f}"
        )


@cli.command()
def images(
    data: Annotated[
        list[Path],
        typer.Argument(
            help="Class sub-folders, dataset store folders, or a CSV list of path,label."
        ),
    ],
    output: Output,
    backbone: Annotated[
        Backbone, typer.Option("--backbone", "-b", help="Feature extractor.")
    ] = Backbone.TINY,
    weights: Annotated[
        str,
        typer.Option("--weights", "-w", help="'imagenet', 'none' or a weights file."),
    ] = "none",
    size: Annotated[
        int | None,
        typer.Option("--size", "-s", min=16, help="Input size in pixels (square)."),
    ] = None,
    epochs: Epochs = 12,
    fine_tune_epochs: Annotated[
        int,
        typer.Option("--fine-tune-epochs", min=0, help="Epochs with the top unfrozen."),
    ] = 0,
    fine_tune_layers: Annotated[
        int,
        typer.Option(
            "--fine-tune-layers", min=1, help="Top backbone layers to unfreeze."
        ),
    ] = 20,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Batch size.")
    ] = 32,
    augment: Annotated[
        bool,
        typer.Option("--augment/--no-augment", help="Flip, rotate, vary contrast."),
    ] = True,
    quantization: QuantizationOption = Quantization.FLOAT32,
    name: Name = None,
    version: Version = "1.0.0",
    seed: Seed = 0,
    on_error: OnError = OnErrorChoice.STOP,
    json_output: Json = False,
) -> None:
    """Train the image model by transfer learning and export it as a bundle."""
    from .images import ImageConfig, train_images

    config = ImageConfig(
        backbone=backbone.value,
        weights=weights,
        size=size,
        epochs=epochs,
        fine_tune_epochs=fine_tune_epochs,
        fine_tune_layers=fine_tune_layers,
        batch_size=batch_size,
        augment=augment,
        seed=seed,
    )
    result = train_images(
        data,
        output,
        config=config,
        on_error=on_error.value,
        quantization=quantization.value,
        name=name or output.name,
        version=version,
        progress=_progress(json_output),
    )
    summary = result.to_dict()
    if json_output:
        _print_json(summary)
        return
    _echo_export(summary)


@cli.command("export")
def export_command(
    bundle_dir: BundleDir,
    output: Output,
    quantization: QuantizationOption = Quantization.FLOAT32,
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            "-d",
            help="Held-out data to compare TFLite with Keras (repeat for more).",
        ),
    ] = None,
    features: OptionalFeatures = None,
    label_column: LabelColumn = "label",
    on_error: OnError = OnErrorChoice.STOP,
    json_output: Json = False,
) -> None:
    """Export a bundle's saved Keras model again, e.g. as int8."""
    from .evaluation import holdout_for_bundle
    from .exporting import reexport

    holdout = (
        holdout_for_bundle(
            bundle_dir,
            data,
            features=features,
            label_column=label_column,
            on_error=on_error.value,
        )
        if data
        else None
    )
    report = reexport(
        bundle_dir, output, quantization=quantization.value, holdout=holdout
    )
    summary = {"export": report.to_dict(), "metrics": report.metrics}
    if json_output:
        _print_json(summary)
        return
    _echo_export(summary)


@cli.command()
def evaluate(
    bundle_dir: BundleDir,
    data: Annotated[
        list[Path],
        typer.Argument(help="Labelled CSV files, dataset stores or image folders."),
    ],
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-o",
            help="Where evaluation.json goes (default: the bundle).",
        ),
    ] = None,
    features: OptionalFeatures = None,
    label_column: LabelColumn = "label",
    threshold: Threshold = 0.6,
    on_error: OnError = OnErrorChoice.STOP,
    json_output: Json = False,
) -> None:
    """Score a bundle with the node's runtime on labelled data."""
    from .evaluation import evaluate as evaluate_bundle

    result = evaluate_bundle(
        bundle_dir,
        data,
        output_dir=output_dir,
        features=features,
        label_column=label_column,
        threshold=threshold,
        on_error=on_error.value,
    )
    if json_output:
        _print_json(result)
        return
    typer.echo(
        f"{result['name']} {result['version']}: accuracy {result['accuracy']:.4f}, "
        f"macro-F1 {result['macro_f1']:.4f} on {result['count']} examples"
    )
    for class_name, figures in result["per_class"].items():
        typer.echo(
            f"  {class_name:<11} precision {figures['precision']:.3f} "
            f"recall {figures['recall']:.3f} f1 {figures['f1']:.3f} "
            f"support {figures['support']}"
        )
    if result["skipped"]["count"]:
        typer.echo(f"skipped {result['skipped']['count']} bad inputs")
    for path in result.get("files", []):
        typer.echo(f"wrote {path}")


@cli.command()
def label(
    bundle_dir: BundleDir,
    data: Annotated[
        Path,
        typer.Argument(help="An unlabelled CSV file, image folder or dataset store."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="CSV to write (default beside the data)."),
    ] = None,
    features: OptionalFeatures = None,
    review_below: Annotated[
        float,
        typer.Option(
            "--review-below",
            min=0.0,
            max=1.0,
            help="Flag predictions less confident than this for review.",
        ),
    ] = 0.6,
    on_error: OnError = OnErrorChoice.STOP,
    json_output: Json = False,
) -> None:
    """Label recordings with a bundle, flagging doubtful ones for review."""
    from .labelling import label as label_data

    report = label_data(
        bundle_dir,
        data,
        output=output,
        features=features,
        review_below=review_below,
        on_error=on_error.value,
    )
    if json_output:
        _print_json(report.to_dict())
        return
    typer.echo(
        f"labelled {report.labelled} of {report.total}; {report.needs_review} need review"
    )
    if report.output:
        typer.echo(f"wrote {report.output}")


@cli.command()
def benchmark(
    bundle_dir: BundleDir,
    runs: Annotated[
        int, typer.Option("--runs", "-n", min=1, help="LiteRT invokes.")
    ] = 200,
    keras_runs: Annotated[
        int, typer.Option("--keras-runs", min=1, help="Keras predict calls.")
    ] = 30,
    json_output: Json = False,
) -> None:
    """Time LiteRT invokes and Keras predict for one bundle."""
    from .benchmarking import benchmark as run_benchmark

    result = run_benchmark(bundle_dir, runs=runs, keras_runs=keras_runs)
    if json_output:
        _print_json(result)
        return
    typer.echo(
        f"{result['name']} {result['version']} ({result['quantization']}, "
        f"{result['size_bytes']} bytes) on {result['runtime']}: median "
        f"{result['median_ms']:.3f} ms, p95 {result['p95_ms']:.3f} ms"
    )
    if result["ratio"] is not None:
        typer.echo(
            f"Keras predict: median {result['keras_median_ms']:.3f} ms, "
            f"{result['ratio']:.1f} times the LiteRT invoke"
        )


@cli.command()
def simulate(
    output: Annotated[Path, typer.Argument(help="CSV file to write.")],
    sessions: Annotated[
        int, typer.Option("--sessions", min=1, help="Sessions to simulate.")
    ] = 5,
    seed: Seed = 0,
) -> None:
    """Write a CSV of simulated readings with true labels ('none': no source)."""
    from .simulate import simulate_sensor_data, write_sensor_csv

    rows = write_sensor_csv(simulate_sensor_data(sessions, seed=seed), output)
    typer.echo(f"wrote {rows} readings of {sessions} sessions to {output}")


@cli.command()
def defaults(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Models folder to write.")
    ] = Path("models"),
    check: Annotated[
        Path | None,
        typer.Option(
            "--check",
            help="Retrain in a temporary folder and compare with the bundles here.",
        ),
    ] = None,
    kinds: Annotated[
        str, typer.Option("--kinds", help="Which defaults: sensors, image or both.")
    ] = "sensors,image",
    json_output: Json = False,
) -> None:
    """Build the default bundles from simulated data (what `make models` runs)."""
    from .defaults import build_defaults, check_defaults, summary_lines

    chosen = [kind.strip() for kind in kinds.split(",") if kind.strip()]
    if check is not None:
        differences = check_defaults(
            check, kinds=chosen, progress=_progress(json_output)
        )
        if json_output:
            _print_json({"matches": not differences, "differences": differences})
        else:
            for line in differences:
                typer.echo(line)
            typer.echo("defaults match" if not differences else "defaults differ")
        if differences:
            raise typer.Exit(code=1)
        return
    results = build_defaults(output, kinds=chosen, progress=_progress(json_output))
    if json_output:
        _print_json(results)
        return
    for line in summary_lines(results):
        typer.echo(line)


def main() -> None:
    """Run the command line."""
    cli()
