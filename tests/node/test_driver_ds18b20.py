"""DS18B20 driver against a fake 1-Wire sysfs tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.hardware.base import DriverError, DriverUnavailableError
from node.hardware.ds18b20 import DS18B20Temperature

GOOD_CRC = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES"
BAD_CRC = "72 01 4b 46 7f ff 0e 10 57 : crc=c4 NO"


def add_sensor(
    base: Path, device_id: str, millidegrees: int, *, crc: str = GOOD_CRC
) -> Path:
    """Write a sensor's w1_slave file as the w1-therm module presents it."""
    folder = base / device_id
    folder.mkdir(parents=True, exist_ok=True)
    slave = folder / "w1_slave"
    slave.write_text(
        f"{crc}\n72 01 4b 46 7f ff 0e 10 57 t={millidegrees}\n", encoding="ascii"
    )
    return slave


@pytest.fixture
def devices(tmp_path: Path) -> Path:
    base = tmp_path / "devices"
    base.mkdir()
    (base / "w1_bus_master1").mkdir()
    return base


def test_reads_millidegrees_as_celsius(devices: Path) -> None:
    add_sensor(devices, "28-0316a2795aff", 23125)
    sensor = DS18B20Temperature(base_path=devices)
    sensor.open()

    assert sensor.read() == 23.125


def test_reads_below_zero(devices: Path) -> None:
    add_sensor(devices, "28-0316a2795aff", -10500)
    sensor = DS18B20Temperature(base_path=devices)
    sensor.open()

    assert sensor.read() == -10.5


def test_follows_the_file_between_reads(devices: Path) -> None:
    slave = add_sensor(devices, "28-0316a2795aff", 20000)
    sensor = DS18B20Temperature(base_path=devices)
    sensor.open()
    first = sensor.read()

    slave.write_text(f"{GOOD_CRC}\n72 01 t=21500\n", encoding="ascii")

    assert (first, sensor.read()) == (20.0, 21.5)


def test_picks_the_first_sensor_without_an_id(devices: Path) -> None:
    add_sensor(devices, "28-00000bbbbbbb", 30000)
    add_sensor(devices, "28-00000aaaaaaa", 10000)
    sensor = DS18B20Temperature(base_path=devices)
    sensor.open()

    assert sensor.read() == 10.0


def test_reads_the_sensor_with_the_given_id(devices: Path) -> None:
    add_sensor(devices, "28-00000aaaaaaa", 10000)
    add_sensor(devices, "28-00000bbbbbbb", 30000)
    sensor = DS18B20Temperature(device_id="28-00000bbbbbbb", base_path=devices)
    sensor.open()

    assert sensor.read() == 30.0


def test_crc_failure_is_driver_error(devices: Path) -> None:
    add_sensor(devices, "28-0316a2795aff", 23125, crc=BAD_CRC)
    sensor = DS18B20Temperature(base_path=devices)
    sensor.open()

    with pytest.raises(DriverError, match="CRC check failed") as caught:
        sensor.read()
    assert not isinstance(caught.value, DriverUnavailableError)


def test_power_on_value_is_driver_error(devices: Path) -> None:
    add_sensor(devices, "28-0316a2795aff", 85000)
    sensor = DS18B20Temperature(base_path=devices)
    sensor.open()

    with pytest.raises(DriverError, match="power-on value 85"):
        sensor.read()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "has 0 lines, expected 2"),
        (f"{GOOD_CRC}\n72 01 4b 46 7f ff\n", "has no t= value"),
        (f"{GOOD_CRC}\n72 01 t=abc\n", "has no t= value"),
    ],
)
def test_malformed_file_is_driver_error(devices: Path, text: str, message: str) -> None:
    slave = add_sensor(devices, "28-0316a2795aff", 0)
    sensor = DS18B20Temperature(base_path=devices)
    sensor.open()
    slave.write_text(text, encoding="ascii")

    with pytest.raises(DriverError, match=message):
        sensor.read()


def test_vanished_sensor_is_driver_error(devices: Path) -> None:
    slave = add_sensor(devices, "28-0316a2795aff", 0)
    sensor = DS18B20Temperature(base_path=devices)
    sensor.open()
    slave.unlink()

    with pytest.raises(DriverError, match=r"DS18B20 read of .*w1_slave failed"):
        sensor.read()


def test_no_sensor_names_the_overlay(devices: Path) -> None:
    sensor = DS18B20Temperature(base_path=devices)

    with pytest.raises(DriverUnavailableError, match="dtoverlay=w1-gpio"):
        sensor.open()


def test_no_one_wire_bus_names_the_overlay(tmp_path: Path) -> None:
    sensor = DS18B20Temperature(base_path=tmp_path / "absent")

    with pytest.raises(DriverUnavailableError, match="dtoverlay=w1-gpio"):
        sensor.open()


def test_unlistable_folder_is_unavailable(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "devices"
    not_a_folder.write_text("", encoding="ascii")
    sensor = DS18B20Temperature(base_path=not_a_folder)

    with pytest.raises(DriverUnavailableError, match="cannot list"):
        sensor.open()


def test_unknown_id_lists_the_sensors_found(devices: Path) -> None:
    add_sensor(devices, "28-00000aaaaaaa", 0)
    sensor = DS18B20Temperature(device_id="28-ffffffffffff", base_path=devices)

    with pytest.raises(
        DriverUnavailableError,
        match=r"no DS18B20 28-ffffffffffff .*found: 28-00000aaaaaaa",
    ):
        sensor.open()


def test_sensor_without_its_file_is_unavailable(devices: Path) -> None:
    (devices / "28-0316a2795aff").mkdir()
    sensor = DS18B20Temperature(base_path=devices)

    with pytest.raises(DriverUnavailableError, match="w1-therm"):
        sensor.open()


def test_close_stops_reads(devices: Path) -> None:
    add_sensor(devices, "28-0316a2795aff", 0)
    sensor = DS18B20Temperature(base_path=devices)

    with pytest.raises(DriverError, match="not open"):
        sensor.read()
    sensor.open()
    sensor.close()
    with pytest.raises(DriverError, match="not open"):
        sensor.read()
