"""Page load times of the dashboard on a dataset of 100,000 readings and 5,000 frames.

Run with `.venv-ml/bin/python benchmarks/dashboard.py`. It records the dataset into a
temporary folder, builds two tiny model bundles, then runs every page with
Streamlit's AppTest twice: first with empty caches, then as a new browser session
would see it, with the caches warm.
"""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests" / "dashboard")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from dashboard.utils.settings import DATA_DIR_ENV, MODELS_DIR_ENV  # noqa: E402
from node.const import CLASSES  # noqa: E402
from node.store import DatasetStore  # noqa: E402

# The dataset and bundle builders are the tests' own, imported from their folder.
builders = importlib.import_module("builders")

APP_FILE = REPO_ROOT / "dashboard" / "app.py"
PAGES = (None, "review", "models", "try_model", "live")
RUN_TIMEOUT_S = 300.0


def plans(readings: int, frames: int, sessions: int) -> list[Any]:
    """Split the readings over sessions of every class and some real-time ones."""
    per_session = readings // sessions
    frame_every = max(readings // frames, 1)
    labels: list[str | None] = [*CLASSES, None]
    return [
        builders.SessionPlan(labels[index % len(labels)], per_session, frame_every)
        for index in range(sessions)
    ]


def run_page(page: str | None) -> float:
    """Run one page in a new AppTest session and return the seconds it took."""
    app = AppTest.from_file(str(APP_FILE), default_timeout=RUN_TIMEOUT_S)
    if page is not None:
        app.switch_page(f"app_pages/{page}.py")
    started = time.perf_counter()
    app.run()
    elapsed = time.perf_counter() - started
    if app.exception:
        message = app.exception[0].message
        msg = f"page {page or 'dataset'} raised: {message}"
        raise RuntimeError(msg)
    return elapsed


def main() -> None:
    """Build the dataset, then time every page cold and warm."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--frames", type=int, default=5_000)
    parser.add_argument("--sessions", type=int, default=20)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dashboard-benchmark-") as temporary:
        root = Path(temporary)
        started = time.perf_counter()
        builders.build_dataset(
            root / "data", plans(options.readings, options.frames, options.sessions)
        )
        elapsed = time.perf_counter() - started
        with DatasetStore(root / "data", read_only=True) as store:
            sessions = store.sessions()
        print(
            f"Recorded {sum(session.readings for session in sessions):,} readings "
            f"and {sum(session.frames for session in sessions):,} frames in "
            f"{len(sessions)} sessions in {elapsed:.1f} s"
        )
        started = time.perf_counter()
        builders.sensors_bundle(root / "models" / "sensors-1", version="1.0.0")
        builders.image_bundle(root / "models" / "image-1", version="1.0.0")
        print(f"Built two model bundles in {time.perf_counter() - started:.1f} s")

        os.environ[DATA_DIR_ENV] = str(root / "data")
        os.environ[MODELS_DIR_ENV] = str(root / "models")
        baseline = AppTest.from_string("import streamlit as st\nst.write('empty')")
        started = time.perf_counter()
        baseline.run()
        print(
            "AppTest overhead of an empty script: "
            f"{time.perf_counter() - started:.2f} s (included below)"
        )
        print(f"\n{'page':<10} {'first (s)':>10} {'cached (s)':>11}")
        for page in PAGES:
            st.cache_data.clear()
            st.cache_resource.clear()
            first = run_page(page)
            cached = run_page(page)
            print(f"{page or 'dataset':<10} {first:>10.2f} {cached:>11.2f}")


if __name__ == "__main__":
    main()
