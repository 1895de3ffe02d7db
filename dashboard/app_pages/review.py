"""Review page: the readings most worth a look, confirmed or corrected in one click."""

from __future__ import annotations

from pathlib import Path
import sqlite3
from typing import Final

import pandas as pd
import streamlit as st

from dashboard.utils import charts
from dashboard.utils.dataset import (
    DatasetUnavailableError,
    class_names,
    frame_jpeg,
    load_counts,
    load_readings,
    stored_readings,
    write_true_label,
)
from dashboard.utils.review import REASONS, reason_text, review_queue, suggested_label
from dashboard.utils.settings import get_settings
from node.const import READING_UNITS
from node.store import READING_NAMES, DatasetError

PER_PAGE: Final = 6
DEFAULT_CONFIDENCE_BELOW: Final = 0.6
MESSAGE_KEY: Final = "review_message"


def save_label(data_dir: Path, reading_id: int, label: str) -> None:
    """Write a reviewed label before the rerun, and remember how it went."""
    try:
        write_true_label(data_dir, reading_id, label)
    except (DatasetError, sqlite3.Error, OSError) as err:
        st.session_state[MESSAGE_KEY] = (
            "error",
            f"Reading #{reading_id} was not changed: {err}",
        )
    else:
        st.session_state[MESSAGE_KEY] = (
            "success",
            f"Reading #{reading_id} is now labelled {label}.",
        )


def queue_controls() -> tuple[float, tuple[str, ...], bool]:
    """Show what the queue is built from and return the choices."""
    columns = st.columns([2, 3, 1])
    confidence_below = columns[0].slider(
        "Low confidence means below",
        0.0,
        1.0,
        DEFAULT_CONFIDENCE_BELOW,
        0.05,
        key="review_confidence_below",
    )
    reasons = columns[1].pills(
        "Show readings where",
        list(REASONS),
        format_func=REASONS.__getitem__,
        selection_mode="multi",
        default=list(REASONS),
        key="review_reasons",
    )
    include_reviewed = columns[2].toggle(
        "Include reviewed", value=False, key="review_include_reviewed"
    )
    return confidence_below, tuple(reasons), include_reviewed


def shown(label: object) -> str:
    """Return a label, or a dash where there is none."""
    return label if isinstance(label, str) and label else "—"


def readable(value: float) -> str:
    """Return a measured value with as many digits as a person needs."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def reading_card(
    row: pd.Series,
    probabilities: dict[str, float],
    classes: list[str],
    data_dir: Path,
) -> None:
    """Show one reading with its frame, values and the label buttons."""
    reading_id = int(row["id"])
    with st.container(border=True):
        picture, details, decide = st.columns([2, 3, 2])
        frame = frame_jpeg(data_dir, row["frame"])
        if frame is not None:
            picture.image(frame, width="stretch")
        else:
            picture.caption("No frame")

        details.markdown(
            f"**#{reading_id}** · session {row['session_id']} · {reason_text(row)}"
        )
        confidence = row["confidence"]
        details.caption(
            f"true: **{shown(row['true_label'])}**"
            f" · predicted: **{shown(row['predicted_label'])}**"
            + (f" ({confidence:.0%})" if pd.notna(confidence) else "")
            + f" · sensors: {shown(row['sensor_label'])}"
            f" · camera: {shown(row['camera_label'])}"
        )
        if probabilities:
            details.altair_chart(
                charts.probability_bars(probabilities, classes), width="stretch"
            )
        values = [
            f"{name} **{readable(row[name])}** {READING_UNITS[name]}"
            for name in READING_NAMES
            if pd.notna(row[name])
        ]
        if values:
            details.caption(" · ".join(values))

        suggestion = suggested_label(row, tuple(classes))
        decide.caption("This reading shows:")
        for label in classes:
            decide.button(
                label,
                key=f"review_{reading_id}_{label}",
                type="primary" if label == suggestion else "secondary",
                icon=":material/check:" if label == suggestion else None,
                on_click=save_label,
                args=(data_dir, reading_id, label),
                width="stretch",
            )


def review_page() -> None:
    """Show the review queue, one page of readings at a time."""
    settings = get_settings()
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message is not None:
        kind, text = message
        (st.success if kind == "success" else st.error)(text)

    try:
        readings = load_readings(settings.data_dir)
        counts = load_counts(settings.data_dir)
    except DatasetUnavailableError as err:
        st.info(f"{err}\n\nThere is nothing to review yet.")
        return
    if readings.empty:
        st.info("The dataset has no readings yet, so there is nothing to review.")
        return

    classes = class_names(counts)
    confidence_below, reasons, include_reviewed = queue_controls()
    if not reasons:
        st.info("Choose at least one reason to review readings for.")
        return
    queue = review_queue(
        readings,
        confidence_below=confidence_below,
        reasons=reasons,
        include_reviewed=include_reviewed,
    )
    totals = st.columns(len(reasons) + 1)
    totals[0].metric("To review", f"{len(queue):,}")
    for column, reason in zip(totals[1:], reasons, strict=True):
        column.metric(
            REASONS[reason].capitalize(), f"{int(queue[f'reason_{reason}'].sum()):,}"
        )
    if queue.empty:
        st.success("Nothing left to review with these settings.")
        return

    pages = (len(queue) - 1) // PER_PAGE + 1
    page = st.number_input(
        f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, key="review_page"
    )
    shown = queue.iloc[(int(page) - 1) * PER_PAGE : int(page) * PER_PAGE]
    try:
        full = {
            reading.id: reading
            for reading in stored_readings(settings.data_dir, shown["id"].tolist())
        }
    except DatasetUnavailableError as err:
        st.error(f"The readings cannot be read: {err}")
        return
    for _, row in shown.iterrows():
        stored = full.get(int(row["id"]))
        probabilities = (stored.probabilities or {}) if stored is not None else {}
        reading_card(row, probabilities, classes, settings.data_dir)


st.title("Review")
st.caption(
    "Readings most worth a look come first. Click the class the reading really "
    "shows: it is written to the dataset as reviewed."
)
review_page()
