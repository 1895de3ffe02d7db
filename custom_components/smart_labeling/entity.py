"""Base entity for the Smart Labeling integration."""

from __future__ import annotations

from collections.abc import Awaitable

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api import NodeInfo
from .const import DOMAIN
from .coordinator import SmartLabelingCoordinator
from .helpers import async_call_node


def device_model(info: NodeInfo) -> str:
    """Describe the node's hardware in a few words."""
    if info.simulated:
        return "Simulated node"
    models = [
        driver.model
        for _, driver in sorted(info.drivers.items())
        if driver.model is not None
    ]
    if not models:
        return "Smart Labeling node"
    return ", ".join(models)


class SmartLabelingEntity(CoordinatorEntity[SmartLabelingCoordinator]):
    """An entity of a Smart Labeling node."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: SmartLabelingCoordinator, key: str) -> None:
        """Attach the entity to the node's device."""
        super().__init__(coordinator)
        info = coordinator.data.info
        self._attr_unique_id = f"{info.node_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, info.node_id)},
            manufacturer="Smart Labeling",
            model=device_model(info),
            name=info.name,
            sw_version=info.software_version,
            configuration_url=str(coordinator.client.url.with_path("/api/info")),
        )

    async def async_call_node[T](self, call: Awaitable[T]) -> T:
        """Await a request to the node, raising Home Assistant errors."""
        return await async_call_node(self.hass, self.coordinator.config_entry, call)
