"""The frame-difference check and the bounded wait for a stable screen."""

import numpy as np
import pytest

from vlagent.agent.settle import frames_differ, same_screen, wait_until_stable
from vlagent.perception.frame import Frame


class Clock:
    """A fake clock advanced by the fake sleep, so the wait's bound is checked exactly."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


class Animation:
    """A screen that changes on each of its first `moving` captures, then stays still."""

    def __init__(self, moving: int, size=(40, 30)):
        self.moving, self.captures = moving, 0
        self.size = size

    def capture(self) -> Frame:
        self.captures += 1
        image = np.zeros((self.size[1], self.size[0], 3), np.uint8)
        step = min(self.captures, self.moving + 1)
        image[:, : step % self.size[0]] = 200
        return Frame(image, float(self.captures))


def test_frames_differ_measures_the_changed_fraction():
    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    assert frames_differ(a, b) == 0.0
    b[0, :5, 1] = 100  # 5 of 100 pixels, one channel
    assert frames_differ(a, b) == pytest.approx(0.05)
    assert frames_differ(a, b, threshold=100) == 0.0  # the change does not exceed 100 levels
    b[:] = 3  # noise below the threshold
    assert frames_differ(a, b) == 0.0
    assert frames_differ(a, np.zeros((10, 11, 3), np.uint8)) == 1.0
    assert frames_differ(Frame(a, 0.0), Frame(a, 1.0)) == 0.0
    assert same_screen(a, a) and not same_screen(a, np.full_like(a, 255))
    with pytest.raises(TypeError):
        frames_differ("not an image", a)


def test_wait_returns_once_the_animation_stops():
    clock, screen = Clock(), Animation(moving=4)
    result = wait_until_stable(screen.capture, interval_s=0.1, stable_frames=2, timeout_s=5.0,
                               sleep=clock.sleep, clock=clock)
    assert result.stable
    assert screen.captures == 7  # 1 + 4 moving + 2 matching
    assert result.frame.captured_at == 7.0 and result.captures == 7
    assert clock.now == pytest.approx(0.6)


def test_wait_is_bounded_when_the_screen_never_settles():
    clock, screen = Clock(), Animation(moving=10_000)
    result = wait_until_stable(screen.capture, interval_s=0.1, stable_frames=2, timeout_s=1.0,
                               sleep=clock.sleep, clock=clock)
    assert not result.stable
    assert clock.now <= 1.0 + 1e-9 and result.captures in (11, 12)
    assert max(clock.sleeps) <= 0.1 + 1e-12
    assert result.last_difference > 0


def test_wait_with_a_still_screen_and_bad_arguments():
    clock, screen = Clock(), Animation(moving=0)
    result = wait_until_stable(screen.capture, interval_s=0.05, stable_frames=3, timeout_s=1.0,
                               sleep=clock.sleep, clock=clock)
    assert result.stable and result.captures == 4
    result = wait_until_stable(screen.capture, stable_frames=0, sleep=clock.sleep, clock=clock)
    assert result.stable and result.captures == 1
    with pytest.raises(ValueError):
        wait_until_stable(screen.capture, interval_s=-1)
