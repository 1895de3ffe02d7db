"""Start a local Home Assistant, onboard it over HTTP and add the Smart Labeling node.

Used by the end-to-end test and the latency benchmark; scripts/ha_bootstrap.py is its
command line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
import contextlib
from dataclasses import asdict, dataclass
import datetime as dt
import json
import logging
import os
from pathlib import Path
import secrets
import signal
import socket
import sys
from typing import IO, Any, Final, Self, cast

import aiohttp
from yarl import URL

_LOGGER = logging.getLogger(__name__)

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
INTEGRATION_DIR: Final = REPO_ROOT / "custom_components" / "smart_labeling"
DOMAIN: Final = "smart_labeling"

CONFIG_MARKER: Final = "# Written by demo/ha.py"
CREDENTIALS_FILE: Final = "smart_labeling_bootstrap.json"
NETWORK_STORAGE_KEY: Final = "core.network"
HASS_OUTPUT_FILE: Final = "hass.out.log"
NODE_OUTPUT_FILE: Final = "node.out.log"
BIND_FAILURE: Final = "Failed to create HTTP server"
CLIENT_NAME: Final = "Smart Labeling bootstrap"
TOKEN_LIFESPAN_DAYS: Final = 3650

# Interfaces scripts/netns-run creates: loopback and one that leads nowhere.
ISOLATED_INTERFACES: Final = frozenset({"lo", "nowhere0", "nowhere1"})

HTTP_TIMEOUT: Final = aiohttp.ClientTimeout(total=15)
WEBSOCKET_TIMEOUT_S: Final = 15.0
ENTRY_LOAD_TIMEOUT_S: Final = 60.0
RUNNING_TIMEOUT_S: Final = 60.0
TOKEN_FILE_TIMEOUT_S: Final = 60.0
POLL_INTERVAL_S: Final = 0.2


class BootstrapError(Exception):
    """Home Assistant or the node did not do what the bootstrap needs."""


@dataclass(slots=True)
class Credentials:
    """The Home Assistant owner account and the long-lived token made for it."""

    name: str
    username: str
    password: str
    long_lived_token: str | None = None

    @classmethod
    def generate(cls, username: str = "demo") -> Self:
        """Return credentials with a fresh random password."""
        return cls(
            name="Smart Labeling demo",
            username=username,
            password=secrets.token_urlsafe(12),
        )

    @classmethod
    def load(cls, path: Path) -> Self | None:
        """Read stored credentials, or None when there are none."""
        if not path.exists():
            return None
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                name=str(stored["name"]),
                username=str(stored["username"]),
                password=str(stored["password"]),
                long_lived_token=stored.get("long_lived_token"),
            )
        except (ValueError, KeyError, TypeError) as err:
            msg = f"{path}: not a credentials file written by this script ({err})"
            raise BootstrapError(msg) from err

    def save(self, path: Path) -> None:
        """Write the credentials, readable by the owner only."""
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(asdict(self), file, indent=2)
        temporary.chmod(0o600)
        temporary.replace(path)


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """What a bootstrapped Home Assistant offers to the person or test using it."""

    base_url: str
    username: str
    password: str
    access_token: str
    entry_id: str
    credentials_path: Path

    @property
    def integration_url(self) -> str:
        """Return the page of the Smart Labeling integration in the UI."""
        return f"{self.base_url}/config/integrations/integration/{DOMAIN}"


def network_interfaces() -> list[str]:
    """Return the names of the network interfaces of this network namespace."""
    return [name for _, name in socket.if_nameindex()]


def network_is_isolated() -> bool:
    """Return whether this namespace only has the interfaces scripts/netns-run makes."""
    return set(network_interfaces()) <= ISOLATED_INTERFACES


def port_is_free(port: int) -> bool:
    """Return whether a TCP port on 127.0.0.1 can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers do, so that connections of a killed server still in TIME_WAIT
        # do not count as a listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on at the moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def configuration_yaml(port: int) -> str:
    """Return a minimal configuration that serves on 127.0.0.1 only."""
    # No default_config: it brings SSDP, DHCP, Bluetooth, USB and cloud discovery.
    return (
        f"{CONFIG_MARKER}: a local Home Assistant for Smart Labeling.\n"
        "http:\n"
        "  server_host: 127.0.0.1\n"
        f"  server_port: {port}\n"
        "frontend:\n"
        "config:\n"
        "api:\n"
        "websocket_api:\n"
        "onboarding:\n"
        "history:\n"
        "logbook:\n"
    )


def prepare_config_dir(
    config_dir: Path,
    port: int,
    integration_dir: Path = INTEGRATION_DIR,
    *,
    loopback_only: bool = True,
) -> None:
    """Write the configuration and link the integration into a config directory.

    With loopback_only, Home Assistant's network settings select the loopback adapter
    alone, unless they were already saved.
    """
    if not (integration_dir / "manifest.json").is_file():
        msg = (
            f"{integration_dir}: no Home Assistant integration (manifest.json missing)"
        )
        raise BootstrapError(msg)

    config_dir.mkdir(parents=True, exist_ok=True)
    configuration = config_dir / "configuration.yaml"
    if configuration.exists() and not configuration.read_text(
        encoding="utf-8"
    ).startswith(CONFIG_MARKER):
        msg = f"{configuration}: not written by this script; use an empty directory"
        raise BootstrapError(msg)
    configuration.write_text(configuration_yaml(port), encoding="utf-8")

    custom_components = config_dir / "custom_components"
    custom_components.mkdir(exist_ok=True)
    link = custom_components / DOMAIN
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        msg = f"{link}: exists and is not a symbolic link; remove it first"
        raise BootstrapError(msg)
    link.symlink_to(integration_dir.resolve(), target_is_directory=True)

    if loopback_only:
        select_loopback_adapter(config_dir)


def select_loopback_adapter(config_dir: Path) -> None:
    """Save the loopback adapter as the only one Home Assistant may use."""
    # The setting of Settings > System > Network. Home Assistant reads it once when
    # it starts, so it is stored before the first start: then the mDNS resolver of
    # its HTTP client session joins no multicast group on a real interface.
    settings = config_dir / ".storage" / NETWORK_STORAGE_KEY
    if settings.exists():
        return
    settings.parent.mkdir(exist_ok=True)
    stored = {
        "version": 1,
        "minor_version": 1,
        "key": NETWORK_STORAGE_KEY,
        "data": {"configured_adapters": ["lo"]},
    }
    settings.write_text(json.dumps(stored, indent=2), encoding="utf-8")


class ManagedProcess:
    """A child process whose output goes to a file, stopped with SIGTERM."""

    start_timeout_s: float = 60.0
    stop_timeout_s: float = 30.0

    def __init__(
        self, name: str, command: Sequence[str], output_path: Path, cwd: Path
    ) -> None:
        """Remember how to start the process."""
        self.name = name
        self.command = list(command)
        self.output_path = output_path
        self.cwd = cwd
        self._process: asyncio.subprocess.Process | None = None
        self._output: IO[bytes] | None = None
        self._output_start = 0

    @property
    def pid(self) -> int | None:
        """Return the process id once the process has been started."""
        return None if self._process is None else self._process.pid

    @property
    def returncode(self) -> int | None:
        """Return the exit status once the process has ended."""
        return None if self._process is None else self._process.returncode

    async def start(self) -> None:
        """Start the process and wait until it is ready."""
        await self._check_can_start()
        self.output_path.parent.mkdir(parents=True, exist_ok=True)
        self._output = self.output_path.open("ab")
        self._output_start = self._output.tell()
        _LOGGER.debug("Starting %s: %s", self.name, " ".join(self.command))
        # A session of its own, so that Ctrl-C in a terminal reaches only us and
        # we stop the process in order.
        self._process = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._output,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.cwd,
            start_new_session=True,
        )
        try:
            await self._wait_until_ready()
        except BaseException:
            await self.stop()
            raise

    def output(self) -> str:
        """Return what the process has written since it was last started."""
        if not self.output_path.exists():
            return ""
        with self.output_path.open("rb") as file:
            file.seek(self._output_start)
            return file.read().decode("utf-8", errors="replace")

    def output_tail(self, lines: int = 30) -> str:
        """Return the last lines the process wrote, for error messages."""
        return "\n".join(self.output().splitlines()[-lines:])

    async def wait(self) -> int:
        """Wait for the process to end and return its exit status."""
        if self._process is None:
            msg = f"{self.name} was never started"
            raise BootstrapError(msg)
        return await self._process.wait()

    async def stop(self) -> int | None:
        """Ask the process to end with SIGTERM; SIGKILL it if it does not."""
        if self._process is None:
            return None
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(self.stop_timeout_s):
                    await self._process.wait()
            except TimeoutError:
                _LOGGER.warning(
                    "%s ignored SIGTERM for %.0f s", self.name, self.stop_timeout_s
                )
                await self.kill()
        self._close_output()
        return self._process.returncode

    async def kill(self) -> None:
        """End the process at once with SIGKILL."""
        if self._process is None:
            return
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        self._close_output()

    async def _check_can_start(self) -> None:
        """Raise BootstrapError when the process cannot start now."""

    def _check_alive(self) -> None:
        """Raise BootstrapError when the process has failed."""
        if self.returncode is not None:
            msg = (
                f"{self.name} exited with status {self.returncode}:\n"
                f"{self.output_tail()}"
            )
            raise BootstrapError(msg)

    async def _is_ready(self, session: aiohttp.ClientSession) -> bool:
        """Return whether the process serves what it should."""
        raise NotImplementedError

    async def _wait_until_ready(self) -> None:
        probe_timeout = aiohttp.ClientTimeout(total=2)
        try:
            async with (
                asyncio.timeout(self.start_timeout_s),
                aiohttp.ClientSession(timeout=probe_timeout) as session,
            ):
                while True:
                    self._check_alive()
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                        if await self._is_ready(session):
                            self._check_alive()
                            return
                    await asyncio.sleep(POLL_INTERVAL_S)
        except TimeoutError as err:
            msg = (
                f"{self.name} was not ready within {self.start_timeout_s:.0f} s:\n"
                f"{self.output_tail()}"
            )
            raise BootstrapError(msg) from err

    def _close_output(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None


class HomeAssistantProcess(ManagedProcess):
    """A `hass` process serving one config directory on 127.0.0.1."""

    start_timeout_s = 120.0

    def __init__(
        self, config_dir: Path, port: int, *, python: str = sys.executable
    ) -> None:
        """Prepare the command; --skip-pip because nothing may be installed at run time."""
        self.config_dir = config_dir
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        command = [
            python,
            "-m",
            "homeassistant",
            "--config",
            str(config_dir),
            "--skip-pip",
            "--log-no-color",
        ]
        # Run from the config directory: from the repository, Python would import
        # the repository's custom_components package instead of the config's.
        super().__init__(
            "Home Assistant", command, config_dir / HASS_OUTPUT_FILE, cwd=config_dir
        )

    async def _check_can_start(self) -> None:
        if not port_is_free(self.port):
            msg = f"port {self.port} on 127.0.0.1 is in use; choose another port"
            raise BootstrapError(msg)

    def _check_alive(self) -> None:
        # Home Assistant keeps running when its HTTP server cannot bind.
        if BIND_FAILURE in self.output():
            msg = (
                f"Home Assistant could not listen on 127.0.0.1:{self.port}:\n"
                f"{self.output_tail()}"
            )
            raise BootstrapError(msg)
        super()._check_alive()

    async def _is_ready(self, session: aiohttp.ClientSession) -> bool:
        # Open before onboarding (200) and gone after it (404).
        async with session.get(f"{self.base_url}/api/onboarding") as response:
            return response.status in {200, 404}


class NodeProcess(ManagedProcess):
    """A simulated Smart Labeling node (`python -m node --simulate`) on 127.0.0.1."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        models_dir: Path = REPO_ROOT / "models",
        schedule: str | None = None,
        sample_rate_hz: float | None = None,
        extra_args: Sequence[str] = (),
        python: str = sys.executable,
    ) -> None:
        """Prepare the command line of the node; it never announces itself."""
        self.data_dir = data_dir
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        command = [
            python,
            "-m",
            "node",
            "--simulate",
            "--no-zeroconf",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--models-dir",
            str(models_dir),
        ]
        if schedule is not None:
            command += ["--schedule", schedule]
        if sample_rate_hz is not None:
            command += ["--sample-rate", str(sample_rate_hz)]
        command += list(extra_args)
        super().__init__(
            "the node", command, data_dir.parent / NODE_OUTPUT_FILE, cwd=REPO_ROOT
        )

    @property
    def token_path(self) -> Path:
        """Return the file the node keeps its API token in."""
        return self.data_dir / "token"

    def token(self) -> str:
        """Return the node's API token."""
        return read_token_file(self.token_path)

    async def _check_can_start(self) -> None:
        if not port_is_free(self.port):
            msg = f"port {self.port} on 127.0.0.1 is in use"
            raise BootstrapError(msg)

    async def _is_ready(self, session: aiohttp.ClientSession) -> bool:
        async with session.get(f"{self.base_url}/api/info") as response:
            return response.status == 200 and self.token_path.is_file()


def read_token_file(path: Path) -> str:
    """Return the token stored in a file, failing clearly when it is empty."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        msg = f"{path}: cannot read the node token ({err.strerror})"
        raise BootstrapError(msg) from err
    if not token:
        msg = f"{path}: the node token file is empty"
        raise BootstrapError(msg)
    return token


async def wait_for_token_file(path: Path) -> str:
    """Wait until a node that is still starting has written its token; return it."""
    try:
        async with asyncio.timeout(TOKEN_FILE_TIMEOUT_S):
            while True:
                if await asyncio.to_thread(path.is_file):
                    break
                await asyncio.sleep(POLL_INTERVAL_S)
    except TimeoutError as err:
        msg = (
            f"{path}: not there after {TOKEN_FILE_TIMEOUT_S:.0f} s; "
            "is the node running with that data directory?"
        )
        raise BootstrapError(msg) from err
    return read_token_file(path)


class HomeAssistantClient:
    """The HTTP API of Home Assistant, as its frontend uses it."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        access_token: str | None = None,
    ) -> None:
        """Talk to the Home Assistant at base_url, with a token once there is one."""
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token

    @property
    def client_id(self) -> str:
        """Return the OAuth client id the frontend uses: its own base URL."""
        return f"{self.base_url}/"

    @property
    def redirect_uri(self) -> str:
        """Return where the frontend asks to be sent back after logging in."""
        return f"{self.base_url}/?auth_callback=1"

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
        authenticated: bool = True,
        expected: Sequence[int] = (200,),
    ) -> Any:
        """Send one request and return its JSON answer; raise on another status."""
        headers = {}
        if authenticated:
            if self.access_token is None:
                msg = f"{method} {path} needs an access token and there is none yet"
                raise BootstrapError(msg)
            headers["Authorization"] = f"Bearer {self.access_token}"
        async with self.session.request(
            method,
            f"{self.base_url}{path}",
            json=json_body,
            data=form,
            headers=headers,
            timeout=HTTP_TIMEOUT,
        ) as response:
            text = await response.text()
            if response.status not in expected:
                msg = f"{method} {path} answered {response.status}: {text[:500]}"
                raise BootstrapError(msg)
            return json.loads(text) if text else None

    async def onboarding_steps(self) -> dict[str, bool] | None:
        """Return each onboarding step and whether it is done; None once onboarded."""
        async with self.session.get(
            f"{self.base_url}/api/onboarding", timeout=HTTP_TIMEOUT
        ) as response:
            if response.status == 404:
                return None
            if response.status != 200:
                msg = f"GET /api/onboarding answered {response.status}"
                raise BootstrapError(msg)
            steps = await response.json()
        return {str(step["step"]): bool(step["done"]) for step in steps}

    async def exchange_code(self, code: str) -> str:
        """Exchange an authorization code for an access token."""
        tokens = await self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
            authenticated=False,
        )
        self.access_token = str(tokens["access_token"])
        return self.access_token

    async def log_in(self, username: str, password: str) -> str:
        """Log in through the login flow, as the login page does."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            json_body={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.redirect_uri,
            },
            authenticated=False,
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json_body={
                "client_id": self.client_id,
                "username": username,
                "password": password,
            },
            authenticated=False,
        )
        if result.get("type") != "create_entry":
            errors = result.get("errors") or result.get("reason")
            msg = f"Home Assistant refused the login of {username!r}: {errors}"
            raise BootstrapError(msg)
        return await self.exchange_code(str(result["result"]))

    async def token_works(self, token: str) -> bool:
        """Return whether Home Assistant accepts a token."""
        async with self.session.get(
            f"{self.base_url}/api/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT,
        ) as response:
            return response.status == 200

    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[HomeAssistantWebSocket]:
        """Open an authenticated WebSocket connection."""
        if self.access_token is None:
            msg = "the WebSocket API needs an access token and there is none yet"
            raise BootstrapError(msg)
        connection = await HomeAssistantWebSocket.connect(
            self.session, self.base_url, self.access_token
        )
        try:
            yield connection
        finally:
            await connection.close()


class HomeAssistantWebSocket:
    """One authenticated connection to Home Assistant's WebSocket API."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        """Dispatch answers and events from a connection that passed auth."""
        self._websocket = websocket
        self._next_id = 1
        self._answers: dict[int, asyncio.Future[Any]] = {}
        self._subscriptions: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read(), name="ha websocket reader")

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, base_url: str, access_token: str
    ) -> HomeAssistantWebSocket:
        """Connect and authenticate."""
        url = URL(base_url).with_path("/api/websocket")
        websocket = await session.ws_connect(
            url, timeout=aiohttp.ClientWSTimeout(WEBSOCKET_TIMEOUT_S)
        )
        try:
            async with asyncio.timeout(WEBSOCKET_TIMEOUT_S):
                await _authenticate(websocket, access_token)
        except BaseException:
            await websocket.close()
            raise
        return cls(websocket)

    async def command(self, message_type: str, **fields: Any) -> Any:
        """Send a command and return its result."""
        message_id = self._send_id()
        answer = asyncio.get_running_loop().create_future()
        self._answers[message_id] = answer
        await self._websocket.send_json(
            {"id": message_id, "type": message_type, **fields}
        )
        async with asyncio.timeout(WEBSOCKET_TIMEOUT_S):
            return await answer

    async def subscribe_events(
        self, event_type: str | None = None
    ) -> asyncio.Queue[dict[str, Any]]:
        """Subscribe to events (all when no type is given); return their queue."""
        message_id = self._send_id()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscriptions[message_id] = queue
        answer = asyncio.get_running_loop().create_future()
        self._answers[message_id] = answer
        fields = {} if event_type is None else {"event_type": event_type}
        await self._websocket.send_json(
            {"id": message_id, "type": "subscribe_events", **fields}
        )
        async with asyncio.timeout(WEBSOCKET_TIMEOUT_S):
            await answer
        return queue

    async def close(self) -> None:
        """Close the connection and stop reading."""
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._websocket.close()

    def _send_id(self) -> int:
        message_id = self._next_id
        self._next_id += 1
        return message_id

    async def _read(self) -> None:
        error: BaseException = BootstrapError("the WebSocket connection closed")
        try:
            async for message in self._websocket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                self._dispatch(json.loads(message.data))
        except aiohttp.ClientError as err:
            error = BootstrapError(f"the WebSocket connection failed: {err}")
        for answer in self._answers.values():
            if not answer.done():
                answer.set_exception(error)

    def _dispatch(self, message: dict[str, Any]) -> None:
        message_id = message.get("id")
        if message.get("type") == "event" and message_id in self._subscriptions:
            self._subscriptions[message_id].put_nowait(message["event"])
            return
        answer = self._answers.pop(message_id, None) if message_id else None
        if answer is None or answer.done():
            return
        if message.get("success"):
            answer.set_result(message.get("result"))
        else:
            answer.set_exception(
                BootstrapError(f"WebSocket command failed: {message.get('error')}")
            )


async def _authenticate(
    websocket: aiohttp.ClientWebSocketResponse, access_token: str
) -> None:
    """Answer the auth_required greeting of Home Assistant's WebSocket API."""
    greeting = await websocket.receive_json()
    if greeting.get("type") != "auth_required":
        msg = f"unexpected WebSocket greeting: {greeting}"
        raise BootstrapError(msg)
    await websocket.send_json({"type": "auth", "access_token": access_token})
    answer = await websocket.receive_json()
    if answer.get("type") != "auth_ok":
        msg = f"WebSocket authentication failed: {answer}"
        raise BootstrapError(msg)


def system_time_zone() -> str:
    """Return this machine's IANA time zone name, or UTC when it cannot be told."""
    with contextlib.suppress(OSError):
        target = Path("/etc/localtime").resolve()
        if "zoneinfo" in target.parts:
            index = target.parts.index("zoneinfo")
            return "/".join(target.parts[index + 1 :])
    return "UTC"


async def onboard(
    client: HomeAssistantClient,
    credentials: Credentials,
    *,
    language: str = "en",
    time_zone: str | None = None,
    country: str | None = None,
) -> bool:
    """Run the onboarding steps still open, in the order the frontend runs them.

    Leaves the client logged in. Returns whether any onboarding step was needed.
    """
    steps = await client.onboarding_steps()
    if steps is None:
        await client.log_in(credentials.username, credentials.password)
        return False

    if not steps.get("user", True):
        _LOGGER.info("Creating the owner account %s", credentials.username)
        created = await client.request(
            "POST",
            "/api/onboarding/users",
            json_body={
                "client_id": client.client_id,
                "name": credentials.name,
                "username": credentials.username,
                "password": credentials.password,
                "language": language,
            },
            authenticated=False,
        )
        await client.exchange_code(str(created["auth_code"]))
    else:
        await client.log_in(credentials.username, credentials.password)

    if not steps.get("core_config", True):
        core_config: dict[str, Any] = {
            "language": language,
            "time_zone": time_zone or system_time_zone(),
            "unit_system": "metric",
            "currency": "EUR",
        }
        if country is not None:
            core_config["country"] = country
        async with client.websocket() as websocket:
            await websocket.command("config/core/update", **core_config)
        await client.request("POST", "/api/onboarding/core_config")

    if not steps.get("analytics", True):
        # Opting out, explicitly: the demo sends nothing to the analytics service.
        async with client.websocket() as websocket:
            await websocket.command(
                "analytics/preferences", preferences={"base": False}
            )
        await client.request("POST", "/api/onboarding/analytics")

    if not steps.get("integration", True):
        handed_over = await client.request(
            "POST",
            "/api/onboarding/integration",
            json_body={
                "client_id": client.client_id,
                "redirect_uri": client.redirect_uri,
            },
        )
        await client.exchange_code(str(handed_over["auth_code"]))
    return True


async def create_long_lived_token(client: HomeAssistantClient) -> str:
    """Create a long-lived access token, as the profile page does."""
    # Home Assistant allows one long-lived token per client name and user.
    stamp = dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    async with client.websocket() as websocket:
        token = await websocket.command(
            "auth/long_lived_access_token",
            client_name=f"{CLIENT_NAME} {stamp}",
            lifespan=TOKEN_LIFESPAN_DAYS,
        )
    return str(token)


async def config_entries(
    client: HomeAssistantClient, domain: str = DOMAIN
) -> list[dict[str, Any]]:
    """Return the config entries of one integration."""
    entries = await client.request(
        "GET", f"/api/config/config_entries/entry?domain={domain}"
    )
    return cast("list[dict[str, Any]]", entries)


async def add_integration(
    client: HomeAssistantClient,
    host: str,
    port: int,
    node_token: str,
) -> str:
    """Add the node through the config flow unless it is there; return the entry id."""
    for entry in await config_entries(client):
        if entry.get("state") == "loaded":
            _LOGGER.info("The integration is already set up (%s)", entry["entry_id"])
            return str(entry["entry_id"])

    answers = {"host": host, "port": port, "token": node_token}
    result = await client.request(
        "POST",
        "/api/config/config_entries/flow",
        json_body={"handler": DOMAIN, "show_advanced_options": False},
    )
    submitted: set[str] = set()
    while result.get("type") == "form":
        problem = _form_problem(result, answers, submitted)
        if problem is not None:
            # Leave no half-done flow behind in the UI.
            await client.request(
                "DELETE", f"/api/config/config_entries/flow/{result['flow_id']}"
            )
            raise BootstrapError(problem)
        submitted.add(str(result.get("step_id")))
        fields = [str(field["name"]) for field in result.get("data_schema", [])]
        result = await client.request(
            "POST",
            f"/api/config/config_entries/flow/{result['flow_id']}",
            json_body={field: answers[field] for field in fields if field in answers},
        )

    if result.get("type") == "create_entry":
        entry_id = str(result["result"]["entry_id"])
    elif result.get("type") == "abort" and result.get("reason") == "already_configured":
        entry_id = ""
    else:
        msg = f"the config flow ended with {result}"
        raise BootstrapError(msg)
    return await _wait_for_loaded_entry(client, entry_id)


def _form_problem(
    form: Mapping[str, Any], answers: Mapping[str, Any], submitted: set[str]
) -> str | None:
    """Return why a config flow form cannot be answered, or None when it can."""
    step = str(form.get("step_id"))
    if form.get("errors"):
        return f"the config flow step {step!r} reported {form['errors']}"
    if step in submitted:
        return f"the config flow asked for step {step!r} twice"
    unknown = [
        str(field["name"])
        for field in form.get("data_schema", [])
        if field.get("required") and field["name"] not in answers
    ]
    if unknown:
        return f"the config flow step {step!r} asks for unknown fields {unknown}"
    return None


async def _wait_for_loaded_entry(client: HomeAssistantClient, entry_id: str) -> str:
    """Wait until the entry (any entry of the domain when "") has loaded."""
    entries: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(ENTRY_LOAD_TIMEOUT_S):
            while True:
                entries = await config_entries(client)
                for entry in entries:
                    if (
                        entry_id in {"", entry["entry_id"]}
                        and entry["state"] == "loaded"
                    ):
                        return str(entry["entry_id"])
                await asyncio.sleep(POLL_INTERVAL_S)
    except TimeoutError as err:
        states = "; ".join(
            f"{entry['title']}: {entry['state']} ({entry.get('reason') or 'no reason'})"
            for entry in entries
        )
        msg = (
            f"the integration did not load within {ENTRY_LOAD_TIMEOUT_S:.0f} s: "
            f"{states or 'no entry'}. If the node's token changed, remove the entry "
            "in Home Assistant and run again"
        )
        raise BootstrapError(msg) from err


async def wait_until_running(client: HomeAssistantClient) -> None:
    """Wait until Home Assistant has finished starting and so handles SIGTERM."""
    state = "unknown"
    try:
        async with asyncio.timeout(RUNNING_TIMEOUT_S):
            while True:
                state = (await client.request("GET", "/api/config"))["state"]
                if state == "RUNNING":
                    return
                await asyncio.sleep(POLL_INTERVAL_S)
    except TimeoutError as err:
        msg = f"Home Assistant still {state} after {RUNNING_TIMEOUT_S:.0f} s"
        raise BootstrapError(msg) from err


async def bootstrap(
    session: aiohttp.ClientSession,
    base_url: str,
    config_dir: Path,
    *,
    node_host: str,
    node_port: int,
    node_token: str,
    username: str | None = None,
    password: str | None = None,
    country: str | None = None,
) -> BootstrapResult:
    """Onboard a running Home Assistant once, then make sure the node is added."""
    credentials_path = config_dir / CREDENTIALS_FILE
    credentials = Credentials.load(credentials_path)
    if credentials is None:
        if password is not None and username is None:
            msg = "a password was given without a user name"
            raise BootstrapError(msg)
        credentials = Credentials.generate(username or "demo")
        if password is not None:
            credentials.password = password
    elif username is not None and username != credentials.username:
        msg = (
            f"{credentials_path} holds user {credentials.username!r}, not "
            f"{username!r}; remove the file to start over"
        )
        raise BootstrapError(msg)

    # Stored before the account exists, so that a crash never loses the password.
    credentials.save(credentials_path)

    client = HomeAssistantClient(session, base_url)
    stored_token = credentials.long_lived_token
    if (
        stored_token is not None
        and await client.onboarding_steps() is None
        and await client.token_works(stored_token)
    ):
        client.access_token = stored_token
    if client.access_token is None:
        await onboard(client, credentials, country=country)
        credentials.long_lived_token = await create_long_lived_token(client)
        credentials.save(credentials_path)
        client.access_token = credentials.long_lived_token

    # Once running, the entries stored by an earlier start have been set up.
    await wait_until_running(client)
    entry_id = await add_integration(client, node_host, node_port, node_token)
    return BootstrapResult(
        base_url=client.base_url,
        username=credentials.username,
        password=credentials.password,
        access_token=client.access_token,
        entry_id=entry_id,
        credentials_path=credentials_path,
    )
