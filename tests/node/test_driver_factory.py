"""Building real drivers from a HardwareConfig, without opening them."""

from __future__ import annotations

import dataclasses

import pytest

from node.hardware.base import DriverError, Hardware
from node.hardware.camera import PiCamera, SnapshotCamera
from node.hardware.ds18b20 import DS18B20Temperature
from node.hardware.factory import HardwareConfig, build_hardware
from node.hardware.hcsr04 import HCSR04Distance
from node.hardware.mcp3008 import MCP3008Light, TMP36Temperature
from node.hardware.tsl2591 import TSL2591Light

USERNAME, PASSWORD = "viewer", "s3cret"


def test_defaults_build_the_reference_node() -> None:
    hardware = build_hardware(HardwareConfig())

    assert isinstance(hardware.light, TSL2591Light)
    assert isinstance(hardware.temperature, TMP36Temperature)
    assert isinstance(hardware.distance, HCSR04Distance)
    assert isinstance(hardware.camera, PiCamera)
    assert [driver.model for driver in hardware.drivers()] == [
        "tsl2591",
        "tmp36",
        "hc-sr04",
        "picamera2",
    ]


def test_options_reach_the_drivers() -> None:
    config = HardwareConfig(
        tsl2591_gain="high",
        tsl2591_integration_ms=300,
        tsl2591_address=0x28,
        tmp36_channel=5,
        tmp36_vref=5.0,
        hcsr04_trigger_pin=17,
        hcsr04_echo_pin=27,
        hcsr04_max_distance_cm=120.0,
        camera_width=320,
        camera_height=240,
    )

    hardware = build_hardware(config, pin_factory="pins")

    light, temperature = hardware.light, hardware.temperature
    distance, camera = hardware.distance, hardware.camera
    assert isinstance(light, TSL2591Light)
    assert (light.gain, light.integration_ms, light.address) == ("high", 300, 0x28)
    assert isinstance(temperature, TMP36Temperature)
    assert (temperature.channel, temperature.vref) == (5, 5.0)
    assert temperature.pin_factory == "pins"
    assert isinstance(distance, HCSR04Distance)
    assert (distance.trigger_pin, distance.echo_pin) == (17, 27)
    assert distance.max_distance_cm == 120.0
    assert distance.pin_factory == "pins"
    assert isinstance(camera, PiCamera)
    assert (camera.width, camera.height) == (320, 240)


def test_alternative_drivers() -> None:
    config = HardwareConfig(
        light="mcp3008",
        mcp3008_light_channel=3,
        mcp3008_infrared_channel=4,
        temperature="ds18b20",
        ds18b20_id="28-0316a2795aff",
        distance="none",
        camera="snapshot",
        snapshot_url="http://camera.local/snap.jpg",
        snapshot_timeout_s=2.5,
        snapshot_username=USERNAME,
        snapshot_password=PASSWORD,
    )

    hardware = build_hardware(config)

    light, temperature, camera = hardware.light, hardware.temperature, hardware.camera
    assert isinstance(light, MCP3008Light)
    assert (light.light_channel, light.infrared_channel) == (3, 4)
    assert isinstance(temperature, DS18B20Temperature)
    assert temperature.device_id == "28-0316a2795aff"
    assert hardware.distance is None
    assert isinstance(camera, SnapshotCamera)
    assert camera.url == "http://camera.local/snap.jpg"
    assert camera.timeout_s == 2.5
    assert camera.auth == (USERNAME, PASSWORD)
    assert [driver.model for driver in hardware.drivers()] == [
        "mcp3008",
        "ds18b20",
        "snapshot",
    ]


def test_snapshot_without_credentials() -> None:
    config = HardwareConfig(camera="snapshot", snapshot_url="http://cam/snap.jpg")

    camera = build_hardware(config).camera

    assert isinstance(camera, SnapshotCamera)
    assert camera.auth is None
    assert config.snapshot_auth is None


def test_username_without_password() -> None:
    config = HardwareConfig(snapshot_username="viewer")

    assert config.snapshot_auth == ("viewer", "")


def test_all_none_builds_no_drivers() -> None:
    config = HardwareConfig(
        light="none", temperature="none", distance="none", camera="none"
    )

    assert build_hardware(config) == Hardware()


def test_building_does_not_open() -> None:
    hardware = build_hardware(HardwareConfig(temperature="ds18b20"))
    sensors = [hardware.light, hardware.temperature, hardware.distance]

    for sensor in sensors:
        assert sensor is not None
        with pytest.raises(DriverError, match="not open"):
            sensor.read()
    assert hardware.camera is not None
    with pytest.raises(DriverError, match="not open"):
        hardware.camera.capture()


@pytest.mark.parametrize(
    ("field", "name", "valid"),
    [
        ("light", "bh1750", "tsl2591, mcp3008, none"),
        ("temperature", "dht22", "tmp36, ds18b20, none"),
        ("distance", "vl53l0x", "hcsr04, none"),
        ("camera", "usb", "picamera2, snapshot, none"),
    ],
)
def test_unknown_driver_names_the_valid_ones(field: str, name: str, valid: str) -> None:
    with pytest.raises(
        ValueError, match=f"unknown {field} driver '{name}': use one of {valid}"
    ):
        HardwareConfig(**{field: name})  # type: ignore[arg-type]


def test_snapshot_needs_a_url() -> None:
    with pytest.raises(ValueError, match="camera 'snapshot' needs a snapshot_url"):
        HardwareConfig(camera="snapshot")


def test_password_needs_a_username() -> None:
    with pytest.raises(ValueError, match="snapshot_password is set without"):
        HardwareConfig(snapshot_password=PASSWORD)


def test_password_stays_out_of_repr() -> None:
    config = HardwareConfig(snapshot_username=USERNAME, snapshot_password=PASSWORD)

    assert PASSWORD not in repr(config)
    assert USERNAME in repr(config)


def test_tmp36_cannot_share_a_light_channel() -> None:
    with pytest.raises(ValueError, match="tmp36_channel 1 is also an mcp3008 light"):
        HardwareConfig(light="mcp3008", temperature="tmp36", tmp36_channel=1)


def test_mcp3008_light_and_tmp36_on_their_own_channels() -> None:
    hardware = build_hardware(HardwareConfig(light="mcp3008", temperature="tmp36"))

    light, temperature = hardware.light, hardware.temperature
    assert isinstance(light, MCP3008Light)
    assert isinstance(temperature, TMP36Temperature)
    assert (light.light_channel, light.infrared_channel, temperature.channel) == (
        0,
        1,
        2,
    )


def test_tmp36_channel_is_free_when_light_is_elsewhere() -> None:
    config = HardwareConfig(light="tsl2591", tmp36_channel=0)

    temperature = build_hardware(config).temperature

    assert isinstance(temperature, TMP36Temperature)
    assert temperature.channel == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tsl2591_gain": "ultra"}, "gain 'ultra' is not one of"),
        ({"tsl2591_integration_ms": 250}, "integration time 250 ms"),
        ({"tmp36_channel": 8}, "temperature channel 8 is not one of 0-7"),
        ({"hcsr04_echo_pin": 23}, "trigger and echo pins are both GPIO23"),
        ({"camera_width": -1}, "camera size must be positive"),
        (
            {"camera": "snapshot", "snapshot_url": "rtsp://cam/stream"},
            "snapshot URL must be http:// or https://",
        ),
    ],
)
def test_bad_driver_options_are_rejected(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        HardwareConfig(**options)  # type: ignore[arg-type]


def test_options_of_absent_drivers_are_not_checked() -> None:
    config = HardwareConfig(light="none", tsl2591_gain="ultra")

    assert build_hardware(config).light is None


def test_config_is_frozen() -> None:
    config = HardwareConfig()

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.light = "none"  # type: ignore[misc]
