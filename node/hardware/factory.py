"""Which real drivers a node runs, as settings, and the drivers built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from node.hardware.base import (
    Camera,
    DistanceSensor,
    Hardware,
    LightSensor,
    TemperatureSensor,
)
from node.hardware.camera import PiCamera, SnapshotCamera
from node.hardware.ds18b20 import DS18B20Temperature
from node.hardware.hcsr04 import HCSR04Distance
from node.hardware.mcp3008 import MCP3008Light, TMP36Temperature
from node.hardware.tsl2591 import I2CBus, TSL2591Light

NONE: Final = "none"
LIGHT_SENSORS: Final = ("tsl2591", "mcp3008", NONE)
TEMPERATURE_SENSORS: Final = ("tmp36", "ds18b20", NONE)
DISTANCE_SENSORS: Final = ("hcsr04", NONE)
CAMERAS: Final = ("picamera2", "snapshot", NONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareConfig:
    """The driver for each kind of device ("none" for absent), and their options."""

    light: str = "tsl2591"
    temperature: str = "tmp36"
    distance: str = "hcsr04"
    camera: str = "picamera2"

    tsl2591_gain: str = "medium"
    tsl2591_integration_ms: int = 100
    tsl2591_address: int = 0x29

    mcp3008_light_channel: int = 0
    mcp3008_infrared_channel: int = 1
    tmp36_channel: int = 2
    tmp36_vref: float = 3.3

    ds18b20_id: str | None = None

    hcsr04_trigger_pin: int = 23
    hcsr04_echo_pin: int = 24
    hcsr04_max_distance_cm: float = 200.0

    camera_width: int = 640
    camera_height: int = 480
    snapshot_url: str | None = None
    snapshot_timeout_s: float = 5.0
    snapshot_username: str | None = None
    snapshot_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Check the driver names and the chosen drivers' options."""
        check_name("light", self.light, LIGHT_SENSORS)
        check_name("temperature", self.temperature, TEMPERATURE_SENSORS)
        check_name("distance", self.distance, DISTANCE_SENSORS)
        check_name("camera", self.camera, CAMERAS)

        if self.camera == "snapshot" and not self.snapshot_url:
            msg = "camera 'snapshot' needs a snapshot_url"
            raise ValueError(msg)
        if self.snapshot_password is not None and self.snapshot_username is None:
            msg = "snapshot_password is set without a snapshot_username"
            raise ValueError(msg)

        if self.light == "mcp3008" and self.temperature == "tmp36":
            light_channels = {
                self.mcp3008_light_channel,
                self.mcp3008_infrared_channel,
            }
            if self.tmp36_channel in light_channels:
                msg = (
                    f"tmp36_channel {self.tmp36_channel} is also an mcp3008 light "
                    "channel; each sensor needs its own MCP3008 input"
                )
                raise ValueError(msg)

        # Each driver checks its own options when it is built, without any I/O.
        build_hardware(self)

    @property
    def snapshot_auth(self) -> tuple[str, str] | None:
        """Return the snapshot credentials, if any."""
        if self.snapshot_username is None:
            return None
        return self.snapshot_username, self.snapshot_password or ""


def check_name(kind: str, name: str, valid: tuple[str, ...]) -> None:
    """Raise ValueError naming the valid drivers if `name` is not one of them."""
    if name not in valid:
        msg = f"unknown {kind} driver {name!r}: use one of {', '.join(valid)}"
        raise ValueError(msg)


def build_hardware(
    config: HardwareConfig, *, pin_factory: Any = None, i2c: I2CBus | None = None
) -> Hardware:
    """Build the configured drivers, unopened; the node opens each one."""
    return Hardware(
        light=build_light(config, pin_factory=pin_factory, i2c=i2c),
        temperature=build_temperature(config, pin_factory=pin_factory),
        distance=build_distance(config, pin_factory=pin_factory),
        camera=build_camera(config),
    )


def build_light(
    config: HardwareConfig, *, pin_factory: Any = None, i2c: I2CBus | None = None
) -> LightSensor | None:
    """Build the light sensor, if there is one."""
    if config.light == "tsl2591":
        return TSL2591Light(
            i2c,
            gain=config.tsl2591_gain,
            integration_ms=config.tsl2591_integration_ms,
            address=config.tsl2591_address,
        )
    if config.light == "mcp3008":
        return MCP3008Light(
            light_channel=config.mcp3008_light_channel,
            infrared_channel=config.mcp3008_infrared_channel,
            pin_factory=pin_factory,
        )
    return None


def build_temperature(
    config: HardwareConfig, *, pin_factory: Any = None
) -> TemperatureSensor | None:
    """Build the temperature sensor, if there is one."""
    if config.temperature == "tmp36":
        return TMP36Temperature(
            channel=config.tmp36_channel,
            vref=config.tmp36_vref,
            pin_factory=pin_factory,
        )
    if config.temperature == "ds18b20":
        return DS18B20Temperature(device_id=config.ds18b20_id)
    return None


def build_distance(
    config: HardwareConfig, *, pin_factory: Any = None
) -> DistanceSensor | None:
    """Build the distance sensor, if there is one."""
    if config.distance == "hcsr04":
        return HCSR04Distance(
            trigger_pin=config.hcsr04_trigger_pin,
            echo_pin=config.hcsr04_echo_pin,
            max_distance_cm=config.hcsr04_max_distance_cm,
            pin_factory=pin_factory,
        )
    return None


def build_camera(config: HardwareConfig) -> Camera | None:
    """Build the camera, if there is one."""
    if config.camera == "picamera2":
        return PiCamera(width=config.camera_width, height=config.camera_height)
    if config.camera == "snapshot":
        return SnapshotCamera(
            config.snapshot_url or "",
            timeout_s=config.snapshot_timeout_s,
            auth=config.snapshot_auth,
        )
    return None
