"""Shared set-up of the end-to-end tests: their marker and real loopback sockets."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the e2e marker."""
    config.addinivalue_line(
        "markers",
        "e2e: runs a real node and a real Home Assistant in a network namespace",
    )


@pytest.fixture(autouse=True)
def loopback_sockets(request: pytest.FixtureRequest) -> None:
    """Allow real sockets where Home Assistant's pytest plugin blocks them."""
    # The test talks to its own processes on 127.0.0.1, inside a namespace that
    # has no way out.
    if request.config.pluginmanager.has_plugin("socket"):
        request.getfixturevalue("socket_enabled")
