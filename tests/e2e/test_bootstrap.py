"""The Home Assistant bootstrap's parts that need no Home Assistant process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
import json
from pathlib import Path
import signal
import socket
import stat
import subprocess
import sys
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from demo.ha import (
    CONFIG_MARKER,
    DOMAIN,
    NETWORK_STORAGE_KEY,
    REPO_ROOT,
    BootstrapError,
    Credentials,
    HomeAssistantClient,
    HomeAssistantProcess,
    add_integration,
    configuration_yaml,
    free_port,
    port_is_free,
    prepare_config_dir,
)

FAKE_BEARER = "long-lived-token"
FLOW_PATH = "/api/config/config_entries/flow"


@pytest.fixture
def integration_dir(tmp_path: Path) -> Path:
    """Return a directory that looks like an integration."""
    directory = tmp_path / "integration" / DOMAIN
    directory.mkdir(parents=True)
    (directory / "manifest.json").write_text('{"domain": "smart_labeling"}')
    return directory


def test_configuration_serves_loopback_only() -> None:
    """The configuration binds 127.0.0.1 on the given port, without default_config."""
    text = configuration_yaml(8125)

    assert text.startswith(CONFIG_MARKER)
    assert "  server_host: 127.0.0.1\n  server_port: 8125\n" in text
    assert "default_config" not in text
    assert "zeroconf" not in text
    for integration in ("frontend", "api", "websocket_api", "onboarding", "history"):
        assert f"\n{integration}:\n" in text


def test_config_dir_links_the_integration(
    tmp_path: Path, integration_dir: Path
) -> None:
    """The integration is linked in, and only loopback is selected, idempotently."""
    config_dir = tmp_path / "ha"

    prepare_config_dir(config_dir, 8125, integration_dir)
    prepare_config_dir(config_dir, 8126, integration_dir)

    link = config_dir / "custom_components" / DOMAIN
    assert link.is_symlink()
    assert link.resolve() == integration_dir.resolve()
    assert "server_port: 8126" in (config_dir / "configuration.yaml").read_text()
    network = json.loads((config_dir / ".storage" / NETWORK_STORAGE_KEY).read_text())
    assert network["key"] == NETWORK_STORAGE_KEY
    assert network["data"] == {"configured_adapters": ["lo"]}


def test_saved_network_settings_are_kept(tmp_path: Path, integration_dir: Path) -> None:
    """Network settings saved earlier (by the UI) are not overwritten."""
    settings = tmp_path / "ha" / ".storage" / NETWORK_STORAGE_KEY
    settings.parent.mkdir(parents=True)
    settings.write_text('{"data": {"configured_adapters": ["eth0"]}}')

    prepare_config_dir(tmp_path / "ha", 8125, integration_dir)

    assert json.loads(settings.read_text())["data"]["configured_adapters"] == ["eth0"]


def test_all_adapters_leaves_network_settings_alone(
    tmp_path: Path, integration_dir: Path
) -> None:
    """Without loopback_only, Home Assistant detects its adapters itself."""
    prepare_config_dir(tmp_path / "ha", 8125, integration_dir, loopback_only=False)

    assert not (tmp_path / "ha" / ".storage" / NETWORK_STORAGE_KEY).exists()


def test_foreign_configuration_is_refused(
    tmp_path: Path, integration_dir: Path
) -> None:
    """A configuration.yaml this code did not write is never overwritten."""
    config_dir = tmp_path / "ha"
    config_dir.mkdir()
    (config_dir / "configuration.yaml").write_text("default_config:\n")

    with pytest.raises(BootstrapError, match="not written by this script"):
        prepare_config_dir(config_dir, 8125, integration_dir)

    assert (config_dir / "configuration.yaml").read_text() == "default_config:\n"


def test_missing_integration_is_named(tmp_path: Path) -> None:
    """A directory without manifest.json is reported by its path."""
    with pytest.raises(BootstrapError, match=r"nothing: .*manifest\.json missing"):
        prepare_config_dir(tmp_path / "ha", 8125, tmp_path / "nothing")


def test_credentials_are_owner_only(tmp_path: Path) -> None:
    """Stored credentials round-trip and only their owner can read them."""
    path = tmp_path / "credentials.json"
    credentials = Credentials.generate("alice")
    credentials.long_lived_token = FAKE_BEARER

    credentials.save(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Credentials.load(path) == credentials
    assert Credentials.generate().password != Credentials.generate().password


def test_broken_credentials_file_is_named(tmp_path: Path) -> None:
    """A credentials file that is not one fails with its path in the message."""
    path = tmp_path / "credentials.json"
    path.write_text('{"username": "alice"}')

    with pytest.raises(BootstrapError, match=r"credentials\.json: not a credentials"):
        Credentials.load(path)


def test_port_is_free_sees_a_listener() -> None:
    """A port with a listener is busy; once it closes, the port is free."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    assert not port_is_free(port)
    listener.close()
    assert port_is_free(port)


async def test_busy_port_stops_home_assistant_before_it_starts(
    tmp_path: Path,
) -> None:
    """Home Assistant is not started on a port another process listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        hass = HomeAssistantProcess(tmp_path / "ha", listener.getsockname()[1])

        with pytest.raises(BootstrapError, match="is in use"):
            await hass.start()

    assert hass.pid is None


def stand_in(hass: HomeAssistantProcess, script: str) -> HomeAssistantProcess:
    """Make a Home Assistant process run a short Python script instead of hass."""
    hass.command = [sys.executable, "-c", script]
    hass.start_timeout_s = 10.0
    return hass


async def test_failed_http_bind_is_reported(tmp_path: Path) -> None:
    """A process that logs a failed HTTP bind is stopped and its log shown."""
    hass = stand_in(
        HomeAssistantProcess(tmp_path / "ha", free_port()),
        "import time; print('ERROR Failed to create HTTP server at port 1: "
        "[Errno 98] address in use', flush=True); time.sleep(60)",
    )
    (tmp_path / "ha").mkdir()

    with pytest.raises(BootstrapError, match=r"could not listen(.|\n)*Errno 98"):
        await hass.start()

    assert hass.returncode is not None


async def test_early_exit_is_reported(tmp_path: Path) -> None:
    """A process that exits while starting fails with its status and output."""
    hass = stand_in(
        HomeAssistantProcess(tmp_path / "ha", free_port()),
        "print('no configuration'); raise SystemExit(3)",
    )
    (tmp_path / "ha").mkdir()

    with pytest.raises(BootstrapError, match=r"status 3:\nno configuration"):
        await hass.start()


async def test_silent_process_times_out(tmp_path: Path) -> None:
    """A process that never answers on its port fails after its start timeout."""
    hass = stand_in(
        HomeAssistantProcess(tmp_path / "ha", free_port()),
        "import time; time.sleep(60)",
    )
    hass.start_timeout_s = 1.0
    (tmp_path / "ha").mkdir()

    with pytest.raises(BootstrapError, match="was not ready within 1 s"):
        await hass.start()

    assert hass.returncode == -signal.SIGTERM


@dataclass
class FakeConfigFlows:
    """Home Assistant's config entry API, as far as add_integration uses it."""

    errors: dict[str, str] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    flows_started: int = 0
    submitted: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def application(self) -> web.Application:
        """Return the web application serving the fake API."""
        app = web.Application(middlewares=[self._authorize])
        app.router.add_get("/api/config/config_entries/entry", self._entries)
        app.router.add_post(FLOW_PATH, self._start)
        app.router.add_post(FLOW_PATH + "/{flow_id}", self._submit)
        app.router.add_delete(FLOW_PATH + "/{flow_id}", self._delete)
        return app

    @web.middleware
    async def _authorize(
        self, request: web.Request, handler: Any
    ) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {FAKE_BEARER}":
            raise web.HTTPUnauthorized
        response: web.StreamResponse = await handler(request)
        return response

    async def _entries(self, request: web.Request) -> web.Response:
        assert request.query["domain"] == DOMAIN
        return web.json_response(self.entries)

    def _form(self, errors: dict[str, str]) -> web.Response:
        schema = [
            {"name": "host", "required": True, "type": "string"},
            {"name": "port", "required": True, "type": "integer"},
            {"name": "token", "required": True, "type": "string"},
            {"name": "name", "optional": True, "type": "string"},
        ]
        form = {"type": "form", "flow_id": "f1", "step_id": "user", "errors": errors}
        return web.json_response({**form, "data_schema": schema})

    async def _start(self, request: web.Request) -> web.Response:
        assert (await request.json())["handler"] == DOMAIN
        self.flows_started += 1
        return self._form({})

    async def _submit(self, request: web.Request) -> web.Response:
        self.submitted.append(await request.json())
        if self.errors:
            return self._form(self.errors)
        entry = {"entry_id": "e1", "title": "Node", "state": "loaded", "reason": None}
        self.entries.append(entry)
        return web.json_response({"type": "create_entry", "result": entry})

    async def _delete(self, request: web.Request) -> web.Response:
        self.deleted.append(request.match_info["flow_id"])
        return web.json_response({"message": "Flow aborted"})


@pytest.fixture
async def fake_client(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[HomeAssistantClient, FakeConfigFlows]]:
    """Serve a FakeConfigFlows on 127.0.0.1 and return a client logged in to it."""
    flows: FakeConfigFlows = getattr(request, "param", FakeConfigFlows())
    runner = web.AppRunner(flows.application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            yield (
                HomeAssistantClient(session, f"http://127.0.0.1:{port}", FAKE_BEARER),
                flows,
            )
    finally:
        await runner.cleanup()


async def test_config_flow_gets_the_node_address(
    fake_client: tuple[HomeAssistantClient, FakeConfigFlows],
) -> None:
    """The form's fields are answered with host, port and token; optional ones left."""
    client, flows = fake_client

    entry_id = await add_integration(client, "127.0.0.1", 8765, "node-token")

    assert entry_id == "e1"
    assert flows.submitted == [
        {"host": "127.0.0.1", "port": 8765, "token": "node-token"}
    ]


@pytest.mark.parametrize(
    "fake_client",
    [FakeConfigFlows(entries=[{"entry_id": "old", "state": "loaded", "title": "N"}])],
    indirect=True,
)
async def test_loaded_entry_is_kept(
    fake_client: tuple[HomeAssistantClient, FakeConfigFlows],
) -> None:
    """A node already set up is not added a second time."""
    client, flows = fake_client

    assert await add_integration(client, "127.0.0.1", 8765, "node-token") == "old"
    assert flows.flows_started == 0


@pytest.mark.parametrize(
    "fake_client", [FakeConfigFlows(errors={"base": "cannot_connect"})], indirect=True
)
async def test_flow_errors_are_reported_and_the_flow_aborted(
    fake_client: tuple[HomeAssistantClient, FakeConfigFlows],
) -> None:
    """A form that comes back with errors fails with them and is not left open."""
    client, flows = fake_client

    with pytest.raises(BootstrapError, match="cannot_connect"):
        await add_integration(client, "127.0.0.1", 8765, "node-token")

    assert len(flows.submitted) == 1
    assert flows.deleted == ["f1"]


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/ha_bootstrap.py from outside the repository."""
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "ha_bootstrap.py"), *arguments],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_names_a_missing_integration(tmp_path: Path) -> None:
    """The command line fails with a clear message, before starting anything."""
    completed = run_cli(
        "--config",
        str(tmp_path / "ha"),
        "--node-token",
        "x",
        "--integration-dir",
        str(tmp_path / "nothing"),
    )

    assert completed.returncode == 1
    assert "manifest.json missing" in completed.stderr
    assert not (tmp_path / "ha").exists()


def test_cli_needs_a_node_port(tmp_path: Path) -> None:
    """A node URL without a port is refused with the option's name."""
    completed = run_cli(
        "--config", str(tmp_path / "ha"), "--node-token", "x", "--node-url", "http://n"
    )

    assert completed.returncode == 1
    assert "--node-url 'http://n' needs a host and a port" in completed.stderr
