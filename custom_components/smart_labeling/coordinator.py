"""Coordinator for Smart Labeling nodes, fed by the node's WebSocket."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api import (
    DriverStatus,
    LabelChange,
    ModelList,
    NodeInfo,
    NodeState,
    Reading,
    Recording,
    Settings,
    SmartLabelingAuthError,
    SmartLabelingClient,
    SmartLabelingConnectionError,
    SmartLabelingError,
    parse_active_models,
)
from .const import (
    CLASSES,
    DOMAIN,
    ENTITY_OPTIONS,
    LOGGER,
    MIN_API_VERSION,
    RECONNECT_MAX_DELAY,
    RECONNECT_MIN_DELAY,
)

SAMPLE_RATE_WINDOW: Final = 20
API_VERSION_ISSUE: Final = "api_version"
MODEL_CLASSES_ISSUE: Final = "model_classes"

type LabelListener = Callable[[LabelChange], None]


@dataclass(frozen=True, kw_only=True)
class SmartLabelingData:
    """What Home Assistant knows about a node."""

    info: NodeInfo
    state: NodeState
    models: ModelList


@dataclass(kw_only=True)
class SmartLabelingRuntimeData:
    """The client and coordinator of one config entry."""

    client: SmartLabelingClient
    coordinator: SmartLabelingCoordinator
    entity_options: dict[str, bool]
    recording_label: str = field(default=CLASSES[0])


type SmartLabelingConfigEntry = ConfigEntry[SmartLabelingRuntimeData]


def entity_options(entry: ConfigEntry[Any]) -> dict[str, bool]:
    """Return which optional entities the user wants for a config entry."""
    return {option: bool(entry.options.get(option, True)) for option in ENTITY_OPTIONS}


def async_check_node_issues(hass: HomeAssistant, info: NodeInfo) -> bool:
    """Raise or clear the repair issues about a node; return whether it is usable."""
    api_supported = info.api_version >= MIN_API_VERSION
    api_issue = f"{API_VERSION_ISSUE}_{info.node_id}"
    if api_supported:
        ir.async_delete_issue(hass, DOMAIN, api_issue)
    else:
        ir.async_create_issue(
            hass,
            DOMAIN,
            api_issue,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="api_version_too_old",
            translation_placeholders={
                "name": info.name,
                "api_version": str(info.api_version),
                "min_api_version": str(MIN_API_VERSION),
            },
        )

    mismatched = [
        (kind, model)
        for kind, model in sorted(info.models.items())
        if set(model.classes) != set(CLASSES)
    ]
    classes_issue = f"{MODEL_CLASSES_ISSUE}_{info.node_id}"
    if not mismatched:
        ir.async_delete_issue(hass, DOMAIN, classes_issue)
    else:
        kind, model = mismatched[0]
        ir.async_create_issue(
            hass,
            DOMAIN,
            classes_issue,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="model_classes_mismatch",
            translation_placeholders={
                "name": info.name,
                "kind": kind,
                "model": f"{model.name} {model.version}",
                "model_classes": ", ".join(model.classes),
                "classes": ", ".join(CLASSES),
            },
        )
    return api_supported


class SmartLabelingCoordinator(DataUpdateCoordinator[SmartLabelingData]):
    """Hold the latest state of a node, pushed over its WebSocket."""

    config_entry: SmartLabelingConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartLabelingConfigEntry,
        client: SmartLabelingClient,
    ) -> None:
        """Prepare the coordinator; no polling, the node pushes."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=None,
        )
        self.client = client
        self.connected = False
        self.reconnect_delay = RECONNECT_MIN_DELAY.total_seconds()
        self._lost = False
        self._label_listeners: list[LabelListener] = []
        self._reading_times: deque[datetime] = deque(maxlen=SAMPLE_RATE_WINDOW)
        self._models_task: asyncio.Task[None] | None = None

    async def _async_update_data(self) -> SmartLabelingData:
        """Fetch the whole picture of the node over HTTP."""
        try:
            info = await self.client.info()
            state = await self.client.state()
            models = await self.client.models()
        except SmartLabelingAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="invalid_auth",
            ) from err
        except SmartLabelingError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="communication_error",
                translation_placeholders={"error": str(err)},
            ) from err
        return SmartLabelingData(info=info, state=state, models=models)

    @callback
    def async_add_label_listener(self, listener: LabelListener) -> CALLBACK_TYPE:
        """Call `listener` on every change of the debounced label."""
        self._label_listeners.append(listener)

        @callback
        def remove_listener() -> None:
            self._label_listeners.remove(listener)

        return remove_listener

    @callback
    def async_start(self) -> None:
        """Start listening to the node in the background."""
        self.config_entry.async_create_background_task(
            self.hass,
            self._async_listen(),
            f"{DOMAIN}_listen_{self.config_entry.entry_id}",
        )
        self.config_entry.async_on_unload(self._async_stop)

    async def _async_stop(self) -> None:
        """Close the WebSocket."""
        await self.client.disconnect()

    async def _async_listen(self) -> None:
        """Listen to the node forever, reconnecting with a growing delay."""
        while True:
            try:
                await self.client.listen(self._async_handle_message)
            except SmartLabelingAuthError as err:
                self._async_set_lost(err)
                self.config_entry.async_start_reauth(self.hass)
                return
            except SmartLabelingError as err:
                self._async_set_lost(err)
            await asyncio.sleep(self.reconnect_delay)
            self.reconnect_delay = min(
                self.reconnect_delay * 2, RECONNECT_MAX_DELAY.total_seconds()
            )

    @callback
    def _async_set_lost(self, err: SmartLabelingError) -> None:
        """Make the entities unavailable, logging the loss once."""
        self.connected = False
        if not self._lost:
            self._lost = True
            LOGGER.info("Connection to %s lost: %s", self.client.url, err)
        self.last_exception = err
        self.last_update_success = False
        self.async_update_listeners()

    @callback
    def _async_handle_message(self, kind: str, data: dict[str, Any]) -> None:
        """Apply one WebSocket message to the data."""
        try:
            self._async_apply_message(kind, data)
        except (KeyError, TypeError, ValueError) as err:
            LOGGER.debug("Ignoring malformed %s message: %r", kind, err)

    @callback
    def _async_apply_message(self, kind: str, data: dict[str, Any]) -> None:
        """Apply one message, raising on malformed data."""
        if kind == "hello":
            self._async_hello(NodeInfo.from_dict(data["info"]), data["state"])
            return
        info = self.data.info
        state = self.data.state
        match kind:
            case "reading":
                state = self._state_with_reading(Reading.from_dict(data))
            case "label":
                change = LabelChange.from_dict(data)
                state = replace(state, label=change.label_state())
                self._async_publish(replace(self.data, state=state))
                self._async_notify_label(change)
                return
            case "health":
                drivers = {
                    **info.drivers,
                    str(data["driver"]): DriverStatus.from_dict(data),
                }
                info = replace(info, drivers=drivers)
            case "recording":
                state = replace(state, recording=Recording.from_dict(data))
            case "model":
                info = replace(info, models=parse_active_models(data))
                async_check_node_issues(self.hass, info)
                self._async_schedule_models_refresh()
            case "settings":
                info = replace(info, settings=Settings.from_dict(data))
            case _:
                LOGGER.debug("Ignoring message of unknown type %s", kind)
                return
        self._async_publish(replace(self.data, info=info, state=state))

    @callback
    def _async_hello(self, info: NodeInfo, state_data: dict[str, Any]) -> None:
        """Take the whole picture the node sends when a connection opens."""
        state = NodeState.from_dict(state_data)
        previous = self.data
        self.connected = True
        self.reconnect_delay = RECONNECT_MIN_DELAY.total_seconds()
        if self._lost:
            self._lost = False
            LOGGER.info("Connection to %s restored", self.client.url)
        self._reading_times.clear()
        async_check_node_issues(self.hass, info)
        if info.software_version != previous.info.software_version:
            self._async_update_device(info)
        self._async_publish(replace(previous, info=info, state=state))
        if previous.state.label.label != state.label.label:
            self._async_notify_label(
                LabelChange(
                    old=previous.state.label.label,
                    new=state.label.label,
                    confidence=state.label.confidence,
                    source=state.label.source,
                    time=state.label.since,
                )
            )
        self._async_schedule_models_refresh()

    @callback
    def _async_update_device(self, info: NodeInfo) -> None:
        """Record the node's new software version on its device."""
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id,
            identifiers={(DOMAIN, info.node_id)},
            sw_version=info.software_version,
        )

    def _state_with_reading(self, reading: Reading) -> NodeState:
        """Return the state with a new reading and updated statistics."""
        if reading.time is not None:
            self._reading_times.append(reading.time)
        stats = self.data.state.stats
        if reading.prediction is not None:
            stats = replace(stats, inference_ms=reading.prediction.inference_ms)
        stats = replace(
            stats,
            sample_rate_hz=self._measured_sample_rate() or stats.sample_rate_hz,
            readings_total=stats.readings_total + 1,
        )
        return replace(self.data.state, reading=reading, stats=stats)

    def _measured_sample_rate(self) -> float | None:
        """Return the readings per second over the last few readings."""
        if len(self._reading_times) < 2:
            return None
        span = (self._reading_times[-1] - self._reading_times[0]).total_seconds()
        if span <= 0:
            return None
        return (len(self._reading_times) - 1) / span

    @callback
    def _async_publish(self, data: SmartLabelingData) -> None:
        """Store new data; tell the entities only while the node is connected."""
        if self.connected:
            self.async_set_updated_data(data)
        else:
            self.data = data

    @callback
    def _async_notify_label(self, change: LabelChange) -> None:
        for listener in list(self._label_listeners):
            listener(change)

    @callback
    def _async_schedule_models_refresh(self) -> None:
        """Fetch the list of model bundles again, in the background."""
        if self._models_task is not None and not self._models_task.done():
            return
        self._models_task = self.config_entry.async_create_background_task(
            self.hass,
            self._async_refresh_models(),
            f"{DOMAIN}_models_{self.config_entry.entry_id}",
        )

    async def _async_refresh_models(self) -> None:
        try:
            models = await self.client.models()
        except SmartLabelingConnectionError as err:
            LOGGER.debug("Cannot fetch the model list: %s", err)
            return
        except SmartLabelingError as err:
            LOGGER.debug("The node rejected the model list request: %s", err)
            return
        self._async_publish(replace(self.data, models=models))

    async def async_refresh_models(self) -> None:
        """Fetch the list of model bundles again, now."""
        await self._async_refresh_models()
