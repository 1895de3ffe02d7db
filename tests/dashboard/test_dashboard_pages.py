"""Every page of the dashboard, run with Streamlit's AppTest on a recorded dataset."""

from __future__ import annotations

import io
from pathlib import Path
import sqlite3

from conftest import NODE_TOKEN, open_page
import numpy as np
from PIL import Image
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.utils.dataset import IMAGES_PER_CLASS
from dashboard.utils.models import EVALUATION_FILE
from dashboard.utils.samples import typical_features
from dashboard.utils.settings import DATA_DIR_ENV, MODELS_DIR_ENV
from node.const import CLASSES
from node.store import DatasetStore

PAGES = {
    None: "Dataset",
    "review": "Review",
    "models": "Models",
    "try_model": "Try a model",
    "live": "Live",
}


def texts(elements: object) -> list[str]:
    """Return the text of every message element of a kind (info, error, ...)."""
    return [str(element.value) for element in elements]  # type: ignore[attr-defined]


def button_keys(app: AppTest) -> list[str]:
    """Return the keys of the buttons on the page."""
    return [button.key for button in app.button if button.key is not None]


def select_option(app: AppTest, key: str, fragment: str) -> None:
    """Choose the first option of a select box whose label contains a fragment."""
    box = app.selectbox(key=key)
    index = next(
        position for position, label in enumerate(box.options) if fragment in label
    )
    box.select_index(index).run()


def open_view(app: AppTest, key: str, tab: str) -> None:
    """Open a tab of lazily run tabs, as a click on it would, and rerun."""
    app.session_state[key] = tab
    app.run()


def png(frame: np.ndarray) -> bytes:
    """Return an RGB frame as PNG bytes, as a person would upload it."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize(("page", "title"), PAGES.items())
def test_every_page_runs(page: str | None, title: str) -> None:
    """Each page renders on the test dataset and models without an error."""
    app = open_page(page)

    assert not app.exception
    assert not app.error
    assert app.title[0].value == title


@pytest.mark.usefixtures("app_env")
def test_dataset_page_plots_first() -> None:
    """The dataset opens on plots coloured by label; frames show for every class."""
    app = open_page()

    charts = app.get("vega_lite_chart")
    assert len(charts) == 4
    spec = charts[0].proto.spec
    assert '"field": "label"' in spec
    assert "#f97316" in spec
    assert not app.get("image")

    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["Readings shown"] == "180 of 180"
    assert shown["Labelled"] == "140 (78%)"

    open_view(app, "dataset_view", "Images")

    assert not app.get("vega_lite_chart")
    grids = app.get("image")
    assert len(grids) == len(CLASSES) + 1
    for grid in grids:
        assert 0 < len(grid.proto.imgs) <= IMAGES_PER_CLASS


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize(
    ("view", "element", "count"),
    [
        ("Distributions", "vega_lite_chart", 6),
        ("Readings", "dataframe", 1),
        ("Sessions", "dataframe", 1),
    ],
)
def test_dataset_views(view: str, element: str, count: int) -> None:
    """Each view of the dataset shows its plots or tables, and only its own."""
    app = open_page()

    open_view(app, "dataset_view", view)

    assert len(app.get(element)) == count
    assert not app.exception


@pytest.mark.usefixtures("app_env")
def test_dataset_filters() -> None:
    """Choosing a label and a confidence range narrows every view."""
    app = open_page()

    open_view(app, "dataset_view", "Images")

    app.multiselect(key="dataset_labels").select("lighter").run()
    assert app.metric[0].value == "40 of 180"
    assert len(app.get("image")) == 1

    app.slider(key="dataset_confidence").set_range(0.0, 0.5).run()
    narrowed = int(app.metric[0].value.split(" of ")[0])
    assert 0 < narrowed < 40
    assert not app.exception


@pytest.mark.usefixtures("app_env")
def test_class_balance_against_a_minimum() -> None:
    """Classes under the minimum are named; at a lower minimum all have enough."""
    app = open_page()
    open_view(app, "dataset_view", "Class balance")

    warning = texts(app.warning)
    assert any("lighter (40 of 200)" in text for text in warning)

    app.number_input(key="dataset_minimum").set_value(30).run()

    assert any("at least 30" in text for text in texts(app.success))
    assert not any("Needs more samples" in text for text in texts(app.warning))


@pytest.mark.usefixtures("app_env")
def test_review_writes_the_label_back(data_dir: Path) -> None:
    """One click on a class stores it as reviewed and takes the reading off the list."""
    app = open_page("review")
    first = next(key for key in button_keys(app) if key.startswith("review_"))
    reading_id = int(first.split("_")[1])
    with DatasetStore(data_dir, read_only=True) as store:
        before = store.reading(reading_id)
    new_label = next(name for name in CLASSES if name != before.true_label)

    app.button(key=f"review_{reading_id}_{new_label}").click().run()

    with DatasetStore(data_dir, read_only=True) as store:
        after = store.reading(reading_id)
    assert after.true_label == new_label
    assert after.labelled_by == "review"
    assert texts(app.success) == [f"Reading #{reading_id} is now labelled {new_label}."]
    assert not any(key.startswith(f"review_{reading_id}_") for key in button_keys(app))
    assert not app.exception


@pytest.mark.usefixtures("app_env")
def test_review_filters_by_reason() -> None:
    """With every reason switched off the page asks for one instead of listing."""
    app = open_page("review")
    total = app.metric[0].value

    app.pills(key="review_reasons").set_value([]).run()

    assert "Choose at least one reason" in texts(app.info)[0]
    assert int(total) > 0


@pytest.mark.parametrize("page", [None, "review"])
def test_missing_dataset_is_explained(
    page: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models_dir: Path
) -> None:
    """A data directory without a dataset gets a message, never a traceback."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "nowhere"))
    monkeypatch.setenv(MODELS_DIR_ENV, str(models_dir))

    app = open_page(page)

    assert not app.exception
    assert "does not exist" in texts(app.info)[0]


@pytest.mark.parametrize("page", [None, "review"])
def test_empty_dataset_is_explained(
    page: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models_dir: Path
) -> None:
    """A dataset without readings says so on the pages that read it."""
    DatasetStore(tmp_path / "empty").close()
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv(MODELS_DIR_ENV, str(models_dir))

    app = open_page(page)

    assert not app.exception
    assert "no readings yet" in texts(app.info)[0]


@pytest.mark.usefixtures("app_env")
def test_models_page_in_depth_and_side_by_side() -> None:
    """The table lists every bundle; the chosen one shows its tensors and scores."""
    app = open_page("models")

    table = app.dataframe[0].value
    assert table["version"].tolist() == ["2.0.0", "1.0.0", "1.0.0"]
    assert {metric.label for metric in app.metric} >= {"Accuracy", "Macro F1"}

    select_option(app, "models_chosen", "image-tiny")
    open_view(app, "models_view", "Graph")

    tensors = app.dataframe[-1].value
    assert "int8" in tensors["dtype"].tolist()
    assert (tensors.loc[tensors["dtype"] == "int8", "scale"] != "").all()
    operators = app.dataframe[-2].value
    assert "CONV_2D" in operators["operator"].tolist()
    assert len(app.get("graphviz_chart")) == 1
    assert not app.exception


def test_models_page_reports_problems(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models_dir: Path, data_dir: Path
) -> None:
    """A broken bundle is named with the reason; the others still show."""
    models = tmp_path / "models"
    for name in ("sensors-1", "sensors-2"):
        source = models_dir / name
        (models / name).mkdir(parents=True)
        for path in source.iterdir():
            (models / name / path.name).write_bytes(path.read_bytes())
    (models / "sensors-2" / "model.json").write_text("{}")
    (models / "sensors-1" / EVALUATION_FILE).write_text('{"accuracy": 0.5}')
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    monkeypatch.setenv(MODELS_DIR_ENV, str(models))

    app = open_page("models")

    assert "format_version" in texts(app.warning)[0]
    assert app.dataframe[0].value["accuracy"].tolist() == [0.5]
    assert any("evaluation file" in caption.value for caption in app.caption)
    assert not app.exception


def test_no_models_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path
) -> None:
    """Without bundles the Models and Try pages say where they looked."""
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))

    for page in ("models", "try_model"):
        app = open_page(page)
        assert not app.exception
        assert str(tmp_path) in texts(app.info)[0]


@pytest.mark.usefixtures("app_env")
def test_try_typed_readings() -> None:
    """A typical reading fills the inputs, and the model's answer is plotted."""
    app = open_page("try_model")

    app.selectbox(key="try_preset").select("lighter").run()

    expected = typical_features("lighter", seed=len("lighter"))
    assert app.number_input(key="try_feature_lux").value == pytest.approx(
        expected["lux"], rel=1e-3
    )
    prediction = next(metric for metric in app.metric if metric.label == "Prediction")
    assert prediction.value in CLASSES
    assert len(app.get("vega_lite_chart")) == 1
    assert not app.exception


@pytest.mark.usefixtures("app_env")
def test_try_an_uploaded_image() -> None:
    """An uploaded picture is classified; a dark one and a broken file are explained."""
    app = open_page("try_model")
    select_option(app, "try_model", "image-tiny")

    bright = np.full((32, 32, 3), 200, dtype=np.uint8)
    app.file_uploader(key="try_upload").upload("glow.png", png(bright), "image/png")
    app.run()
    prediction = next(metric for metric in app.metric if metric.label == "Prediction")
    assert prediction.value in CLASSES

    dark = np.zeros((32, 32, 3), dtype=np.uint8)
    app.file_uploader(key="try_upload").set_value(("dark.png", png(dark), "image/png"))
    app.run()
    assert "too dark" in texts(app.warning)[0]

    app.file_uploader(key="try_upload").set_value(("notes.png", b"text", "image/png"))
    app.run()
    assert "not a readable image" in texts(app.error)[0]
    assert not app.exception


@pytest.mark.usefixtures("app_env")
def test_live_follows_a_node(fake_node: str) -> None:
    """With the address and token the page shows the node's label and frame."""
    app = open_page("live")
    app.text_input(key="live_address").input(fake_node)
    app.text_input(key="live_token").input(NODE_TOKEN)
    app.toggle(key="live_follow").set_value(True).run()

    label = next(metric for metric in app.metric if metric.label == "Label")
    assert label.value == "lighter"
    assert len(app.get("image")) == 1
    assert len(app.get("vega_lite_chart")) == 2
    assert not app.error
    assert not app.exception


@pytest.mark.usefixtures("app_env")
def test_live_explains_a_refused_token(fake_node: str) -> None:
    """A wrong token is an error message naming the node's error code."""
    app = open_page("live")
    app.text_input(key="live_address").input(fake_node)
    app.text_input(key="live_token").input("wrong")
    app.toggle(key="live_follow").set_value(True).run()

    assert "invalid_token" in texts(app.error)[0]
    assert not app.exception


@pytest.mark.parametrize("page", [None, "review"])
def test_corrupt_database_is_explained(
    page: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models_dir: Path
) -> None:
    """A database file that is not SQLite is named, never a traceback."""
    (tmp_path / "dataset.sqlite3").write_bytes(b"not a database " * 100)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(MODELS_DIR_ENV, str(models_dir))

    app = open_page(page)

    assert not app.exception
    assert "cannot be read: file is not a database." in texts(app.info)[0]


@pytest.mark.usefixtures("app_env")
def test_damaged_frames_are_left_out(data_dir: Path) -> None:
    """Damaged or deleted frame files are skipped, and a class without any says so."""
    lighter_frames = []
    with DatasetStore(data_dir, read_only=True) as store:
        for reading in store.readings(labelled_only=True):
            if reading.frame and reading.true_label == "lighter":
                path = store.frame_path(reading.id)
                assert path is not None
                lighter_frames.append(path)
    for path in lighter_frames[::2]:
        path.write_bytes(b"not a jpeg")
    for path in lighter_frames[1::2]:
        path.unlink()

    app = open_page()
    open_view(app, "dataset_view", "Images")

    assert not app.exception
    assert len(app.get("image")) == len(CLASSES)
    assert any(
        "lighter are missing or unreadable" in text for text in texts(app.warning)
    )


@pytest.mark.usefixtures("app_env")
def test_review_reports_a_failed_write(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    """When the store refuses the write, the page says so and the reading stays."""

    def locked(*_: object, **__: object) -> None:
        msg = "database is locked"
        raise sqlite3.OperationalError(msg)

    app = open_page("review")
    first = next(key for key in button_keys(app) if key.startswith("review_"))
    reading_id = int(first.split("_")[1])
    monkeypatch.setattr(DatasetStore, "set_true_label", locked)

    app.button(key=first).click().run()

    assert texts(app.error) == [
        f"Reading #{reading_id} was not changed: database is locked"
    ]
    assert any(key.startswith(f"review_{reading_id}_") for key in button_keys(app))
    with DatasetStore(data_dir, read_only=True) as store:
        assert store.reading(reading_id).labelled_by != "review"
