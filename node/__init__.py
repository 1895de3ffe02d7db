"""Smart Labeling node: reads sensors and a camera and labels the light source."""

__version__ = "0.1.0"
