"""The Smart Labeling integration: label the light in front of a node."""

from __future__ import annotations

from homeassistant.const import CONF_HOST, CONF_PORT, CONF_TOKEN, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import SmartLabelingClient
from .const import DOMAIN, ENTITY_OPTIONS, MIN_API_VERSION
from .coordinator import (
    API_VERSION_ISSUE,
    MODEL_CLASSES_ISSUE,
    SmartLabelingConfigEntry,
    SmartLabelingCoordinator,
    SmartLabelingRuntimeData,
    async_check_node_issues,
    entity_options,
)
from .services import async_setup_services

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.UPDATE,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions of the integration."""
    async_setup_services(hass)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartLabelingConfigEntry
) -> bool:
    """Set up a Smart Labeling node from a config entry."""
    client = SmartLabelingClient(
        entry.data[CONF_HOST],
        entry.data[CONF_PORT],
        entry.data[CONF_TOKEN],
        session=async_get_clientsession(hass),
    )
    coordinator = SmartLabelingCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()

    info = coordinator.data.info
    if not async_check_node_issues(hass, info):
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="api_version_too_old",
            translation_placeholders={
                "api_version": str(info.api_version),
                "min_api_version": str(MIN_API_VERSION),
            },
        )

    # Forget the entities the options no longer ask for
    _async_remove_unwanted_entities(hass, entry, info.node_id)

    # Store the runtime data
    entry.runtime_data = SmartLabelingRuntimeData(
        client=client,
        coordinator=coordinator,
        entity_options=entity_options(entry),
    )

    # Listen to the node
    coordinator.async_start()

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    return True


@callback
def _async_remove_unwanted_entities(
    hass: HomeAssistant, entry: SmartLabelingConfigEntry, node_id: str
) -> None:
    """Remove the registry entries of optional entities that are switched off."""
    unwanted = {
        f"{node_id}_{key}"
        for option, wanted in entity_options(entry).items()
        if not wanted
        for key in ENTITY_OPTIONS[option]
    }
    entity_registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        if entity.unique_id in unwanted:
            entity_registry.async_remove(entity.entity_id)


async def _async_options_updated(
    hass: HomeAssistant, entry: SmartLabelingConfigEntry
) -> None:
    """Reload when the choice of entities changed; the node applies the rest."""
    if entity_options(entry) != entry.runtime_data.entity_options:
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(
    hass: HomeAssistant, entry: SmartLabelingConfigEntry
) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(
    hass: HomeAssistant, entry: SmartLabelingConfigEntry
) -> None:
    """Forget the repair issues of a node that is removed."""
    if entry.unique_id is not None:
        for issue in (API_VERSION_ISSUE, MODEL_CLASSES_ISSUE):
            ir.async_delete_issue(hass, DOMAIN, f"{issue}_{entry.unique_id}")
