"""Settings from flags, environment and a YAML file, parsed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.settings import SettingsError, load_settings, settings_from_dict
from node.simulation import ScheduleStep


def test_defaults() -> None:
    """Without options the node listens on 8765 with real hardware."""
    settings, verbose = load_settings([], {})
    assert settings.server.port == 8765
    assert settings.simulation.enabled is False
    assert settings.hardware.light == "tsl2591"
    assert settings.labeler.sample_rate_hz == 2.0
    assert verbose is False


def test_flags_override_environment_over_file(tmp_path: Path) -> None:
    """Flags beat the environment, which beats the YAML file."""
    config = tmp_path / "node.yaml"
    config.write_text(
        "name: Kitchen\n"
        "server: {port: 9000, host: 127.0.0.1}\n"
        "labeler: {debounce: 5, sample_rate_hz: 4}\n"
        "hardware: {light: mcp3008, camera: none}\n"
    )
    settings, _ = load_settings(
        ["--config", str(config), "--port", "9100", "--simulate", "-v"],
        {"SMART_LABELING_PORT": "9050", "SMART_LABELING_DEBOUNCE": "7"},
    )
    assert settings.name == "Kitchen"
    assert settings.server.port == 9100
    assert settings.server.host == "127.0.0.1"
    assert settings.labeler.debounce == 7
    assert settings.labeler.sample_rate_hz == 4.0
    assert settings.hardware.light == "mcp3008"
    assert settings.simulation.enabled is True


def test_environment_values_are_converted(tmp_path: Path) -> None:
    """Environment strings become paths, booleans, numbers and schedules."""
    settings, _ = load_settings(
        [],
        {
            "SMART_LABELING_DATA_DIR": str(tmp_path),
            "SMART_LABELING_ZEROCONF": "off",
            "SMART_LABELING_SCHEDULE": "lighter:5@20",
            "SMART_LABELING_CONFIDENCE_THRESHOLD": "0.8",
        },
    )
    assert settings.storage.data_dir == tmp_path
    assert settings.server.zeroconf is False
    assert settings.simulation.schedule == (ScheduleStep("lighter", 5.0, 20.0),)
    assert settings.labeler.confidence_threshold == 0.8


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--sample-rate", "0"], {}, "sample rate"),
        (["--camera-rate", "100"], {}, "camera rate"),
        (["--confidence-threshold", "2"], {}, "confidence threshold"),
        (["--debounce", "0"], {}, "debounce"),
        (["--port", "70000"], {}, "port"),
        (["--light", "bh1750"], {}, "bh1750"),
        ([], {"SMART_LABELING_ZEROCONF": "maybe"}, "server.zeroconf"),
        ([], {"SMART_LABELING_SEED": "x"}, "simulation.seed"),
        (["--schedule", "candle:3"], {}, "candle"),
    ],
)
def test_invalid_values_are_named(
    argv: list[str], environ: dict[str, str], message: str
) -> None:
    """An invalid value raises SettingsError naming the setting."""
    with pytest.raises(SettingsError, match=message):
        load_settings(argv, environ)


def test_bad_files(tmp_path: Path) -> None:
    """Unreadable, invalid and misshapen YAML files are named."""
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(["--config", str(tmp_path / "missing.yaml")], {})
    broken = tmp_path / "broken.yaml"
    broken.write_text("server: [")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(["--config", str(broken)], {})
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n")
    with pytest.raises(SettingsError, match="mapping of sections"):
        load_settings(["--config", str(listed)], {})
    section = tmp_path / "section.yaml"
    section.write_text("server: 5\n")
    with pytest.raises(SettingsError, match="section 'server'"):
        load_settings([], {"SMART_LABELING_CONFIG": str(section)})
    with pytest.raises(SettingsError, match=r"unknown setting server\.colour"):
        settings_from_dict({"server": {"colour": "red"}})
