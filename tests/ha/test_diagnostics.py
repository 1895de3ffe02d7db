"""Tests for the diagnostics of Smart Labeling."""

from __future__ import annotations

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.matchers import path_type

from custom_components.smart_labeling.diagnostics import (
    async_get_config_entry_diagnostics,
)
from node.testing import RunningNode

# What the live simulation and the loopback port vary from run to run.
VOLATILE = (
    r"entry\.data\.port",
    r"info\.drivers\.\w+\.since",
    r"state\.label\.(confidence|since)",
    r"state\.reading\..*",
    r"state\.stats\..*",
)


async def test_diagnostics(
    hass: HomeAssistant,
    snapshot: SnapshotAssertion,
    node: RunningNode,
    init_integration: MockConfigEntry,
) -> None:
    """Test the diagnostics, with the token redacted."""
    diagnostics = await async_get_config_entry_diagnostics(hass, init_integration)

    assert diagnostics["entry"]["data"]["token"] == REDACTED
    assert node.token not in str(diagnostics)
    assert diagnostics["state"]["reading"]["values"].keys() == {
        "lux",
        "visible",
        "infrared",
        "full_spectrum",
        "temperature",
        "distance",
    }
    assert diagnostics == snapshot(
        matcher=path_type(
            dict.fromkeys(VOLATILE, (int, float, str, dict, list)),
            regex=True,
            strict=False,
        )
    )
