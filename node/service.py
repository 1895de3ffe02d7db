"""The node service: reads the hardware, labels in real time, records and publishes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import io
import logging
import secrets
from typing import Any, Final, TypeVar

import numpy as np
from PIL import Image

from . import __version__
from .bundle import BundleError
from .classifier import Classification, Classifier
from .const import API_VERSION, CLASSES, DERIVED_FEATURES
from .features import FeatureWindow
from .hardware.base import Camera, Driver, DriverError, Hardware, RGBImage
from .labeler import Debouncer, LabelChange
from .models import ModelEntry, ModelManager
from .settings import NodeSettings
from .simulation import Scene
from .store import DatasetStore, ReadingRecord

_LOGGER = logging.getLogger(__name__)

_T = TypeVar("_T")

SUBSCRIBER_QUEUE_SIZE: Final = 256


class NodeError(Exception):
    """A request the node cannot carry out; the message says why."""


class ConflictError(NodeError):
    """A request conflicts with what the node is doing."""


@dataclass(slots=True)
class DriverHealth:
    """How a driver is doing."""

    model: str
    status: str = "ok"
    error: str | None = None
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        """Return the health as the API shows it."""
        return {
            "model": self.model,
            "status": self.status,
            "error": self.error,
            "since": self.since.isoformat(),
        }


@dataclass(slots=True)
class Recording:
    """A pre-labeling session in progress."""

    label: str
    session_id: int
    until: datetime | None
    samples: int = 0


@dataclass(slots=True)
class Stats:
    """Running figures about the labeler loop."""

    readings_total: int = 0
    sample_rate_hz: float = 0.0
    inference_ms: float = 0.0
    last_reading_at: float | None = None


def measured_values(hardware: Hardware) -> list[str]:
    """Return the reading names this hardware delivers."""
    names: list[str] = []
    if hardware.light is not None:
        names += hardware.light.measures
    if hardware.temperature is not None:
        names.append("temperature")
    if hardware.distance is not None:
        names.append("distance")
    return names


class Node:
    """Reads sensors and camera, classifies, debounces, records and notifies."""

    def __init__(
        self,
        settings: NodeSettings,
        hardware: Hardware,
        store: DatasetStore,
        *,
        node_id: str,
        scene: Scene | None = None,
    ) -> None:
        """Wire the parts together; nothing runs until start()."""
        self.settings = settings
        self.hardware = hardware
        self.store = store
        self.node_id = node_id
        self.scene = scene
        self.classifier = Classifier(CLASSES)
        readings = measured_values(hardware)
        self.models = ModelManager(
            self.classifier,
            store,
            defaults_dir=settings.storage.models_dir,
            uploads_dir=settings.storage.data_dir / "models",
            available_features={*readings, *DERIVED_FEATURES},
        )
        self.readings = readings
        labeler = settings.labeler
        self.debouncer = Debouncer(labeler.confidence_threshold, labeler.debounce)
        self.health: dict[str, DriverHealth] = {
            driver.kind: DriverHealth(driver.model) for driver in hardware.drivers()
        }
        self.stats = Stats()
        self.recording: Recording | None = None
        self.latest_reading: dict[str, Any] | None = None
        self.frame: RGBImage | None = None
        self.frame_jpeg: bytes | None = None
        self._frame_time: float | None = None
        self._frame_stored_time: float | None = None
        self._window = FeatureWindow()
        self._samples_session: int | None = None
        self._realtime_session: int | None = None
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._hardware_executor = ThreadPoolExecutor(1, "node-hardware")
        self._camera_executor = ThreadPoolExecutor(1, "node-camera")
        self._store_executor = ThreadPoolExecutor(1, "node-store")

    async def _in_hardware(self, function: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._hardware_executor, function, *args)

    async def _in_store(self, function: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store_executor, function, *args)

    async def start(self) -> None:
        """Open the drivers, load the models and start the loops."""
        for driver in self.hardware.drivers():
            try:
                await self._in_hardware(driver.open)
            except DriverError as err:
                _LOGGER.error(  # noqa: TRY400
                    "%s %s unavailable: %s", driver.kind, driver.model, err
                )
                self._set_health(driver, "failed", str(err))

        stored = await self._in_store(self.store.get_setting, "labeler")
        if isinstance(stored, dict):
            self.debouncer.confidence_threshold = float(
                stored.get("confidence_threshold", self.debouncer.confidence_threshold)
            )
            self.debouncer.debounce = int(
                stored.get("debounce", self.debouncer.debounce)
            )
        await self._in_hardware(self.models.load_active)
        if self.settings.labeler.record_realtime:
            self._realtime_session = await self._in_store(
                self.store.start_session, "realtime"
            )

        self._tasks = [asyncio.create_task(self._sensor_loop(), name="node-sensors")]
        if self.hardware.camera is not None:
            self._tasks.append(
                asyncio.create_task(
                    self._camera_loop(self.hardware.camera), name="node-camera"
                )
            )

    async def stop(self) -> None:
        """Stop the loops, close the sessions and release the hardware."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for session_id in (
            self.recording.session_id if self.recording else None,
            self._samples_session,
            self._realtime_session,
        ):
            if session_id is not None:
                await self._in_store(self.store.end_session, session_id)
        self.recording = None
        for driver in self.hardware.drivers():
            await self._in_hardware(driver.close)
        for executor in (
            self._hardware_executor,
            self._camera_executor,
            self._store_executor,
        ):
            executor.shutdown(wait=True)

    # Subscribers

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        """Return a queue of every message the node publishes; None ends it."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(
            SUBSCRIBER_QUEUE_SIZE
        )
        self._subscribers.add(queue)
        return queue

    @property
    def subscribers(self) -> int:
        """Return how many subscribers are listening."""
        return len(self._subscribers)

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        """Stop sending messages to a queue."""
        self._subscribers.discard(queue)

    def publish(self, message_type: str, data: Any) -> None:
        """Send a message to every subscriber; a subscriber too slow to keep up is dropped."""
        message = {"type": message_type, "data": data}
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                _LOGGER.warning("Dropping a subscriber that stopped reading")
                self._subscribers.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)

    # Loops

    async def _sensor_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.settings.labeler.sample_rate_hz
        next_time = loop.time()
        while True:
            try:
                await self.tick()
            except Exception:
                _LOGGER.exception("Reading failed")
            next_time += interval
            delay = next_time - loop.time()
            if delay < 0:
                next_time = loop.time()
                delay = 0
            await asyncio.sleep(delay)

    async def _camera_loop(self, camera: Camera) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.settings.labeler.camera_rate_hz
        while True:
            started = loop.time()
            if self.health["camera"].status != "failed":
                try:
                    frame, jpeg = await loop.run_in_executor(
                        self._camera_executor, _capture_jpeg, camera
                    )
                except DriverError as err:
                    self._set_health(camera, "degraded", str(err))
                else:
                    self.frame, self.frame_jpeg = frame, jpeg
                    self._frame_time = loop.time()
                    self._set_health(camera, "ok", None)
            await asyncio.sleep(max(interval - (loop.time() - started), 0.01))

    def _read_sensors(self) -> tuple[dict[str, float], bool, dict[str, str | None]]:
        values: dict[str, float] = {}
        saturated = False
        outcomes: dict[str, str | None] = {}
        hardware = self.hardware
        for driver in (hardware.light, hardware.temperature, hardware.distance):
            if driver is None or self.health[driver.kind].status == "failed":
                continue
            try:
                if driver is hardware.light:
                    light = hardware.light.read()
                    values.update(light.values())
                    saturated = light.saturated
                elif driver is hardware.temperature:
                    values["temperature"] = hardware.temperature.read()
                elif driver is hardware.distance:
                    values["distance"] = hardware.distance.read()
            except DriverError as err:
                outcomes[driver.kind] = str(err)
            else:
                outcomes[driver.kind] = None
        return values, saturated, outcomes

    def _fresh_frame(self) -> RGBImage | None:
        if self._frame_time is None:
            return None
        max_age = 2.5 / self.settings.labeler.camera_rate_hz
        if asyncio.get_running_loop().time() - self._frame_time > max_age:
            return None
        return self.frame

    async def tick(self) -> dict[str, Any]:
        """Take one reading, classify it, update the label, record and publish it."""
        loop = asyncio.get_running_loop()
        now = datetime.now(UTC)
        values, saturated, outcomes = await self._in_hardware(self._read_sensors)
        for kind, error in outcomes.items():
            driver = getattr(self.hardware, kind)
            self._set_health(driver, "degraded" if error else "ok", error)

        features = self._window.update(values)
        frame = self._fresh_frame()
        classification: Classification = await self._in_hardware(
            self.classifier.classify, features, frame
        )
        change = self.debouncer.update(classification.final, now)

        self._update_stats(loop.time(), classification)
        prediction = classification.final
        reading = {
            "id": self.stats.readings_total,
            "time": now.isoformat(),
            "values": {name: round(value, 4) for name, value in values.items()},
            "saturated": saturated,
            "prediction": prediction.to_dict() if prediction else None,
        }
        self.latest_reading = reading
        self.publish("reading", reading)
        if change is not None:
            self._announce(change)

        await self._record(now, values, saturated, classification)
        return reading

    def _update_stats(self, now: float, classification: Classification) -> None:
        stats = self.stats
        stats.readings_total += 1
        if stats.last_reading_at is not None:
            interval = now - stats.last_reading_at
            if interval > 0:
                rate = 1.0 / interval
                stats.sample_rate_hz = (
                    rate
                    if stats.sample_rate_hz == 0
                    else 0.8 * stats.sample_rate_hz + 0.2 * rate
                )
        stats.last_reading_at = now
        if classification.final is not None:
            stats.inference_ms = classification.final.inference_ms

    def _announce(self, change: LabelChange) -> None:
        _LOGGER.info("Label %s -> %s", change.old, change.new)
        self.publish(
            "label",
            {
                "old": change.old,
                "new": change.new,
                "confidence": round(change.confidence, 4),
                "source": change.source,
                "time": change.time.isoformat(),
            },
        )

    def set_driver_failed(self, driver: Driver, error: str) -> None:
        """Stop using a driver that cannot work, saying why."""
        self._set_health(driver, "failed", error)

    def _set_health(self, driver: Driver, status: str, error: str | None) -> None:
        health = self.health[driver.kind]
        if health.status == status and health.error == error:
            return
        if status == "ok" and health.status == "ok":
            return
        health.status, health.error, health.since = status, error, datetime.now(UTC)
        if status == "ok":
            _LOGGER.info("%s %s is back", driver.kind, driver.model)
        else:
            _LOGGER.warning("%s %s is %s: %s", driver.kind, driver.model, status, error)
        self.publish("health", {"driver": driver.kind, **health.to_dict()})

    # Recording

    async def _record(
        self,
        now: datetime,
        values: dict[str, float],
        saturated: bool,
        classification: Classification,
    ) -> None:
        recording = self.recording
        if (
            recording is not None
            and recording.until is not None
            and now >= recording.until
        ):
            await self.stop_recording()
            recording = None

        record = self._record_for(now, values, saturated, classification)
        if recording is not None:
            record = replace(record, true_label=recording.label, labelled_by="pre")
            session_id = recording.session_id
        elif self._realtime_session is not None:
            record = replace(record, labelled_by="realtime")
            session_id = self._realtime_session
        else:
            return
        await self._in_store(
            self.store.add_reading, session_id, record, self._unstored_frame()
        )
        if recording is not None:
            recording.samples += 1

    def _record_for(
        self,
        now: datetime,
        values: dict[str, float],
        saturated: bool,
        classification: Classification,
    ) -> ReadingRecord:
        final, sensors, camera = (
            classification.final,
            classification.sensors,
            classification.camera,
        )
        return ReadingRecord(
            time=now,
            values=values,
            saturated=saturated,
            predicted_label=final.label if final else None,
            confidence=final.confidence if final else None,
            probabilities=final.probabilities if final else None,
            source=final.source if final else None,
            model_version=final.model_version if final else None,
            sensor_label=sensors.label if sensors else None,
            sensor_confidence=sensors.confidence if sensors else None,
            camera_label=camera.label if camera else None,
            camera_confidence=camera.confidence if camera else None,
        )

    def _unstored_frame(self) -> bytes | None:
        """Return the latest frame if no stored reading has it yet."""
        if self._frame_time is None or self._frame_time == self._frame_stored_time:
            return None
        self._frame_stored_time = self._frame_time
        return self.frame_jpeg

    def check_label(self, label: Any) -> str:
        """Return a valid class name, or raise ValueError naming the valid ones."""
        if label not in CLASSES:
            msg = f"label {label!r} is not one of {', '.join(CLASSES)}"
            raise ValueError(msg)
        return str(label)

    async def start_recording(
        self, label: str, duration_s: float | None
    ) -> dict[str, Any]:
        """Store every reading with this true label, for a while or until stopped."""
        label = self.check_label(label)
        now = datetime.now(UTC)
        until = now + timedelta(seconds=duration_s) if duration_s else None
        if self.recording is not None:
            if self.recording.label != label:
                msg = f"already recording {self.recording.label}; stop it first"
                raise ConflictError(msg)
            self.recording.until = until
        else:
            session_id = await self._in_store(self.store.start_session, "pre", label)
            self.recording = Recording(label, session_id, until)
            _LOGGER.info("Recording %s", label)
        state = self.recording_state()
        self.publish("recording", state)
        return state

    async def stop_recording(self) -> dict[str, Any]:
        """Stop pre-labeling."""
        if self.recording is not None:
            await self._in_store(self.store.end_session, self.recording.session_id)
            _LOGGER.info(
                "Recorded %s samples of %s",
                self.recording.samples,
                self.recording.label,
            )
            self.recording = None
            self.publish("recording", self.recording_state())
        return self.recording_state()

    async def capture_sample(self, label: str, note: str | None) -> dict[str, Any]:
        """Store the latest reading and frame now, with a true label."""
        label = self.check_label(label)
        if self.latest_reading is None:
            msg = "no reading yet; try again in a moment"
            raise NodeError(msg)
        if self.recording is not None and self.recording.label == label:
            session_id = self.recording.session_id
        else:
            if self._samples_session is None:
                self._samples_session = await self._in_store(
                    self.store.start_session, "pre", None, "samples captured one by one"
                )
            session_id = self._samples_session
        reading = self.latest_reading
        prediction = reading["prediction"] or {}
        record = ReadingRecord(
            time=datetime.fromisoformat(reading["time"]),
            values=dict(reading["values"]),
            saturated=bool(reading["saturated"]),
            predicted_label=prediction.get("label"),
            confidence=prediction.get("confidence"),
            probabilities=prediction.get("probabilities"),
            source=prediction.get("source"),
            model_version=prediction.get("model_version"),
            true_label=label,
            labelled_by="pre",
            note=note,
        )
        frame = self.frame_jpeg
        sample_id = await self._in_store(
            self.store.add_reading, session_id, record, frame
        )
        return {
            "sample_id": sample_id,
            "session_id": session_id,
            "label": label,
            "frame": frame is not None,
        }

    # Settings and models

    async def update_settings(
        self, confidence_threshold: float | None, debounce: int | None
    ) -> dict[str, Any]:
        """Change how predictions become a label, and keep the change."""
        if confidence_threshold is not None:
            self.debouncer.confidence_threshold = confidence_threshold
        if debounce is not None:
            self.debouncer.debounce = debounce
        await self._in_store(
            self.store.set_setting,
            "labeler",
            {
                "confidence_threshold": self.debouncer.confidence_threshold,
                "debounce": self.debouncer.debounce,
            },
        )
        settings = self.settings_state()
        self.publish("settings", settings)
        return settings

    async def install_model(
        self, model_bytes: bytes, metadata_bytes: bytes
    ) -> dict[str, Any]:
        """Install an uploaded bundle and make it active."""
        bundle = await self._in_hardware(
            self.models.install, model_bytes, metadata_bytes
        )
        self.publish("model", self.models.info())
        return ModelEntry(bundle, active=True).to_dict()

    async def activate_model(self, kind: str, version: str) -> dict[str, Any]:
        """Make an installed version active."""
        await self._in_hardware(self.models.activate, kind, version)
        info = self.models.info()
        self.publish("model", info)
        return info

    async def rollback_model(self, kind: str) -> dict[str, Any]:
        """Go back to the previously active version."""
        await self._in_hardware(self.models.rollback, kind)
        info = self.models.info()
        self.publish("model", info)
        return info

    # State

    def settings_state(self) -> dict[str, Any]:
        """Return the settings as the API shows them."""
        return {
            "confidence_threshold": self.debouncer.confidence_threshold,
            "debounce": self.debouncer.debounce,
            "sample_rate_hz": self.settings.labeler.sample_rate_hz,
            "camera_rate_hz": self.settings.labeler.camera_rate_hz,
        }

    def recording_state(self) -> dict[str, Any]:
        """Return the recording as the API shows it."""
        recording = self.recording
        return {
            "active": recording is not None,
            "label": recording.label if recording else None,
            "session_id": recording.session_id if recording else None,
            "until": recording.until.isoformat()
            if recording and recording.until
            else None,
            "samples": recording.samples if recording else 0,
        }

    def info(self) -> dict[str, Any]:
        """Return what the node is, has and runs."""
        return {
            "node_id": self.node_id,
            "name": self.settings.name,
            "api_version": API_VERSION,
            "software_version": __version__,
            "simulated": self.settings.simulation.enabled,
            "classes": list(CLASSES),
            "readings": list(self.readings),
            "camera": self.hardware.camera is not None,
            "drivers": {kind: health.to_dict() for kind, health in self.health.items()},
            "models": self.models.info(),
            "settings": self.settings_state(),
        }

    def state(self) -> dict[str, Any]:
        """Return the latest reading, the label and the recording."""
        return {
            "reading": self.latest_reading,
            "label": self.debouncer.to_dict(),
            "recording": self.recording_state(),
            "stats": {
                "sample_rate_hz": round(self.stats.sample_rate_hz, 3),
                "inference_ms": round(self.stats.inference_ms, 3),
                "readings_total": self.stats.readings_total,
            },
        }


def _capture_jpeg(camera: Camera) -> tuple[RGBImage, bytes]:
    frame = camera.capture()
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame)).save(buffer, format="JPEG", quality=85)
    return frame, buffer.getvalue()


def new_token() -> str:
    """Return a fresh API token."""
    return secrets.token_urlsafe(32)


__all__ = ["BundleError", "ConflictError", "Node", "NodeError", "new_token"]
