"""Helpers for the Smart Labeling integration."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .api import (
    SmartLabelingAuthError,
    SmartLabelingConnectionError,
    SmartLabelingError,
)
from .const import DOMAIN

if TYPE_CHECKING:
    from .coordinator import SmartLabelingConfigEntry

# Error codes of the node that mean the request itself was wrong.
REJECTED_REQUEST_CODES: Final = frozenset(
    {"conflict", "invalid_request", "not_found", "unknown_label"}
)


def translate_node_error(
    hass: HomeAssistant, entry: SmartLabelingConfigEntry, error: SmartLabelingError
) -> HomeAssistantError:
    """Return the Home Assistant error that tells the user what the node said."""
    if isinstance(error, SmartLabelingAuthError):
        entry.async_start_reauth(hass)
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="invalid_auth",
        )
    if isinstance(error, SmartLabelingConnectionError):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="communication_error",
            translation_placeholders={"error": str(error)},
        )
    if error.code in REJECTED_REQUEST_CODES:
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="request_rejected",
            translation_placeholders={"error": str(error)},
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="unknown_error",
        translation_placeholders={"error": str(error)},
    )


async def async_call_node[T](
    hass: HomeAssistant, entry: SmartLabelingConfigEntry, call: Awaitable[T]
) -> T:
    """Await a request to the node, turning its errors into Home Assistant errors."""
    try:
        return await call
    except SmartLabelingError as error:
        raise translate_node_error(hass, entry, error) from error
