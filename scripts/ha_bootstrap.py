r"""Start Home Assistant on 127.0.0.1, onboard it and add a Smart Labeling node.

Stays in the foreground until Ctrl-C or SIGTERM, then stops Home Assistant with
SIGTERM. The work is done by demo/ha.py::

    .venv-ha/bin/python scripts/ha_bootstrap.py --config .demo/ha --port 8123 \
        --node-url http://127.0.0.1:8765 --node-token-file .demo/node/token
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import logging
from pathlib import Path
import signal
import sys

# Run by path, Python puts scripts/ first on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from yarl import URL

from demo.ha import (
    INTEGRATION_DIR,
    BootstrapError,
    BootstrapResult,
    HomeAssistantProcess,
    bootstrap,
    network_is_isolated,
    prepare_config_dir,
    wait_for_token_file,
)

_LOGGER = logging.getLogger(__name__)


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=(
            "Start Home Assistant on 127.0.0.1, onboard it and add a Smart Labeling "
            "node; stays in the foreground until Ctrl-C."
        )
    )
    parser.add_argument("--config", type=Path, required=True, help="config directory")
    parser.add_argument("--port", type=int, default=8123, help="HTTP port (8123)")
    parser.add_argument(
        "--node-url", default="http://127.0.0.1:8765", help="the node's base URL"
    )
    token = parser.add_mutually_exclusive_group(required=True)
    token.add_argument("--node-token-file", type=Path, help="file with the node token")
    token.add_argument("--node-token", help="the node token itself")
    parser.add_argument("--username", help="owner user name (default: demo)")
    parser.add_argument("--password", help="owner password (default: random)")
    parser.add_argument("--country", help="two-letter country code for the core config")
    parser.add_argument(
        "--integration-dir",
        type=Path,
        default=INTEGRATION_DIR,
        help="integration to link into the config (default: the repository's)",
    )
    parser.add_argument(
        "--all-adapters",
        action="store_true",
        help=(
            "let Home Assistant use every network adapter (mDNS on the LAN) instead "
            "of loopback alone; applies when the config directory is new"
        ),
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="stop Home Assistant after bootstrapping instead of staying up",
    )
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    return parser.parse_args(argv)


def node_address(node_url: str) -> tuple[str, int]:
    """Return the host and port of the node's base URL."""
    url = URL(node_url)
    if not url.host or url.explicit_port is None:
        msg = f"--node-url {node_url!r} needs a host and a port"
        raise BootstrapError(msg)
    return url.host, url.explicit_port


def report(
    result: BootstrapResult, hass: HomeAssistantProcess, *, loopback_only: bool
) -> None:
    """Print where Home Assistant is and how to log in."""
    print(f"Home Assistant: {result.base_url}/")
    print(f"Integration:    {result.integration_url}")
    print(f"User name:      {result.username}")
    print(f"Password:       {result.password}")
    print(f"Credentials:    {result.credentials_path} (owner-only)")
    print(f"Log:            {hass.output_path}")
    if not loopback_only and not network_is_isolated():
        print(
            "Note: Home Assistant joins the mDNS group (UDP 5353) on this machine's "
            "interfaces for its resolver; run it under scripts/netns-run to keep "
            "every packet on this machine."
        )


async def run(arguments: argparse.Namespace) -> int:
    """Start Home Assistant, bootstrap it and keep it running until told to stop."""
    node_host, node_port = node_address(arguments.node_url)
    config_dir = arguments.config.resolve()
    prepare_config_dir(
        config_dir,
        arguments.port,
        arguments.integration_dir,
        loopback_only=not arguments.all_adapters,
    )

    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop_requested.set)

    if arguments.node_token_file is not None:
        node_token = await wait_for_token_file(arguments.node_token_file)
    else:
        node_token = arguments.node_token

    hass = HomeAssistantProcess(config_dir, arguments.port)
    try:
        await hass.start()
        async with aiohttp.ClientSession() as session:
            result = await bootstrap(
                session,
                hass.base_url,
                config_dir,
                node_host=node_host,
                node_port=node_port,
                node_token=node_token,
                username=arguments.username,
                password=arguments.password,
                country=arguments.country,
            )
        report(result, hass, loopback_only=not arguments.all_adapters)
        if arguments.no_wait:
            return 0

        print("Press Ctrl-C to stop Home Assistant.", flush=True)
        exited = asyncio.create_task(hass.wait())
        stopping = asyncio.create_task(stop_requested.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if exited.done():
            print(
                f"Home Assistant exited with status {exited.result()}", file=sys.stderr
            )
            return 1
        exited.cancel()
        return 0
    finally:
        status = await hass.stop()
        if status is not None:
            _LOGGER.info("Home Assistant stopped with status %s", status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    arguments = parse_arguments(argv)
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    try:
        return asyncio.run(run(arguments))
    except BootstrapError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
