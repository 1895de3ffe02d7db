"""Where the dashboard reads its data: flags, then environment, then the demo's."""

from __future__ import annotations

from pathlib import Path

from dashboard.utils.settings import (
    DATA_DIR_ENV,
    DEFAULT_DATA_DIR,
    DEFAULT_MODELS_DIR,
    MODELS_DIR_ENV,
    parse_settings,
)


def test_flags_win_over_environment() -> None:
    """Flags after `--` choose the directories even when the environment has them."""
    settings = parse_settings(
        ["--data-dir", "/flag/data", "--models-dir", "/flag/models"],
        {DATA_DIR_ENV: "/env/data", MODELS_DIR_ENV: "/env/models"},
    )

    assert settings.data_dir == Path("/flag/data")
    assert settings.models_dir == Path("/flag/models")


def test_environment_fills_what_flags_leave_out() -> None:
    """Each directory falls back to its environment variable on its own."""
    settings = parse_settings(
        ["--models-dir", "/flag/models"], {DATA_DIR_ENV: "/env/data"}
    )

    assert settings.data_dir == Path("/env/data")
    assert settings.models_dir == Path("/flag/models")


def test_defaults_are_the_demo_directories() -> None:
    """Without flags or environment the dashboard reads the demo's data and models."""
    settings = parse_settings([], {DATA_DIR_ENV: "  ", MODELS_DIR_ENV: ""})

    assert settings.data_dir == DEFAULT_DATA_DIR
    assert settings.models_dir == DEFAULT_MODELS_DIR
    assert DEFAULT_DATA_DIR.parts[-2:] == (".demo", "node")
    assert DEFAULT_MODELS_DIR.name == "models"


def test_other_arguments_are_ignored_and_not_abbreviated() -> None:
    """A test runner's own arguments, or a prefix of a flag, choose nothing."""
    settings = parse_settings(["-q", "tests/dashboard", "--data", "/nowhere"], {})

    assert settings.data_dir == DEFAULT_DATA_DIR
