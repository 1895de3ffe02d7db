"""The node's HTTP and WebSocket API through aiohttp's test client."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
import zipfile

from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from PIL import Image
import pytest

from node.bundle import METADATA_FILE, MODEL_FILE
from node.const import CLASSES
from node.service import Node

type Client = TestClient[web.Request, web.Application]


async def wait_for_label(node: Node, label: str, timeout: float = 5.0) -> None:
    """Wait until the node's debounced label is the given one."""
    async with asyncio.timeout(timeout):
        while node.debouncer.label != label:
            await asyncio.sleep(0.02)


async def test_info_is_open_and_describes_the_node(client: Client, node: Node) -> None:
    """GET /api/info needs no token and lists drivers, models and settings."""
    response = await client.get("/api/info", headers={"Authorization": ""})
    assert response.status == 200
    info = await response.json()
    assert info["node_id"] == node.node_id
    assert info["api_version"] == 1
    assert info["classes"] == list(CLASSES)
    assert set(info["drivers"]) == {"light", "temperature", "distance", "camera"}
    assert all(driver["status"] == "ok" for driver in info["drivers"].values())
    assert info["models"]["sensors"]["version"] == "1.0.0"
    assert info["models"]["image"] is None
    assert info["camera"] is True
    assert "full_spectrum" in info["readings"]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_token"),
        ({"Authorization": "Bearer wrong"}, "invalid_token"),
        ({"Authorization": "Basic abc"}, "missing_token"),
    ],
)
async def test_everything_else_needs_the_token(
    client: Client, headers: dict[str, str], code: str
) -> None:
    """A missing or wrong token answers 401 with a code naming the problem."""
    client.session.headers.pop("Authorization", None)
    response = await client.get("/api/state", headers=headers)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == code


async def test_token_as_query_parameter(client: Client, node: Node) -> None:
    """Browsers can pass the token in the query string."""
    token = client.session.headers.pop("Authorization").removeprefix("Bearer ")
    response = await client.get("/api/state", params={"token": token})
    assert response.status == 200


async def test_state_follows_the_scene(client: Client, node: Node) -> None:
    """The state shows the latest reading and the debounced label."""
    await wait_for_label(node, "flashlight")
    state = await (await client.get("/api/state")).json()
    assert state["label"]["label"] == "flashlight"
    reading = state["reading"]
    assert reading["prediction"]["label"] == "flashlight"
    assert reading["prediction"]["source"] == "sensors"
    assert reading["values"]["full_spectrum"] > reading["values"]["infrared"] * 10
    assert state["recording"]["active"] is False
    assert state["stats"]["readings_total"] >= 3


async def test_websocket_pushes_readings_and_label_changes(
    client: Client, node: Node
) -> None:
    """The WebSocket says hello, then streams readings and label changes."""
    await wait_for_label(node, "flashlight")
    async with client.ws_connect("/api/ws") as socket:
        hello = await socket.receive_json(timeout=5)
        assert hello["type"] == "hello"
        assert hello["data"]["info"]["node_id"] == node.node_id
        assert hello["data"]["state"]["label"]["label"] == "flashlight"

        assert node.scene is not None
        node.scene.hold("lighter", 20.0)
        seen: dict[str, list[dict[str, object]]] = {"reading": [], "label": []}
        async with asyncio.timeout(10):
            while not seen["label"]:
                message = await socket.receive_json()
                seen.setdefault(message["type"], []).append(message["data"])
        assert seen["label"][0]["old"] == "flashlight"
        assert seen["label"][0]["new"] == "lighter"
        assert len(seen["reading"]) >= node.debouncer.debounce


async def test_websocket_rejects_without_token(client: Client) -> None:
    """The WebSocket handshake needs the token too."""
    client.session.headers.pop("Authorization", None)
    response = await client.get("/api/ws")
    assert response.status == 401


async def test_invalid_json_and_fields(client: Client) -> None:
    """Bad bodies answer 400 with a code and a message naming the field."""
    response = await client.post("/api/samples", data=b"{not json")
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_json"

    response = await client.post("/api/samples", json=["label"])
    assert (await response.json())["error"]["code"] == "invalid_request"

    response = await client.post("/api/samples", json={"label": "candle"})
    error = (await response.json())["error"]
    assert response.status == 400
    assert error["code"] == "unknown_label"
    assert "candle" in error["message"]
    assert "flashlight" in error["message"]

    response = await client.post("/api/recording", json={"duration_s": 5})
    error = (await response.json())["error"]
    assert error["code"] == "invalid_request"
    assert "label" in error["message"]

    response = await client.put("/api/settings", json={"debounce": 0})
    error = (await response.json())["error"]
    assert response.status == 400
    assert error["message"].startswith("debounce")


async def test_unknown_endpoint_is_json_404(client: Client) -> None:
    """Even unknown paths answer the JSON error shape."""
    response = await client.get("/api/nothing")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"
    response = await client.delete("/api/state")
    assert response.status == 405


async def test_capture_sample_stores_reading_and_frame(
    client: Client, node: Node
) -> None:
    """POST /api/samples stores the latest reading and frame with the true label."""
    await wait_for_label(node, "flashlight")
    async with asyncio.timeout(5):
        while node.frame_jpeg is None:
            await asyncio.sleep(0.05)
    response = await client.post(
        "/api/samples", json={"label": "flashlight", "note": "desk lamp test"}
    )
    assert response.status == 201
    sample = await response.json()
    assert sample["label"] == "flashlight"
    assert sample["frame"] is True

    stored = node.store.reading(sample["sample_id"])
    assert stored.true_label == "flashlight"
    assert stored.labelled_by == "pre"
    assert stored.note == "desk lamp test"
    assert stored.predicted_label == "flashlight"
    frame_path = node.store.frame_path(sample["sample_id"])
    assert frame_path is not None
    assert Image.open(frame_path).size == (160, 120)


async def test_recording_stores_every_reading(client: Client, node: Node) -> None:
    """Pre-labeling stores readings with the true label until stopped."""
    response = await client.post("/api/recording", json={"label": "flashlight"})
    assert response.status == 200
    recording = await response.json()
    assert recording["active"] is True
    assert recording["label"] == "flashlight"

    conflict = await client.post("/api/recording", json={"label": "lighter"})
    assert conflict.status == 409
    assert (await conflict.json())["error"]["code"] == "conflict"

    async with asyncio.timeout(5):
        while node.recording is not None and node.recording.samples < 5:
            await asyncio.sleep(0.02)
    stopped = await (await client.delete("/api/recording")).json()
    assert stopped["active"] is False

    readings = node.store.readings(session_id=recording["session_id"])
    assert len(readings) >= 5
    assert {reading.true_label for reading in readings} == {"flashlight"}
    assert {reading.labelled_by for reading in readings} == {"pre"}
    assert node.store.session(recording["session_id"]).ended_at is not None


async def test_recording_with_duration_stops_itself(client: Client, node: Node) -> None:
    """A recording with a duration ends on its own."""
    await client.post("/api/recording", json={"label": "flashlight", "duration_s": 1})
    async with asyncio.timeout(5):
        while node.recording is not None:
            await asyncio.sleep(0.05)
    state = await (await client.get("/api/state")).json()
    assert state["recording"]["active"] is False


async def test_settings_change_and_persist(client: Client, node: Node) -> None:
    """PUT /api/settings changes the debounce and keeps it in the store."""
    response = await client.put(
        "/api/settings", json={"confidence_threshold": 0.75, "debounce": 4}
    )
    settings = await response.json()
    assert settings["confidence_threshold"] == 0.75
    assert settings["debounce"] == 4
    assert node.store.get_setting("labeler") == {
        "confidence_threshold": 0.75,
        "debounce": 4,
    }


async def test_frame_endpoint(client: Client, node: Node) -> None:
    """GET /api/frame.jpg returns the latest frame as JPEG."""
    async with asyncio.timeout(5):
        while node.frame_jpeg is None:
            await asyncio.sleep(0.05)
    response = await client.get("/api/frame.jpg")
    assert response.status == 200
    assert response.content_type == "image/jpeg"
    image = Image.open(io.BytesIO(await response.read()))
    assert image.size == (160, 120)


async def test_frame_without_camera(client: Client, node: Node) -> None:
    """A node without a camera answers 404 no_camera."""
    node.hardware.camera = None
    response = await client.get("/api/frame.jpg")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "no_camera"


def bundle_form(directory: Path, *, metadata: bytes | None = None) -> FormData:
    """Return a multipart upload of the bundle in a directory."""
    form = FormData()
    form.add_field("model", (directory / MODEL_FILE).read_bytes(), filename=MODEL_FILE)
    form.add_field(
        "metadata",
        metadata if metadata is not None else (directory / METADATA_FILE).read_bytes(),
        filename=METADATA_FILE,
    )
    return form


async def test_model_upload_activate_and_rollback(
    client: Client, node: Node, bundle_source: Path
) -> None:
    """An uploaded bundle becomes active; rollback returns to the previous one."""
    response = await client.post(
        "/api/models", data=bundle_form(bundle_source / "sensors-2")
    )
    assert response.status == 201
    assert (await response.json())["version"] == "2.0.0"
    assert node.models.active_version("sensors") == "2.0.0"

    listing = await (await client.get("/api/models")).json()
    assert [entry["version"] for entry in listing["models"]] == ["2.0.0", "1.0.0"]
    assert listing["active"] == {"sensors": "2.0.0", "image": None}

    again = await client.post(
        "/api/models", data=bundle_form(bundle_source / "sensors-2")
    )
    assert again.status == 409

    rolled = await (await client.post("/api/models/sensors/rollback")).json()
    assert rolled["sensors"]["version"] == "1.0.0"
    assert node.models.active_version("sensors") == "1.0.0"

    activated = await client.post("/api/models/sensors/2.0.0/activate")
    assert (await activated.json())["sensors"]["version"] == "2.0.0"

    missing = await client.post("/api/models/sensors/9.9.9/activate")
    assert missing.status == 404
    wrong_kind = await client.post("/api/models/audio/rollback")
    assert wrong_kind.status == 404


async def test_image_model_upload_fuses_with_sensors(
    client: Client, node: Node, bundle_source: Path
) -> None:
    """With an image model active, readings with a bright frame are fused."""
    response = await client.post(
        "/api/models", data=bundle_form(bundle_source / "image-1")
    )
    assert response.status == 201
    async with asyncio.timeout(5):
        while True:
            reading = node.latest_reading
            if reading and reading["prediction"]["source"] == "fused":
                break
            await asyncio.sleep(0.05)
    assert "+" in reading["prediction"]["model_version"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sha256": "0" * 64}, "sha256"),
        ({"classes": ["flashlight", "lighter"]}, "outputs 4 values"),
        ({"features": ["humidity"]}, "humidity"),
        ({"format_version": 99}, "format_version"),
        ({"classes": ["a", "b", "c", "d"]}, "do not match"),
    ],
)
async def test_bad_bundles_are_rejected_keeping_the_model(
    client: Client,
    node: Node,
    bundle_source: Path,
    change: dict[str, object],
    message: str,
) -> None:
    """A corrupt or mismatched bundle answers 422 with the reason; nothing changes."""
    metadata = json.loads((bundle_source / "sensors-2" / METADATA_FILE).read_text())
    metadata.update(change)
    response = await client.post(
        "/api/models",
        data=bundle_form(
            bundle_source / "sensors-2", metadata=json.dumps(metadata).encode()
        ),
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "invalid_bundle"
    assert message in error["message"]
    assert node.models.active_version("sensors") == "1.0.0"
    uploads = node.settings.storage.data_dir / "models"
    assert not any(uploads.iterdir()) if uploads.exists() else True


async def test_upload_needs_both_parts_and_multipart(
    client: Client, bundle_source: Path
) -> None:
    """An upload without multipart or without a part is rejected clearly."""
    response = await client.post("/api/models", json={"model": "x"})
    assert response.status == 400
    form = FormData()
    form.add_field("model", b"123", filename=MODEL_FILE)
    response = await client.post("/api/models", data=form)
    assert (await response.json())["error"]["message"] == "missing part(s): metadata"
    form = FormData()
    form.add_field("weights", b"123", filename="w")
    response = await client.post("/api/models", data=form)
    assert response.status == 400


async def test_oversized_upload_is_413(node: Node, bundle_source: Path) -> None:
    """A model over the upload limit answers 413 payload_too_large."""
    from aiohttp.test_utils import TestServer

    from node.api import create_app

    server = TestServer(create_app(node, "t", max_upload_bytes=1000), host="127.0.0.1")
    async with TestClient(server, headers={"Authorization": "Bearer t"}) as small:
        response = await small.post(
            "/api/models", data=bundle_form(bundle_source / "sensors-2")
        )
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "payload_too_large"


async def test_export_csv_and_zip(client: Client, node: Node) -> None:
    """The dataset exports as CSV and as a zip of class folders."""
    await wait_for_label(node, "flashlight")
    async with asyncio.timeout(5):
        while node.frame_jpeg is None:
            await asyncio.sleep(0.05)
    await client.post("/api/samples", json={"label": "flashlight"})
    await client.post("/api/samples", json={"label": "daylight"})

    response = await client.get("/api/export", params={"format": "csv"})
    assert response.status == 200
    lines = (await response.text()).strip().splitlines()
    assert lines[0].startswith("id,")
    assert len(lines) == 3

    response = await client.get("/api/export", params={"format": "zip"})
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    names = archive.namelist()
    assert "readings.csv" in names
    assert any(name.startswith("flashlight/") for name in names)

    response = await client.get("/api/export", params={"format": "xml"})
    assert response.status == 400
    response = await client.get("/api/export", params={"session": "x"})
    assert response.status == 400
