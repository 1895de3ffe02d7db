"""Cameras: the Pi's own through picamera2, or any IP camera's JPEG snapshot URL."""

from __future__ import annotations

import http.client
import io
import logging
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
from PIL import Image, UnidentifiedImageError

from node.hardware.base import Camera, DriverError, DriverUnavailableError, RGBImage

_LOGGER = logging.getLogger(__name__)

PICAMERA2_HINT = (
    "picamera2 is missing: on Raspberry Pi OS install python3-picamera2 "
    "(sudo apt install python3-picamera2) and create the virtual environment "
    "with --system-site-packages"
)
MAX_SNAPSHOT_BYTES = 20 * 1024 * 1024


class PiCamera(Camera):
    """A Raspberry Pi camera module, taking RGB stills through picamera2."""

    model = "picamera2"

    def __init__(self, *, width: int = 640, height: int = 480) -> None:
        """Take stills of this size."""
        if width <= 0 or height <= 0:
            msg = f"camera size must be positive, not {width}x{height}"
            raise ValueError(msg)
        self.width = width
        self.height = height
        self._camera: Any = None

    def open(self) -> None:
        """Find the camera, configure stills of our size, and start it."""
        try:
            from picamera2 import Picamera2
        except ImportError as err:
            raise DriverUnavailableError(PICAMERA2_HINT) from err

        if not Picamera2.global_camera_info():
            msg = (
                "no camera found by libcamera: check the ribbon cable, then "
                "rpicam-hello --list-cameras"
            )
            raise DriverUnavailableError(msg)

        try:
            camera = Picamera2()
        except (IndexError, OSError, RuntimeError) as err:
            msg = f"the camera cannot be opened (is another program using it?): {err}"
            raise DriverUnavailableError(msg) from err
        try:
            # libcamera names formats by word order: RGB888 lays bytes out B, G, R.
            config = camera.create_still_configuration(
                main={"size": (self.width, self.height), "format": "RGB888"}
            )
            camera.configure(config)
            camera.start()
        except (OSError, RuntimeError, ValueError) as err:
            camera.close()
            msg = f"the camera cannot take {self.width}x{self.height} stills: {err}"
            raise DriverUnavailableError(msg) from err

        self._camera = camera
        _LOGGER.debug("Pi camera started at %sx%s", self.width, self.height)

    def close(self) -> None:
        """Stop the camera and release it."""
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            camera.stop()
        finally:
            camera.close()

    def capture(self) -> RGBImage:
        """Capture one still as a (height, width, 3) RGB array."""
        if self._camera is None:
            msg = "the Pi camera is not open"
            raise DriverError(msg)

        try:
            frame = self._camera.capture_array("main")
        except (OSError, RuntimeError, TimeoutError) as err:
            msg = f"Pi camera capture failed: {err}"
            raise DriverError(msg) from err

        # Rows can come padded to the stride's alignment; keep the requested width.
        frame = np.asarray(frame)
        if (
            frame.ndim != 3
            or frame.shape[0] != self.height
            or frame.shape[1] < self.width
            or frame.shape[2] < 3
        ):
            expected = (self.height, self.width, 3)
            msg = f"Pi camera gave a {frame.shape} frame, expected {expected}"
            raise DriverError(msg)
        return np.ascontiguousarray(frame[:, : self.width, 2::-1], dtype=np.uint8)


class SnapshotCamera(Camera):
    """An IP camera's snapshot URL, fetched over HTTP and decoded to RGB."""

    model = "snapshot"

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        auth: tuple[str, str] | None = None,
    ) -> None:
        """Fetch `url`, with basic or digest credentials from `auth` or the URL."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            shown = redact_url(url)
            msg = f"snapshot URL must be http:// or https:// with a host: {shown}"
            raise ValueError(msg)
        if parts.username is not None:
            if auth is None:
                auth = (
                    urllib.parse.unquote(parts.username),
                    urllib.parse.unquote(parts.password or ""),
                )
            url = redact_url(url, keep_query=True)
        if timeout_s <= 0:
            msg = f"snapshot timeout must be positive, not {timeout_s} s"
            raise ValueError(msg)
        self.url = url
        self.timeout_s = timeout_s
        self.auth = auth
        self._shown_url = redact_url(url, keep_query=False)
        self._opener = build_opener(url, auth)

    def capture(self) -> RGBImage:
        """Fetch one snapshot and return it as a (height, width, 3) RGB array."""
        body, content_type = self._fetch()
        try:
            with Image.open(io.BytesIO(body)) as image:
                rgb = image.convert("RGB")
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
            msg = (
                f"snapshot {self._shown_url} is not an image "
                f"({content_type or 'no content type'}, {len(body)} bytes): {err}"
            )
            raise DriverError(msg) from err
        return np.asarray(rgb, dtype=np.uint8)

    def _fetch(self) -> tuple[bytes, str]:
        """Return the snapshot's body and content type."""
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self.url, headers={"Accept": "image/jpeg, image/*"}
        )
        where = f"snapshot {self._shown_url}"
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                body = response.read(MAX_SNAPSHOT_BYTES + 1)
                content_type = response.headers.get("Content-Type", "")
                declared = response.headers.get("Content-Length", "")
        except urllib.error.HTTPError as err:
            msg = f"{where} answered HTTP {err.code} {err.reason}"
            raise DriverError(msg) from err
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                msg = f"{where} timed out after {self.timeout_s:g} s"
            else:
                msg = f"{where} is unreachable: {err.reason}"
            raise DriverError(msg) from err
        except TimeoutError as err:
            msg = f"{where} timed out after {self.timeout_s:g} s"
            raise DriverError(msg) from err
        except (OSError, http.client.HTTPException) as err:
            msg = f"{where} failed: {err!r}"
            raise DriverError(msg) from err

        if len(body) > MAX_SNAPSHOT_BYTES:
            msg = f"{where} is over {MAX_SNAPSHOT_BYTES} bytes"
            raise DriverError(msg)
        if declared.isdigit() and len(body) < int(declared):
            msg = f"{where} ended after {len(body)} of {declared} bytes"
            raise DriverError(msg)
        return body, content_type


def build_opener(
    url: str, auth: tuple[str, str] | None
) -> urllib.request.OpenerDirector:
    """Return a URL opener answering basic and digest challenges with `auth`."""
    if auth is None:
        return urllib.request.build_opener()
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    username, password = auth
    passwords.add_password(None, url, username, password)
    return urllib.request.build_opener(
        urllib.request.HTTPBasicAuthHandler(passwords),
        urllib.request.HTTPDigestAuthHandler(passwords),
    )


def redact_url(url: str, *, keep_query: bool = False) -> str:
    """Return the URL without its user name and password, and its query unless kept."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = parts.query if keep_query else ""
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, query, ""))
