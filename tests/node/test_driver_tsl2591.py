"""TSL2591 driver against an emulated sensor on a fake I2C bus."""

from __future__ import annotations

from collections.abc import Iterator
import errno
from pathlib import Path
import sys
import time
import types

import pytest

from node.hardware import tsl2591
from node.hardware.base import DriverError, DriverUnavailableError
from node.hardware.tsl2591 import TSL2591Light, open_i2c_bus

COMMAND_BIT = 0x80
ENABLE, CONTROL, DEVICE_ID, STATUS = 0x00, 0x01, 0x12, 0x13
CHANNEL0_LOW, CHANNEL1_LOW = 0x14, 0x16
POWER_ON, ALS_ENABLE, ALS_VALID = 0x01, 0x02, 0x01


class FakeTSL2591Bus:
    """An I2C bus with one TSL2591-like register file, as busio.I2C behaves."""

    def __init__(self, *, address: int = 0x29, device_id: int = 0x50) -> None:
        self.address = address
        self.registers = bytearray(32)
        self.registers[DEVICE_ID] = device_id
        self.full_spectrum = 0
        self.infrared = 0
        self.locked = False
        self.fail_data_writes = False
        self.fail_reads = False
        self.pointer = 0
        self.released = False

    def deinit(self) -> None:
        self.released = True

    def try_lock(self) -> bool:
        if self.locked:
            return False
        self.locked = True
        return True

    def unlock(self) -> None:
        self.locked = False

    def scan(self) -> list[int]:
        return [self.address]

    def writeto(
        self,
        address: int,
        buffer: bytes | bytearray,
        *,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        self._check(address)
        data = bytes(buffer[start:end])
        if not data:
            return
        if self.fail_data_writes:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        self._command(data[0])
        for value in data[1:]:
            if self.pointer in (ENABLE, CONTROL):
                self.registers[self.pointer] = value
            self.pointer += 1

    def readfrom_into(
        self,
        address: int,
        buffer: bytearray,
        *,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        self._check(address)
        if self.fail_reads:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        stop = len(buffer) if end is None else end
        for index in range(start, stop):
            buffer[index] = self._register(self.pointer)
            self.pointer += 1

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
        self.writeto(address, buffer_out, start=out_start, end=out_end)
        self.readfrom_into(address, buffer_in, start=in_start, end=in_end)

    def _check(self, address: int) -> None:
        assert self.locked, "bus used without holding its lock"
        if address != self.address:
            raise OSError(errno.ENXIO, "No such device or address")

    def _command(self, command: int) -> None:
        assert command & COMMAND_BIT, f"command byte {command:#04x} lacks its CMD bit"
        self.pointer = command & 0x1F

    def _register(self, index: int) -> int:
        running = self.registers[ENABLE] & (POWER_ON | ALS_ENABLE)
        if index == STATUS:
            return ALS_VALID if running == POWER_ON | ALS_ENABLE else 0
        channels = {
            CHANNEL0_LOW: self.full_spectrum & 0xFF,
            CHANNEL0_LOW + 1: self.full_spectrum >> 8,
            CHANNEL1_LOW: self.infrared & 0xFF,
            CHANNEL1_LOW + 1: self.infrared >> 8,
        }
        if index in channels:
            return channels[index] if running else 0
        return self.registers[index]


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the driver's settling waits instead of sleeping through them."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


@pytest.fixture
def bus() -> FakeTSL2591Bus:
    return FakeTSL2591Bus()


@pytest.fixture
def sensor(bus: FakeTSL2591Bus) -> Iterator[TSL2591Light]:
    light = TSL2591Light(bus)
    light.open()
    yield light
    light.close()


@pytest.mark.parametrize(
    ("gain", "integration_ms", "control"),
    [
        ("low", 100, 0x00),
        ("medium", 200, 0x11),
        ("high", 300, 0x22),
        ("max", 600, 0x35),
    ],
)
def test_open_writes_gain_and_integration_time(
    bus: FakeTSL2591Bus,
    waits: list[float],
    gain: str,
    integration_ms: int,
    control: int,
) -> None:
    light = TSL2591Light(bus, gain=gain, integration_ms=integration_ms)
    light.open()

    assert bus.registers[CONTROL] == control
    assert bus.registers[ENABLE] == POWER_ON | ALS_ENABLE
    assert max(waits) >= integration_ms / 1000
    assert not bus.locked


def test_counts_give_channels_and_lux(
    bus: FakeTSL2591Bus, sensor: TSL2591Light
) -> None:
    bus.full_spectrum, bus.infrared = 1200, 300

    reading = sensor.read()

    counts_per_lux = 100 * 25.0 / 408.0
    expected_lux = (1200 - 300) * (1 - 300 / 1200) / counts_per_lux
    assert reading.full_spectrum == 1200
    assert reading.infrared == 300
    assert reading.visible == 900
    assert reading.lux == pytest.approx(expected_lux)
    assert not reading.saturated
    assert reading.values().keys() == set(sensor.measures)


def test_lux_follows_gain_and_integration_time(bus: FakeTSL2591Bus) -> None:
    light = TSL2591Light(bus, gain="high", integration_ms=400)
    light.open()
    bus.full_spectrum, bus.infrared = 50000, 10000

    reading = light.read()

    counts_per_lux = 400 * 428.0 / 408.0
    assert reading.lux == pytest.approx(40000 * 0.8 / counts_per_lux)
    assert not reading.saturated


def test_no_light_reads_zero_lux(bus: FakeTSL2591Bus, sensor: TSL2591Light) -> None:
    reading = sensor.read()

    assert reading.lux == 0.0
    assert reading.visible == 0.0


def test_saturated_channel_is_flagged_and_clipped(
    bus: FakeTSL2591Bus, sensor: TSL2591Light
) -> None:
    bus.full_spectrum, bus.infrared = 40000, 2000

    reading = sensor.read()

    assert reading.saturated
    assert reading.full_spectrum == 36863
    assert reading.infrared == 2000
    assert reading.visible == 36863 - 2000
    assert reading.lux is not None
    assert reading.lux > 0


def test_saturated_infrared_alone_is_flagged(
    bus: FakeTSL2591Bus, sensor: TSL2591Light
) -> None:
    bus.full_spectrum, bus.infrared = 36000, 36863

    reading = sensor.read()

    assert reading.saturated
    assert reading.visible == 0.0


def test_longer_integration_saturates_at_full_scale(bus: FakeTSL2591Bus) -> None:
    light = TSL2591Light(bus, integration_ms=200)
    light.open()

    bus.full_spectrum = 40000
    assert not light.read().saturated

    bus.full_spectrum = 65535
    reading = light.read()
    assert reading.saturated
    assert reading.full_spectrum == 65535


def test_other_address(waits: list[float]) -> None:
    bus = FakeTSL2591Bus(address=0x28)
    light = TSL2591Light(bus, address=0x28)
    light.open()
    bus.full_spectrum, bus.infrared = 500, 100

    assert light.read().full_spectrum == 500


def test_wrong_device_id_is_unavailable() -> None:
    light = TSL2591Light(FakeTSL2591Bus(device_id=0x44))

    with pytest.raises(DriverUnavailableError, match=r"0x29 is not a TSL2591"):
        light.open()


def test_missing_device_is_unavailable() -> None:
    light = TSL2591Light(FakeTSL2591Bus(address=0x39))

    with pytest.raises(DriverUnavailableError, match=r"no TSL2591 answers at .*0x29"):
        light.open()


def test_setup_io_error_is_unavailable(bus: FakeTSL2591Bus) -> None:
    bus.fail_data_writes = True

    with pytest.raises(DriverUnavailableError, match="cannot be set up"):
        TSL2591Light(bus).open()


def test_read_io_error_is_driver_error(
    bus: FakeTSL2591Bus, sensor: TSL2591Light
) -> None:
    bus.fail_reads = True

    with pytest.raises(DriverError, match="TSL2591 read failed") as caught:
        sensor.read()

    assert not isinstance(caught.value, DriverUnavailableError)
    assert not bus.locked


def test_close_powers_down_and_stops_reads(
    bus: FakeTSL2591Bus, sensor: TSL2591Light
) -> None:
    sensor.close()

    assert bus.registers[ENABLE] == 0x00
    with pytest.raises(DriverError, match="not open"):
        sensor.read()
    sensor.close()


def test_close_survives_a_bus_error(bus: FakeTSL2591Bus, sensor: TSL2591Light) -> None:
    bus.fail_data_writes = True

    sensor.close()

    with pytest.raises(DriverError, match="not open"):
        sensor.read()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"gain": "huge"}, "gain 'huge' is not one of low, medium, high, max"),
        ({"integration_ms": 150}, "integration time 150 ms is not one of 100, 200"),
        ({"address": 0x80}, "address 0x80 is outside"),
    ],
)
def test_bad_settings_are_rejected(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TSL2591Light(FakeTSL2591Bus(), **options)  # type: ignore[arg-type]


def test_missing_library_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "adafruit_tsl2591", None)

    with pytest.raises(
        DriverUnavailableError,
        match=r"adafruit-circuitpython-tsl2591 is not installed: pip install "
        r"'smart-labeling\[pi\]'",
    ):
        TSL2591Light(FakeTSL2591Bus()).open()


def test_without_a_bus_opens_the_default_one(
    monkeypatch: pytest.MonkeyPatch, bus: FakeTSL2591Bus
) -> None:
    monkeypatch.setattr(tsl2591, "open_i2c_bus", lambda: bus)
    light = TSL2591Light()
    light.open()
    bus.full_spectrum = 800

    assert light.read().full_spectrum == 800
    assert not bus.released
    light.close()
    assert bus.released


def test_failed_setup_releases_the_default_bus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus = FakeTSL2591Bus(device_id=0x44)
    monkeypatch.setattr(tsl2591, "open_i2c_bus", lambda: bus)

    with pytest.raises(DriverUnavailableError, match="not a TSL2591"):
        TSL2591Light().open()
    assert bus.released


def test_a_given_bus_stays_open(bus: FakeTSL2591Bus, sensor: TSL2591Light) -> None:
    sensor.close()

    assert not bus.released


def fake_blinka(monkeypatch: pytest.MonkeyPatch, i2c_class: type) -> None:
    """Install fake `board` and `busio` modules."""
    board = types.ModuleType("board")
    board.SCL, board.SDA = "SCL", "SDA"  # type: ignore[attr-defined]
    busio = types.ModuleType("busio")
    busio.I2C = i2c_class  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "board", board)
    monkeypatch.setitem(sys.modules, "busio", busio)


def test_open_i2c_bus_uses_the_board_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    class RecordingI2C:
        def __init__(self, scl: str, sda: str) -> None:
            self.pins = (scl, sda)

    fake_blinka(monkeypatch, RecordingI2C)

    opened = open_i2c_bus()

    assert isinstance(opened, RecordingI2C)
    assert opened.pins == ("SCL", "SDA")


def test_open_i2c_bus_without_i2c_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    class DisabledI2C:
        def __init__(self, scl: str, sda: str) -> None:
            msg = "No Hardware I2C on (scl,sda)=(SCL, SDA)"
            raise ValueError(msg)

    fake_blinka(monkeypatch, DisabledI2C)

    with pytest.raises(DriverUnavailableError, match="no I2C bus: enable I2C with"):
        open_i2c_bus()


def test_open_i2c_bus_without_blinka(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "board", None)

    with pytest.raises(
        DriverUnavailableError, match="adafruit-blinka is not installed"
    ):
        open_i2c_bus()


def test_open_i2c_bus_on_an_unknown_board(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "board.py").write_text(
        'raise NotImplementedError("Board not supported")\n', encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "board", raising=False)

    with pytest.raises(DriverUnavailableError, match="no I2C bus on this board"):
        open_i2c_bus()
