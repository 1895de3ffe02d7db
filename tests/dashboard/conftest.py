"""Fixtures for the dashboard's tests: a recorded dataset and tiny model bundles."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import os
from pathlib import Path
import shutil
import socket
import threading
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from builders import image_bundle, jpeg, sensors_bundle, small_dataset

from dashboard.utils.settings import DATA_DIR_ENV, MODELS_DIR_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_FILE = REPO_ROOT / "dashboard" / "app.py"
# A cold first run imports pandas, altair and LiteRT inside the script thread.
RUN_TIMEOUT_S = 60.0


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of the tests that need a real browser."""
    config.addinivalue_line(
        "markers", "browser: opens the dashboard in headless Chromium (-m browser)"
    )


@pytest.fixture(scope="session")
def dataset_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Record the small dataset once per run."""
    directory = tmp_path_factory.mktemp("dataset")
    small_dataset(directory)
    return directory


@pytest.fixture
def data_dir(tmp_path: Path, dataset_source: Path) -> Path:
    """Return a copy of the small dataset that a test may change."""
    directory = tmp_path / "data"
    shutil.copytree(dataset_source, directory)
    return directory


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build two sensors bundles and one quantised image bundle once per run."""
    directory = tmp_path_factory.mktemp("models")
    sensors_bundle(directory / "sensors-1", version="1.0.0")
    sensors_bundle(directory / "sensors-2", version="2.0.0")
    image_bundle(directory / "image-1", version="1.0.0")
    return directory


@pytest.fixture
def app_env(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, models_dir: Path
) -> Iterator[None]:
    """Point the dashboard at the test dataset and models."""
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    monkeypatch.setenv(MODELS_DIR_ENV, str(models_dir))
    yield
    # Cached frames are keyed by path; a later test may reuse the same temp path.
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(page: str | None = None) -> AppTest:
    """Run the app on one page of `dashboard/app_pages/`, or on its default page."""
    app = AppTest.from_file(str(APP_FILE), default_timeout=RUN_TIMEOUT_S)
    if page is not None:
        app.switch_page(f"app_pages/{page}.py")
    return app.run()


NODE_TOKEN = "token-for-tests"  # noqa: S105
NODE_STATE: dict[str, Any] = {
    "reading": {
        "id": 7,
        "time": "2026-03-01T09:00:03.500000+00:00",
        "values": {
            "lux": 312.5,
            "infrared": 950,
            "temperature": 21.4,
            "distance": 32.0,
        },
        "saturated": False,
        "prediction": {
            "label": "lighter",
            "confidence": 0.91,
            "probabilities": {
                "flashlight": 0.03,
                "lighter": 0.91,
                "infrared": 0.05,
                "daylight": 0.01,
            },
            "source": "sensors",
            "model_version": "1.0.0",
            "inference_ms": 0.2,
        },
    },
    "label": {
        "label": "lighter",
        "confidence": 0.91,
        "source": "sensors",
        "since": "2026-03-01T09:00:00+00:00",
    },
    "recording": {
        "active": False,
        "label": None,
        "session_id": None,
        "until": None,
        "samples": 0,
    },
    "stats": {"sample_rate_hz": 2.0, "inference_ms": 0.2, "readings_total": 7},
}


class FakeNodeHandler(BaseHTTPRequestHandler):
    """Answers `/api/state` and `/api/frame.jpg` as `docs/api.md` describes."""

    frame: bytes | None = None

    def do_GET(self) -> None:
        """Serve the state or the frame to a request with the right token."""
        if self.headers.get("Authorization") != f"Bearer {NODE_TOKEN}":
            self._json(401, _error("invalid_token", "the token is not valid"))
        elif self.path == "/api/state":
            self._json(200, NODE_STATE)
        elif self.path == "/api/frame.jpg" and self.frame is not None:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(self.frame)))
            self.end_headers()
            self.wfile.write(self.frame)
        else:
            self._json(404, _error("not_found", "no frame yet"))

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep the test output quiet."""


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def fake_node() -> Iterator[str]:
    """Serve a fake node on 127.0.0.1 and return its address."""
    handler = type("Handler", (FakeNodeHandler,), {"frame": jpeg(typical_frame())})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def typical_frame() -> np.ndarray:
    """Return a bright frame with a warm glow, as a lighter shows on camera."""
    frame = np.full((48, 64, 3), 20, dtype=np.uint8)
    frame[12:36, 24:40] = (255, 150, 40)
    return frame


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unused_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on."""
    return free_port()
