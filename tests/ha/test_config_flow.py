"""Tests for the config flow and options flow of Smart Labeling."""

from __future__ import annotations

from collections.abc import Generator
from ipaddress import ip_address
import socket
from typing import Any
from unittest.mock import AsyncMock, patch

from common import NODE_ID
from homeassistant.config_entries import SOURCE_USER, SOURCE_ZEROCONF
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_labeling.api import (
    SmartLabelingClient,
    SmartLabelingError,
)
from custom_components.smart_labeling.const import (
    CONF_CLASS_BINARY_SENSORS,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_DEBOUNCE,
    CONF_DIAGNOSTIC_SENSORS,
    CONF_FRAME_IMAGE,
    DOMAIN,
)
from node.testing import RunningNode

try:
    from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
except ImportError:  # pragma: no cover - cores before 2025.2
    from homeassistant.components.zeroconf import (  # type: ignore[no-redef]
        ZeroconfServiceInfo,
    )

pytestmark = pytest.mark.usefixtures("mock_setup_entry")


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep config entries from being set up by the flows."""
    with patch(
        "custom_components.smart_labeling.async_setup_entry", return_value=True
    ) as mock:
        yield mock


@pytest.fixture
def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _discovery(
    node: RunningNode, properties: dict[str, str] | None = None
) -> ZeroconfServiceInfo:
    """Return the announcement of the node, as zeroconf would hand it over."""
    return ZeroconfServiceInfo(
        ip_address=ip_address(node.host),
        ip_addresses=[ip_address(node.host)],
        hostname="raspberrypi.local.",
        name="Smart Labeling node._smart-labeling._tcp.local.",
        port=node.port,
        type="_smart-labeling._tcp.local.",
        properties=(
            {"node_id": node.node_id, "api_version": "1"}
            if properties is None
            else properties
        ),
    )


async def test_user_flow(hass: HomeAssistant, node: RunningNode) -> None:
    """Test adding a node by its address and token."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: f" {node.host} ", CONF_PORT: node.port, CONF_TOKEN: node.token},
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Smart Labeling node"
    assert result["data"] == {
        CONF_HOST: node.host,
        CONF_PORT: node.port,
        CONF_TOKEN: node.token,
    }
    assert result["result"].unique_id == NODE_ID


async def test_user_flow_cannot_connect(
    hass: HomeAssistant, node: RunningNode, closed_port: int
) -> None:
    """Test a node that does not answer, then recovery with the right port."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_USER},
        data={CONF_HOST: node.host, CONF_PORT: closed_port, CONF_TOKEN: node.token},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: node.host, CONF_PORT: node.port, CONF_TOKEN: node.token},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_invalid_auth(hass: HomeAssistant, node: RunningNode) -> None:
    """Test a token the node rejects, then recovery with its token."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_USER},
        data={CONF_HOST: node.host, CONF_PORT: node.port, CONF_TOKEN: "wrong"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_TOKEN: "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: node.host, CONF_PORT: node.port, CONF_TOKEN: node.token},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("side_effect", "error"),
    [
        (RuntimeError("boom"), "unknown"),
        (SmartLabelingError("this is not the node API"), "not_a_node"),
    ],
)
async def test_user_flow_errors(
    hass: HomeAssistant, node: RunningNode, side_effect: Exception, error: str
) -> None:
    """Test unexpected failures show an error, then recovery."""
    with patch.object(SmartLabelingClient, "state", side_effect=side_effect):
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_USER},
            data={CONF_HOST: node.host, CONF_PORT: node.port, CONF_TOKEN: node.token},
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: node.host, CONF_PORT: node.port, CONF_TOKEN: node.token},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_old_api(hass: HomeAssistant, node: RunningNode) -> None:
    """Test a node whose API is older than the integration supports."""
    with patch("custom_components.smart_labeling.config_flow.MIN_API_VERSION", 2):
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_USER},
            data={CONF_HOST: node.host, CONF_PORT: node.port, CONF_TOKEN: node.token},
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unsupported_api_version"}


async def test_user_flow_already_configured(
    hass: HomeAssistant, node: RunningNode, mock_config_entry: MockConfigEntry
) -> None:
    """Test a second entry for the same node is refused."""
    mock_config_entry.add_to_hass(hass)

    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_USER},
        data={CONF_HOST: "localhost", CONF_PORT: node.port, CONF_TOKEN: node.token},
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data[CONF_HOST] == node.host


async def test_zeroconf_flow(hass: HomeAssistant, node: RunningNode) -> None:
    """Test adding a discovered node, with a wrong token first."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(node)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"] == {
        "name": "Smart Labeling node",
        "host": node.host,
        "port": str(node.port),
    }
    progress = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert progress[0]["context"]["title_placeholders"] == {
        "name": "Smart Labeling node"
    }

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: "wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_TOKEN: "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: node.token}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_HOST: node.host,
        CONF_PORT: node.port,
        CONF_TOKEN: node.token,
    }
    assert result["result"].unique_id == NODE_ID


async def test_zeroconf_updates_configured_node(
    hass: HomeAssistant, node: RunningNode
) -> None:
    """Test discovery of a configured node updates its address."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=NODE_ID,
        data={CONF_HOST: "192.0.2.7", CONF_PORT: 8765, CONF_TOKEN: node.token},
    )
    entry.add_to_hass(hass)

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(node)
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == {
        CONF_HOST: node.host,
        CONF_PORT: node.port,
        CONF_TOKEN: node.token,
    }


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"api_version": "1"}, "no_node_id"),
        ({"node_id": NODE_ID, "api_version": "0"}, "unsupported_api_version"),
        ({"node_id": NODE_ID, "api_version": "one"}, "unsupported_api_version"),
    ],
)
async def test_zeroconf_unusable(
    hass: HomeAssistant, node: RunningNode, properties: dict[str, str], reason: str
) -> None:
    """Test announcements without a node id or with an old API are ignored."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(node, properties)
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_reauth_flow(
    hass: HomeAssistant, node: RunningNode, mock_config_entry: MockConfigEntry
) -> None:
    """Test entering a new token after the node rejected the old one."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_TOKEN: "old"}
    )

    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: "still-wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_TOKEN: "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: node.token}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_TOKEN] == node.token


async def test_reauth_flow_other_node(hass: HomeAssistant, node: RunningNode) -> None:
    """Test reauthentication refuses a node with another id at the address."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="0000000000000000",
        data={CONF_HOST: node.host, CONF_PORT: node.port, CONF_TOKEN: "old"},
    )
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: node.token}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"
    assert entry.data[CONF_TOKEN] == "old"


async def test_reconfigure_flow(
    hass: HomeAssistant,
    node: RunningNode,
    mock_config_entry: MockConfigEntry,
    closed_port: int,
) -> None:
    """Test moving a node to another address, keeping its token."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PORT: closed_port}
    )

    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: node.host, CONF_PORT: closed_port}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: node.host, CONF_PORT: node.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data == {
        CONF_HOST: node.host,
        CONF_PORT: node.port,
        CONF_TOKEN: node.token,
    }


async def test_reconfigure_flow_other_node(
    hass: HomeAssistant, node: RunningNode
) -> None:
    """Test reconfiguration refuses an address where another node answers."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="0000000000000000",
        data={CONF_HOST: "192.0.2.7", CONF_PORT: 8765, CONF_TOKEN: node.token},
    )
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: node.host, CONF_PORT: node.port, CONF_TOKEN: node.token},
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"
    assert entry.data[CONF_HOST] == "192.0.2.7"


OPTIONS: dict[str, Any] = {
    CONF_CONFIDENCE_THRESHOLD: 0.75,
    CONF_DEBOUNCE: 5.0,
    CONF_CLASS_BINARY_SENSORS: False,
    CONF_DIAGNOSTIC_SENSORS: True,
    CONF_FRAME_IMAGE: True,
}


async def test_options_flow(
    hass: HomeAssistant, node: RunningNode, mock_config_entry: MockConfigEntry
) -> None:
    """Test the options change the node's settings and are stored."""
    mock_config_entry.add_to_hass(hass)

    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    schema = result["data_schema"]
    assert schema is not None
    suggested = {str(key): key.description["suggested_value"] for key in schema.schema}
    assert suggested == {
        CONF_CONFIDENCE_THRESHOLD: 0.6,
        CONF_DEBOUNCE: 3,
        CONF_CLASS_BINARY_SENSORS: True,
        CONF_DIAGNOSTIC_SENSORS: True,
        CONF_FRAME_IMAGE: True,
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {**OPTIONS, CONF_DEBOUNCE: 5}
    settings = node.node.settings_state()
    assert settings["confidence_threshold"] == 0.75
    assert settings["debounce"] == 5


async def test_options_flow_invalid_auth(
    hass: HomeAssistant, node: RunningNode, mock_config_entry: MockConfigEntry
) -> None:
    """Test options are not saved while the node rejects the token."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_TOKEN: "wrong"}
    )
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert node.node.settings_state()["confidence_threshold"] == 0.6
    assert mock_config_entry.options == {}


@pytest.mark.parametrize(
    ("side_effect", "error"),
    [
        (SmartLabelingError("bad"), "settings_rejected"),
        (RuntimeError("boom"), "unknown"),
    ],
)
async def test_options_flow_errors(
    hass: HomeAssistant,
    node: RunningNode,
    mock_config_entry: MockConfigEntry,
    side_effect: Exception,
    error: str,
) -> None:
    """Test unexpected failures keep the options form open, then recovery."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)

    with patch.object(SmartLabelingClient, "update_settings", side_effect=side_effect):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], OPTIONS
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert node.node.settings_state()["confidence_threshold"] == 0.6

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert node.node.settings_state()["confidence_threshold"] == 0.75


async def test_options_flow_node_gone(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, closed_port: int
) -> None:
    """Test options cannot be saved while the node cannot be reached."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PORT: closed_port}
    )
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    assert mock_config_entry.options == {}
