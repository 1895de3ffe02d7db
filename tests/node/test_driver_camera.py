"""Pi camera driver against a fake picamera2, snapshot camera against a local server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import io
import socket
import sys
import threading
import time
import types
from typing import Any, ClassVar
import urllib.error

import numpy as np
from PIL import Image
import pytest

from node.hardware import camera as camera_module
from node.hardware.base import DriverError, DriverUnavailableError
from node.hardware.camera import PiCamera, SnapshotCamera, redact_url

pytestmark = pytest.mark.timeout(20)

# Picamera2 -------------------------------------------------------------------


class FakePicamera2:
    """Records what the driver asks of picamera2; frames are B, G, R like RGB888."""

    cameras: ClassVar[list[dict[str, Any]]] = [{"Model": "imx708"}]
    instances: ClassVar[list[FakePicamera2]] = []
    fail_on: ClassVar[str | None] = None
    padding: ClassVar[int] = 0

    def __init__(self) -> None:
        if self.fail_on == "init":
            msg = "Camera __init__ sequence did not complete."
            raise RuntimeError(msg)
        self.configured: dict[str, Any] | None = None
        self.started = False
        self.closed = False
        self.instances.append(self)

    @classmethod
    def global_camera_info(cls) -> list[dict[str, Any]]:
        return cls.cameras

    def create_still_configuration(self, main: dict[str, Any]) -> dict[str, Any]:
        return {"use_case": "still", "main": dict(main)}

    def configure(self, config: dict[str, Any]) -> None:
        if self.fail_on == "configure":
            msg = "invalid size"
            raise ValueError(msg)
        self.configured = config

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    def capture_array(self, stream: str) -> np.ndarray:
        assert stream == "main"
        assert self.started, "capture from a stopped camera"
        if self.fail_on == "capture":
            msg = "Camera frontend has timed out!"
            raise RuntimeError(msg)
        assert self.configured is not None
        width, height = self.configured["main"]["size"]
        frame = np.zeros((height, width + self.padding, 3), np.uint8)
        frame[..., 0], frame[..., 1], frame[..., 2] = 10, 20, 30
        frame[0, 0] = (255, 0, 0)
        if self.fail_on == "shape":
            return frame[:, :, 0]
        return frame


@pytest.fixture
def picamera2(monkeypatch: pytest.MonkeyPatch) -> type[FakePicamera2]:
    """Install a fake picamera2 module and return its camera class."""
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    monkeypatch.setattr(FakePicamera2, "instances", [])
    monkeypatch.setattr(FakePicamera2, "cameras", [{"Model": "imx708"}])
    monkeypatch.setattr(FakePicamera2, "fail_on", None)
    monkeypatch.setattr(FakePicamera2, "padding", 0)
    return FakePicamera2


def test_picamera_configures_rgb_stills_of_the_size(
    picamera2: type[FakePicamera2],
) -> None:
    camera = PiCamera(width=64, height=48)
    camera.open()

    (instance,) = picamera2.instances
    assert instance.configured == {
        "use_case": "still",
        "main": {"size": (64, 48), "format": "RGB888"},
    }
    assert instance.started


def test_picamera_capture_is_height_width_rgb(
    picamera2: type[FakePicamera2],
) -> None:
    camera = PiCamera(width=64, height=48)
    camera.open()

    frame = camera.capture()

    assert frame.shape == (48, 64, 3)
    assert frame.dtype == np.uint8
    assert frame.flags.c_contiguous
    assert tuple(frame[10, 10]) == (30, 20, 10)
    assert tuple(frame[0, 0]) == (0, 0, 255)


def test_picamera_crops_padded_rows(picamera2: type[FakePicamera2]) -> None:
    picamera2.padding = 16
    camera = PiCamera(width=40, height=30)
    camera.open()

    assert camera.capture().shape == (30, 40, 3)


def test_picamera_unexpected_frame_is_driver_error(
    picamera2: type[FakePicamera2],
) -> None:
    camera = PiCamera(width=64, height=48)
    camera.open()
    picamera2.fail_on = "shape"

    with pytest.raises(DriverError, match=r"gave a \(48, 64\) frame"):
        camera.capture()


def test_picamera_capture_failure_is_driver_error(
    picamera2: type[FakePicamera2],
) -> None:
    camera = PiCamera()
    camera.open()
    picamera2.fail_on = "capture"

    with pytest.raises(DriverError, match="capture failed: Camera frontend"):
        camera.capture()


def test_picamera_close_stops_and_releases(picamera2: type[FakePicamera2]) -> None:
    camera = PiCamera()
    camera.open()
    camera.close()

    (instance,) = picamera2.instances
    assert not instance.started
    assert instance.closed
    with pytest.raises(DriverError, match="not open"):
        camera.capture()
    camera.close()


def test_picamera_missing_library_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)

    with pytest.raises(DriverUnavailableError) as caught:
        PiCamera().open()

    message = str(caught.value)
    assert "python3-picamera2" in message
    assert "--system-site-packages" in message


def test_picamera_without_a_camera(picamera2: type[FakePicamera2]) -> None:
    picamera2.cameras = []

    with pytest.raises(DriverUnavailableError, match="no camera found by libcamera"):
        PiCamera().open()


def test_picamera_busy_camera(picamera2: type[FakePicamera2]) -> None:
    picamera2.fail_on = "init"

    with pytest.raises(DriverUnavailableError, match="another program"):
        PiCamera().open()


def test_picamera_unsupported_size_releases_the_camera(
    picamera2: type[FakePicamera2],
) -> None:
    picamera2.fail_on = "configure"

    with pytest.raises(DriverUnavailableError, match="cannot take 640x480 stills"):
        PiCamera().open()
    (instance,) = picamera2.instances
    assert instance.closed


def test_picamera_rejects_empty_size() -> None:
    with pytest.raises(ValueError, match="camera size must be positive, not 0x480"):
        PiCamera(width=0)


# Snapshot --------------------------------------------------------------------


def jpeg_bytes() -> bytes:
    """Return a 32x24 JPEG: red on top, blue below."""
    image = Image.new("RGB", (32, 24), (220, 20, 20))
    image.paste((20, 20, 220), (0, 12, 32, 24))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


class SnapshotHandler(BaseHTTPRequestHandler):
    """Snapshot endpoints, good and bad, like a cheap IP camera's."""

    jpeg = jpeg_bytes()
    credentials = base64.b64encode(b"viewer:s3cret").decode("ascii")
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        routes = {
            "/snap.jpg": lambda: self.send_body(self.jpeg, "image/jpeg"),
            "/page.html": lambda: self.send_body(b"<html>login</html>", "text/html"),
            "/slow-headers.jpg": self.stall_before_headers,
            "/slow-body.jpg": self.stall_in_body,
            "/private.jpg": self.require_basic_auth,
            "/truncated.jpg": self.send_half,
            "/hang-up.jpg": self.hang_up,
        }
        route = routes.get(self.path.partition("?")[0])
        if route is None:
            self.send_error(404, "Not Found")
            return
        route()

    def send_body(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stall_before_headers(self) -> None:
        time.sleep(1.0)

    def stall_in_body(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.jpeg)))
        self.end_headers()
        self.wfile.write(self.jpeg[:100])
        self.wfile.flush()
        time.sleep(1.0)

    def send_half(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.jpeg)))
        self.end_headers()
        self.wfile.write(self.jpeg[: len(self.jpeg) // 2])
        self.close_connection = True

    def hang_up(self) -> None:
        self.close_connection = True

    def require_basic_auth(self) -> None:
        if self.headers.get("Authorization") == f"Basic {self.credentials}":
            self.send_body(self.jpeg, "image/jpeg")
            return
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="camera"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Serve snapshots on 127.0.0.1 and return the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), SnapshotHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_snapshot_decodes_jpeg_to_rgb(server: str) -> None:
    frame = SnapshotCamera(f"{server}/snap.jpg").capture()

    assert frame.shape == (24, 32, 3)
    assert frame.dtype == np.uint8
    assert np.abs(frame[4, 16].astype(int) - (220, 20, 20)).max() < 12
    assert np.abs(frame[20, 16].astype(int) - (20, 20, 220)).max() < 12


def test_snapshot_decodes_png(monkeypatch: pytest.MonkeyPatch, server: str) -> None:
    buffer = io.BytesIO()
    Image.new("L", (8, 6), 128).save(buffer, format="PNG")
    monkeypatch.setattr(SnapshotHandler, "jpeg", buffer.getvalue())

    frame = SnapshotCamera(f"{server}/snap.jpg").capture()

    assert frame.shape == (6, 8, 3)
    assert (frame == 128).all()


def test_snapshot_not_found(server: str) -> None:
    camera = SnapshotCamera(f"{server}/missing.jpg")

    with pytest.raises(DriverError, match=r"missing\.jpg answered HTTP 404 Not Found"):
        camera.capture()


def test_snapshot_non_image_body(server: str) -> None:
    camera = SnapshotCamera(f"{server}/page.html")

    with pytest.raises(DriverError, match=r"is not an image \(text/html, 18 bytes\)"):
        camera.capture()


@pytest.mark.parametrize("path", ["/slow-headers.jpg", "/slow-body.jpg"])
def test_snapshot_timeout(server: str, path: str) -> None:
    camera = SnapshotCamera(f"{server}{path}", timeout_s=0.2)

    started = time.monotonic()
    with pytest.raises(DriverError, match=r"timed out after 0\.2 s"):
        camera.capture()
    assert time.monotonic() - started < 0.9


def test_snapshot_truncated_body(server: str) -> None:
    camera = SnapshotCamera(f"{server}/truncated.jpg")

    half = len(SnapshotHandler.jpeg) // 2
    with pytest.raises(
        DriverError,
        match=rf"truncated\.jpg ended after {half} of {len(SnapshotHandler.jpeg)} bytes",
    ):
        camera.capture()


def test_snapshot_hang_up(server: str) -> None:
    camera = SnapshotCamera(f"{server}/hang-up.jpg")

    with pytest.raises(DriverError, match=r"hang-up\.jpg failed: RemoteDisconnected"):
        camera.capture()


def test_snapshot_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    camera = SnapshotCamera("http://camera.invalid/snap.jpg", timeout_s=0.5)

    def time_out(request: Any, timeout: float) -> None:
        raise urllib.error.URLError(TimeoutError("timed out"))

    monkeypatch.setattr(camera._opener, "open", time_out)

    with pytest.raises(DriverError, match=r"snap\.jpg timed out after 0\.5 s"):
        camera.capture()


def test_snapshot_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    camera = SnapshotCamera(f"http://127.0.0.1:{port}/snap.jpg", timeout_s=1.0)

    with pytest.raises(DriverError, match="is unreachable"):
        camera.capture()


def test_snapshot_too_large(monkeypatch: pytest.MonkeyPatch, server: str) -> None:
    monkeypatch.setattr(camera_module, "MAX_SNAPSHOT_BYTES", 100)

    with pytest.raises(DriverError, match="is over 100 bytes"):
        SnapshotCamera(f"{server}/snap.jpg").capture()


def test_snapshot_basic_auth(server: str) -> None:
    camera = SnapshotCamera(f"{server}/private.jpg", auth=("viewer", "s3cret"))

    assert camera.capture().shape == (24, 32, 3)


def test_snapshot_wrong_password(server: str) -> None:
    camera = SnapshotCamera(f"{server}/private.jpg", auth=("viewer", "wrong"))

    with pytest.raises(DriverError, match="HTTP 401") as caught:
        camera.capture()
    assert "wrong" not in str(caught.value)


def test_snapshot_credentials_in_the_url(server: str) -> None:
    host = server.removeprefix("http://")
    camera = SnapshotCamera(f"http://viewer:s3cret@{host}/private.jpg")

    assert camera.capture().shape == (24, 32, 3)
    assert camera.url == f"{server}/private.jpg"
    assert camera.auth == ("viewer", "s3cret")


def test_snapshot_auth_argument_wins_over_the_url() -> None:
    camera = SnapshotCamera("http://old:creds@cam/snap.jpg", auth=("viewer", "new"))

    assert camera.auth == ("viewer", "new")
    assert camera.url == "http://cam/snap.jpg"


def test_snapshot_errors_hide_credentials(server: str) -> None:
    host = server.removeprefix("http://")
    camera = SnapshotCamera(f"http://viewer:s3cret@{host}/gone.jpg?token=abc")

    with pytest.raises(DriverError, match="HTTP 404") as caught:
        camera.capture()
    assert "s3cret" not in str(caught.value)
    assert "abc" not in str(caught.value)
    assert SnapshotHandler.requests[-1] == "/gone.jpg?token=abc"


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("ftp://camera/snap.jpg", {}, "must be http:// or https://"),
        ("http:///snap.jpg", {}, "with a host"),
        ("http://camera/snap.jpg", {"timeout_s": 0}, "timeout must be positive"),
    ],
)
def test_snapshot_rejects_bad_settings(
    url: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SnapshotCamera(url, **options)


def test_redact_url_keeps_host_port_and_path() -> None:
    url = "https://admin:pw@cam.local:8443/cgi-bin/snap.cgi?user=admin&pwd=pw"

    assert redact_url(url) == "https://cam.local:8443/cgi-bin/snap.cgi"
    assert redact_url(url, keep_query=True) == (
        "https://cam.local:8443/cgi-bin/snap.cgi?user=admin&pwd=pw"
    )
