"""Tests for the camera frame image of a Smart Labeling node."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus

from common import snapshot_entities, state_of, wait_for
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from node.testing import RunningNode

IMAGE = "image.smart_labeling_node_camera_frame"

pytestmark = pytest.mark.parametrize("platforms", [[Platform.IMAGE]])


async def test_image_entity(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """Test the image entity of a node with a camera."""
    snapshot_entities(hass, entity_registry, snapshot, init_integration.entry_id)


async def test_image_shows_latest_frame(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    node: RunningNode,
    init_integration: MockConfigEntry,
) -> None:
    """Test the image is the node's latest JPEG frame, announced as frames come."""
    await wait_for(lambda: node.node.frame_jpeg is not None, what="a frame exists")
    client = await hass_client()

    response = await client.get(f"/api/image_proxy/{IMAGE}")

    assert response.status == HTTPStatus.OK
    assert response.content_type == "image/jpeg"
    body = await response.read()
    assert body.startswith(b"\xff\xd8")

    first = datetime.fromisoformat(state_of(hass, IMAGE).state)
    camera_interval = 1 / node.node.settings.labeler.camera_rate_hz
    await wait_for(
        lambda: datetime.fromisoformat(state_of(hass, IMAGE).state) > first,
        timeout=camera_interval + 3,
        what="a newer frame is announced",
    )
    second = datetime.fromisoformat(state_of(hass, IMAGE).state)
    assert (second - first).total_seconds() >= camera_interval


async def test_image_without_frame(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    node: RunningNode,
    init_integration: MockConfigEntry,
) -> None:
    """Test the image answers nothing while the node has no frame to give."""
    node.fail_driver("camera", "camera busy")
    await wait_for(
        lambda: node.node.health["camera"].status == "degraded",
        what="the camera stops delivering",
    )
    node.node.frame_jpeg = None
    client = await hass_client()

    response = await client.get(f"/api/image_proxy/{IMAGE}")

    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert state_of(hass, IMAGE).state != STATE_UNAVAILABLE


async def test_image_unavailable_when_camera_fails(
    hass: HomeAssistant, node: RunningNode, init_integration: MockConfigEntry
) -> None:
    """Test the image turns unavailable when the node reports its camera failed."""
    node.fail_driver("camera", "camera unplugged", permanently=True)

    await wait_for(
        lambda: state_of(hass, IMAGE).state == STATE_UNAVAILABLE,
        what="the image turns unavailable",
    )


@pytest.mark.parametrize("camera", [False])
async def test_no_image_without_camera(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """Test a node without a camera has no image entity."""
    assert not er.async_entries_for_config_entry(
        entity_registry, init_integration.entry_id
    )
