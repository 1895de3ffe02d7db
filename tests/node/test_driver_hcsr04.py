"""HC-SR04 driver against gpiozero mock pins that answer each ping with an echo."""

from __future__ import annotations

from collections.abc import Iterator
import sys
import time
from typing import Any

from gpiozero import LED, BadPinFactory, Device
from gpiozero.pins.mock import MockFactory, MockPin, MockTriggerPin
import pytest

from node.hardware.base import DriverError, DriverUnavailableError
from node.hardware.hcsr04 import HCSR04Distance

pytestmark = [
    pytest.mark.timeout(20),
    pytest.mark.filterwarnings("ignore::gpiozero.exc.PWMSoftwareFallback"),
    pytest.mark.filterwarnings("ignore::gpiozero.exc.DistanceSensorNoEcho"),
]

TRIGGER, ECHO = 23, 24
SPEED_OF_SOUND_CM_S = 34326.0


def echo_seconds(distance_cm: float) -> float:
    """Return how long the echo pin stays high for an object this far away."""
    return 2 * distance_cm / SPEED_OF_SOUND_CM_S


class EchoPin(MockPin):  # type: ignore[misc]
    """An echo line whose edges carry the times the test gives them."""

    def __init__(self, factory: MockFactory, info: Any) -> None:
        super().__init__(factory, info)
        self.edge_time = 0.0

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        self._last_change = self.edge_time
        return changed


class EchoingTriggerPin(MockPin):  # type: ignore[misc]
    """A trigger line that answers each ping with an echo pulse of a set length."""

    def __init__(self, factory: MockFactory, info: Any, echo_pin: EchoPin) -> None:
        super().__init__(factory, info)
        self.echo_pin = echo_pin
        self.echo_s: float | None = None

    def _set_state(self, value: bool) -> None:
        super()._set_state(value)
        if value and self.echo_s is not None:
            start = time.monotonic()
            self.echo_pin.edge_time = start
            self.echo_pin.drive_high()
            self.echo_pin.edge_time = start + self.echo_s
            self.echo_pin.drive_low()


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockFactory]:
    mock_factory = MockFactory()
    monkeypatch.setattr(Device, "pin_factory", mock_factory)
    yield mock_factory
    mock_factory.reset()


@pytest.fixture
def trigger(factory: MockFactory) -> EchoingTriggerPin:
    echo = factory.pin(ECHO, pin_class=EchoPin)
    pin: EchoingTriggerPin = factory.pin(
        TRIGGER, pin_class=EchoingTriggerPin, echo_pin=echo
    )
    return pin


@pytest.fixture
def sensor(factory: MockFactory) -> Iterator[HCSR04Distance]:
    driver = HCSR04Distance(
        trigger_pin=TRIGGER, echo_pin=ECHO, echo_timeout_s=0.5, pin_factory=factory
    )
    yield driver
    driver.close()


@pytest.mark.parametrize("distance_cm", [12.5, 50.0, 180.0])
def test_reads_centimetres(
    trigger: EchoingTriggerPin, sensor: HCSR04Distance, distance_cm: float
) -> None:
    trigger.echo_s = echo_seconds(distance_cm)
    sensor.open()

    assert sensor.read() == pytest.approx(distance_cm, abs=0.1)


def test_follows_a_moving_object(
    trigger: EchoingTriggerPin, sensor: HCSR04Distance
) -> None:
    trigger.echo_s = echo_seconds(40.0)
    sensor.open()
    first = sensor.read()

    trigger.echo_s = echo_seconds(90.0)
    deadline = time.monotonic() + 5.0
    while (second := sensor.read()) != pytest.approx(90.0, abs=0.1):
        assert time.monotonic() < deadline, f"still at {second} cm"
        time.sleep(0.05)

    assert first == pytest.approx(40.0, abs=0.1)


def test_nothing_in_range_is_no_echo(
    trigger: EchoingTriggerPin, sensor: HCSR04Distance
) -> None:
    trigger.echo_s = echo_seconds(450.0)
    sensor.open()

    with pytest.raises(DriverError, match="no echo within 200 cm"):
        sensor.read()


def test_max_distance_is_configurable(
    factory: MockFactory, trigger: EchoingTriggerPin
) -> None:
    trigger.echo_s = echo_seconds(150.0)
    sensor = HCSR04Distance(max_distance_cm=100.0, pin_factory=factory)
    sensor.open()

    try:
        with pytest.raises(DriverError, match="no echo within 100 cm"):
            sensor.read()
    finally:
        sensor.close()


def test_gpiozero_mock_trigger_pin_far_away(factory: MockFactory) -> None:
    echo = factory.pin(ECHO)
    factory.pin(TRIGGER, pin_class=MockTriggerPin, echo_pin=echo, echo_time=0.04)
    sensor = HCSR04Distance(pin_factory=factory)
    sensor.open()

    try:
        with pytest.raises(DriverError, match="no echo within 200 cm"):
            sensor.read()
    finally:
        sensor.close()


def test_silent_echo_pin_times_out(factory: MockFactory) -> None:
    sensor = HCSR04Distance(echo_timeout_s=0.3, pin_factory=factory)
    sensor.open()

    started = time.monotonic()
    try:
        with pytest.raises(DriverError, match=r"no echo .* on GPIO24 for 0\.3 s"):
            sensor.read()
    finally:
        sensor.close()
    assert 0.3 <= time.monotonic() - started < 2.0


def test_echo_that_stops_is_reported(
    trigger: EchoingTriggerPin, sensor: HCSR04Distance
) -> None:
    trigger.echo_s = echo_seconds(60.0)
    sensor.open()
    assert sensor.read() == pytest.approx(60.0, abs=0.1)

    trigger.echo_s = None
    time.sleep(0.7)

    with pytest.raises(DriverError, match=r"no echo .* for 0\.5 s"):
        sensor.read()


def test_close_releases_the_pins(
    factory: MockFactory, trigger: EchoingTriggerPin, sensor: HCSR04Distance
) -> None:
    sensor.open()
    sensor.close()

    with pytest.raises(DriverError, match="not open"):
        sensor.read()
    with LED(TRIGGER, pin_factory=factory) as led:
        assert not led.is_lit
    sensor.close()


def test_pin_in_use_is_unavailable(factory: MockFactory) -> None:
    with (
        LED(ECHO, pin_factory=factory),
        pytest.raises(DriverUnavailableError, match=r"HC-SR04 \(trigger GPIO23"),
    ):
        HCSR04Distance(pin_factory=factory).open()


def test_no_pin_factory_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_factory() -> None:
        msg = "Unable to load any default pin factory!"
        raise BadPinFactory(msg)

    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setattr(Device, "_default_pin_factory", staticmethod(no_factory))

    with pytest.raises(DriverUnavailableError, match=r"no GPIO pin factory.*lgpio"):
        HCSR04Distance().open()


def test_missing_gpiozero_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gpiozero", None)

    with pytest.raises(
        DriverUnavailableError,
        match=r"gpiozero is not installed: pip install 'smart-labeling\[pi\]'",
    ):
        HCSR04Distance().open()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"trigger_pin": 5, "echo_pin": 5}, "trigger and echo pins are both GPIO5"),
        ({"max_distance_cm": 0.0}, "max distance must be positive"),
        ({"echo_timeout_s": -1.0}, "echo timeout must be positive"),
    ],
)
def test_bad_settings_are_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HCSR04Distance(**options)
