"""Run the Smart Labeling demo's processes: a simulated node and Home Assistant."""
