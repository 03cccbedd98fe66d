"""Settling: has the screen stopped changing since the last action?

`frames_differ(a, b, threshold)` is a pure function on two RGB images (numpy arrays or
`Frame`s): the fraction, 0.0-1.0, of pixels whose largest channel difference exceeds
`threshold` (0-255 intensity levels). Images of different sizes differ completely (1.0),
because a rotation or a resolution change is a change of screen.

`wait_until_stable(capture, ...)` polls `capture()` every `interval_s` seconds until
`stable_frames` consecutive captures differ from their predecessor by at most
`max_changed` (a fraction of pixels), or until `timeout_s` has passed. It is bounded by
construction and returns the last frame either way, so the caller can observe it without
capturing again. A fixed sleep is both slow and flaky; this waits only as long as the
screen keeps moving. Written by hand because it is twenty lines of numpy; a video
library's scene-change detector would add a dependency and hide the threshold.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_PIXEL_THRESHOLD = 8  # intensity levels: above JPEG-ish noise, below any real UI change
DEFAULT_MAX_CHANGED = 0.0005  # fraction of pixels: a blinking cursor on a phone screen stays under it


def _pixels(image: Any) -> np.ndarray:
    array = getattr(image, "image", image)  # a Frame or a bare array
    if not isinstance(array, np.ndarray) or array.ndim not in (2, 3):
        raise TypeError(f"expected an HxW(xC) image array or a Frame, got {type(image).__name__}")
    return array


def frames_differ(a: Any, b: Any, threshold: int = DEFAULT_PIXEL_THRESHOLD) -> float:
    """Fraction (0.0-1.0) of pixels whose largest channel difference exceeds `threshold` levels.

    `a` and `b` are HxWx3 uint8 arrays or Frames; different shapes give 1.0.
    """
    pa, pb = _pixels(a), _pixels(b)
    if pa.shape != pb.shape:
        return 1.0
    if pa.size == 0:
        return 0.0
    delta = np.abs(pa.astype(np.int16) - pb.astype(np.int16))
    if delta.ndim == 3:
        delta = delta.max(axis=2)
    return float(np.count_nonzero(delta > threshold)) / float(delta.size)


def same_screen(a: Any, b: Any, *, threshold: int = DEFAULT_PIXEL_THRESHOLD,
                max_changed: float = DEFAULT_MAX_CHANGED) -> bool:
    """Whether two captures show the same screen (at most `max_changed` of pixels differ)."""
    return frames_differ(a, b, threshold) <= max_changed


@dataclass(frozen=True)
class SettleResult:
    """How a wait ended: `stable` (else it timed out), the last capture, the number of
    captures taken, the seconds waited, and the last measured changed fraction."""

    stable: bool
    frame: Any
    captures: int
    seconds: float
    last_difference: float


def wait_until_stable(
    capture: Callable[[], Any],
    *,
    interval_s: float = 0.1,
    stable_frames: int = 2,
    timeout_s: float = 3.0,
    threshold: int = DEFAULT_PIXEL_THRESHOLD,
    max_changed: float = DEFAULT_MAX_CHANGED,
    first: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SettleResult:
    """Capture until `stable_frames` consecutive captures match their predecessor.

    `capture` returns a Frame or an image array. `first` is an already captured image to
    compare the first new capture against (saves one capture). Seconds are wall-clock; it
    never sleeps past `timeout_s`, so the wait is bounded by `timeout_s` plus one capture.
    `stable_frames=0` returns after a single capture.
    """
    if interval_s < 0 or timeout_s < 0 or stable_frames < 0:
        raise ValueError("interval_s, timeout_s and stable_frames must be >= 0")
    start = clock()
    previous = first if first is not None else capture()
    captures = 0 if first is not None else 1
    matches, difference = 0, 1.0
    while matches < stable_frames:
        remaining = timeout_s - (clock() - start)
        if remaining <= 0:
            return SettleResult(False, previous, captures, clock() - start, difference)
        sleep(min(interval_s, remaining))
        current = capture()
        captures += 1
        difference = frames_differ(previous, current, threshold)
        matches = matches + 1 if difference <= max_changed else 0
        previous = current
    if captures == 0:  # stable_frames == 0 with `first` given: still return a fresh capture
        previous, captures = capture(), 1
    return SettleResult(True, previous, captures, clock() - start, difference if stable_frames else 0.0)
