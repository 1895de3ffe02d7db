"""Tests of importing CSV files and image folders into the dataset store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image
import pytest
from store_helpers import files_under_frames, jpeg_bytes

from node.csv_import import ColumnMapping, parse_time
from node.store import DatasetError, DatasetStore

ORIGINAL_HEADER = "Id,Temperature,Luminosity,Infrared,CreatedAt,Source\n"


@pytest.fixture
def store(tmp_path: Path) -> Any:
    """Return a fresh store in a temporary folder, closed after the test."""
    with DatasetStore(tmp_path / "data") as opened:
        yield opened


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a text file and return its path."""
    path.write_text(text, encoding=encoding)
    return path


def test_original_recordings_import(store: DatasetStore, tmp_path: Path) -> None:
    """The original system's columns import with its labels and times."""
    source = write(
        tmp_path / "recordings.csv",
        ORIGINAL_HEADER
        + "1,21.5,80,12,2023-05-04 12:30:00,Flashlight\n"
        + "2,22,15.5,70,2023-05-04T12:30:01Z,LIGHTER\n"
        + "\n"
        + "3,19.25,3,95,2023-05-04T14:30:02+02:00, infrared \n",
    )
    result = store.import_csv(source, ColumnMapping.original())

    assert (result.imported, result.skipped, result.errors) == (3, 0, [])
    readings = store.readings()
    assert [reading.values for reading in readings] == [
        {"temperature": 21.5, "light_level": 80.0, "infrared_level": 12.0},
        {"temperature": 22.0, "light_level": 15.5, "infrared_level": 70.0},
        {"temperature": 19.25, "light_level": 3.0, "infrared_level": 95.0},
    ]
    assert [reading.true_label for reading in readings] == [
        "flashlight",
        "lighter",
        "infrared",
    ]
    assert {reading.labelled_by for reading in readings} == {"import"}
    assert [reading.time for reading in readings] == [
        datetime(2023, 5, 4, 12, 30, second, tzinfo=UTC) for second in range(3)
    ]
    (session,) = store.sessions()
    assert (session.id, session.mode, session.note) == (
        result.session_id,
        "import",
        "recordings.csv",
    )
    assert not session.active


def test_semicolons_decimal_commas_and_byte_order_mark(
    store: DatasetStore, tmp_path: Path
) -> None:
    """Spreadsheet exports with ';', decimal commas and a BOM import too."""
    source = write(
        tmp_path / "excel.csv",
        "Temperature;Luminosity;Infrared;CreatedAt;Source\n"
        "21,5;80;12;03.12.2026 17:00;Daylight\n",
        encoding="utf-8-sig",
    )
    result = store.import_csv(source, ColumnMapping.original())
    assert result.imported == 1
    (reading,) = store.readings()
    assert reading.values["temperature"] == 21.5
    assert reading.time == datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def test_import_without_time_or_label_columns(
    store: DatasetStore, tmp_path: Path
) -> None:
    """Without a time column rows get the import time; without labels none."""
    source = write(tmp_path / "plain.csv", "lux\tsat\n5\tyes\n6\t0\n")
    before = datetime.now(UTC)
    result = store.import_csv(
        source, ColumnMapping(values={"lux": "lux"}, saturated="sat")
    )
    assert result.imported == 2
    readings = store.readings()
    assert [reading.saturated for reading in readings] == [True, False]
    assert all(reading.true_label is None for reading in readings)
    assert all(reading.labelled_by is None for reading in readings)
    assert all(before <= reading.time <= datetime.now(UTC) for reading in readings)


def test_empty_value_cells_are_missing_values(
    store: DatasetStore, tmp_path: Path
) -> None:
    """An empty cell leaves that value out; an empty label leaves it unlabelled."""
    source = write(
        tmp_path / "gaps.csv", ORIGINAL_HEADER + "1,,80,,2023-05-04 12:30:00,\n"
    )
    store.import_csv(source, ColumnMapping.original())
    (reading,) = store.readings()
    assert reading.values == {"light_level": 80.0}
    assert reading.true_label is None


def test_large_files_import_in_batches(store: DatasetStore, tmp_path: Path) -> None:
    """Files longer than one insert batch import every row, in order."""
    rows = "".join(
        f"{index},{index / 10},50,{index % 7},{1_700_000_000 + index},Lighter\n"
        for index in range(2345)
    )
    source = write(tmp_path / "long.csv", ORIGINAL_HEADER + rows)
    result = store.import_csv(source, ColumnMapping.original())
    assert result.imported == 2345
    table = store.fetch_table(["temperature", "time"])
    assert table.rows[2344][0] == 234.4
    assert table.rows[0][1] == "2023-11-14T22:13:20.000000+00:00"


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        (
            "7,hot,80,12,2023-05-04 12:30:00,Lighter",
            "Temperature",
            "'hot' is not a number",
        ),
        (
            "7,21,inf,12,2023-05-04 12:30:00,Lighter",
            "Luminosity",
            "'inf' is not a finite number",
        ),
        ("7,21,80,12,2023-05-04 12:30:00,Candle", "Source", "'Candle' is not one of"),
        ("7,21,80,12,yesterday,Lighter", "CreatedAt", "'yesterday' is not a time"),
        (
            "7,21,80,12,2023-13-45 12:30:00,Lighter",
            "CreatedAt",
            "'2023-13-45 12:30:00' is not a time in a known format",
        ),
        ("7,21,80", "Infrared", r"is missing \(the row has 3 of 6 cells\)"),
        ("7,21,80,12", "CreatedAt", "is missing"),
    ],
)
def test_malformed_row_stops_the_import(
    store: DatasetStore, tmp_path: Path, line: str, column: str, reason: str
) -> None:
    """The first bad row raises, naming file, row and column; nothing is stored."""
    source = write(
        tmp_path / "bad.csv",
        ORIGINAL_HEADER + "1,21,80,12,2023-05-04 12:30:00,Lighter\n" + line + "\n",
    )
    with pytest.raises(
        DatasetError, match=rf"bad\.csv, row 3, column '{column}': {reason}"
    ):
        store.import_csv(source, ColumnMapping.original())
    assert store.readings() == []
    assert store.sessions() == []


def test_malformed_rows_are_skipped_on_request(
    store: DatasetStore, tmp_path: Path
) -> None:
    """With on_error='skip' good rows are stored and bad ones reported."""
    source = write(
        tmp_path / "mixed.csv",
        ORIGINAL_HEADER
        + "1,21,80,12,2023-05-04 12:30:00,Lighter\n"
        + "2,21,eighty,12,2023-05-04 12:30:01,Lighter\n"
        + "3,21,80,12,2023-05-04 12:30:02,Candle\n"
        + "4,21,80,12,2023-05-04 12:30:03,Daylight\n",
    )
    result = store.import_csv(source, ColumnMapping.original(), on_error="skip")
    assert (result.imported, result.skipped) == (2, 2)
    assert result.errors == [
        "mixed.csv, row 3, column 'Luminosity': 'eighty' is not a number",
        "mixed.csv, row 4, column 'Source': 'Candle' is not one of flashlight, "
        "lighter, infrared, daylight",
    ]
    assert [reading.true_label for reading in store.readings()] == [
        "lighter",
        "daylight",
    ]
    assert store.session(result.session_id or 0).readings == 2


def test_skipping_every_row_creates_no_session(
    store: DatasetStore, tmp_path: Path
) -> None:
    """When no row is good, nothing at all is stored."""
    source = write(
        tmp_path / "junk.csv", ORIGINAL_HEADER + "1,x,x,x,x,x\n2,y,y,y,y,y\n"
    )
    result = store.import_csv(source, ColumnMapping.original(), on_error="skip")
    assert (result.imported, result.skipped, result.session_id) == (0, 2, None)
    assert store.sessions() == []


@pytest.mark.parametrize("on_error", ["stop", "skip"])
def test_missing_mapped_column_is_always_an_error(
    store: DatasetStore, tmp_path: Path, on_error: Any
) -> None:
    """A mapped column absent from the header stops the import in both modes."""
    source = write(
        tmp_path / "short.csv", "Temperature,Luminosity,CreatedAt\n21,80,2023-05-04\n"
    )
    with pytest.raises(
        DatasetError,
        match=r"short\.csv: missing column 'Infrared', 'Source' \(the header has "
        r"'Temperature', 'Luminosity', 'CreatedAt'\)",
    ):
        store.import_csv(source, ColumnMapping.original(), on_error=on_error)
    assert store.sessions() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"empty\.csv is empty; expected a header row"),
        (
            "Temperature,Temperature,Luminosity,Infrared,CreatedAt,Source\n",
            "column 'Temperature' appears twice in the header",
        ),
        (
            ORIGINAL_HEADER + '1,2,3,4,"2023-05-04\n',
            r"empty\.csv, row 2: unexpected end of data",
        ),
        (
            ORIGINAL_HEADER + '1,2,3,4,"2023-05-04"x,Lighter\n',
            r"empty\.csv, row 2: ',' expected after '\"'",
        ),
    ],
)
def test_unreadable_files_are_errors(
    store: DatasetStore, tmp_path: Path, content: str, message: str
) -> None:
    """Empty files, duplicate headers and broken quoting raise DatasetError."""
    source = write(tmp_path / "empty.csv", content)
    with pytest.raises(DatasetError, match=message):
        store.import_csv(source, ColumnMapping.original(), on_error="skip")


def test_text_that_is_not_utf8_is_an_error(store: DatasetStore, tmp_path: Path) -> None:
    """A file in another encoding is refused, naming where it went wrong."""
    source = tmp_path / "latin.csv"
    source.write_bytes(
        ORIGINAL_HEADER.encode() + b"1,21,80,12,2023-05-04,Lighter\n2,\xe9t\xe9\n"
    )
    with pytest.raises(
        DatasetError,
        match=r"latin\.csv, row 3: not UTF-8 text \(invalid continuation byte\)",
    ):
        store.import_csv(source, ColumnMapping.original())
    with pytest.raises(DatasetError, match="cannot read"):
        store.import_csv(tmp_path / "absent.csv", ColumnMapping.original())
    with pytest.raises(DatasetError, match="on_error 'ignore' is not one of"):
        store.import_csv(source, ColumnMapping.original(), on_error="ignore")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03T17:00:00Z", datetime(2026, 12, 3, 17, tzinfo=UTC)),
        ("2026-12-03T19:00:00+02:00", datetime(2026, 12, 3, 17, tzinfo=UTC)),
        ("2026-12-03 17:00:00.250", datetime(2026, 12, 3, 17, 0, 0, 250000, UTC)),
        ("2026-12-03", datetime(2026, 12, 3, tzinfo=UTC)),
        ("2026/12/03 17:00:05", datetime(2026, 12, 3, 17, 0, 5, tzinfo=UTC)),
        ("2026/12/03 17:00", datetime(2026, 12, 3, 17, tzinfo=UTC)),
        ("03.12.2026 17:00:05", datetime(2026, 12, 3, 17, 0, 5, tzinfo=UTC)),
        ("12/03/2026 05:00:05 PM", datetime(2026, 12, 3, 17, 0, 5, tzinfo=UTC)),
        ("12/03/2026 5:00 PM", datetime(2026, 12, 3, 17, tzinfo=UTC)),
        ("1796317200", datetime(2026, 12, 3, 17, tzinfo=UTC)),
        ("1796317200500", datetime(2026, 12, 3, 17, 0, 0, 500000, UTC)),
        ("Thu, 03 Dec 2026 18:00:00 +0100", datetime(2026, 12, 3, 17, tzinfo=UTC)),
    ],
)
def test_time_formats(text: str, expected: datetime) -> None:
    """ISO 8601 and the common formats parse, naive times as UTC."""
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_explicit_time_format() -> None:
    """A strptime format reads day-first dates that are otherwise ambiguous."""
    assert parse_time("03/12/2026 17:00", "%d/%m/%Y %H:%M") == datetime(
        2026, 12, 3, 17, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="does not match the time format"):
        parse_time("2026-12-03", "%d/%m/%Y %H:%M")
    with pytest.raises(ValueError, match="'03/12/2026 17:00' is not a time"):
        parse_time("03/12/2026 17:00")
    with pytest.raises(ValueError, match="'nan' is not a time"):
        parse_time("nan")
    with pytest.raises(ValueError, match="out of range"):
        parse_time("1e300")


def test_time_format_in_mapping(store: DatasetStore, tmp_path: Path) -> None:
    """The mapping's time format is used for every row."""
    source = write(tmp_path / "days.csv", "when,lux\n03/12/2026 17:00,4\n")
    store.import_csv(
        source,
        ColumnMapping(values={"lux": "lux"}, time="when", time_format="%d/%m/%Y %H:%M"),
    )
    assert store.readings()[0].time == datetime(2026, 12, 3, 17, tzinfo=UTC)


def test_bad_saturation_flag_is_named(store: DatasetStore, tmp_path: Path) -> None:
    """A saturation cell that is not a yes/no value is a bad row."""
    source = write(tmp_path / "sat.csv", "lux,sat\n1,maybe\n")
    with pytest.raises(
        DatasetError, match="column 'sat': 'maybe' is not true or false"
    ):
        store.import_csv(source, ColumnMapping(values={"lux": "lux"}, saturated="sat"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"values": {}}, "needs at least one value column"),
        ({"values": {"Light": "brightness"}}, "unknown reading names 'brightness'"),
        ({"values": {"A": "lux", "B": "lux"}}, "reading 'lux' is mapped from more"),
        ({"values": {"A": "lux"}, "time": "A"}, "column 'A' is mapped more than once"),
    ],
)
def test_column_mapping_is_checked(arguments: dict[str, Any], message: str) -> None:
    """A mapping naming unknown readings or reusing a column is refused."""
    with pytest.raises(DatasetError, match=message):
        ColumnMapping(**arguments)


def test_column_mapping_from_json() -> None:
    """A mapping can come from its JSON form, with clear errors."""
    mapping = ColumnMapping.from_dict(
        {"values": {"Luminosity": "light_level"}, "time": "CreatedAt", "label": None}
    )
    assert mapping == ColumnMapping(
        values={"Luminosity": "light_level"}, time="CreatedAt"
    )
    assert mapping.columns() == ["Luminosity", "CreatedAt"]
    with pytest.raises(DatasetError, match="must be a JSON object"):
        ColumnMapping.from_dict([])
    with pytest.raises(DatasetError, match="unknown column mapping keys 'colour'"):
        ColumnMapping.from_dict({"values": {"a": "lux"}, "colour": "red"})
    with pytest.raises(DatasetError, match="'values' must map column names"):
        ColumnMapping.from_dict({"values": ["lux"]})
    with pytest.raises(DatasetError, match="'time' must be a string, not 5"):
        ColumnMapping.from_dict({"values": {"a": "lux"}, "time": 5})


def make_image(path: Path, size: tuple[int, int] = (24, 16), fmt: str = "JPEG") -> Path:
    """Write a small image file and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "purple").save(path, format=fmt)
    return path


def test_class_folders_import(store: DatasetStore, tmp_path: Path) -> None:
    """Each class folder's images become labelled readings with a JPEG frame."""
    folder = tmp_path / "photos"
    make_image(folder / "lighter" / "a.jpg")
    make_image(folder / "Daylight" / "b.png", size=(10, 30), fmt="PNG")
    (folder / "lighter" / ".DS_Store").write_bytes(b"\0\1")
    (folder / "readings.csv").write_text("beside the folders, ignored\n")
    (folder / ".cache").mkdir()

    result = store.import_image_folder(folder)

    assert (result.imported, result.skipped) == (2, 0)
    readings = store.readings()
    assert [(reading.true_label, reading.note) for reading in readings] == [
        ("daylight", "Daylight/b.png"),
        ("lighter", "lighter/a.jpg"),
    ]
    assert all(
        reading.labelled_by == "import" and reading.frame for reading in readings
    )
    assert all(reading.values == {} for reading in readings)
    png_frame = store.frame_path(readings[0].id)
    assert png_frame is not None
    with Image.open(png_frame) as image:
        assert (image.format, image.size) == ("JPEG", (10, 30))
    assert store.session(result.session_id or 0).frames == 2


def test_corrupt_image_stops_or_is_skipped(store: DatasetStore, tmp_path: Path) -> None:
    """A broken or non-image file is a bad row: it stops or it is skipped."""
    folder = tmp_path / "photos"
    make_image(folder / "flashlight" / "good.jpg")
    (folder / "flashlight" / "notes.txt").write_text("not an image")
    whole = jpeg_bytes(64, 64)
    (folder / "infrared" / "cut.jpg").parent.mkdir()
    (folder / "infrared" / "cut.jpg").write_bytes(whole[: len(whole) // 2])

    with pytest.raises(DatasetError, match=r"notes\.txt: not a readable image"):
        store.import_image_folder(folder)
    assert store.readings() == []
    assert store.sessions() == []
    assert files_under_frames(store.data_dir) == set()

    result = store.import_image_folder(folder, on_error="skip")
    assert (result.imported, result.skipped) == (1, 2)
    assert "cut.jpg: not a readable image" in result.errors[1]
    assert "notes.txt: not a readable image" in result.errors[0]
    assert [reading.true_label for reading in store.readings()] == ["flashlight"]


def test_unknown_class_folder_and_nested_folders(
    store: DatasetStore, tmp_path: Path
) -> None:
    """Images in a folder that names no class, and sub-folders, are bad rows."""
    folder = tmp_path / "photos"
    make_image(folder / "candle" / "c.jpg")
    make_image(folder / "lighter" / "deeper" / "d.jpg")
    make_image(folder / "lighter" / "e.jpg")
    result = store.import_image_folder(folder, on_error="skip")
    assert result.imported == 1
    assert result.errors == [
        "candle/c.jpg: folder 'candle' is not one of flashlight, lighter, "
        "infrared, daylight",
        "lighter/deeper: is not a file",
    ]


def test_folder_without_class_folders_is_an_error(
    store: DatasetStore, tmp_path: Path
) -> None:
    """A flat folder needs a labels file; a missing folder is an error."""
    make_image(tmp_path / "flat" / "a.jpg")
    with pytest.raises(DatasetError, match="has no class folders; expected"):
        store.import_image_folder(tmp_path / "flat", on_error="skip")
    with pytest.raises(DatasetError, match="is not a folder"):
        store.import_image_folder(tmp_path / "nowhere")


def test_exif_orientation_is_applied(store: DatasetStore, tmp_path: Path) -> None:
    """A photo taken sideways is stored upright."""
    image = Image.new("RGB", (40, 20), "red")
    image.paste("blue", (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # The camera was turned: rotate 90° clockwise to display.
    path = tmp_path / "photos" / "lighter" / "side.jpg"
    path.parent.mkdir(parents=True)
    image.save(path, exif=exif)

    store.import_image_folder(tmp_path / "photos")
    frame = store.frame_path(store.readings()[0].id)
    assert frame is not None
    with Image.open(frame) as upright:
        assert upright.size == (20, 40)
        pixels = upright.convert("RGB")
        top, bottom = pixels.getpixel((10, 5)), pixels.getpixel((10, 35))
        assert upright.getexif().get(0x0112) in {None, 1}
    # The left half of the sideways photo, red, is now on top.
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200
    assert top[2] < 60
    assert bottom[0] < 60
    assert bottom[2] > 200


def test_flat_folder_with_labels_file(store: DatasetStore, tmp_path: Path) -> None:
    """A labels file names each image's label; problems are named by row."""
    folder = tmp_path / "flat"
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        make_image(folder / name)
    make_image(tmp_path / "outside.jpg")
    labels = write(
        tmp_path / "labels.csv",
        "file,label\n"
        "a.jpg,Flashlight\n"
        "b.jpg,\n"
        "missing.jpg,lighter\n"
        "../outside.jpg,lighter\n"
        "a.jpg,lighter\n"
        "c.jpg,candle\n"
        ",lighter\n"
        "d.jpg\n",
    )
    with pytest.raises(DatasetError, match=r"labels\.csv, row 4, column 'file'"):
        store.import_image_folder(folder, labels_file=labels)
    assert store.readings() == []

    result = store.import_image_folder(folder, labels_file=labels, on_error="skip")
    assert result.imported == 2
    assert result.errors == [
        f"labels.csv, row 4, column 'file': 'missing.jpg' does not exist in {folder}",
        f"labels.csv, row 5, column 'file': '../outside.jpg' is outside {folder}",
        "labels.csv, row 6, column 'file': 'a.jpg' is listed twice",
        "labels.csv, row 7, column 'label': 'candle' is not one of flashlight, "
        "lighter, infrared, daylight",
        "labels.csv, row 8, column 'file': is empty",
        "labels.csv, row 9, column 'label': is missing (the row has 1 of 2 cells)",
    ]
    assert [(r.note, r.true_label, r.labelled_by) for r in store.readings()] == [
        ("a.jpg", "flashlight", "import"),
        ("b.jpg", None, None),
    ]


def test_labels_file_needs_its_columns(store: DatasetStore, tmp_path: Path) -> None:
    """A labels file without a label column is refused."""
    make_image(tmp_path / "flat" / "a.jpg")
    labels = write(tmp_path / "labels.csv", "file;class\na.jpg;lighter\n")
    with pytest.raises(DatasetError, match=r"labels\.csv: missing column 'label'"):
        store.import_image_folder(tmp_path / "flat", labels_file=labels)
