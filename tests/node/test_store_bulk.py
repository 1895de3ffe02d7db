"""Insert and read 100,000 readings, checking the bulk paths stay quick."""

from __future__ import annotations

import logging
from pathlib import Path
import time

from store_helpers import at

from node.const import CLASSES, READING_UNITS
from node.store import DatasetStore, ReadingRecord

_LOGGER = logging.getLogger(__name__)

ROWS = 100_000
# A healthy run takes about 4 s to build and insert and under 1 s to read, 3-4 times
# that under coverage on a busy machine; the bounds catch work that grows faster
# than the row count, not a slow machine.
INSERT_LIMIT_S = 60.0
READ_LIMIT_S = 20.0


def test_hundred_thousand_readings(tmp_path: Path) -> None:
    """add_readings stores 100k rows and fetch_table reads them back quickly."""
    names = list(READING_UNITS)
    records = (
        ReadingRecord(
            time=at(index / 2),
            values={name: index + offset for offset, name in enumerate(names)},
            true_label=CLASSES[index % len(CLASSES)],
            labelled_by="pre",
        )
        for index in range(ROWS)
    )
    with DatasetStore(tmp_path) as store:
        session_id = store.start_session("import")

        started = time.perf_counter()
        assert store.add_readings(session_id, records) == ROWS
        inserted_s = time.perf_counter() - started

        started = time.perf_counter()
        table = store.fetch_table(["id", "time", *names, "true_label"])
        read_s = time.perf_counter() - started

        started = time.perf_counter()
        page = store.readings(session_id=session_id, limit=1000)
        counts = store.counts()
        other_s = time.perf_counter() - started

    _LOGGER.info(
        "100k readings: insert %.2f s, fetch_table %.2f s, readings+counts %.2f s",
        inserted_s,
        read_s,
        other_s,
    )
    assert len(table.rows) == ROWS
    last = table.rows[-1]
    assert last[0] == ROWS
    assert last[1] == at((ROWS - 1) / 2).isoformat(timespec="microseconds")
    assert last[2 : 2 + len(names)] == tuple(
        float(ROWS - 1 + offset) for offset in range(len(names))
    )
    assert last[-1] == CLASSES[(ROWS - 1) % len(CLASSES)]
    assert [reading.id for reading in page] == list(range(1, 1001))
    assert counts == {**dict.fromkeys(CLASSES, ROWS // len(CLASSES)), "unlabelled": 0}
    assert inserted_s < INSERT_LIMIT_S
    assert read_s + other_s < READ_LIMIT_S
