"""Which readings a person should look at first, and why."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

REASONS: Final = {
    "wrong": "predicted label differs from the true label",
    "disagree": "camera and sensors disagree",
    "unsure": "low confidence",
}
# How much each reason adds to a reading's priority; low confidence adds up to 1.
REASON_WEIGHTS: Final = {"wrong": 3.0, "disagree": 2.0}


def review_queue(
    readings: pd.DataFrame,
    *,
    confidence_below: float,
    reasons: tuple[str, ...] = tuple(REASONS),
    include_reviewed: bool = False,
) -> pd.DataFrame:
    """Return the readings worth a look, most worth it first, with their reasons."""
    unknown = [reason for reason in reasons if reason not in REASONS]
    if unknown:
        msg = f"unknown review reasons {unknown}; valid: {', '.join(REASONS)}"
        raise ValueError(msg)

    true_label = readings["true_label"].astype("object")
    predicted = readings["predicted_label"].astype("object")
    sensor_label = readings["sensor_label"].astype("object")
    camera_label = readings["camera_label"].astype("object")
    confidence = readings["confidence"].astype("float64")

    flags = pd.DataFrame(index=readings.index)
    flags["wrong"] = (
        true_label.notna() & predicted.notna() & (true_label != predicted)
    ).to_numpy()
    flags["disagree"] = (
        sensor_label.notna() & camera_label.notna() & (sensor_label != camera_label)
    ).to_numpy()
    flags["unsure"] = (confidence < confidence_below).fillna(value=False).to_numpy()
    flags = flags[list(reasons)]

    priority = np.zeros(len(readings))
    for reason in reasons:
        if reason in REASON_WEIGHTS:
            priority += flags[reason].to_numpy() * REASON_WEIGHTS[reason]
    if "unsure" in reasons:
        priority += np.where(
            flags["unsure"].to_numpy(), 1.0 - confidence.fillna(0.0).to_numpy(), 0.0
        )

    selected = flags.any(axis=1).to_numpy(copy=True)
    if not include_reviewed:
        selected &= (readings["labelled_by"].astype("object") != "review").to_numpy()

    queue = readings.loc[selected].copy()
    queue["priority"] = priority[selected]
    for reason in reasons:
        queue[f"reason_{reason}"] = flags.loc[selected, reason].to_numpy()
    return queue.sort_values(["priority", "id"], ascending=[False, True], kind="stable")


def reason_text(row: pd.Series) -> str:
    """Return why a queued reading is in the queue, in words."""
    return ", ".join(
        text for reason, text in REASONS.items() if bool(row.get(f"reason_{reason}"))
    )


def suggested_label(row: pd.Series, classes: tuple[str, ...]) -> str | None:
    """Return the label a person most likely confirms: the true one, else predicted."""
    for column in ("true_label", "predicted_label", "sensor_label", "camera_label"):
        value = row.get(column)
        if isinstance(value, str) and value in classes:
            return value
    return None
