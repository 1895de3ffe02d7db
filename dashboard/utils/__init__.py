"""Data access, charts and clients shared by the dashboard pages."""
