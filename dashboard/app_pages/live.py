"""Live page: a node's readings as they come, its current label and its camera frame."""

from __future__ import annotations

from typing import Any, Final

import pandas as pd
import streamlit as st

from dashboard.utils import charts
from dashboard.utils.node_client import (
    DEFAULT_ADDRESS,
    NodeError,
    fetch_frame,
    fetch_state,
    normalise_address,
)
from node.const import CLASSES, READING_UNITS, UNKNOWN

HISTORY_KEY: Final = "live_history"
HISTORY_SOURCE_KEY: Final = "live_history_source"
HISTORY_LENGTH: Final = 240
INTERVALS_S: Final = (1.0, 2.0, 5.0, 10.0)
PLOTTED: Final = ("lux", "infrared", "temperature", "distance")


def remember(address: str, reading: dict[str, Any]) -> pd.DataFrame:
    """Add a reading to this session's history of the node and return the history."""
    if st.session_state.get(HISTORY_SOURCE_KEY) != address:
        st.session_state[HISTORY_SOURCE_KEY] = address
        st.session_state[HISTORY_KEY] = []
    history: list[dict[str, Any]] = st.session_state.setdefault(HISTORY_KEY, [])
    if not history or history[-1]["id"] != reading.get("id"):
        prediction = reading.get("prediction") or {}
        values = reading.get("values") or {}
        history.append(
            {
                "id": reading.get("id"),
                "time": pd.to_datetime(
                    str(reading.get("time", "")), utc=True, errors="coerce"
                ),
                "label": prediction.get("label", UNKNOWN),
                **{name: values.get(name) for name in READING_UNITS},
            }
        )
        del history[:-HISTORY_LENGTH]
    return pd.DataFrame(history)


def current_label(state: dict[str, Any]) -> None:
    """Show the node's debounced label, its confidence and what decided it."""
    label = state.get("label") or {}
    confidence = label.get("confidence")
    st.metric(
        "Label",
        str(label.get("label", UNKNOWN)),
        f"{confidence:.0%} · {label.get('source') or 'no model'}"
        if isinstance(confidence, int | float)
        else None,
        delta_color="off",
        delta_arrow="off",
    )
    recording = state.get("recording") or {}
    if recording.get("active"):
        st.caption(
            f"Recording {recording.get('label')} into session "
            f"{recording.get('session_id')} ({recording.get('samples', 0)} samples)"
        )


def live_view(address: str, token: str) -> None:
    """Poll the node once and draw what it says; rerun by the fragment timer."""
    try:
        state = fetch_state(address, token)
    except NodeError as err:
        st.error(str(err))
        return
    reading = state.get("reading")
    if not isinstance(reading, dict):
        st.info("The node has not taken a reading yet.")
        return
    history = remember(address, reading)

    status, plots = st.columns([2, 3])
    with status:
        current_label(state)
        try:
            frame = fetch_frame(address, token)
        except NodeError as err:
            st.caption(f"No frame: {err}")
        else:
            if frame is None:
                st.caption("The node has no camera frame.")
            else:
                st.image(frame, caption="Latest frame", width="stretch")
        prediction = reading.get("prediction") or {}
        probabilities = prediction.get("probabilities")
        if isinstance(probabilities, dict) and probabilities:
            st.altair_chart(
                charts.probability_bars(probabilities, CLASSES), width="stretch"
            )
    with plots:
        names = [name for name in PLOTTED if history[name].notna().any()]
        if names:
            st.altair_chart(charts.live_chart(history, names), width="stretch")
        stats = state.get("stats") or {}
        st.caption(
            f"{len(history)} readings shown · {stats.get('readings_total', '?')} "
            f"in total · {stats.get('sample_rate_hz', '?')} Hz · inference "
            f"{stats.get('inference_ms', '?')} ms"
        )


def live_page() -> None:
    """Ask for the node's address and token, then follow it."""
    columns = st.columns([3, 3, 1, 1])
    address_text = columns[0].text_input(
        "Node address", value=DEFAULT_ADDRESS, key="live_address"
    )
    token = columns[1].text_input(
        "Token",
        type="password",
        key="live_token",
        help="Printed by the node when it first starts; stored in DATA_DIR/token.",
    )
    interval = columns[2].selectbox(
        "Every",
        INTERVALS_S,
        format_func=lambda seconds: f"{seconds:g} s",
        key="live_every",
    )
    following = columns[3].toggle("Follow", value=False, key="live_follow")
    if not following:
        st.info("Enter the node's address and token, then switch on Follow.")
        return
    try:
        address = normalise_address(address_text)
    except NodeError as err:
        st.error(str(err))
        return
    st.fragment(live_view, run_every=interval)(address, token.strip())


st.title("Live")
live_page()
