"""Asynchronous client for the HTTP and WebSocket API of a Smart Labeling node."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
import json
import socket
from typing import Any, Final, Self

import aiohttp
from yarl import URL

REQUEST_TIMEOUT: Final = 10.0
WEBSOCKET_HEARTBEAT: Final = 30.0

type MessageCallback = Callable[[str, dict[str, Any]], None]


class SmartLabelingError(Exception):
    """The node answered with an error, or with something that is not the API."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        """Keep the node's error code beside its message."""
        super().__init__(message)
        self.code = code


class SmartLabelingConnectionError(SmartLabelingError):
    """The node cannot be reached, or the connection to it was lost."""


class SmartLabelingAuthError(SmartLabelingError):
    """The node rejected the token."""


def _datetime(value: Any) -> datetime | None:
    """Parse an ISO 8601 time, or return None for a missing one."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value))


def _float(value: Any) -> float | None:
    """Return a number as a float, or None for a missing one."""
    if value is None:
        return None
    return float(value)


@dataclass(frozen=True, kw_only=True)
class DriverStatus:
    """The health of one driver of the node."""

    model: str | None
    status: str
    error: str | None
    since: datetime | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the status from its JSON object."""
        return cls(
            model=data.get("model"),
            status=str(data["status"]),
            error=data.get("error"),
            since=_datetime(data.get("since")),
        )


@dataclass(frozen=True, kw_only=True)
class ModelSummary:
    """The model a node runs for one kind of input."""

    name: str
    version: str
    classes: tuple[str, ...]
    metrics: dict[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the summary from its JSON object."""
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            classes=tuple(data.get("classes") or ()),
            metrics=dict(data.get("metrics") or {}),
        )


def parse_active_models(data: Mapping[str, Any]) -> dict[str, ModelSummary]:
    """Return the active model of each kind that has one."""
    return {
        kind: ModelSummary.from_dict(model)
        for kind, model in data.items()
        if model is not None
    }


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How the node decides on a label and how often it samples."""

    confidence_threshold: float
    debounce: int
    sample_rate_hz: float | None = None
    camera_rate_hz: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the settings from their JSON object."""
        return cls(
            confidence_threshold=float(data["confidence_threshold"]),
            debounce=int(data["debounce"]),
            sample_rate_hz=_float(data.get("sample_rate_hz")),
            camera_rate_hz=_float(data.get("camera_rate_hz")),
        )


@dataclass(frozen=True, kw_only=True)
class NodeInfo:
    """What a node is, what it measures and how it is set up."""

    node_id: str
    name: str
    api_version: int
    software_version: str | None
    simulated: bool
    classes: tuple[str, ...]
    readings: tuple[str, ...]
    camera: bool
    drivers: dict[str, DriverStatus]
    models: dict[str, ModelSummary]
    settings: Settings

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the information from the answer of `GET /api/info`."""
        return cls(
            node_id=str(data["node_id"]),
            name=str(data.get("name") or "Smart Labeling node"),
            api_version=int(data["api_version"]),
            software_version=data.get("software_version"),
            simulated=bool(data.get("simulated", False)),
            classes=tuple(data.get("classes") or ()),
            readings=tuple(data.get("readings") or ()),
            camera=bool(data.get("camera", False)),
            drivers={
                name: DriverStatus.from_dict(driver)
                for name, driver in (data.get("drivers") or {}).items()
            },
            models=parse_active_models(data.get("models") or {}),
            settings=Settings.from_dict(data["settings"]),
        )


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """What the node's models made of one reading."""

    label: str
    confidence: float
    probabilities: dict[str, float]
    source: str | None
    model_version: str | None
    inference_ms: float | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the prediction from its JSON object."""
        return cls(
            label=str(data["label"]),
            confidence=float(data["confidence"]),
            probabilities={
                label: float(value)
                for label, value in (data.get("probabilities") or {}).items()
            },
            source=data.get("source"),
            model_version=data.get("model_version"),
            inference_ms=_float(data.get("inference_ms")),
        )


@dataclass(frozen=True, kw_only=True)
class Reading:
    """One reading of the node's sensors, with its prediction."""

    id: int
    time: datetime | None
    values: dict[str, float]
    saturated: bool
    prediction: Prediction | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the reading from its JSON object."""
        prediction = data.get("prediction")
        return cls(
            id=int(data["id"]),
            time=_datetime(data.get("time")),
            values={
                name: float(value)
                for name, value in (data.get("values") or {}).items()
                if value is not None
            },
            saturated=bool(data.get("saturated", False)),
            prediction=None if prediction is None else Prediction.from_dict(prediction),
        )


@dataclass(frozen=True, kw_only=True)
class LabelState:
    """The debounced label of the node."""

    label: str
    confidence: float | None
    source: str | None
    since: datetime | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the label from its JSON object."""
        return cls(
            label=str(data["label"]),
            confidence=_float(data.get("confidence")),
            source=data.get("source"),
            since=_datetime(data.get("since")),
        )


@dataclass(frozen=True, kw_only=True)
class Recording:
    """A pre-labelling session, running or not."""

    active: bool
    label: str | None
    session_id: int | None
    until: datetime | None
    samples: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the recording from its JSON object."""
        return cls(
            active=bool(data["active"]),
            label=data.get("label"),
            session_id=data.get("session_id"),
            until=_datetime(data.get("until")),
            samples=int(data.get("samples") or 0),
        )


@dataclass(frozen=True, kw_only=True)
class Stats:
    """How fast the node samples and infers."""

    sample_rate_hz: float | None
    inference_ms: float | None
    readings_total: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the statistics from their JSON object."""
        return cls(
            sample_rate_hz=_float(data.get("sample_rate_hz")),
            inference_ms=_float(data.get("inference_ms")),
            readings_total=int(data.get("readings_total") or 0),
        )


@dataclass(frozen=True, kw_only=True)
class NodeState:
    """Everything that changes while a node runs."""

    reading: Reading | None
    label: LabelState
    recording: Recording
    stats: Stats

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the state from the answer of `GET /api/state`."""
        reading = data.get("reading")
        return cls(
            reading=None if reading is None else Reading.from_dict(reading),
            label=LabelState.from_dict(data["label"]),
            recording=Recording.from_dict(data["recording"]),
            stats=Stats.from_dict(data.get("stats") or {}),
        )


@dataclass(frozen=True, kw_only=True)
class LabelChange:
    """The debounced label went from one value to another."""

    old: str
    new: str
    confidence: float | None
    source: str | None
    time: datetime | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the change from the data of a `label` message."""
        return cls(
            old=str(data["old"]),
            new=str(data["new"]),
            confidence=_float(data.get("confidence")),
            source=data.get("source"),
            time=_datetime(data.get("time")),
        )

    def label_state(self) -> LabelState:
        """Return the debounced label after this change."""
        return LabelState(
            label=self.new,
            confidence=self.confidence,
            source=self.source,
            since=self.time,
        )


@dataclass(frozen=True, kw_only=True)
class ModelEntry:
    """One model bundle installed on the node."""

    name: str
    version: str
    kind: str
    classes: tuple[str, ...]
    metrics: dict[str, Any]
    created: str | None
    quantization: str | None
    size_bytes: int | None
    active: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the entry from its JSON object."""
        size_bytes = data.get("size_bytes")
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            kind=str(data["kind"]),
            classes=tuple(data.get("classes") or ()),
            metrics=dict(data.get("metrics") or {}),
            created=data.get("created") or None,
            quantization=data.get("quantization"),
            size_bytes=None if size_bytes is None else int(size_bytes),
            active=bool(data.get("active", False)),
        )


@dataclass(frozen=True, kw_only=True)
class ModelList:
    """Every bundle on the node, newest first, and the active version per kind."""

    models: tuple[ModelEntry, ...] = ()
    active: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the list from the answer of `GET /api/models`."""
        return cls(
            models=tuple(ModelEntry.from_dict(entry) for entry in data["models"]),
            active=dict(data.get("active") or {}),
        )

    def of_kind(self, kind: str) -> tuple[ModelEntry, ...]:
        """Return the bundles for one kind of input, newest first."""
        return tuple(entry for entry in self.models if entry.kind == kind)


@dataclass(frozen=True, kw_only=True)
class Sample:
    """A labelled sample the node stored."""

    sample_id: int
    session_id: int | None
    label: str
    frame: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build the sample from the answer of `POST /api/samples`."""
        return cls(
            sample_id=int(data["sample_id"]),
            session_id=data.get("session_id"),
            label=str(data["label"]),
            frame=bool(data.get("frame", False)),
        )


def as_dict(value: Any) -> dict[str, Any]:
    """Return one of the API's dataclasses as plain JSON-ready data."""
    data: dict[str, Any] = json.loads(json.dumps(asdict(value), default=str))
    return data


def _error_from_body(status: int, body: Any) -> SmartLabelingError:
    """Map an error answer of the node onto the matching exception."""
    code: str | None = None
    message = f"the node answered with HTTP status {status}"
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        message = str(body["error"].get("message") or message)
    if status == 401:
        return SmartLabelingAuthError(message, code=code)
    return SmartLabelingError(message, code=code)


class SmartLabelingClient:
    """Talk to one node over its HTTP API, and listen to its WebSocket."""

    def __init__(
        self,
        host: str,
        port: int,
        token: str | None,
        *,
        session: aiohttp.ClientSession,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        """Address a node; the session is shared and never closed here."""
        self.host = host
        self.port = port
        self.token = token
        self.session = session
        self.request_timeout = request_timeout
        self._websocket: aiohttp.ClientWebSocketResponse | None = None

    @property
    def url(self) -> URL:
        """Return the base address of the node."""
        return URL.build(scheme="http", host=self.host, port=self.port)

    @property
    def connected(self) -> bool:
        """Return whether the WebSocket is open."""
        return self._websocket is not None and not self._websocket.closed

    def _headers(self) -> dict[str, str]:
        if self.token is None:
            return {}
        return {"Authorization": f"Bearer {self.token}"}

    async def _request(
        self, method: str, path: str, *, json_body: Any = None
    ) -> aiohttp.ClientResponse:
        """Send one request and return the successful response, read."""
        try:
            async with asyncio.timeout(self.request_timeout):
                response = await self.session.request(
                    method,
                    self.url.with_path(path),
                    headers=self._headers(),
                    json=json_body,
                )
                await response.read()
        except TimeoutError as err:
            msg = f"timeout while talking to {self.url}"
            raise SmartLabelingConnectionError(msg) from err
        except (aiohttp.ClientError, socket.gaierror) as err:
            msg = f"cannot talk to {self.url}: {err}"
            raise SmartLabelingConnectionError(msg) from err
        if response.status >= 400:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            raise _error_from_body(response.status, body)
        return response

    async def _json(self, method: str, path: str, *, json_body: Any = None) -> Any:
        """Send one request and return its JSON answer."""
        response = await self._request(method, path, json_body=json_body)
        try:
            return await response.json(content_type=None)
        except ValueError as err:
            msg = f"{path} did not answer with JSON"
            raise SmartLabelingError(msg) from err

    async def _json_object(
        self, method: str, path: str, *, json_body: Any = None
    ) -> dict[str, Any]:
        """Send one request and return its answer, which must be a JSON object."""
        body = await self._json(method, path, json_body=json_body)
        if not isinstance(body, dict):
            msg = f"{path} did not answer with a JSON object"
            raise SmartLabelingError(msg)
        return body

    async def _parse[T](
        self,
        parse: Callable[[Mapping[str, Any]], T],
        method: str,
        path: str,
        *,
        json_body: Any = None,
    ) -> T:
        """Send one request and parse its answer, rejecting a malformed one."""
        body = await self._json_object(method, path, json_body=json_body)
        try:
            return parse(body)
        except (KeyError, TypeError, ValueError) as err:
            msg = f"{path} answered with an unexpected object: {err!r}"
            raise SmartLabelingError(msg) from err

    async def info(self) -> NodeInfo:
        """Return what the node is; this needs no token."""
        return await self._parse(NodeInfo.from_dict, "GET", "/api/info")

    async def state(self) -> NodeState:
        """Return the latest reading, label, recording and statistics."""
        return await self._parse(NodeState.from_dict, "GET", "/api/state")

    async def update_settings(
        self,
        *,
        confidence_threshold: float | None = None,
        debounce: int | None = None,
    ) -> Settings:
        """Change how the node decides on a label; return all settings."""
        body: dict[str, Any] = {}
        if confidence_threshold is not None:
            body["confidence_threshold"] = confidence_threshold
        if debounce is not None:
            body["debounce"] = debounce
        return await self._parse(
            Settings.from_dict, "PUT", "/api/settings", json_body=body
        )

    async def start_recording(
        self, label: str, *, duration_s: float | None = None
    ) -> Recording:
        """Store every reading with the given true label, optionally for a while."""
        body: dict[str, Any] = {"label": label}
        if duration_s is not None:
            body["duration_s"] = duration_s
        return await self._parse(
            Recording.from_dict, "POST", "/api/recording", json_body=body
        )

    async def stop_recording(self) -> Recording:
        """Stop the running recording."""
        return await self._parse(Recording.from_dict, "DELETE", "/api/recording")

    async def capture_sample(self, label: str, *, note: str | None = None) -> Sample:
        """Store the latest reading with the given true label."""
        body: dict[str, Any] = {"label": label}
        if note is not None:
            body["note"] = note
        return await self._parse(
            Sample.from_dict, "POST", "/api/samples", json_body=body
        )

    async def frame(self) -> bytes:
        """Return the latest camera frame as JPEG."""
        response = await self._request("GET", "/api/frame.jpg")
        return await response.read()

    async def models(self) -> ModelList:
        """Return every model bundle on the node, newest first."""
        return await self._parse(ModelList.from_dict, "GET", "/api/models")

    async def activate_model(self, kind: str, version: str) -> None:
        """Make an installed model version the active one."""
        await self._request("POST", f"/api/models/{kind}/{version}/activate")

    async def rollback_model(self, kind: str) -> None:
        """Go back to the previously active model of one kind."""
        await self._request("POST", f"/api/models/{kind}/rollback")

    async def listen(self, on_message: MessageCallback) -> None:
        """Pass every WebSocket message to `on_message` until the connection ends.

        Always ends with an exception: the connection error when the node goes
        away, the authentication error when it rejects the token.
        """
        try:
            async with asyncio.timeout(self.request_timeout):
                websocket = await self.session.ws_connect(
                    self.url.with_path("/api/ws"),
                    headers=self._headers(),
                    heartbeat=WEBSOCKET_HEARTBEAT,
                )
        except aiohttp.WSServerHandshakeError as err:
            msg = f"the node refused the WebSocket: {err.status} {err.message}"
            if err.status == 401:
                raise SmartLabelingAuthError(msg) from err
            raise SmartLabelingConnectionError(msg) from err
        except TimeoutError as err:
            msg = f"timeout while connecting to {self.url}"
            raise SmartLabelingConnectionError(msg) from err
        except (aiohttp.ClientError, socket.gaierror) as err:
            msg = f"cannot connect to {self.url}: {err}"
            raise SmartLabelingConnectionError(msg) from err

        self._websocket = websocket
        try:
            async for message in websocket:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    payload = json.loads(message.data)
                    kind = str(payload["type"])
                    data = payload["data"]
                except (KeyError, TypeError, ValueError):
                    continue
                if isinstance(data, dict):
                    on_message(kind, data)
        finally:
            self._websocket = None
            await websocket.close()

        msg = f"the WebSocket of {self.url} closed"
        if websocket.close_code is not None:
            msg = f"{msg} with code {websocket.close_code}"
        raise SmartLabelingConnectionError(msg)

    async def disconnect(self) -> None:
        """Close the WebSocket, if it is open."""
        if self._websocket is not None:
            await self._websocket.close()
