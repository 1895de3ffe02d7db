"""HC-SR04 ultrasonic distance sensor on two GPIO pins, through gpiozero."""

from __future__ import annotations

from collections.abc import Callable
import logging
import time
from typing import Any, NoReturn

from node.hardware.base import DistanceSensor, DriverError, DriverUnavailableError

_LOGGER = logging.getLogger(__name__)

PI_EXTRA_HINT = "pip install 'smart-labeling[pi]'"
PIN_FACTORY_HINT = (
    "run on a Raspberry Pi with lgpio (python3-lgpio on Raspberry Pi OS, "
    "or pip install lgpio)"
)
# gpiozero pings every 60 ms and reports the median of this many echoes.
QUEUE_LENGTH = 5


class HCSR04Distance(DistanceSensor):
    """An HC-SR04: the median of the last few echoes, in centimetres."""

    model = "hc-sr04"

    def __init__(
        self,
        *,
        trigger_pin: int = 23,
        echo_pin: int = 24,
        max_distance_cm: float = 200.0,
        echo_timeout_s: float = 1.0,
        pin_factory: Any = None,
    ) -> None:
        """Ping on `trigger_pin`, time the echo on `echo_pin` (BCM numbers)."""
        if trigger_pin == echo_pin:
            msg = f"HC-SR04 trigger and echo pins are both GPIO{trigger_pin}"
            raise ValueError(msg)
        if max_distance_cm <= 0:
            msg = f"HC-SR04 max distance must be positive, not {max_distance_cm} cm"
            raise ValueError(msg)
        if echo_timeout_s <= 0:
            msg = f"HC-SR04 echo timeout must be positive, not {echo_timeout_s} s"
            raise ValueError(msg)
        self.trigger_pin = trigger_pin
        self.echo_pin = echo_pin
        self.max_distance_cm = max_distance_cm
        self.echo_timeout_s = echo_timeout_s
        self.pin_factory = pin_factory
        self._sensor: Any = None
        self._on_echo_edge: Callable[[Any, Any], None] | None = None
        self._last_echo_end = 0.0

    def open(self) -> None:
        """Claim both pins and start gpiozero's pinging thread."""
        try:
            from gpiozero import BadPinFactory, DistanceSensor, GPIOZeroError
        except ImportError as err:
            msg = f"gpiozero is not installed: {PI_EXTRA_HINT} ({err})"
            raise DriverUnavailableError(msg) from err

        pins = f"trigger GPIO{self.trigger_pin}, echo GPIO{self.echo_pin}"
        try:
            sensor = DistanceSensor(
                echo=self.echo_pin,
                trigger=self.trigger_pin,
                max_distance=self.max_distance_cm / 100.0,
                queue_len=QUEUE_LENGTH,
                pin_factory=self.pin_factory,
            )
        except BadPinFactory as err:
            msg = f"no GPIO pin factory for the HC-SR04: {PIN_FACTORY_HINT} ({err})"
            raise DriverUnavailableError(msg) from err
        except (GPIOZeroError, OSError) as err:
            msg = f"the HC-SR04 ({pins}) cannot be opened: {err}"
            raise DriverUnavailableError(msg) from err

        self._last_echo_end = time.monotonic()
        self._watch_echoes(sensor)
        self._sensor = sensor
        _LOGGER.debug("HC-SR04 on %s, up to %s cm", pins, self.max_distance_cm)

    def close(self) -> None:
        """Stop pinging and release both pins."""
        sensor, self._sensor = self._sensor, None
        self._on_echo_edge = None
        if sensor is not None:
            sensor.close()

    def read(self) -> float:
        """Return the distance in cm; no echo, or none in range, is a DriverError."""
        sensor = self._sensor
        if sensor is None:
            msg = "the HC-SR04 is not open"
            raise DriverError(msg)

        # gpiozero's distance blocks until its queue of echoes is full, for ever if
        # the echo pin stays silent; wait for that here, with a limit.
        deadline = time.monotonic() + self.echo_timeout_s
        while not (sensor.wait_for_active(0) or sensor.wait_for_inactive(0)):
            if time.monotonic() >= deadline:
                self._raise_silent()
            time.sleep(0.01)
        if time.monotonic() - self._last_echo_end > self.echo_timeout_s:
            self._raise_silent()

        distance_cm = float(sensor.distance) * 100.0
        if distance_cm >= self.max_distance_cm:
            msg = f"no echo within {self.max_distance_cm:g} cm"
            raise DriverError(msg)
        return round(distance_cm, 1)

    def _watch_echoes(self, sensor: Any) -> None:
        """Note the end of each echo pulse, beside gpiozero's own edge handler."""
        forward = sensor.echo.when_changed

        def on_echo_edge(ticks: Any, state: Any) -> None:
            forward(ticks, state)
            if not state:
                self._last_echo_end = time.monotonic()

        # The pin keeps only a weak reference to its handler.
        self._on_echo_edge = on_echo_edge
        sensor.echo.when_changed = on_echo_edge

    def _raise_silent(self) -> NoReturn:
        """Raise the error for an echo pin that has not pulsed lately."""
        msg = (
            f"no echo from the HC-SR04 on GPIO{self.echo_pin} for "
            f"{self.echo_timeout_s:g} s: check its wiring and 5 V supply"
        )
        raise DriverError(msg)
