"""Actions of the Smart Labeling integration, to grow the dataset."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_DURATION,
    ATTR_KIND,
    ATTR_LABEL,
    ATTR_NOTE,
    DOMAIN,
    MODEL_KINDS,
)
from .coordinator import SmartLabelingConfigEntry
from .helpers import async_call_node

SERVICE_CAPTURE_SAMPLE: Final = "capture_sample"
SERVICE_START_RECORDING: Final = "start_recording"
SERVICE_STOP_RECORDING: Final = "stop_recording"
SERVICE_ROLLBACK_MODEL: Final = "rollback_model"

MIN_DURATION: Final = timedelta(seconds=1)
MAX_DURATION: Final = timedelta(days=1)

SCHEMA_ENTRY: Final = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
SCHEMA_CAPTURE_SAMPLE: Final = SCHEMA_ENTRY.extend(
    {
        vol.Required(ATTR_LABEL): cv.string,
        vol.Optional(ATTR_NOTE): cv.string,
    }
)
SCHEMA_START_RECORDING: Final = SCHEMA_ENTRY.extend(
    {
        vol.Required(ATTR_LABEL): cv.string,
        vol.Optional(ATTR_DURATION): cv.time_period,
    }
)
SCHEMA_ROLLBACK_MODEL: Final = SCHEMA_ENTRY.extend(
    {vol.Required(ATTR_KIND): vol.In(MODEL_KINDS)}
)


def _loaded_entry(hass: HomeAssistant, call: ServiceCall) -> SmartLabelingConfigEntry:
    """Return the loaded config entry the action is meant for."""
    entry_id: str = call.data[ATTR_CONFIG_ENTRY_ID]
    entry: SmartLabelingConfigEntry | None = hass.config_entries.async_get_entry(
        entry_id
    )
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


def _checked_label(entry: SmartLabelingConfigEntry, call: ServiceCall) -> str:
    """Return the label of the action, which must be one of the node's classes."""
    label: str = call.data[ATTR_LABEL]
    classes = entry.runtime_data.coordinator.data.info.classes
    if label not in classes:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_label",
            translation_placeholders={"label": label, "labels": ", ".join(classes)},
        )
    return label


async def _async_capture_sample(call: ServiceCall) -> ServiceResponse:
    """Store the latest reading with a true label; answer what was stored."""
    entry = _loaded_entry(call.hass, call)
    label = _checked_label(entry, call)
    sample = await async_call_node(
        call.hass,
        entry,
        entry.runtime_data.client.capture_sample(label, note=call.data.get(ATTR_NOTE)),
    )
    return {
        "sample_id": sample.sample_id,
        "session_id": sample.session_id,
        "label": sample.label,
        "frame": sample.frame,
    }


async def _async_start_recording(call: ServiceCall) -> None:
    """Start storing every reading with a true label."""
    entry = _loaded_entry(call.hass, call)
    label = _checked_label(entry, call)
    duration: timedelta | None = call.data.get(ATTR_DURATION)
    if duration is not None and not MIN_DURATION <= duration <= MAX_DURATION:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_duration",
            translation_placeholders={"duration": str(duration)},
        )
    await async_call_node(
        call.hass,
        entry,
        entry.runtime_data.client.start_recording(
            label,
            duration_s=None if duration is None else duration.total_seconds(),
        ),
    )
    entry.runtime_data.recording_label = label


async def _async_stop_recording(call: ServiceCall) -> None:
    """Stop the running recording."""
    entry = _loaded_entry(call.hass, call)
    await async_call_node(call.hass, entry, entry.runtime_data.client.stop_recording())


async def _async_rollback_model(call: ServiceCall) -> None:
    """Go back to the previously active model of one kind."""
    entry = _loaded_entry(call.hass, call)
    await async_call_node(
        call.hass, entry, entry.runtime_data.client.rollback_model(call.data[ATTR_KIND])
    )
    await entry.runtime_data.coordinator.async_refresh_models()


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions of the integration."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_CAPTURE_SAMPLE,
        _async_capture_sample,
        SCHEMA_CAPTURE_SAMPLE,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_START_RECORDING, _async_start_recording, SCHEMA_START_RECORDING
    )
    hass.services.async_register(
        DOMAIN, SERVICE_STOP_RECORDING, _async_stop_recording, SCHEMA_ENTRY
    )
    hass.services.async_register(
        DOMAIN, SERVICE_ROLLBACK_MODEL, _async_rollback_model, SCHEMA_ROLLBACK_MODEL
    )
