"""Zeroconf announcement of the node as `_smart-labeling._tcp.local.`."""

from __future__ import annotations

import logging
import socket
from typing import Any

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from .const import ZEROCONF_TYPE

_LOGGER = logging.getLogger(__name__)


def service_info(info: dict[str, Any], port: int, addresses: list[str]) -> ServiceInfo:
    """Return the zeroconf record for a node, with its id and API version."""
    node_id = str(info["node_id"])
    return ServiceInfo(
        ZEROCONF_TYPE,
        f"smart-labeling-{node_id}.{ZEROCONF_TYPE}",
        port=port,
        parsed_addresses=addresses,
        server=f"smart-labeling-{node_id}.local.",
        properties={
            "node_id": node_id,
            "api_version": str(info["api_version"]),
            "version": str(info["software_version"]),
            "name": str(info["name"]),
        },
    )


def local_addresses() -> list[str]:
    """Return this machine's IPv4 addresses other than loopback."""
    addresses = {
        str(entry[4][0])
        for entry in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    }
    return sorted(address for address in addresses if not address.startswith("127."))


class Announcement:
    """Announces the node while it runs."""

    def __init__(self, info: dict[str, Any], port: int) -> None:
        """Prepare the record for this node and port."""
        self.info = info
        self.port = port
        self._zeroconf: AsyncZeroconf | None = None
        self._record: ServiceInfo | None = None

    async def start(self) -> None:
        """Register the service."""
        addresses = local_addresses()
        if not addresses:
            _LOGGER.warning("No network address to announce the node on")
            return
        self._record = service_info(self.info, self.port, addresses)
        self._zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)
        await self._zeroconf.async_register_service(self._record)
        _LOGGER.info("Announced as %s", self._record.name)

    async def stop(self) -> None:
        """Withdraw the service."""
        if self._zeroconf is None or self._record is None:
            return
        await self._zeroconf.async_unregister_service(self._record)
        await self._zeroconf.async_close()
        self._zeroconf = None
