"""Command line: `python -m node [--simulate] [--host H] [--port P] ...`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
import contextlib
import logging
import signal
import sys

from .app import start_node
from .discovery import Announcement
from .hardware.base import DriverError
from .replay import ReplayError
from .settings import NodeSettings, SettingsError, load_settings
from .store import DatasetError

_LOGGER = logging.getLogger(__name__)


async def run(settings: NodeSettings) -> None:
    """Run the node until interrupted."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    server = await start_node(settings)
    identity = server.identity
    print(
        f"Smart Labeling node {identity.node_id} listening on {server.url}", flush=True
    )
    if identity.token_created:
        print(
            f"API token (shown once, kept in {settings.storage.data_dir / 'token'}): {identity.token}",
            flush=True,
        )

    announcement = None
    if settings.server.zeroconf:
        announcement = Announcement(server.node.info(), server.port)
        await announcement.start()

    try:
        await stop.wait()
    finally:
        _LOGGER.info("Stopping")
        if announcement is not None:
            await announcement.stop()
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse settings, run the node and return the exit status."""
    try:
        settings, verbose = load_settings(argv)
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(settings))
    except (DriverError, ReplayError, DatasetError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
