"""Tests for the WebSocket coordinator: pushed updates, loss and recovery."""

from __future__ import annotations

from datetime import timedelta
import logging
from pathlib import Path
from unittest.mock import patch

from common import SCENE_LABEL, state_of, stop_node, wait_for
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smart_labeling.api import (
    SmartLabelingConnectionError,
    SmartLabelingError,
)
from custom_components.smart_labeling.const import DOMAIN
from node.app import TOKEN_FILE
from node.testing import RunningNode

LABEL = "sensor.smart_labeling_node_label"
LUX = "sensor.smart_labeling_node_illuminance"


def _fire_after(hass: HomeAssistant, seconds: float) -> None:
    """Run the timers due within `seconds`, such as the reconnection delay."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))


async def test_readings_are_pushed(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test every reading the node pushes reaches the sensors."""
    coordinator = init_integration.runtime_data.coordinator
    first = coordinator.data.state.reading
    assert first is not None

    await wait_for(
        lambda: coordinator.data.state.reading.id >= first.id + 3,
        what="three more readings arrive",
    )
    reading = coordinator.data.state.reading
    assert float(state_of(hass, LUX).state) == reading.values["lux"]
    assert node.node.stats.readings_total - reading.id <= 2
    assert coordinator.data.state.stats.readings_total > first.id


async def test_node_goes_away_and_comes_back(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    node: RunningNode,
    init_integration: MockConfigEntry,
) -> None:
    """Test entities are unavailable while the node is gone, and back without a reload."""
    coordinator = init_integration.runtime_data.coordinator
    caplog.set_level(logging.INFO, logger="custom_components.smart_labeling")
    assert state_of(hass, LABEL).state == SCENE_LABEL

    await stop_node(node)
    await wait_for(lambda: not coordinator.connected, what="the loss is noticed")
    await hass.async_block_till_done()
    assert state_of(hass, LABEL).state == STATE_UNAVAILABLE
    assert state_of(hass, LUX).state == STATE_UNAVAILABLE

    # Each failed attempt doubles the wait, up to 30 seconds
    delays = []
    for _ in range(7):
        delays.append(coordinator.reconnect_delay)
        _fire_after(hass, delays[-1])
        await wait_for(
            lambda: (
                coordinator.reconnect_delay != delays[-1]
                or coordinator.reconnect_delay == 30
            ),
            what="the next attempt fails",
        )
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert state_of(hass, LABEL).state == STATE_UNAVAILABLE

    await node.restart()
    _fire_after(hass, 30)
    await wait_for(lambda: coordinator.connected, what="the node is back")
    await wait_for(
        lambda: state_of(hass, LABEL).state == SCENE_LABEL,
        what="the node settles on its label again",
    )
    assert state_of(hass, LUX).state != STATE_UNAVAILABLE
    assert coordinator.reconnect_delay == 1
    assert init_integration.state.recoverable

    messages = [
        record.getMessage()
        for record in caplog.records
        if record.name == "custom_components.smart_labeling"
        and record.levelno == logging.INFO
    ]
    assert len(messages) == 2
    assert messages[0].startswith(f"Connection to {node.url} lost")
    assert messages[1] == f"Connection to {node.url} restored"


async def test_new_token_starts_reauth(
    hass: HomeAssistant,
    node: RunningNode,
    node_data_dir: Path,
    init_integration: MockConfigEntry,
) -> None:
    """Test a node that comes back with another token asks for reauthentication."""
    coordinator = init_integration.runtime_data.coordinator
    await stop_node(node)
    await wait_for(lambda: not coordinator.connected, what="the loss is noticed")

    (node_data_dir / TOKEN_FILE).write_text("a-new-token\n", encoding="utf-8")
    await node.restart()
    _fire_after(hass, coordinator.reconnect_delay)
    await wait_for(
        lambda: bool(hass.config_entries.flow.async_progress_by_handler(DOMAIN)),
        what="the reauthentication flow starts",
    )

    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    assert flows[0]["context"]["source"] == SOURCE_REAUTH
    assert flows[0]["context"]["entry_id"] == init_integration.entry_id
    assert state_of(hass, LABEL).state == STATE_UNAVAILABLE


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("reading", {"values": {}}),
        ("label", {"old": "lighter"}),
        ("health", {"status": "ok"}),
        ("celebration", {"confetti": True}),
    ],
)
async def test_unreadable_messages_are_skipped(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    kind: str,
    data: dict[str, object],
) -> None:
    """Test a message the coordinator cannot read changes nothing."""
    coordinator = init_integration.runtime_data.coordinator
    before = coordinator.data

    coordinator._async_handle_message(kind, data)

    assert coordinator.data is before


async def test_model_list_refresh_failures(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test a model list that cannot be fetched keeps the one known."""
    coordinator = init_integration.runtime_data.coordinator
    before = coordinator.data.models

    for error in (
        SmartLabelingConnectionError("gone"),
        SmartLabelingError("rejected", code="internal_error"),
    ):
        with patch.object(coordinator.client, "models", side_effect=error) as models:
            await coordinator.async_refresh_models()
        models.assert_awaited_once()
        assert coordinator.data.models == before
