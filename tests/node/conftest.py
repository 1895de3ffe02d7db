"""Fixtures for the node's tests: tiny model bundles and a running node."""

from __future__ import annotations

from collections.abc import AsyncIterator
import os
from pathlib import Path
import shutil

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bundles import colour_bundle, nearest_centroid_bundle

from node.api import create_app
from node.app import build_hardware_for, load_identity
from node.service import Node
from node.settings import simulated_settings
from node.simulation import ScheduleStep
from node.store import DatasetStore


@pytest.fixture(scope="session")
def bundle_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the tiny bundles once per run: two sensor versions and an image model."""
    root = tmp_path_factory.mktemp("bundles")
    nearest_centroid_bundle(root / "sensors-1", version="1.0.0")
    nearest_centroid_bundle(root / "sensors-2", version="2.0.0")
    colour_bundle(root / "image-1", version="1.0.0")
    return root


@pytest.fixture
def models_dir(tmp_path: Path, bundle_source: Path) -> Path:
    """Return a models folder holding the first sensor bundle only."""
    directory = tmp_path / "models"
    directory.mkdir()
    shutil.copytree(bundle_source / "sensors-1", directory / "sensors-1")
    return directory


@pytest.fixture
async def node(tmp_path: Path, models_dir: Path) -> AsyncIterator[Node]:
    """Return a started simulated node holding a flashlight in front of it."""
    settings = simulated_settings(
        tmp_path / "data",
        models_dir=models_dir,
        sample_rate_hz=50.0,
        schedule=[ScheduleStep("flashlight", 60.0, 25.0)],
    )
    identity = load_identity(settings.storage.data_dir)
    hardware, scene = build_hardware_for(settings)
    store = DatasetStore(settings.storage.data_dir)
    service = Node(settings, hardware, store, node_id=identity.node_id, scene=scene)
    await service.start()
    yield service
    await service.stop()
    store.close()


@pytest.fixture
async def client(node: Node) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """Return an API client for the node, sending its token."""
    token = load_identity(node.settings.storage.data_dir).token
    server = TestServer(create_app(node, token), host="127.0.0.1")
    async with TestClient(
        server, headers={"Authorization": f"Bearer {token}"}
    ) as test_client:
        yield test_client
