"""HTTP and WebSocket API, version 1: thin handlers over the node service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import hmac
import json
import logging
from pathlib import Path
import shutil
import tempfile
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web
import voluptuous as vol

from .bundle import MAX_MODEL_BYTES, BundleError
from .const import CLASSES
from .models import KINDS, ModelConflictError
from .service import ConflictError, Node, NodeError

_LOGGER = logging.getLogger(__name__)

NODE_KEY: Final = web.AppKey("node", Node)
TOKEN_KEY: Final = web.AppKey("token", str)
UPLOAD_LIMIT_KEY: Final = web.AppKey("upload_limit", int)
SOCKETS_KEY: Final = web.AppKey("sockets", set[web.WebSocketResponse])
OPEN_PATHS: Final = frozenset({"/api/info"})
METADATA_LIMIT: Final = 1024 * 1024

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(web.HTTPException):
    """An error answered as the API's one JSON shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        """Build the JSON error response."""
        self.status_code = status
        super().__init__(
            text=json.dumps({"error": {"code": code, "message": message}}),
            content_type="application/json",
        )
        self.code = code


def _label(value: Any) -> str:
    if value not in CLASSES:
        msg = f"label {value!r} is not one of {', '.join(CLASSES)}"
        raise vol.Invalid(msg)
    return str(value)


RECORDING_SCHEMA: Final = vol.Schema(
    {
        vol.Required("label"): _label,
        vol.Optional("duration_s"): vol.Any(
            None, vol.All(vol.Coerce(float), vol.Range(min=1, max=86400))
        ),
    }
)
SAMPLE_SCHEMA: Final = vol.Schema(
    {
        vol.Required("label"): _label,
        vol.Optional("note"): vol.Any(None, vol.All(str, vol.Length(max=500))),
    }
)
SETTINGS_SCHEMA: Final = vol.Schema(
    {
        vol.Optional("confidence_threshold"): vol.All(
            vol.Coerce(float), vol.Range(min=0, max=1)
        ),
        vol.Optional("debounce"): vol.All(int, vol.Range(min=1, max=50)),
    }
)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Answer every failure as the API's JSON error, never a stack trace."""
    try:
        return await handler(request)
    except ApiError:
        raise
    except web.HTTPRequestEntityTooLarge as err:
        raise ApiError(
            413, "payload_too_large", err.text or "request too large"
        ) from err
    except web.HTTPNotFound as err:
        raise ApiError(404, "not_found", f"no such endpoint: {request.path}") from err
    except web.HTTPMethodNotAllowed as err:
        raise ApiError(
            405, "method_not_allowed", f"{request.method} not allowed here"
        ) from err
    except web.HTTPException:
        raise
    except Exception as err:
        _LOGGER.exception(
            "Unexpected error handling %s %s", request.method, request.path
        )
        raise ApiError(
            500, "internal_error", "the node failed to handle this request"
        ) from err


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require the bearer token everywhere but the open paths."""
    if request.path in OPEN_PATHS:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    supplied = (
        header[7:] if header.startswith("Bearer ") else request.query.get("token")
    )
    if not supplied:
        raise ApiError(401, "missing_token", "send the node's token as a bearer token")
    if not hmac.compare_digest(supplied.encode(), request.app[TOKEN_KEY].encode()):
        raise ApiError(401, "invalid_token", "the token is not this node's token")
    return await handler(request)


async def _json_body(request: web.Request, schema: vol.Schema) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "body must be a JSON object")
    try:
        validated: dict[str, Any] = schema(data)
    except vol.Invalid as err:
        field = ".".join(str(part) for part in err.path)
        code = (
            "unknown_label"
            if field == "label" and "label" in data
            else "invalid_request"
        )
        message = f"{field}: {err.msg}" if field else err.msg
        raise ApiError(400, code, message) from err
    return validated


def _node(request: web.Request) -> Node:
    return request.app[NODE_KEY]


async def get_info(request: web.Request) -> web.Response:
    """Describe the node, its drivers, models and settings."""
    return web.json_response(_node(request).info())


async def get_state(request: web.Request) -> web.Response:
    """Return the latest reading, the label and the recording."""
    return web.json_response(_node(request).state())


async def put_settings(request: web.Request) -> web.Response:
    """Change the confidence threshold and debounce."""
    body = await _json_body(request, SETTINGS_SCHEMA)
    settings = await _node(request).update_settings(
        body.get("confidence_threshold"), body.get("debounce")
    )
    return web.json_response(settings)


async def start_recording(request: web.Request) -> web.Response:
    """Start pre-labeling with a true label."""
    body = await _json_body(request, RECORDING_SCHEMA)
    try:
        state = await _node(request).start_recording(
            body["label"], body.get("duration_s")
        )
    except ConflictError as err:
        raise ApiError(409, "conflict", str(err)) from err
    return web.json_response(state)


async def stop_recording(request: web.Request) -> web.Response:
    """Stop pre-labeling."""
    return web.json_response(await _node(request).stop_recording())


async def capture_sample(request: web.Request) -> web.Response:
    """Store the latest reading and frame with a true label."""
    body = await _json_body(request, SAMPLE_SCHEMA)
    try:
        sample = await _node(request).capture_sample(body["label"], body.get("note"))
    except NodeError as err:
        raise ApiError(409, "conflict", str(err)) from err
    return web.json_response(sample, status=201)


async def get_frame(request: web.Request) -> web.Response:
    """Return the latest camera frame as JPEG."""
    node = _node(request)
    if node.hardware.camera is None:
        raise ApiError(404, "no_camera", "this node has no camera")
    if node.frame_jpeg is None:
        raise ApiError(404, "not_found", "no frame captured yet")
    return web.Response(body=node.frame_jpeg, content_type="image/jpeg")


async def list_models(request: web.Request) -> web.Response:
    """List every bundle the node has."""
    models = _node(request).models
    return web.json_response(
        {
            "models": [entry.to_dict() for entry in models.entries()],
            "active": {kind: models.active_version(kind) for kind in KINDS},
        }
    )


async def upload_model(request: web.Request) -> web.Response:
    """Install an uploaded bundle, or reject it with the reason."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(
            400, "invalid_request", "upload the bundle as multipart/form-data"
        )
    parts: dict[str, bytes] = {}
    reader = await request.multipart()
    limits = {"model": request.app[UPLOAD_LIMIT_KEY], "metadata": METADATA_LIMIT}
    while (part := await reader.next()) is not None:
        name = getattr(part, "name", None)
        if name not in limits:
            raise ApiError(400, "invalid_request", f"unexpected part {name!r}")
        data = bytearray()
        while chunk := await part.read_chunk():  # type: ignore[union-attr]
            data += chunk
            if len(data) > limits[name]:
                raise ApiError(
                    413,
                    "payload_too_large",
                    f"{name} is larger than {limits[name]} bytes",
                )
        parts[name] = bytes(data)
    missing = [name for name in limits if name not in parts]
    if missing:
        raise ApiError(400, "invalid_request", f"missing part(s): {', '.join(missing)}")
    try:
        entry = await _node(request).install_model(parts["model"], parts["metadata"])
    except ModelConflictError as err:
        raise ApiError(409, "conflict", str(err)) from err
    except BundleError as err:
        raise ApiError(422, "invalid_bundle", str(err)) from err
    return web.json_response(entry, status=201)


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise ApiError(
            404, "not_found", f"model kind must be one of {', '.join(KINDS)}"
        )
    return kind


async def activate_model(request: web.Request) -> web.Response:
    """Make an installed model version active."""
    node = _node(request)
    kind = _kind(request)
    return await _model_change(node.activate_model(kind, request.match_info["version"]))


async def rollback_model(request: web.Request) -> web.Response:
    """Go back to the previously active model version."""
    return await _model_change(_node(request).rollback_model(_kind(request)))


async def _model_change(change: Awaitable[dict[str, Any]]) -> web.Response:
    """Answer the active models after a change, or why the change failed."""
    try:
        info = await change
    except KeyError as err:
        raise ApiError(404, "not_found", str(err.args[0])) from err
    except BundleError as err:
        raise ApiError(422, "invalid_bundle", str(err)) from err
    return web.json_response(info)


async def export_dataset(request: web.Request) -> web.StreamResponse:
    """Export the dataset as CSV or as a zip of class folders."""
    export_format = request.query.get("format", "csv")
    if export_format not in ("csv", "zip"):
        raise ApiError(400, "invalid_request", "format must be csv or zip")
    session_text = request.query.get("session")
    try:
        session_id = int(session_text) if session_text else None
    except ValueError as err:
        raise ApiError(400, "invalid_request", "session must be a number") from err
    labelled_only = request.query.get("labelled_only", "false").lower() == "true"

    store = _node(request).store
    loop = asyncio.get_running_loop()
    workdir = Path(tempfile.mkdtemp(prefix="export-"))
    try:
        if export_format == "csv":
            path = workdir / "dataset.csv"
            await loop.run_in_executor(
                None,
                lambda: store.export_csv(
                    path, session_id=session_id, labelled_only=labelled_only
                ),
            )
            body, content_type = path.read_bytes(), "text/csv"
        else:
            folder = workdir / "dataset"

            def build_zip() -> bytes:
                store.export_class_folders(folder, session_id=session_id)
                archive = shutil.make_archive(str(workdir / "dataset"), "zip", folder)
                return Path(archive).read_bytes()

            body, content_type = (
                await loop.run_in_executor(None, build_zip),
                "application/zip",
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return web.Response(
        body=body,
        content_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="dataset.{export_format}"'
        },
    )


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Push readings, label changes, health and other changes as they happen."""
    node = _node(request)
    socket = web.WebSocketResponse(heartbeat=30)
    await socket.prepare(request)
    sockets = request.app[SOCKETS_KEY]
    sockets.add(socket)
    queue = node.subscribe()
    sender = asyncio.create_task(_send_messages(socket, queue, node))
    try:
        async for message in socket:
            if message.type == WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        node.unsubscribe(queue)
        sockets.discard(socket)
        await socket.close()
    return socket


async def _send_messages(
    socket: web.WebSocketResponse,
    queue: asyncio.Queue[dict[str, Any] | None],
    node: Node,
) -> None:
    """Send the hello, then every published message, until the client goes."""
    try:
        await socket.send_json(
            {"type": "hello", "data": {"info": node.info(), "state": node.state()}}
        )
        while (message := await queue.get()) is not None:
            await socket.send_json(message)
        await socket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
    except ConnectionResetError:
        _LOGGER.debug("WebSocket client went away")
        await socket.close()


async def _close_sockets(app: web.Application) -> None:
    """Close every WebSocket so that shutting down does not wait for clients."""
    sockets = app[SOCKETS_KEY]
    for socket in list(sockets):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"node stopping")


def create_app(
    node: Node, token: str, *, max_upload_bytes: int = MAX_MODEL_BYTES
) -> web.Application:
    """Return the API application for a node."""
    app = web.Application(
        middlewares=[error_middleware, auth_middleware],
        client_max_size=max_upload_bytes + METADATA_LIMIT,
    )
    app[NODE_KEY] = node
    app[TOKEN_KEY] = token
    app[UPLOAD_LIMIT_KEY] = max_upload_bytes
    app[SOCKETS_KEY] = set()
    app.on_shutdown.append(_close_sockets)  # type: ignore[arg-type,unused-ignore]
    app.router.add_routes(
        [
            web.get("/api/info", get_info),
            web.get("/api/state", get_state),
            web.get("/api/ws", websocket),
            web.put("/api/settings", put_settings),
            web.post("/api/recording", start_recording),
            web.delete("/api/recording", stop_recording),
            web.post("/api/samples", capture_sample),
            web.get("/api/frame.jpg", get_frame),
            web.get("/api/models", list_models),
            web.post("/api/models", upload_model),
            web.post("/api/models/{kind}/{version}/activate", activate_model),
            web.post("/api/models/{kind}/rollback", rollback_model),
            web.get("/api/export", export_dataset),
        ]
    )
    return app
