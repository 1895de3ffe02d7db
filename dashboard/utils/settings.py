"""Dashboard settings: the dataset and models directories, from flags or environment."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import os
from pathlib import Path
import sys
from typing import Final

import streamlit as st

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR: Final = REPO_ROOT / ".demo" / "node"
DEFAULT_MODELS_DIR: Final = REPO_ROOT / "models"
DATA_DIR_ENV: Final = "SMART_LABELING_DATA_DIR"
MODELS_DIR_ENV: Final = "SMART_LABELING_MODELS_DIR"
SETTINGS_KEY: Final = "dashboard_settings"


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """Where the dashboard reads the dataset and the model bundles."""

    data_dir: Path
    models_dir: Path


def parse_settings(
    argv: Sequence[str], environ: Mapping[str, str]
) -> DashboardSettings:
    """Return the settings from flags, then environment, then the demo's defaults."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--models-dir", type=Path)

    # Streamlit hands the app every argument after `--`; under a test runner argv
    # holds that runner's own flags, which are none of the dashboard's business.
    flags, _ = parser.parse_known_args(list(argv))

    data_dir = flags.data_dir or _path_from_env(environ, DATA_DIR_ENV)
    models_dir = flags.models_dir or _path_from_env(environ, MODELS_DIR_ENV)
    return DashboardSettings(
        data_dir=(data_dir or DEFAULT_DATA_DIR).expanduser(),
        models_dir=(models_dir or DEFAULT_MODELS_DIR).expanduser(),
    )


def _path_from_env(environ: Mapping[str, str], name: str) -> Path | None:
    value = environ.get(name, "").strip()
    return Path(value) if value else None


def get_settings() -> DashboardSettings:
    """Return this session's settings, parsing them on its first run."""
    if SETTINGS_KEY not in st.session_state:
        st.session_state[SETTINGS_KEY] = parse_settings(sys.argv[1:], os.environ)
    settings: DashboardSettings = st.session_state[SETTINGS_KEY]
    return settings
