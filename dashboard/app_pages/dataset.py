"""Dataset page: sessions, readings over time, distributions, frames, class balance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Final

import pandas as pd
import streamlit as st

from dashboard.utils import charts
from dashboard.utils.dataset import (
    NOT_LABELLED,
    DatasetUnavailableError,
    ReadingFilter,
    apply_filter,
    class_names,
    frames_by_label,
    load_counts,
    load_readings,
    load_sessions,
)
from dashboard.utils.models import load_catalog, per_class_frame
from dashboard.utils.settings import DashboardSettings, get_settings
from node.const import LABELLED_BY, UNKNOWN
from node.store import READING_NAMES, UNLABELLED

TABLE_PAGE_ROWS: Final = 500
DEFAULT_MINIMUM_SAMPLES: Final = 200
DEFAULT_MINIMUM_RECALL: Final = 0.8
VIEW_KEY: Final = "dataset_view"
DEFAULT_PLOTTED: Final = ("lux", "infrared", "temperature", "distance")


def filter_controls(readings: pd.DataFrame, sessions: pd.DataFrame) -> ReadingFilter:
    """Show the filters in the sidebar and return what they select."""
    sidebar = st.sidebar
    sidebar.subheader("Filters")
    session_names = {
        int(record["id"]): (
            f"#{record['id']} {record['mode']} {record['label'] or ''} "
            f"({record['readings']})"
        )
        for record in sessions.to_dict("records")
    }
    chosen_sessions = sidebar.multiselect(
        "Sessions",
        list(session_names),
        format_func=lambda session_id: session_names.get(session_id, str(session_id)),
        placeholder="All sessions",
        key="dataset_sessions",
    )
    chosen_labels = sidebar.multiselect(
        "True label",
        [*readings["label"].cat.categories],
        placeholder="All labels",
        key="dataset_labels",
    )
    chosen_labelled_by = sidebar.multiselect(
        "Labelled by",
        [*LABELLED_BY, NOT_LABELLED],
        placeholder="Any way",
        key="dataset_labelled_by",
    )

    first_day: date = readings["time"].min().date()
    last_day: date = readings["time"].max().date()
    dates = sidebar.date_input(
        "Dates",
        value=(first_day, last_day),
        min_value=first_day,
        max_value=last_day,
        key="dataset_dates",
    )
    # While a person picks a range, the widget holds only its first day.
    chosen_dates = (
        (dates[0], dates[1]) if isinstance(dates, tuple) and len(dates) == 2 else None
    )
    confidence = sidebar.slider(
        "Confidence of the prediction",
        min_value=0.0,
        max_value=1.0,
        value=(0.0, 1.0),
        step=0.05,
        key="dataset_confidence",
    )
    return ReadingFilter(
        sessions=tuple(chosen_sessions),
        labels=tuple(chosen_labels),
        labelled_by=tuple(chosen_labelled_by),
        dates=chosen_dates,
        confidence=None if confidence == (0.0, 1.0) else confidence,
    )


def overview(
    shown: pd.DataFrame, readings: pd.DataFrame, sessions: pd.DataFrame
) -> None:
    """Show the headline numbers of the selection."""
    total, labelled = len(readings), int(readings["true_label"].notna().sum())
    columns = st.columns(4)
    columns[0].metric("Readings shown", f"{len(shown):,} of {total:,}")
    columns[1].metric("Labelled", f"{labelled:,} ({labelled / total:.0%})")
    columns[2].metric("Sessions", f"{len(sessions):,}")
    columns[3].metric("Shown with a frame", f"{int(shown['frame'].notna().sum()):,}")


def over_time(shown: pd.DataFrame, classes: list[str]) -> None:
    """Plot the chosen readings over time, coloured by label."""
    measured = [name for name in READING_NAMES if shown[name].notna().any()]
    default = [name for name in DEFAULT_PLOTTED if name in measured] or measured[:3]
    choice, axis = st.columns([4, 1])
    # Every reading stays an option, so a filter that hides one keeps the choice.
    names = choice.multiselect(
        "Readings", READING_NAMES, default=default, key="dataset_plotted"
    )
    by_time = axis.toggle(
        "Clock time",
        value=False,
        key="dataset_by_time",
        help="Off: readings in recording order, sessions side by side.",
    )
    if not names:
        st.info("Choose at least one reading to plot.")
        return
    if len(shown) > charts.MAX_PLOT_POINTS:
        st.caption(
            f"{len(shown):,} readings; each plot shows an evenly spread sample of "
            f"{charts.MAX_PLOT_POINTS:,}."
        )
    for name in names:
        if name not in measured:
            st.caption(f"No {name} values in the selection.")
            continue
        st.altair_chart(
            charts.time_series(shown, name, classes, by_time=by_time), width="stretch"
        )


def distributions(shown: pd.DataFrame, classes: list[str]) -> None:
    """Plot how each reading is distributed within each class."""
    log_scale = st.toggle(
        "Logarithmic values",
        value=True,
        key="dataset_log_scale",
        help="Light spans several orders of magnitude; a log axis shows every class.",
    )
    measured = [name for name in READING_NAMES if shown[name].notna().any()]
    histograms = charts.distribution_frame(shown, measured, log_scale=log_scale)
    if histograms.empty:
        st.info("No measured values in the selection.")
        return
    readings = list(dict.fromkeys(histograms["reading"]))
    columns = st.columns(2)
    for index, reading in enumerate(readings):
        columns[index % 2].altair_chart(
            charts.distribution(histograms, reading, classes, log_scale=log_scale),
            width="stretch",
        )


def image_grid(shown: pd.DataFrame, classes: list[str], data_dir: Path) -> None:
    """Show a few frames of each class, spread over the selection."""
    by = st.segmented_control(
        "Group by",
        ["true label", "predicted label"],
        default="true label",
        key="dataset_images_by",
    )
    column = "predicted_label" if by == "predicted label" else "label"
    groups = frames_by_label(shown, column, data_dir)
    if not groups:
        st.info("No frames in the selection.")
        return
    rank = {name: index for index, name in enumerate([*classes, NOT_LABELLED, UNKNOWN])}
    for label in sorted(groups, key=lambda name: (rank.get(name, len(rank)), name)):
        count, frames = groups[label]
        st.markdown(f"**{label}** · {count:,} frames")
        if not frames:
            st.warning(f"The frame files of {label} are missing or unreadable.")
            continue
        st.image(
            [jpeg for jpeg, _ in frames],
            caption=[f"#{reading_id}" for _, reading_id in frames],
            width=110,
        )


def balance(
    counts: dict[str, int], classes: list[str], settings: DashboardSettings
) -> None:
    """Show samples per class and whether each class has enough."""
    minimum = st.number_input(
        "Samples a class needs",
        min_value=1,
        value=DEFAULT_MINIMUM_SAMPLES,
        step=50,
        key="dataset_minimum",
    )
    frame = pd.DataFrame(
        {
            "label": [*classes, NOT_LABELLED],
            "count": [counts.get(name, 0) for name in classes]
            + [counts.get(UNLABELLED, 0)],
        }
    )
    frame["enough"] = (frame["count"] >= minimum) | (frame["label"] == NOT_LABELLED)
    st.altair_chart(charts.class_balance(frame, classes, int(minimum)), width="stretch")
    _report_shortfalls(
        [
            f"{row.label} ({row.count:,} of {minimum:,})"
            for row in frame[~frame["enough"]].itertuples()
        ],
        passed=f"Every class has at least {minimum:,} labelled readings.",
        failed="Needs more samples: ",
    )
    evaluation_scores(classes, settings)


def evaluation_scores(classes: list[str], settings: DashboardSettings) -> None:
    """Show per-class recall and support from the newest evaluated model."""
    catalog = load_catalog(settings.models_dir)
    evaluated = [
        bundle
        for bundle in catalog.bundles
        if not per_class_frame(catalog.metrics(bundle)).empty
    ]
    if not evaluated:
        st.caption(
            "No evaluated model in the models directory yet; once the trainer has "
            "evaluated one, its per-class recall shows here."
        )
        return
    bundle = evaluated[0]
    scores = per_class_frame(catalog.metrics(bundle))
    st.markdown(f"**Per-class scores of {catalog.label(bundle)}**")
    minimum_recall = st.slider(
        "Recall a class needs",
        0.0,
        1.0,
        DEFAULT_MINIMUM_RECALL,
        0.05,
        key="dataset_recall",
    )
    st.altair_chart(
        charts.recall_bars(scores, classes, minimum_recall), width="stretch"
    )
    weak = scores[scores["recall"].fillna(0.0) < minimum_recall]
    _report_shortfalls(
        [
            f"{row['class']} (recall {row['recall']:.0%} on "
            f"{row['support']:.0f} test samples)"
            for row in weak.fillna(0.0).to_dict("records")
        ],
        passed=f"Every class reaches a recall of {minimum_recall:.0%}.",
        failed="Weak classes (more or more varied samples would help): ",
    )


def _report_shortfalls(shortfalls: list[str], *, passed: str, failed: str) -> None:
    """Show a success when nothing falls short, else a warning listing what does."""
    if shortfalls:
        st.warning(failed + ", ".join(shortfalls))
    else:
        st.success(passed)


def readings_table(shown: pd.DataFrame) -> None:
    """Show the selection as a table, one page at a time."""
    pages = max((len(shown) - 1) // TABLE_PAGE_ROWS + 1, 1)
    page = st.number_input(
        f"Page (of {pages:,}, {TABLE_PAGE_ROWS} rows each)",
        min_value=1,
        max_value=pages,
        value=1,
        key="dataset_table_page",
    )
    start = (int(page) - 1) * TABLE_PAGE_ROWS
    rows = shown.iloc[start : start + TABLE_PAGE_ROWS]
    st.dataframe(
        rows.drop(columns=[name for name in rows if rows[name].isna().all()]),
        hide_index=True,
        column_config={
            "confidence": st.column_config.ProgressColumn(
                "confidence", min_value=0.0, max_value=1.0, format="percent"
            ),
            "time": st.column_config.DatetimeColumn(
                "time", format="YYYY-MM-DD HH:mm:ss"
            ),
        },
        width="stretch",
    )


def sessions_table(sessions: pd.DataFrame) -> None:
    """Show every session with how much it holds."""
    st.dataframe(sessions, hide_index=True, width="stretch")


def dataset_page() -> None:
    """Show the dataset, or say why there is none."""
    settings = get_settings()
    try:
        readings = load_readings(settings.data_dir)
        sessions = load_sessions(settings.data_dir)
        counts = load_counts(settings.data_dir)
    except DatasetUnavailableError as err:
        st.info(
            f"{err}\n\nRecord readings with the node (`make demo` fills one), or start "
            "the dashboard with `-- --data-dir <node data directory>`."
        )
        return
    if readings.empty:
        st.info(
            f"The dataset in {settings.data_dir} has no readings yet. Start a "
            "recording on the node, or import a CSV file or an image folder."
        )
        return

    classes = class_names(counts)
    chosen = filter_controls(readings, sessions)
    shown = apply_filter(readings, chosen)
    overview(shown, readings, sessions)
    if shown.empty:
        st.info("No readings match the filters.")
        return

    # Only the open tab runs: at 100,000 readings each view costs real time.
    views: dict[str, Callable[[], None]] = {
        "Over time": lambda: over_time(shown, classes),
        "Distributions": lambda: distributions(shown, classes),
        "Images": lambda: image_grid(shown, classes, settings.data_dir),
        "Class balance": lambda: balance(counts, classes, settings),
        "Readings": lambda: readings_table(shown),
        "Sessions": lambda: sessions_table(sessions),
    }
    tabs = st.tabs(list(views), key=VIEW_KEY, on_change="rerun")
    for tab, show in zip(tabs, views.values(), strict=True):
        if tab.open:
            with tab:
                show()


st.title("Dataset")
dataset_page()
