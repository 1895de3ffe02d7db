"""The dashboard pages, each run as a script by `st.navigation`."""
