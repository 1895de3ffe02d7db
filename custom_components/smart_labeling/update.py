"""Update entities of a Smart Labeling node: the active model of each kind."""

from __future__ import annotations

from typing import Any

from homeassistant.components.update import (
    UpdateEntity,
    UpdateEntityDescription,
    UpdateEntityFeature,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import ModelEntry
from .const import DOMAIN, MODEL_KINDS
from .coordinator import SmartLabelingConfigEntry, SmartLabelingCoordinator
from .entity import SmartLabelingEntity

PARALLEL_UPDATES = 1


def release_notes(entry: ModelEntry) -> str:
    """Describe a model bundle in Markdown, from its metadata and metrics."""
    lines = [f"**{entry.name} {entry.version}**", ""]
    details = {
        "Classes": ", ".join(entry.classes),
        "Created": entry.created,
        "Quantization": entry.quantization,
    }
    lines.extend(f"- {name}: {value}" for name, value in details.items() if value)
    if entry.metrics:
        lines.extend(["", "| Metric | Value |", "| --- | --- |"])
        lines.extend(
            f"| {name} | {_metric(value)} |"
            for name, value in sorted(entry.metrics.items())
        )
    return "\n".join(lines)


def _metric(value: Any) -> str:
    """Format one metric for a table cell."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return "…"
    return str(value)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLabelingConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up one model update entity per kind of model the node has."""
    coordinator = entry.runtime_data.coordinator
    data = coordinator.data
    async_add_entities(
        SmartLabelingModelUpdate(coordinator, kind)
        for kind in MODEL_KINDS
        if kind in data.info.models or data.models.of_kind(kind)
    )


class SmartLabelingModelUpdate(SmartLabelingEntity, UpdateEntity):
    """The active model of one kind against the newest bundle on the node."""

    _attr_supported_features = (
        UpdateEntityFeature.INSTALL
        | UpdateEntityFeature.SPECIFIC_VERSION
        | UpdateEntityFeature.RELEASE_NOTES
    )

    def __init__(self, coordinator: SmartLabelingCoordinator, kind: str) -> None:
        """Describe the update entity of one kind of model."""
        super().__init__(coordinator, f"{kind}_model")
        self.entity_description = UpdateEntityDescription(
            key=f"{kind}_model", translation_key=f"{kind}_model"
        )
        self._kind = kind

    def _bundles(self) -> tuple[ModelEntry, ...]:
        return self.coordinator.data.models.of_kind(self._kind)

    @property
    def installed_version(self) -> str | None:
        """Return the version of the active model."""
        data = self.coordinator.data
        if active := data.models.active.get(self._kind):
            return active
        model = data.info.models.get(self._kind)
        return None if model is None else model.version

    @property
    def latest_version(self) -> str | None:
        """Return the version of the newest bundle on the node."""
        bundles = self._bundles()
        return bundles[0].version if bundles else self.installed_version

    @property
    def title(self) -> str | None:
        """Return the name of the newest bundle."""
        bundles = self._bundles()
        return bundles[0].name if bundles else None

    async def async_release_notes(self) -> str | None:
        """Return what the newest bundle is and how well it did."""
        bundles = self._bundles()
        return release_notes(bundles[0]) if bundles else None

    async def async_install(
        self, version: str | None, backup: bool, **kwargs: Any
    ) -> None:
        """Activate a bundle on the node, the newest one by default."""
        target = version or self.latest_version
        if target is None or target not in {entry.version for entry in self._bundles()}:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="unknown_model_version",
                translation_placeholders={
                    "version": str(target),
                    "kind": self._kind,
                },
            )
        await self.async_call_node(
            self.coordinator.client.activate_model(self._kind, target)
        )
        await self.coordinator.async_refresh_models()
