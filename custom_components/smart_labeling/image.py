"""Image entity of a Smart Labeling node: the latest camera frame."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import SmartLabelingError
from .const import CONF_FRAME_IMAGE, LOGGER
from .coordinator import SmartLabelingConfigEntry, SmartLabelingCoordinator
from .entity import SmartLabelingEntity

PARALLEL_UPDATES = 1

DESCRIPTION = ImageEntityDescription(key="frame", translation_key="frame")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLabelingConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the camera frame of a node that has a camera."""
    coordinator = entry.runtime_data.coordinator
    if not (
        coordinator.data.info.camera
        and entry.runtime_data.entity_options[CONF_FRAME_IMAGE]
    ):
        return
    async_add_entities([SmartLabelingFrameImage(hass, coordinator)])


class SmartLabelingFrameImage(SmartLabelingEntity, ImageEntity):
    """The latest frame of the node's camera, as JPEG."""

    _attr_content_type = "image/jpeg"

    def __init__(
        self, hass: HomeAssistant, coordinator: SmartLabelingCoordinator
    ) -> None:
        """Describe the image entity."""
        super().__init__(coordinator, DESCRIPTION.key)
        ImageEntity.__init__(self, hass)
        self.entity_description = DESCRIPTION
        self._attr_image_last_updated = self._reading_time()

    def _reading_time(self) -> datetime | None:
        reading = self.coordinator.data.state.reading
        return None if reading is None else reading.time

    @property
    def available(self) -> bool:
        """Return whether the node is there and its camera works."""
        camera = self.coordinator.data.info.drivers.get("camera")
        return super().available and (camera is None or camera.status != "failed")

    @callback
    def _handle_coordinator_update(self) -> None:
        """Announce a new frame at most as often as the camera takes one."""
        reading_time = self._reading_time()
        last = self._attr_image_last_updated
        camera_rate = self.coordinator.data.info.settings.camera_rate_hz
        interval = timedelta(seconds=1 / camera_rate) if camera_rate else timedelta()
        if reading_time is not None and (
            last is None or reading_time - last >= interval
        ):
            self._attr_image_last_updated = reading_time
        super()._handle_coordinator_update()

    async def async_image(self) -> bytes | None:
        """Return the latest frame, or None before the first one."""
        try:
            return await self.coordinator.client.frame()
        except SmartLabelingError as err:
            LOGGER.debug("No frame from %s: %s", self.coordinator.client.url, err)
            return None
