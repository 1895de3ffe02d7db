"""Analog sensors on an MCP3008 ADC over SPI: a light/infrared pair and a TMP36."""

from __future__ import annotations

import logging
from typing import Any

from node.hardware.base import (
    DriverError,
    DriverUnavailableError,
    LightReading,
    LightSensor,
    TemperatureSensor,
)

_LOGGER = logging.getLogger(__name__)

CHANNELS = range(8)
# The 10-bit result: the highest code and the number of codes.
FULL_SCALE_CODE = 1023
CODES = 1024
PI_EXTRA_HINT = "pip install 'smart-labeling[pi]'"
PIN_FACTORY_HINT = (
    "run on a Raspberry Pi with lgpio (python3-lgpio on Raspberry Pi OS, "
    "or pip install lgpio)"
)


def check_channel(channel: int, name: str) -> None:
    """Raise ValueError unless `channel` is one of the MCP3008's eight inputs."""
    if channel not in CHANNELS:
        msg = f"MCP3008 {name} {channel} is not one of 0-7"
        raise ValueError(msg)


def open_channel(channel: int, *, pin_factory: Any = None) -> Any:
    """Return a gpiozero MCP3008 reading one single-ended input."""
    try:
        from gpiozero import MCP3008, BadPinFactory, GPIOZeroError
    except ImportError as err:
        msg = f"gpiozero is not installed: {PI_EXTRA_HINT} ({err})"
        raise DriverUnavailableError(msg) from err

    try:
        return MCP3008(channel, pin_factory=pin_factory)
    except BadPinFactory as err:
        msg = f"no GPIO pin factory for the MCP3008: {PIN_FACTORY_HINT} ({err})"
        raise DriverUnavailableError(msg) from err
    except (GPIOZeroError, OSError) as err:
        msg = f"the MCP3008 on SPI cannot be opened (channel {channel}): {err}"
        raise DriverUnavailableError(msg) from err


def read_code(adc: Any, what: str) -> int:
    """Return an opened channel's 10-bit conversion result."""
    if adc is None:
        msg = f"the MCP3008 {what} input is not open"
        raise DriverError(msg)

    from gpiozero import GPIOZeroError

    try:
        return int(adc.raw_value)
    except (GPIOZeroError, OSError) as err:
        msg = f"MCP3008 {what} read failed: {err}"
        raise DriverError(msg) from err


def close_channels(*adcs: Any) -> None:
    """Close opened channels, ignoring those not opened."""
    for adc in adcs:
        if adc is not None:
            adc.close()


class MCP3008Light(LightSensor):
    """A light-dependent resistor and an infrared sensor, each as 0-100 %."""

    model = "mcp3008"
    measures = ("light_level", "infrared_level")

    def __init__(
        self,
        *,
        light_channel: int = 0,
        infrared_channel: int = 1,
        pin_factory: Any = None,
    ) -> None:
        """Read the two sensors' dividers on these MCP3008 inputs."""
        check_channel(light_channel, "light channel")
        check_channel(infrared_channel, "infrared channel")
        if light_channel == infrared_channel:
            msg = f"MCP3008 light and infrared channels are both {light_channel}"
            raise ValueError(msg)
        self.light_channel = light_channel
        self.infrared_channel = infrared_channel
        self.pin_factory = pin_factory
        self._light: Any = None
        self._infrared: Any = None

    def open(self) -> None:
        """Open both ADC channels."""
        light = open_channel(self.light_channel, pin_factory=self.pin_factory)
        try:
            infrared = open_channel(self.infrared_channel, pin_factory=self.pin_factory)
        except DriverUnavailableError:
            light.close()
            raise
        self._light, self._infrared = light, infrared
        _LOGGER.debug(
            "MCP3008 light on channel %s, infrared on channel %s",
            self.light_channel,
            self.infrared_channel,
        )

    def close(self) -> None:
        """Release both ADC channels."""
        close_channels(self._light, self._infrared)
        self._light = self._infrared = None

    def read(self) -> LightReading:
        """Return both levels in percent of full scale (more light, higher level)."""
        light = read_code(self._light, "light")
        infrared = read_code(self._infrared, "infrared")
        return LightReading(
            light_level=round(light / FULL_SCALE_CODE * 100.0, 2),
            infrared_level=round(infrared / FULL_SCALE_CODE * 100.0, 2),
        )


class TMP36Temperature(TemperatureSensor):
    """A TMP36 on an MCP3008 input: 10 mV per °C, 0.5 V at 0 °C."""

    model = "tmp36"

    def __init__(
        self, *, channel: int = 2, vref: float = 3.3, pin_factory: Any = None
    ) -> None:
        """Read the TMP36 on this MCP3008 input, against this reference voltage."""
        check_channel(channel, "temperature channel")
        if vref <= 0:
            msg = f"MCP3008 reference voltage must be positive, not {vref}"
            raise ValueError(msg)
        self.channel = channel
        self.vref = vref
        self.pin_factory = pin_factory
        self._adc: Any = None

    def open(self) -> None:
        """Open the ADC channel."""
        self._adc = open_channel(self.channel, pin_factory=self.pin_factory)
        _LOGGER.debug("MCP3008 TMP36 on channel %s, %s V", self.channel, self.vref)

    def close(self) -> None:
        """Release the ADC channel."""
        close_channels(self._adc)
        self._adc = None

    def read(self) -> float:
        """Return the temperature in °C."""
        volts = read_code(self._adc, "temperature") * self.vref / CODES
        return round((volts - 0.5) * 100.0, 2)
