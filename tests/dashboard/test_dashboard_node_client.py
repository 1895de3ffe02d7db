"""The Live page's client for the node's HTTP API."""

from __future__ import annotations

from conftest import NODE_STATE, NODE_TOKEN
import pytest

from dashboard.utils.node_client import (
    NodeError,
    fetch_frame,
    fetch_state,
    normalise_address,
)


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        ("raspberrypi.local", "http://raspberrypi.local:8765"),
        ("10.0.0.5:9000", "http://10.0.0.5:9000"),
        ("https://node.example:8443/", "https://node.example:8443"),
        ("http://127.0.0.1:8765/api", "http://127.0.0.1:8765"),
    ],
)
def test_addresses_people_type(typed: str, address: str) -> None:
    """A host, a host and port, or a URL all become a base URL."""
    assert normalise_address(typed) == address


@pytest.mark.parametrize("typed", ["", "ftp://node", "file:///etc/passwd", "host:port"])
def test_bad_addresses_are_refused(typed: str) -> None:
    """Anything but an http or https address is refused with a message."""
    with pytest.raises(NodeError):
        normalise_address(typed)


def test_state_and_frame(fake_node: str) -> None:
    """With the right token the client returns the state and the JPEG frame."""
    state = fetch_state(fake_node, NODE_TOKEN)
    frame = fetch_frame(fake_node, NODE_TOKEN)

    assert state == NODE_STATE
    assert frame is not None
    assert frame.startswith(b"\xff\xd8")


def test_wrong_token_says_so(fake_node: str) -> None:
    """The node's own error code reaches the person."""
    with pytest.raises(NodeError, match="refused the token \\(invalid_token\\)"):
        fetch_state(fake_node, "wrong")


def test_unreachable_node_says_where(unused_port: int) -> None:
    """A node that does not answer is named in the message."""
    address = f"http://127.0.0.1:{unused_port}"

    with pytest.raises(NodeError, match=f"Cannot reach the node at {address}"):
        fetch_state(address, NODE_TOKEN)
