"""Smart Labeling dashboard: `streamlit run dashboard/app.py -- --data-dir D --models-dir M`."""

from pathlib import Path
import sys

import streamlit as st

# Streamlit puts only this file's folder on the import path; the pages import the
# node and the dashboard as packages from the repository root.
REPO_ROOT = str(Path(__file__).resolve().parents[1])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from dashboard.utils.settings import get_settings  # noqa: E402

PAGES_DIR = Path(__file__).parent / "app_pages"

st.set_page_config(
    page_title="Smart Labeling", page_icon=":material/flare:", layout="wide"
)
settings = get_settings()

page = st.navigation(
    {
        "Data": [
            st.Page(
                PAGES_DIR / "dataset.py",
                title="Dataset",
                icon=":material/dataset:",
                default=True,
            ),
            st.Page(PAGES_DIR / "review.py", title="Review", icon=":material/rule:"),
        ],
        "Models": [
            st.Page(PAGES_DIR / "models.py", title="Models", icon=":material/hub:"),
            st.Page(PAGES_DIR / "try_model.py", title="Try", icon=":material/science:"),
        ],
        "Node": [
            st.Page(PAGES_DIR / "live.py", title="Live", icon=":material/sensors:"),
        ],
    }
)
st.sidebar.caption(f"Dataset: `{settings.data_dir}`  \nModels: `{settings.models_dir}`")
page.run()
