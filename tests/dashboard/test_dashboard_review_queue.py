"""The order in which the Review page offers readings."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.utils.review import reason_text, review_queue, suggested_label
from node.const import CLASSES


def readings(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Return readings with the columns the queue reads, defaults filled in."""
    defaults: dict[str, object] = {
        "true_label": None,
        "labelled_by": None,
        "predicted_label": "flashlight",
        "confidence": 0.95,
        "sensor_label": None,
        "camera_label": None,
    }
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    for column in ("true_label", "labelled_by", "predicted_label"):
        frame[column] = frame[column].astype("category")
    return frame


def test_wrong_then_disagreeing_then_unsure() -> None:
    """A wrong prediction outranks a disagreement, which outranks low confidence."""
    frame = readings(
        [
            {"id": 1},
            {"id": 2, "confidence": 0.3},
            {"id": 3, "sensor_label": "lighter", "camera_label": "daylight"},
            {
                "id": 4,
                "true_label": "lighter",
                "labelled_by": "pre",
                "predicted_label": "flashlight",
            },
            {"id": 5, "confidence": 0.5},
        ]
    )

    queue = review_queue(frame, confidence_below=0.6)

    assert queue["id"].tolist() == [4, 3, 2, 5]
    assert bool(queue.iloc[0]["reason_wrong"])
    assert reason_text(queue.iloc[1]) == "camera and sensors disagree"


def test_reviewed_readings_leave_the_queue() -> None:
    """A reading labelled by review is offered again only on request."""
    frame = readings(
        [
            {
                "id": 1,
                "confidence": 0.2,
                "true_label": "daylight",
                "labelled_by": "review",
            },
            {"id": 2, "confidence": 0.4},
        ]
    )

    assert review_queue(frame, confidence_below=0.6)["id"].tolist() == [2]
    assert review_queue(frame, confidence_below=0.6, include_reviewed=True)[
        "id"
    ].tolist() == [1, 2]


def test_only_the_chosen_reasons_count() -> None:
    """Leaving out a reason leaves out the readings that only it would bring."""
    frame = readings(
        [
            {"id": 1, "confidence": 0.2},
            {"id": 2, "sensor_label": "lighter", "camera_label": "infrared"},
        ]
    )

    queue = review_queue(frame, confidence_below=0.6, reasons=("disagree",))

    assert queue["id"].tolist() == [2]


def test_unknown_reason_is_named() -> None:
    """A reason the queue does not know is an error that names it."""
    with pytest.raises(ValueError, match="guess"):
        review_queue(readings([{"id": 1}]), confidence_below=0.5, reasons=("guess",))


def test_suggested_label_prefers_the_true_label() -> None:
    """The button a person most likely clicks is the true label, else the prediction."""
    labelled = pd.Series({"true_label": "lighter", "predicted_label": "daylight"})
    unlabelled = pd.Series(
        {"true_label": None, "predicted_label": "unknown", "sensor_label": "infrared"}
    )

    assert suggested_label(labelled, CLASSES) == "lighter"
    assert suggested_label(unlabelled, CLASSES) == "infrared"
