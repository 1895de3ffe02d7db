"""Kill a process that records into the store with SIGKILL, then check the store."""

from __future__ import annotations

import os
from pathlib import Path
import random
import signal
import subprocess
import sys
import time

from store_helpers import files_under_frames, jpeg_bytes

from node.const import READING_UNITS
import node.store
from node.store import DatasetStore

ROUNDS = 4
REPOSITORY = Path(node.store.__file__).resolve().parents[1]

RECORDER = """
import sys
from datetime import UTC, datetime
from pathlib import Path

from node.const import READING_UNITS
from node.store import DatasetStore, ReadingRecord

data_dir, frame_file = Path(sys.argv[1]), Path(sys.argv[2])
frame = frame_file.read_bytes()
store = DatasetStore(data_dir)
session_id = store.start_session("pre", label="lighter")
print("recording", flush=True)
for index in range(1_000_000):
    values = {name: float(index) for name in READING_UNITS}
    record = ReadingRecord(
        time=datetime.now(UTC), values=values, true_label="lighter", labelled_by="pre"
    )
    store.add_reading(session_id, record, frame)
"""


def check_integrity(data_dir: Path) -> int:
    """Open the store (repairing it) and check it; return how many readings it holds."""
    with DatasetStore(data_dir) as store:
        connection = store._db
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []

        frame_paths = {
            path for (path,) in connection.execute("SELECT path FROM frames")
        }
        assert files_under_frames(data_dir) == frame_paths

        readings = store.readings()
        for reading in readings:
            assert set(reading.values) == set(READING_UNITS)
            assert len(set(reading.values.values())) == 1
            assert (reading.true_label, reading.labelled_by) == ("lighter", "pre")
            # A reading and its frame are committed together, so a kill never
            # separates them.
            assert reading.frame
        assert all(not session.active for session in store.sessions())
        return len(readings)


def test_sigkill_while_recording_leaves_a_consistent_store(tmp_path: Path) -> None:
    """Readings survive a kill -9 whole, with their frames and no stray files."""
    data_dir = tmp_path / "data"
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER, encoding="utf-8")
    frame_file = tmp_path / "frame.jpg"
    frame_file.write_bytes(jpeg_bytes(64, 48))
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    generator = random.Random()

    stored = 0
    for _ in range(ROUNDS):
        with subprocess.Popen(
            [sys.executable, str(script), str(data_dir), str(frame_file)],
            stdout=subprocess.PIPE,
            env=environment,
        ) as recorder:
            assert recorder.stdout is not None
            line = recorder.stdout.readline()
            assert line == b"recording\n", "the recorder did not start"
            time.sleep(generator.uniform(0.05, 0.4))
            assert recorder.poll() is None, "the recorder stopped by itself"
            recorder.send_signal(signal.SIGKILL)
            assert recorder.wait(timeout=30) == -signal.SIGKILL

        count = check_integrity(data_dir)
        assert count >= stored
        stored = count

    assert stored > 0
