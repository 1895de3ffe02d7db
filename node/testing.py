"""A real node on loopback with simulated hardware, for tests of what talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
import contextlib
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from .app import NodeServer, start_node
from .hardware.base import DriverError
from .service import Node
from .settings import simulated_settings
from .simulation import ScheduleStep


class RunningNode:
    """A node started by `running_node`, which can be stopped and restarted."""

    def __init__(self, server: NodeServer) -> None:
        """Wrap a started server."""
        self._server: NodeServer | None = server
        self._settings = server.node.settings
        self.host = server.host
        self.port = server.port
        self.token = server.identity.token
        self.node_id = server.identity.node_id
        self._patched: dict[str, Callable[..., object]] = {}

    @property
    def url(self) -> str:
        """Return the base URL of the API."""
        return f"http://{self.host}:{self.port}"

    @property
    def node(self) -> Node:
        """Return the running node service."""
        if self._server is None:
            msg = "the node is stopped"
            raise RuntimeError(msg)
        return self._server.node

    @property
    def running(self) -> bool:
        """Return whether the node is serving."""
        return self._server is not None

    @property
    def data_dir(self) -> Path:
        """Return the node's data folder (token, node id, dataset)."""
        return self._settings.storage.data_dir

    def fail_driver(self, kind: str, error: str, *, permanently: bool = False) -> None:
        """Make a driver's reads fail, or mark it failed as if it never opened."""
        node = self.node
        driver = getattr(node.hardware, kind)
        if permanently:
            node.set_driver_failed(driver, error)
            return

        def broken(*_: object) -> NoReturn:
            raise DriverError(error)

        method = "capture" if kind == "camera" else "read"
        self._patched[kind] = getattr(driver, method)
        setattr(driver, method, broken)

    def repair_driver(self, kind: str) -> None:
        """Undo fail_driver for reads."""
        driver = getattr(self.node.hardware, kind)
        method = "capture" if kind == "camera" else "read"
        setattr(driver, method, self._patched.pop(kind))

    async def set_source(self, source: str | None, distance_cm: float = 25.0) -> None:
        """Hold a light source in front of the simulated sensors."""
        scene = self.node.scene
        if scene is None:
            msg = "the node is not simulated"
            raise RuntimeError(msg)
        scene.hold(source, distance_cm)

    async def stop(self) -> None:
        """Stop the node, as if it went away."""
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def restart(self) -> None:
        """Start the node again on the same port, with the same data."""
        await self.stop()
        settings = replace(
            self._settings, server=replace(self._settings.server, port=self.port)
        )
        self._server = await start_node(settings)


@contextlib.asynccontextmanager
async def running_node(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    schedule: Sequence[ScheduleStep] | None = None,
    sample_rate_hz: float = 10.0,
    models_dir: Path | None = None,
    camera: bool = True,
    seed: int = 0,
) -> AsyncIterator[RunningNode]:
    """Run a simulated node on loopback for the duration of the block."""
    settings = simulated_settings(
        data_dir,
        host=host,
        port=port,
        schedule=schedule,
        sample_rate_hz=sample_rate_hz,
        models_dir=models_dir,
        camera=camera,
        seed=seed,
    )
    running = RunningNode(await start_node(settings))
    try:
        yield running
    finally:
        await running.stop()
