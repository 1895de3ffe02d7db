"""MCP3008 light and TMP36 drivers against an emulated ADC on gpiozero's mock SPI."""

from __future__ import annotations

from collections.abc import Iterator
import sys
from typing import Any

from gpiozero import LED, BadPinFactory, Device
from gpiozero.pins.mock import MockFactory, MockSPIDevice
import pytest

from node.hardware import mcp3008
from node.hardware.base import Driver, DriverError, DriverUnavailableError
from node.hardware.mcp3008 import MCP3008Light, TMP36Temperature

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.filterwarnings("ignore::gpiozero.exc.SPISoftwareFallback"),
]

# Software SPI on the Pi's SPI0 pins, chip select CE0, as gpiozero defaults to.
CLOCK, MOSI, MISO, SELECT = 11, 10, 9, 8
STEP_VOLTS = 3.3 / 1024


class FakeMCP3008(MockSPIDevice):  # type: ignore[misc]
    """The ADC's side of the SPI exchange: start bit, mode bit, channel, result."""

    def __init__(self, factory: MockFactory, *, vref: float = 3.3) -> None:
        super().__init__(CLOCK, MOSI, MISO, SELECT, pin_factory=factory)
        self.vref = vref
        self.volts = [0.0] * 8
        self.requests: list[tuple[bool, int]] = []
        self.command: list[int] | None = None

    def on_start(self) -> None:
        super().on_start()
        self.command = None

    def on_bit(self) -> None:
        if self.command is None:
            if self.rx_buf[-1]:
                self.command = []
            return
        if len(self.command) == 4:
            return
        self.command.append(self.rx_buf[-1])
        if len(self.command) == 4:
            single, *channel_bits = self.command
            channel = channel_bits[0] << 2 | channel_bits[1] << 1 | channel_bits[2]
            self.requests.append((bool(single), channel))
            fraction = min(max(self.volts[channel] / self.vref, 0.0), 1.0)
            # The sampling clock and a null bit come before the ten result bits.
            self.tx_word(round(fraction * 1023), 12)


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockFactory]:
    """A mock pin factory, also the default (gpiozero's software SPI needs that)."""
    mock_factory = MockFactory()
    monkeypatch.setattr(Device, "pin_factory", mock_factory)
    yield mock_factory
    mock_factory.reset()


@pytest.fixture
def adc(factory: MockFactory) -> Iterator[FakeMCP3008]:
    device = FakeMCP3008(factory)
    yield device
    device.close()


class Opened:
    """Opens drivers for a test, and closes them after it even when it fails."""

    def __init__(self) -> None:
        self.drivers: list[Driver] = []

    def __call__[DriverT: Driver](self, driver: DriverT) -> DriverT:
        driver.open()
        self.drivers.append(driver)
        return driver

    def close_all(self) -> None:
        for driver in self.drivers:
            driver.close()


@pytest.fixture
def opened() -> Iterator[Opened]:
    opener = Opened()
    yield opener
    opener.close_all()


@pytest.fixture
def light(factory: MockFactory, adc: FakeMCP3008, opened: Opened) -> MCP3008Light:
    return opened(MCP3008Light(pin_factory=factory))


def test_light_levels_are_percent_of_full_scale(
    adc: FakeMCP3008, light: MCP3008Light
) -> None:
    adc.volts[0] = 1.65
    adc.volts[1] = 0.33

    reading = light.read()

    assert reading.light_level == pytest.approx(50.0, abs=0.2)
    assert reading.infrared_level == pytest.approx(10.0, abs=0.2)
    assert reading.lux is None
    assert reading.values().keys() == set(light.measures)
    assert adc.requests == [(True, 0), (True, 1)]


def test_light_levels_span_zero_to_hundred(
    adc: FakeMCP3008, light: MCP3008Light
) -> None:
    adc.volts[0] = 3.3

    reading = light.read()

    assert reading.light_level == 100.0
    assert reading.infrared_level == 0.0


def test_light_reads_the_configured_channels(
    factory: MockFactory, adc: FakeMCP3008, opened: Opened
) -> None:
    adc.volts[5] = 0.825
    adc.volts[6] = 2.475
    sensor = opened(
        MCP3008Light(light_channel=5, infrared_channel=6, pin_factory=factory)
    )

    reading = sensor.read()

    assert reading.light_level == pytest.approx(25.0, abs=0.2)
    assert reading.infrared_level == pytest.approx(75.0, abs=0.2)
    assert adc.requests == [(True, 5), (True, 6)]


@pytest.mark.parametrize(
    ("volts", "celsius"),
    [(0.5, 0.0), (0.75, 25.0), (1.0, 50.0), (0.3, -20.0)],
)
def test_tmp36_converts_volts_to_celsius(
    factory: MockFactory,
    adc: FakeMCP3008,
    opened: Opened,
    volts: float,
    celsius: float,
) -> None:
    adc.volts[2] = volts
    sensor = opened(TMP36Temperature(pin_factory=factory))

    measured = sensor.read()

    assert measured == pytest.approx(celsius, abs=100 * STEP_VOLTS)
    assert adc.requests == [(True, 2)]


def test_tmp36_uses_the_reference_voltage(factory: MockFactory, opened: Opened) -> None:
    adc = FakeMCP3008(factory, vref=5.0)
    adc.volts[4] = 0.75
    sensor = opened(TMP36Temperature(channel=4, vref=5.0, pin_factory=factory))

    measured = sensor.read()
    adc.close()

    assert measured == pytest.approx(25.0, abs=100 * 5.0 / 1024)


def test_light_and_temperature_share_the_adc(
    factory: MockFactory,
    adc: FakeMCP3008,
    light: MCP3008Light,
    opened: Opened,
) -> None:
    adc.volts[:3] = [3.3, 0.0, 0.7]
    temperature = opened(TMP36Temperature(pin_factory=factory))

    assert light.read().light_level == 100.0
    assert temperature.read() == pytest.approx(20.0, abs=100 * STEP_VOLTS)


def test_reads_before_open_and_after_close_fail(
    factory: MockFactory, adc: FakeMCP3008
) -> None:
    sensor = TMP36Temperature(pin_factory=factory)
    with pytest.raises(DriverError, match="temperature input is not open"):
        sensor.read()

    sensor.open()
    sensor.close()
    with pytest.raises(DriverError, match="not open"):
        sensor.read()

    light = MCP3008Light(pin_factory=factory)
    light.close()
    with pytest.raises(DriverError, match="light input is not open"):
        light.read()


def test_pins_in_use_are_unavailable(factory: MockFactory) -> None:
    with (
        LED(CLOCK, pin_factory=factory),
        pytest.raises(DriverUnavailableError, match="MCP3008 on SPI cannot be opened"),
    ):
        MCP3008Light(pin_factory=factory).open()


def test_failed_second_channel_releases_the_first(
    monkeypatch: pytest.MonkeyPatch, factory: MockFactory
) -> None:
    opened: list[Any] = []

    def open_once(channel: int, **options: Any) -> Any:
        if opened:
            msg = "no second channel"
            raise DriverUnavailableError(msg)
        opened.append(open_channel(channel, **options))
        return opened[0]

    open_channel = mcp3008.open_channel
    monkeypatch.setattr(mcp3008, "open_channel", open_once)

    with pytest.raises(DriverUnavailableError, match="no second channel"):
        MCP3008Light(pin_factory=factory).open()
    assert opened[0].closed


def test_no_pin_factory_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_factory() -> None:
        msg = "Unable to load any default pin factory!"
        raise BadPinFactory(msg)

    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setattr(Device, "_default_pin_factory", staticmethod(no_factory))

    with pytest.raises(DriverUnavailableError, match=r"no GPIO pin factory.*lgpio"):
        TMP36Temperature().open()


def test_missing_gpiozero_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gpiozero", None)

    with pytest.raises(
        DriverUnavailableError,
        match=r"gpiozero is not installed: pip install 'smart-labeling\[pi\]'",
    ):
        MCP3008Light().open()


def test_io_error_on_read_is_driver_error(light: MCP3008Light) -> None:
    class BrokenChannel:
        @property
        def raw_value(self) -> int:
            raise OSError(5, "Input/output error")

        def close(self) -> None:
            """Nothing to release."""

    light._infrared.close()
    light._infrared = BrokenChannel()

    with pytest.raises(DriverError, match="MCP3008 infrared read failed"):
        light.read()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MCP3008Light(light_channel=8), "light channel 8 is not one of 0-7"),
        (lambda: MCP3008Light(infrared_channel=-1), "infrared channel -1"),
        (
            lambda: MCP3008Light(light_channel=3, infrared_channel=3),
            "light and infrared channels are both 3",
        ),
        (lambda: TMP36Temperature(channel=9), "temperature channel 9"),
        (lambda: TMP36Temperature(vref=0), "reference voltage must be positive"),
    ],
)
def test_bad_settings_are_rejected(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
