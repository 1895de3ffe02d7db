"""TSL2591 light sensor on I2C, through Adafruit's CircuitPython library."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from node.hardware.base import (
    DriverError,
    DriverUnavailableError,
    LightReading,
    LightSensor,
)
from node.hardware.tsl2591_math import (
    GAINS,
    INTEGRATION_TIMES_MS,
    reading_from_counts,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_ADDRESS = 0x29
PI_EXTRA_HINT = "pip install 'smart-labeling[pi]'"
I2C_HINT = "enable I2C with raspi-config (Interface Options > I2C) and reboot"

# AGAIN bits of the control register, as the datasheet numbers them.
GAIN_BITS = {"low": 0x00, "medium": 0x10, "high": 0x20, "max": 0x30}


class I2CBus(Protocol):
    """The calls Adafruit's bus-device layer makes on an I2C bus (busio.I2C)."""

    def try_lock(self) -> bool:
        """Claim the bus; return whether it was free."""

    def unlock(self) -> None:
        """Release the bus."""

    def writeto(
        self,
        address: int,
        buffer: bytes | bytearray,
        *,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        """Write bytes to a device."""

    def readfrom_into(
        self,
        address: int,
        buffer: bytearray,
        *,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        """Read bytes from a device."""

    def writeto_then_readfrom(
        self,
        address: int,
        buffer_out: bytes | bytearray,
        buffer_in: bytearray,
        *,
        out_start: int = 0,
        out_end: int | None = None,
        in_start: int = 0,
        in_end: int | None = None,
    ) -> None:
        """Write a register address, then read the register's bytes."""


def open_i2c_bus() -> I2CBus:
    """Open the Raspberry Pi's default I2C bus through Adafruit Blinka."""
    try:
        import board
        import busio
    except ImportError as err:
        msg = f"adafruit-blinka is not installed: {PI_EXTRA_HINT} ({err})"
        raise DriverUnavailableError(msg) from err
    except (NotImplementedError, RuntimeError, OSError) as err:
        msg = f"no I2C bus on this board: {I2C_HINT} ({err})"
        raise DriverUnavailableError(msg) from err

    try:
        bus: I2CBus = busio.I2C(board.SCL, board.SDA)
    except (AttributeError, ImportError, OSError, RuntimeError, ValueError) as err:
        msg = f"no I2C bus: {I2C_HINT} ({err})"
        raise DriverUnavailableError(msg) from err
    return bus


class TSL2591Light(LightSensor):
    """A TSL2591: full-spectrum and infrared channel counts, and lux from them."""

    model = "tsl2591"

    def __init__(
        self,
        i2c: I2CBus | None = None,
        *,
        gain: str = "medium",
        integration_ms: int = 100,
        address: int = DEFAULT_ADDRESS,
    ) -> None:
        """Use the given I2C bus, or the Pi's default bus (opened by `open`)."""
        if gain not in GAINS:
            msg = f"TSL2591 gain {gain!r} is not one of {', '.join(GAINS)}"
            raise ValueError(msg)
        if integration_ms not in INTEGRATION_TIMES_MS:
            msg = (
                f"TSL2591 integration time {integration_ms} ms is not one of "
                f"{', '.join(str(value) for value in INTEGRATION_TIMES_MS)} ms"
            )
            raise ValueError(msg)
        if not 0x08 <= address <= 0x77:
            msg = f"TSL2591 I2C address {address:#04x} is outside 0x08-0x77"
            raise ValueError(msg)
        self.i2c = i2c
        self.gain = gain
        self.integration_ms = integration_ms
        self.address = address
        self._sensor: Any = None
        self._own_bus: Any = None

    def open(self) -> None:
        """Find the sensor on the bus, set its gain and integration time, power it."""
        try:
            import adafruit_tsl2591
        except ImportError as err:
            msg = (
                "adafruit-circuitpython-tsl2591 is not installed: "
                f"{PI_EXTRA_HINT} ({err})"
            )
            raise DriverUnavailableError(msg) from err

        own_bus = open_i2c_bus() if self.i2c is None else None
        bus = self.i2c if self.i2c is not None else own_bus
        where = f"I2C address {self.address:#04x}"
        try:
            sensor = adafruit_tsl2591.TSL2591(bus, self.address)
            sensor.gain = GAIN_BITS[self.gain]
            sensor.integration_time = INTEGRATION_TIMES_MS.index(self.integration_ms)
        except (ValueError, RuntimeError, OSError) as err:
            release_bus(own_bus)
            raise setup_error(err, where) from err

        # The first conversion with the new settings ends one integration later.
        time.sleep(self.integration_ms / 1000 * 1.2)
        self._sensor, self._own_bus = sensor, own_bus
        _LOGGER.debug(
            "TSL2591 at %s ready: gain %s, integration %s ms",
            where,
            self.gain,
            self.integration_ms,
        )

    def close(self) -> None:
        """Power the sensor down, and release the bus if this driver opened it."""
        sensor, self._sensor = self._sensor, None
        own_bus, self._own_bus = self._own_bus, None
        if sensor is not None:
            try:
                sensor.disable()
            except OSError as err:
                _LOGGER.debug("TSL2591 did not power down: %s", err)
        release_bus(own_bus)

    def read(self) -> LightReading:
        """Read both channels; flag saturation and clip counts to the sensor's limit."""
        if self._sensor is None:
            msg = "the TSL2591 is not open"
            raise DriverError(msg)

        try:
            full_count, infrared_count = self._sensor.raw_luminosity
        except OSError as err:
            msg = f"TSL2591 read failed: {err}"
            raise DriverError(msg) from err

        return reading_from_counts(
            full_count, infrared_count, self.gain, self.integration_ms
        )


def setup_error(err: Exception, where: str) -> DriverUnavailableError:
    """Return the error that explains why the sensor at `where` could not be set up."""
    if isinstance(err, ValueError):
        msg = (
            f"no TSL2591 answers at {where}: check its wiring and look for it "
            f"with i2cdetect -y 1 ({err})"
        )
    elif isinstance(err, RuntimeError):
        msg = (
            f"the device at {where} is not a TSL2591 (wrong device id): "
            f"check the address ({err})"
        )
    else:
        msg = f"the TSL2591 at {where} cannot be set up: {err}"
    return DriverUnavailableError(msg)


def release_bus(bus: Any) -> None:
    """Release an I2C bus this driver opened; a bus it was given is left alone."""
    if bus is not None:
        bus.deinit()
