"""A small blocking client for the node's HTTP API (`docs/api.md`), for the Live page."""

from __future__ import annotations

import json
import logging
from typing import Any, Final
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from node.const import DEFAULT_PORT

_LOGGER = logging.getLogger(__name__)

DEFAULT_ADDRESS: Final = f"http://127.0.0.1:{DEFAULT_PORT}"
REQUEST_TIMEOUT_S: Final = 3.0


class NodeError(RuntimeError):
    """The node cannot be reached, refused the request or answered nonsense."""


def normalise_address(text: str) -> str:
    """Return a base URL from what a person typed: host, host:port or a URL."""
    address = text.strip().rstrip("/")
    if not address:
        msg = "Enter the node's address, for example 127.0.0.1:8765."
        raise NodeError(msg)
    if "://" not in address:
        address = f"http://{address}"
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"{text!r} is not a node address; use host:port or http://host:port."
        raise NodeError(msg)
    try:
        port = parts.port
    except ValueError as err:
        msg = f"{text!r} has an invalid port."
        raise NodeError(msg) from err
    if port is None:
        address = f"{parts.scheme}://{parts.netloc}:{DEFAULT_PORT}"
    return address.removesuffix("/api")


def _get(address: str, path: str, token: str) -> tuple[bytes, str]:
    request = Request(f"{address}{path}")  # noqa: S310
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        # normalise_address allows only http and https, so no file:// can reach here.
        with urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310
            return response.read(), response.headers.get_content_type()
    except HTTPError as err:
        raise NodeError(_error_message(err)) from err
    except (URLError, TimeoutError, OSError) as err:
        reason = getattr(err, "reason", err)
        msg = f"Cannot reach the node at {address}: {reason}."
        raise NodeError(msg) from err


def _error_message(err: HTTPError) -> str:
    """Return the node's own error message, or the HTTP status when it sent none."""
    try:
        body = json.loads(err.read())
        error = body["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"The node answered HTTP {err.code} {err.reason}."
    if code in ("missing_token", "invalid_token"):
        return f"The node refused the token ({code}): {message}."
    return f"The node answered {err.code} {code}: {message}."


def fetch_state(address: str, token: str) -> dict[str, Any]:
    """Return the node's current state (`GET /api/state`)."""
    body, _ = _get(address, "/api/state", token)
    try:
        state = json.loads(body)
    except ValueError as err:
        msg = f"The node at {address} sent a state that is not JSON."
        raise NodeError(msg) from err
    if not isinstance(state, dict):
        msg = f"The node at {address} sent a state that is not a JSON object."
        raise NodeError(msg)
    return state


def fetch_frame(address: str, token: str) -> bytes | None:
    """Return the latest camera frame as JPEG, or None when the node has none."""
    try:
        body, content_type = _get(address, "/api/frame.jpg", token)
    except NodeError as err:
        cause = err.__cause__
        if isinstance(cause, HTTPError) and cause.code == 404:
            return None
        raise
    if content_type != "image/jpeg":
        _LOGGER.debug("Frame from %s came as %s", address, content_type)
        return None
    return body
