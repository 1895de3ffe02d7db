"""One small interface per kind of hardware, shared by real and simulated drivers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

type RGBImage = NDArray[np.uint8]


class DriverError(RuntimeError):
    """A driver cannot read its device."""


class DriverUnavailableError(DriverError):
    """A driver's library or device is missing; the message says how to get it."""


@dataclass(frozen=True, slots=True)
class LightReading:
    """One light measurement; a sensor fills in the values it has."""

    lux: float | None = None
    visible: float | None = None
    infrared: float | None = None
    full_spectrum: float | None = None
    light_level: float | None = None
    infrared_level: float | None = None
    saturated: bool = False

    def values(self) -> dict[str, float]:
        """Return the measured values by name, leaving out those not measured."""
        named = {
            "lux": self.lux,
            "visible": self.visible,
            "infrared": self.infrared,
            "full_spectrum": self.full_spectrum,
            "light_level": self.light_level,
            "infrared_level": self.infrared_level,
        }
        return {name: value for name, value in named.items() if value is not None}


class Driver(ABC):
    """A device driver: opened once, read many times, closed at shutdown."""

    kind: ClassVar[str]
    model: str = "unknown"

    def open(self) -> None:
        """Prepare the device; raise DriverUnavailableError if it cannot be used."""

    def close(self) -> None:
        """Release the device."""


class LightSensor(Driver):
    """A light sensor."""

    kind = "light"
    measures: tuple[str, ...] = ("lux", "visible", "infrared", "full_spectrum")

    @abstractmethod
    def read(self) -> LightReading:
        """Measure the light now; blocking."""


class TemperatureSensor(Driver):
    """A temperature sensor in degrees Celsius."""

    kind = "temperature"

    @abstractmethod
    def read(self) -> float:
        """Measure the temperature now; blocking."""


class DistanceSensor(Driver):
    """A distance sensor in centimetres."""

    kind = "distance"

    @abstractmethod
    def read(self) -> float:
        """Measure the distance to the nearest object now; blocking."""


class Camera(Driver):
    """A camera giving RGB frames."""

    kind = "camera"

    @abstractmethod
    def capture(self) -> RGBImage:
        """Capture one frame as an (height, width, 3) uint8 array; blocking."""


@dataclass(slots=True)
class Hardware:
    """The drivers a node runs with; any of them may be absent."""

    light: LightSensor | None = None
    temperature: TemperatureSensor | None = None
    distance: DistanceSensor | None = None
    camera: Camera | None = None

    def drivers(self) -> list[Driver]:
        """Return the drivers that are present."""
        present: list[Driver | None] = [
            self.light,
            self.temperature,
            self.distance,
            self.camera,
        ]
        return [driver for driver in present if driver is not None]
