"""The simulated scene: each source's physics shows in every sensor and the camera."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from node.simulation import (
    ManualClock,
    Scene,
    ScheduleStep,
    SimulatedCamera,
    SimulatedLight,
    parse_schedule,
    simulate_readings,
)


def readings_of(
    source: str | None, distance: float = 30.0, count: int = 60
) -> list[dict[str, float]]:
    """Return the features of simulated readings with one source held."""
    return [
        sample.features
        for sample in simulate_readings(
            [ScheduleStep(source, 1000.0, distance)], count=count, seed=3
        )
    ]


def median(readings: list[dict[str, float]], name: str) -> float:
    """Return the median of one feature."""
    return statistics.median(reading[name] for reading in readings)


def test_sources_differ_as_their_physics_says() -> None:
    """Flame: mostly infrared, flickering, warm; LED: visible; IR LED: infrared."""
    flashlight = readings_of("flashlight")
    lighter = readings_of("lighter", 20.0)
    infrared = readings_of("infrared")
    daylight = readings_of("daylight")
    darkness = readings_of(None)

    assert median(flashlight, "ir_ratio") < 0.08
    assert 0.55 < median(lighter, "ir_ratio") < 0.9
    assert median(infrared, "ir_ratio") > 0.85
    assert 0.25 < median(daylight, "ir_ratio") < 0.5

    assert median(lighter, "flicker") > 5 * median(flashlight, "flicker")
    assert lighter[-1]["temperature"] > flashlight[-1]["temperature"] + 3
    assert median(daylight, "lux") > median(infrared, "lux") * 100
    assert median(darkness, "full_spectrum") < 30
    assert median(flashlight, "full_spectrum") > 1000


def test_point_sources_fall_off_with_distance() -> None:
    """Twice as far gives about a quarter of the light; daylight does not care."""
    near = median(readings_of("flashlight", 20.0), "full_spectrum")
    far = median(readings_of("flashlight", 40.0), "full_spectrum")
    assert 2.5 < near / far < 6
    assert median(readings_of("flashlight", 40.0), "distance") == pytest.approx(
        40, rel=0.2
    )


def test_bright_light_saturates_and_says_so() -> None:
    """At high gain daylight saturates the sensor, and the reading reports it."""
    clock = ManualClock()
    scene = Scene([ScheduleStep("daylight", 100.0, 80.0)], seed=1, clock=clock)
    reading = SimulatedLight(scene, gain="high").read()
    assert reading.saturated
    assert reading.full_spectrum == 36863
    with pytest.raises(ValueError, match="gain"):
        SimulatedLight(scene, gain="huge")
    with pytest.raises(ValueError, match="integration"):
        SimulatedLight(scene, integration_ms=150)


def test_schedule_loops_and_can_be_held() -> None:
    """The script repeats; holding a source overrides it until released."""
    clock = ManualClock()
    scene = Scene(
        [ScheduleStep("flashlight", 2.0), ScheduleStep("lighter", 3.0)], clock=clock
    )
    sources = []
    for second in (0.5, 2.5, 5.5, 7.9):
        clock.now = second
        sources.append(scene.state().source)
    assert sources == ["flashlight", "lighter", "flashlight", "lighter"]
    scene.hold("infrared")
    assert scene.state().source == "infrared"
    scene.release()
    assert scene.state().source == "lighter"


def test_frames_show_a_glow_of_the_source_colour() -> None:
    """A flame renders orange, an LED white, darkness dark."""
    clock = ManualClock()
    scene = Scene([ScheduleStep("lighter", 100.0, 20.0)], clock=clock)
    camera = SimulatedCamera(scene, width=64, height=48)
    frame = camera.capture()
    assert frame.shape == (48, 64, 3)
    centre = frame[20:28, 28:36].reshape(-1, 3).mean(axis=0)
    assert centre[0] > centre[2] + 60

    scene.hold(None)
    assert np.percentile(camera.capture(), 99) < 60
    scene.hold("daylight")
    assert camera.capture().mean() > 100


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("candle:3", "unknown light source"),
        ("lighter", "invalid schedule"),
        ("", "at least one"),
        ("lighter:-1", "positive"),
    ],
)
def test_bad_schedules_are_named(text: str, message: str) -> None:
    """A schedule that cannot run is rejected with the step named."""
    with pytest.raises(ValueError, match=message):
        parse_schedule(text)


def test_schedule_text() -> None:
    """Steps parse with optional distances and 'none'."""
    steps = parse_schedule("flashlight:5@20, none:2")
    assert steps == (ScheduleStep("flashlight", 5.0, 20.0), ScheduleStep(None, 2.0))
    with pytest.raises(ValueError, match="at least one"):
        Scene([])
