"""Streamlit dashboard of the dataset, the models and a live node."""
