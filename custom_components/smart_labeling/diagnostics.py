"""Diagnostics support for Smart Labeling."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant

from .api import as_dict
from .coordinator import SmartLabelingConfigEntry

TO_REDACT = {CONF_TOKEN}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmartLabelingConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    coordinator = entry.runtime_data.coordinator
    return {
        "entry": {
            "data": async_redact_data(entry.data, TO_REDACT),
            "options": dict(entry.options),
        },
        "connected": coordinator.connected,
        "info": as_dict(coordinator.data.info),
        "state": as_dict(coordinator.data.state),
        "models": as_dict(coordinator.data.models),
    }
