"""Fixtures for the Smart Labeling integration: a real simulated node on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path
import shutil
from unittest.mock import PropertyMock, patch

from bundles import nearest_centroid_bundle
from common import NODE_ID, SCENE_LABEL, wait_for
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_TOKEN, Platform
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.smart_labeling.const import DOMAIN
from node.app import NODE_ID_FILE
from node.simulation import ScheduleStep
from node.testing import RunningNode, running_node


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load the integration from custom_components in every test."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialise states and registry entries the way Home Assistant's tests do."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create the entities that are disabled by default as enabled."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture(scope="session")
def bundle_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build two versions of a tiny sensors model once per run."""
    root = tmp_path_factory.mktemp("bundles")
    nearest_centroid_bundle(root / "sensors-1", version="1.0.0")
    nearest_centroid_bundle(
        root / "sensors-2",
        version="2.0.0",
        metrics={"accuracy": 0.95, "macro_f1": 0.9375, "samples": 1200},
    )
    return root


@pytest.fixture
def with_models() -> bool:
    """Return whether the node has model bundles."""
    return True


@pytest.fixture
def models_dir(tmp_path: Path, bundle_source: Path, with_models: bool) -> Path:
    """Return a models folder with both sensor model versions, or an empty one."""
    directory = tmp_path / "models"
    if with_models:
        shutil.copytree(bundle_source, directory)
    else:
        directory.mkdir()
    return directory


@pytest.fixture
def camera() -> bool:
    """Return whether the simulated node has a camera."""
    return True


@pytest.fixture
def scene_label(with_models: bool) -> str:
    """Return the label the node settles on before a test starts."""
    return SCENE_LABEL if with_models else "unknown"


@pytest.fixture
def node_data_dir(tmp_path: Path) -> Path:
    """Return the data folder of the node: its id, token and dataset.

    The node id is fixed, so that unique ids in snapshots stay the same.
    """
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / NODE_ID_FILE).write_text(f"{NODE_ID}\n", encoding="utf-8")
    return data_dir


@pytest.fixture
async def node(
    socket_enabled: None,
    node_data_dir: Path,
    models_dir: Path,
    camera: bool,
    scene_label: str,
) -> AsyncIterator[RunningNode]:
    """Run a simulated node on loopback with a lighter held in front of it.

    Sockets stay limited to 127.0.0.1 by the plugin's allowed hosts.
    """
    async with running_node(
        node_data_dir,
        models_dir=models_dir,
        schedule=[ScheduleStep(SCENE_LABEL, 3600.0, 20.0)],
        sample_rate_hz=20.0,
        camera=camera,
    ) as running:
        await wait_for(
            lambda: running.node.state()["label"]["label"] == scene_label,
            what="the node settles on its label",
        )
        yield running


@pytest.fixture
def mock_config_entry(node: RunningNode) -> MockConfigEntry:
    """Return a config entry for the running node."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Smart Labeling node",
        unique_id=node.node_id,
        data={CONF_HOST: node.host, CONF_PORT: node.port, CONF_TOKEN: node.token},
    )


@pytest.fixture
def platforms() -> list[Platform] | None:
    """Return the platforms to set up; None sets up all of them."""
    return None


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    node: RunningNode,
    platforms: list[Platform] | None,
) -> AsyncIterator[MockConfigEntry]:
    """Set up the integration for the running node and wait for its WebSocket.

    The entry is unloaded before the node stops, as Home Assistant would.
    """
    mock_config_entry.add_to_hass(hass)
    if platforms is None:
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    else:
        with patch("custom_components.smart_labeling.PLATFORMS", platforms):
            assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data.coordinator
    await wait_for(lambda: coordinator.connected, what="the WebSocket connects")
    await hass.async_block_till_done()
    yield mock_config_entry
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    if node.running:
        await wait_for(
            lambda: not node.node.subscribers, what="the node sees the client leave"
        )
