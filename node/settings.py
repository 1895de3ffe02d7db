"""Node settings: parsed once from flags, environment and an optional YAML file."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
import os
from pathlib import Path
from typing import Any, Final

import yaml

from .const import DEFAULT_PORT
from .hardware.factory import HardwareConfig
from .simulation import DEFAULT_SCHEDULE, ScheduleStep, parse_schedule

ENV_PREFIX: Final = "SMART_LABELING_"


class SettingsError(ValueError):
    """A setting has an invalid value."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Where the API listens and whether it is announced."""

    host: str = "0.0.0.0"  # noqa: S104
    port: int = DEFAULT_PORT
    zeroconf: bool = True
    max_upload_mb: int = 64


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """Where the dataset and the models live."""

    data_dir: Path = Path("data")
    models_dir: Path = Path("models")


@dataclass(frozen=True, slots=True)
class LabelerSettings:
    """How often to read and how to turn predictions into a label."""

    sample_rate_hz: float = 2.0
    camera_rate_hz: float = 0.5
    confidence_threshold: float = 0.6
    debounce: int = 3
    record_realtime: bool = False


@dataclass(frozen=True, slots=True)
class SimulationSettings:
    """The simulated scene, when the node runs without hardware."""

    enabled: bool = False
    schedule: tuple[ScheduleStep, ...] = DEFAULT_SCHEDULE
    seed: int = 0
    replay: Path | None = None


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """Everything the node is configured with."""

    name: str = "Smart Labeling node"
    server: ServerSettings = field(default_factory=ServerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    labeler: LabelerSettings = field(default_factory=LabelerSettings)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    simulation: SimulationSettings = field(default_factory=SimulationSettings)

    def __post_init__(self) -> None:
        """Reject values the node cannot run with."""
        labeler = self.labeler
        if not 0 < labeler.sample_rate_hz <= 50:
            msg = (
                f"sample rate must be between 0 and 50 Hz, not {labeler.sample_rate_hz}"
            )
            raise SettingsError(msg)
        if not 0 < labeler.camera_rate_hz <= 30:
            msg = (
                f"camera rate must be between 0 and 30 Hz, not {labeler.camera_rate_hz}"
            )
            raise SettingsError(msg)
        if not 0 <= labeler.confidence_threshold <= 1:
            msg = "confidence threshold must be between 0 and 1"
            raise SettingsError(msg)
        if not 1 <= labeler.debounce <= 50:
            msg = "debounce must be between 1 and 50 predictions"
            raise SettingsError(msg)
        if not 0 <= self.server.port <= 65535:
            msg = f"port must be between 0 and 65535, not {self.server.port}"
            raise SettingsError(msg)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser; every option is also an environment variable."""
    parser = argparse.ArgumentParser(
        prog="python -m node",
        description="Read the sensors and camera and label the light source in real time.",
        epilog=f"Every option can also be set as {ENV_PREFIX}<OPTION> in the environment "
        "(e.g. SMART_LABELING_PORT=8765) or in the YAML file given with --config.",
    )
    parser.add_argument("--config", type=Path, help="YAML settings file")
    parser.add_argument(
        "--simulate",
        action="store_true",
        default=None,
        help="simulate every sensor and the camera",
    )
    parser.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    parser.add_argument(
        "--port", type=int, help=f"port to listen on (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--data-dir", type=Path, help="dataset, token and uploaded models"
    )
    parser.add_argument("--models-dir", type=Path, help="default model bundles")
    parser.add_argument("--name", help="name shown in Home Assistant")
    parser.add_argument(
        "--sample-rate",
        type=float,
        dest="sample_rate_hz",
        help="sensor readings per second",
    )
    parser.add_argument(
        "--camera-rate", type=float, dest="camera_rate_hz", help="frames per second"
    )
    parser.add_argument(
        "--confidence-threshold", type=float, help="below it the label is unknown"
    )
    parser.add_argument(
        "--debounce", type=int, help="agreeing predictions needed to change the label"
    )
    parser.add_argument(
        "--record-realtime",
        action="store_true",
        default=None,
        help="store every reading with its prediction",
    )
    parser.add_argument(
        "--no-zeroconf",
        action="store_false",
        dest="zeroconf",
        default=None,
        help="do not announce the node on the network",
    )
    parser.add_argument(
        "--schedule",
        help="simulated scene, e.g. 'flashlight:20@25,none:5,lighter:20@15'",
    )
    parser.add_argument("--seed", type=int, help="random seed of the simulation")
    parser.add_argument(
        "--replay", type=Path, help="replay a recorded CSV export instead of simulating"
    )
    parser.add_argument("--light", help="light sensor: tsl2591, mcp3008 or none")
    parser.add_argument(
        "--temperature", help="temperature sensor: tmp36, ds18b20 or none"
    )
    parser.add_argument("--distance", help="distance sensor: hcsr04 or none")
    parser.add_argument("--camera", help="camera: picamera2, snapshot or none")
    parser.add_argument("--snapshot-url", help="snapshot URL of an IP camera")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


OPTION_SECTIONS: Final = {
    "host": ("server", "host"),
    "port": ("server", "port"),
    "zeroconf": ("server", "zeroconf"),
    "data_dir": ("storage", "data_dir"),
    "models_dir": ("storage", "models_dir"),
    "sample_rate_hz": ("labeler", "sample_rate_hz"),
    "camera_rate_hz": ("labeler", "camera_rate_hz"),
    "confidence_threshold": ("labeler", "confidence_threshold"),
    "debounce": ("labeler", "debounce"),
    "record_realtime": ("labeler", "record_realtime"),
    "simulate": ("simulation", "enabled"),
    "schedule": ("simulation", "schedule"),
    "seed": ("simulation", "seed"),
    "replay": ("simulation", "replay"),
    "light": ("hardware", "light"),
    "temperature": ("hardware", "temperature"),
    "distance": ("hardware", "distance"),
    "camera": ("hardware", "camera"),
    "snapshot_url": ("hardware", "snapshot_url"),
    "name": ("", "name"),
}


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[NodeSettings, bool]:
    """Parse settings from flags over environment over file; also return verbosity."""
    args = build_parser().parse_args(argv)
    environ = os.environ if environ is None else environ

    config_path = args.config or _env_path(environ, "CONFIG")
    values: dict[str, dict[str, Any]] = _read_yaml(config_path) if config_path else {}
    for option, (section, key) in OPTION_SECTIONS.items():
        raw = environ.get(ENV_PREFIX + option.upper())
        if raw is not None:
            values.setdefault(section, {})[key] = raw
    for option, (section, key) in OPTION_SECTIONS.items():
        value = getattr(args, option, None)
        if value is not None:
            values.setdefault(section, {})[key] = value
    return settings_from_dict(values), bool(args.verbose)


def settings_from_dict(values: Mapping[str, Mapping[str, Any]]) -> NodeSettings:
    """Build settings from sections of raw values, converting types."""
    defaults = NodeSettings()
    try:
        sections: dict[str, Any] = {
            name: _convert(getattr(defaults, name), values.get(name, {}), name)
            for name in ("server", "storage", "labeler", "hardware", "simulation")
        }
        top = values.get("", {})
        if "name" in top:
            sections["name"] = str(top["name"])
        return replace(defaults, **sections)
    except SettingsError:
        raise
    except (TypeError, ValueError) as err:
        raise SettingsError(str(err)) from err


def _convert(default: Any, raw: Mapping[str, Any], section: str) -> Any:
    changes: dict[str, Any] = {}
    known = {item.name: item for item in fields(default)}
    for key, value in raw.items():
        if key not in known:
            msg = f"unknown setting {section}.{key}"
            raise SettingsError(msg)
        current = getattr(default, key)
        try:
            changes[key] = _coerce(current, value, key)
        except (TypeError, ValueError) as err:
            msg = f"invalid value {value!r} for {section}.{key}: {err}"
            raise SettingsError(msg) from err
    return replace(default, **changes)


def _coerce(current: Any, value: Any, key: str) -> Any:
    if key == "schedule":
        return parse_schedule(value) if isinstance(value, str) else value
    if isinstance(current, bool):
        if isinstance(value, str):
            if value.lower() not in (
                "1",
                "0",
                "true",
                "false",
                "yes",
                "no",
                "on",
                "off",
            ):
                msg = "expected true or false"
                raise ValueError(msg)
            return value.lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(current, int):
        return int(value, 0) if isinstance(value, str) else int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, Path) or key in ("replay", "data_dir", "models_dir"):
        return Path(value).expanduser() if value not in (None, "") else None
    return value


def _env_path(environ: Mapping[str, str], name: str) -> Path | None:
    raw = environ.get(ENV_PREFIX + name)
    return Path(raw) if raw else None


def _read_yaml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as err:
        msg = f"cannot read settings file {path}: {err.strerror}"
        raise SettingsError(msg) from err
    except yaml.YAMLError as err:
        msg = f"settings file {path} is not valid YAML: {err}"
        raise SettingsError(msg) from err
    if not isinstance(data, dict):
        msg = f"settings file {path} must hold a mapping of sections"
        raise SettingsError(msg)
    result: dict[str, dict[str, Any]] = {}
    for section, content in data.items():
        if section == "name":
            result[""] = {"name": content}
        elif isinstance(content, dict):
            result[str(section)] = dict(content)
        else:
            msg = f"section {section!r} of {path} must be a mapping"
            raise SettingsError(msg)
    return result


DEFAULT_MODELS_DIR: Final = Path(__file__).resolve().parent.parent / "models"


def simulated_settings(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    schedule: Sequence[ScheduleStep] | None = None,
    sample_rate_hz: float = 10.0,
    models_dir: Path | None = None,
    camera: bool = True,
    seed: int = 0,
) -> NodeSettings:
    """Return settings for a simulated node on loopback that does not announce itself."""
    return NodeSettings(
        server=ServerSettings(host=host, port=port, zeroconf=False),
        storage=StorageSettings(
            data_dir=data_dir, models_dir=models_dir or DEFAULT_MODELS_DIR
        ),
        labeler=LabelerSettings(sample_rate_hz=sample_rate_hz, camera_rate_hz=2.0),
        hardware=HardwareConfig(
            camera="picamera2" if camera else "none",
            camera_width=160,
            camera_height=120,
        ),
        simulation=SimulationSettings(
            enabled=True,
            schedule=tuple(schedule) if schedule else DEFAULT_SCHEDULE,
            seed=seed,
        ),
    )
