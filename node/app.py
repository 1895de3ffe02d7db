"""Assembly: builds the node, its API server and its announcement from settings."""

from __future__ import annotations

from dataclasses import dataclass
import logging
import os
from pathlib import Path
import secrets
from typing import Final

from aiohttp import web

from .api import create_app
from .hardware.base import Hardware
from .hardware.factory import build_hardware
from .replay import replay_hardware
from .service import Node, new_token
from .settings import NodeSettings
from .simulation import Scene, simulated_hardware
from .store import DatasetStore

_LOGGER = logging.getLogger(__name__)

TOKEN_FILE: Final = "token"  # noqa: S105
NODE_ID_FILE: Final = "node_id"


@dataclass(frozen=True, slots=True)
class Identity:
    """The node's stable id and its API token."""

    node_id: str
    token: str
    token_created: bool


def load_identity(data_dir: Path) -> Identity:
    """Read the node id and token, creating them (owner-only) on first start."""
    data_dir.mkdir(parents=True, exist_ok=True)
    id_path = data_dir / NODE_ID_FILE
    if not id_path.exists():
        id_path.write_text(secrets.token_hex(8) + "\n", encoding="utf-8")
    token_path = data_dir / TOKEN_FILE
    created = not token_path.exists()
    if created:
        descriptor = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as token_file:
            token_file.write(new_token() + "\n")
    token_path.chmod(0o600)
    return Identity(
        node_id=id_path.read_text(encoding="utf-8").strip(),
        token=token_path.read_text(encoding="utf-8").strip(),
        token_created=created,
    )


def build_hardware_for(settings: NodeSettings) -> tuple[Hardware, Scene | None]:
    """Return real, replayed or simulated drivers, and the scene if simulated."""
    simulation = settings.simulation
    if simulation.replay is not None:
        return replay_hardware(simulation.replay), None
    if not simulation.enabled:
        return build_hardware(settings.hardware), None
    scene = Scene(simulation.schedule, seed=simulation.seed)
    hardware = simulated_hardware(
        scene,
        camera_size=(settings.hardware.camera_width, settings.hardware.camera_height),
    )
    config = settings.hardware
    if config.light == "none":
        hardware.light = None
    if config.temperature == "none":
        hardware.temperature = None
    if config.distance == "none":
        hardware.distance = None
    if config.camera == "none":
        hardware.camera = None
    return hardware, scene


@dataclass(slots=True)
class NodeServer:
    """A running node with its API server."""

    node: Node
    identity: Identity
    runner: web.AppRunner
    site: web.TCPSite
    host: str
    port: int

    @property
    def url(self) -> str:
        """Return the base URL of the API."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop serving and stop the node."""
        await self.runner.cleanup()
        await self.node.stop()
        self.node.store.close()


async def start_node(settings: NodeSettings) -> NodeServer:
    """Build the node from settings, start it and serve its API."""
    data_dir = settings.storage.data_dir
    identity = load_identity(data_dir)
    store = DatasetStore(data_dir)
    hardware, scene = build_hardware_for(settings)
    node = Node(settings, hardware, store, node_id=identity.node_id, scene=scene)
    await node.start()

    app = create_app(
        node,
        identity.token,
        max_upload_bytes=settings.server.max_upload_mb * 1024 * 1024,
    )
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port)
    await site.start()
    port = int(runner.addresses[0][1])
    return NodeServer(node, identity, runner, site, settings.server.host, port)
