"""Read readings and image labels from CSV files, given which column holds what."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import io
import math
from pathlib import Path
from typing import Any, Final

from node.const import CLASSES, READING_UNITS
from node.store import DatasetError, ReadingRecord

DELIMITERS: Final = (",", ";", "\t")

# Tried in order after ISO 8601; day-first and month-first dates without AM/PM are
# ambiguous, so those need an explicit time_format.
AUTO_TIME_FORMATS: Final = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
)

# Epoch numbers from here on are milliseconds; as seconds they would be past 5000 AD.
EPOCH_MILLISECONDS_FROM: Final = 1e11

TRUE_WORDS: Final = frozenset({"1", "true", "yes", "y", "t"})
FALSE_WORDS: Final = frozenset({"0", "false", "no", "n", "f", ""})


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Which CSV column holds each reading value, the time, the label and saturation.

    `values` maps a CSV column to a reading name of node.const.READING_UNITS. Without
    a time column every row gets the time of the import; without a label column the
    readings are unlabelled. `time_format` is a strptime format for times that are
    not recognised automatically.
    """

    values: Mapping[str, str]
    time: str | None = None
    label: str | None = None
    saturated: str | None = None
    time_format: str | None = None

    def __post_init__(self) -> None:
        """Check the reading names and that no column is used twice."""
        if not self.values:
            msg = "a column mapping needs at least one value column"
            raise DatasetError(msg)
        unknown = sorted(set(self.values.values()) - set(READING_UNITS))
        if unknown:
            msg = (
                f"unknown reading names {', '.join(map(repr, unknown))} in the column "
                f"mapping; valid names: {', '.join(READING_UNITS)}"
            )
            raise DatasetError(msg)
        names = list(self.values.values())
        for name in names:
            if names.count(name) > 1:
                msg = f"reading {name!r} is mapped from more than one column"
                raise DatasetError(msg)
        columns = self.columns()
        for column in columns:
            if columns.count(column) > 1:
                msg = f"column {column!r} is mapped more than once"
                raise DatasetError(msg)

    def columns(self) -> list[str]:
        """Return every CSV column the mapping reads."""
        roles = (self.time, self.label, self.saturated)
        return [*self.values, *(column for column in roles if column is not None)]

    @classmethod
    def original(cls) -> ColumnMapping:
        """Return the mapping of the original system's recordings."""
        return cls(
            values={
                "Temperature": "temperature",
                "Luminosity": "light_level",
                "Infrared": "infrared_level",
            },
            time="CreatedAt",
            label="Source",
        )

    @classmethod
    def exported(cls) -> ColumnMapping:
        """Return the mapping of the CSV files this node exports."""
        return cls(
            values={name: name for name in READING_UNITS},
            time="time",
            label="true_label",
            saturated="saturated",
        )

    @classmethod
    def from_dict(cls, data: Any) -> ColumnMapping:
        """Build a mapping from its JSON form; raise DatasetError naming the problem."""
        if not isinstance(data, dict):
            msg = "a column mapping must be a JSON object"
            raise DatasetError(msg)
        allowed = {"values", "time", "label", "saturated", "time_format"}
        extra = sorted(set(data) - allowed)
        if extra:
            msg = (
                f"unknown column mapping keys {', '.join(map(repr, extra))}; "
                f"valid keys: {', '.join(sorted(allowed))}"
            )
            raise DatasetError(msg)
        values = data.get("values")
        if not isinstance(values, dict) or not all(
            isinstance(key, str) and isinstance(value, str)
            for key, value in values.items()
        ):
            msg = "column mapping 'values' must map column names to reading names"
            raise DatasetError(msg)
        optional = {}
        for key in ("time", "label", "saturated", "time_format"):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                msg = f"column mapping {key!r} must be a string, not {value!r}"
                raise DatasetError(msg)
            optional[key] = value
        return cls(values=dict(values), **optional)


def match_label(text: str) -> str | None:
    """Return the class a label names, ignoring case and spaces, or None."""
    label = text.strip().lower()
    return label if label in CLASSES else None


def _as_utc(moment: datetime) -> datetime:
    """Return a time in UTC, taking a naive time as UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_time(text: str, time_format: str | None = None) -> datetime:
    """Parse a time (ISO 8601, common formats, epoch seconds or ms) as UTC.

    Raise ValueError if the text is none of them.
    """
    text = text.strip()
    if time_format is not None:
        try:
            return _as_utc(datetime.strptime(text, time_format))  # noqa: DTZ007
        except ValueError as err:
            msg = f"{text!r} does not match the time format {time_format!r}"
            raise ValueError(msg) from err

    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            msg = f"{text!r} is not a time"
            raise ValueError(msg)
        seconds = number / 1000 if abs(number) >= EPOCH_MILLISECONDS_FROM else number
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError) as err:
            msg = f"{text!r} is out of range as a time"
            raise ValueError(msg) from err

    try:
        return _as_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    for candidate in AUTO_TIME_FORMATS:
        try:
            return _as_utc(datetime.strptime(text, candidate))  # noqa: DTZ007
        except ValueError:
            continue
    try:
        return _as_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    msg = f"{text!r} is not a time in a known format (ISO 8601, for example)"
    raise ValueError(msg)


def _parse_number(text: str, delimiter: str) -> float | None:
    """Parse a reading value; an empty cell is a missing value."""
    text = text.strip()
    if not text:
        return None
    cell = text
    if delimiter != "," and text.count(",") == 1 and "." not in text:
        # Files separated by ';' or tabs often come with decimal commas.
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError as err:
        msg = f"{cell!r} is not a number"
        raise ValueError(msg) from err
    if not math.isfinite(number):
        msg = f"{cell!r} is not a finite number"
        raise ValueError(msg)
    return number


def _parse_saturated(text: str) -> bool:
    """Parse a saturation flag such as 1, 0, true or no."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    msg = f"{text.strip()!r} is not true or false"
    raise ValueError(msg)


def _parse_label(text: str) -> str | None:
    """Parse a label cell; an empty cell means unlabelled."""
    if not text.strip():
        return None
    label = match_label(text)
    if label is None:
        msg = f"{text.strip()!r} is not one of {', '.join(CLASSES)}"
        raise ValueError(msg)
    return label


def _parse_file_name(text: str) -> str:
    """Parse the file name cell of a labels file."""
    name = text.strip()
    if not name:
        msg = "is empty"
        raise ValueError(msg)
    return name


def _read_text(path: Path) -> str:
    """Return a CSV file's text, with or without a byte order mark.

    Raise DatasetError if it cannot be read or is not UTF-8, naming the row.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        msg = f"cannot read {path}: {err.strerror or err}"
        raise DatasetError(msg) from err
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        row = data[: err.start].count(b"\n") + 1
        msg = f"{path.name}, row {row}: not UTF-8 text ({err.reason})"
        raise DatasetError(msg) from err


class _CsvFile:
    """A CSV file whose header holds the columns a caller needs."""

    def __init__(self, path: Path, required: list[str]) -> None:
        """Read the file and its header, choosing the delimiter that fits the header.

        Raise DatasetError naming the missing columns if no delimiter gives them all.
        """
        self.path = path
        self.text = _read_text(path)
        first_line = self.text.partition("\n")[0]
        if not first_line.strip():
            msg = f"{path.name} is empty; expected a header row"
            raise DatasetError(msg)

        def fit(delimiter: str) -> tuple[int, int]:
            header = self._split(first_line, delimiter)
            return sum(column in header for column in required), len(header)

        self.delimiter = max(DELIMITERS, key=fit)
        header = self._split(first_line, self.delimiter)
        missing = [column for column in required if column not in header]
        if missing:
            msg = (
                f"{path.name}: missing column {', '.join(map(repr, missing))} "
                f"(the header has {', '.join(map(repr, header))})"
            )
            raise DatasetError(msg)
        for column in required:
            if header.count(column) > 1:
                msg = f"{path.name}: column {column!r} appears twice in the header"
                raise DatasetError(msg)
        self.positions = {column: header.index(column) for column in required}
        self.width = len(header)

    @staticmethod
    def _split(line: str, delimiter: str) -> list[str]:
        """Return the cells of one line, stripped of spaces."""
        return [name.strip() for name in next(csv.reader([line], delimiter=delimiter))]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield the row number and cells of every non-blank row after the header."""
        reader = csv.reader(
            io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True
        )
        try:
            next(reader)
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield reader.line_num, cells
        except csv.Error as err:
            msg = f"{self.path.name}, row {reader.line_num}: {err}"
            raise DatasetError(msg) from err

    def cell(self, cells: list[str], column: str) -> str:
        """Return a row's cell of a column; raise ValueError if the row is too short."""
        position = self.positions[column]
        if position >= len(cells):
            msg = f"is missing (the row has {len(cells)} of {self.width} cells)"
            raise ValueError(msg)
        return cells[position]


def iter_csv_readings(
    path: Path, mapping: ColumnMapping, *, default_time: datetime
) -> Iterator[ReadingRecord | DatasetError]:
    """Yield one reading per CSV row, or a DatasetError naming the bad row and column.

    Problems with the whole file (unreadable, missing column) raise DatasetError.
    """
    table = _CsvFile(path, mapping.columns())
    for row, cells in table.rows():
        column = ""
        try:
            values = {}
            for column, name in mapping.values.items():
                number = _parse_number(table.cell(cells, column), table.delimiter)
                if number is not None:
                    values[name] = number
            time = default_time
            if mapping.time is not None:
                column = mapping.time
                time = parse_time(table.cell(cells, column), mapping.time_format)
            label = None
            if mapping.label is not None:
                column = mapping.label
                label = _parse_label(table.cell(cells, column))
            saturated = False
            if mapping.saturated is not None:
                column = mapping.saturated
                saturated = _parse_saturated(table.cell(cells, column))
        except ValueError as err:
            yield DatasetError(f"{path.name}, row {row}, column {column!r}: {err}")
            continue
        yield ReadingRecord(
            time=time,
            values=values,
            saturated=saturated,
            true_label=label,
            labelled_by=None if label is None else "import",
        )


def iter_labels_file(
    path: Path,
) -> Iterator[tuple[int, str, str | None] | DatasetError]:
    """Yield (row, file, label) for each row of a labels file, or a DatasetError.

    The file is a CSV with a header holding the columns file and label.
    """
    table = _CsvFile(path, ["file", "label"])
    for row, cells in table.rows():
        column = "file"
        try:
            name = _parse_file_name(table.cell(cells, column))
            column = "label"
            label = _parse_label(table.cell(cells, column))
        except ValueError as err:
            yield DatasetError(f"{path.name}, row {row}, column {column!r}: {err}")
            continue
        yield row, name, label
