"""DS18B20 temperature sensor on the 1-Wire bus, read through the kernel's sysfs files."""

from __future__ import annotations

import logging
from pathlib import Path
import re

from node.hardware.base import DriverError, DriverUnavailableError, TemperatureSensor

_LOGGER = logging.getLogger(__name__)

W1_DEVICES = Path("/sys/bus/w1/devices")
FAMILY_PREFIX = "28-"
W1_HINT = (
    "add dtoverlay=w1-gpio to /boot/firmware/config.txt (data on GPIO4) and reboot"
)
# The value the sensor holds after power-on, before its first conversion.
POWER_ON_MILLIDEGREES = 85000

_TEMPERATURE = re.compile(r"t=(-?\d+)\s*$")


class DS18B20Temperature(TemperatureSensor):
    """A DS18B20, by its 1-Wire id or the first one the kernel found."""

    model = "ds18b20"

    def __init__(
        self, *, device_id: str | None = None, base_path: Path = W1_DEVICES
    ) -> None:
        """Read the sensor with this id (like 28-0316a2795aff), or the first one."""
        self.device_id = device_id
        self.base_path = base_path
        self._slave_file: Path | None = None

    def open(self) -> None:
        """Find the sensor's w1_slave file."""
        found = sorted(
            path.name
            for path in self._device_dirs()
            if path.name.startswith(FAMILY_PREFIX)
        )
        if self.device_id is None:
            if not found:
                msg = f"no DS18B20 under {self.base_path}: {W1_HINT}"
                raise DriverUnavailableError(msg)
            device_id = found[0]
        elif self.device_id in found:
            device_id = self.device_id
        else:
            present = ", ".join(found) or "none"
            msg = (
                f"no DS18B20 {self.device_id} under {self.base_path} "
                f"(found: {present}): check the id, or {W1_HINT}"
            )
            raise DriverUnavailableError(msg)

        slave_file = self.base_path / device_id / "w1_slave"
        if not slave_file.is_file():
            msg = f"DS18B20 {device_id} has no {slave_file}: is w1-therm loaded?"
            raise DriverUnavailableError(msg)
        self._slave_file = slave_file
        _LOGGER.debug("DS18B20 %s at %s", device_id, slave_file)

    def close(self) -> None:
        """Forget the sensor's file."""
        self._slave_file = None

    def read(self) -> float:
        """Return the temperature in °C; takes about 750 ms on the device."""
        if self._slave_file is None:
            msg = "the DS18B20 is not open"
            raise DriverError(msg)

        try:
            text = self._slave_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as err:
            msg = f"DS18B20 read of {self._slave_file} failed: {err}"
            raise DriverError(msg) from err
        return parse_w1_slave(text, self._slave_file)

    def _device_dirs(self) -> list[Path]:
        """Return the entries of the 1-Wire devices folder, or none if it is absent."""
        try:
            return list(self.base_path.iterdir())
        except FileNotFoundError:
            return []
        except OSError as err:
            msg = f"cannot list {self.base_path}: {err}"
            raise DriverUnavailableError(msg) from err


def parse_w1_slave(text: str, source: Path) -> float:
    """Return °C from a w1_slave file's two lines: the CRC check, then `t=`."""
    lines = text.strip().splitlines()
    if len(lines) != 2:
        msg = f"{source} has {len(lines)} lines, expected 2: {text!r}"
        raise DriverError(msg)

    crc_line, data_line = lines
    if not crc_line.rstrip().endswith("YES"):
        msg = f"DS18B20 CRC check failed in {source}: {crc_line.strip()!r}"
        raise DriverError(msg)

    match = _TEMPERATURE.search(data_line)
    if match is None:
        msg = f"{source} has no t= value: {data_line.strip()!r}"
        raise DriverError(msg)

    millidegrees = int(match.group(1))
    if millidegrees == POWER_ON_MILLIDEGREES:
        msg = (
            f"DS18B20 in {source} reports its power-on value 85 °C: "
            "check its power and pull-up resistor"
        )
        raise DriverError(msg)
    return millidegrees / 1000.0
