"""`ScreenSource`: desktop frames with mss, and their transform to the coordinates pyautogui uses.

Contract:
- `monitor`: an mss monitor index (1 = the first monitor, 2 = the second, ...) or "all" (index 0,
  the bounding box of every monitor). `region` = (left, top, width, height) in that monitor's
  physical px restricts the capture. `scale` (0-1) downscales on the host, like the adb source's.
- `capture()` returns a `Frame` whose `to_device` maps frame px to **logical screen px**, the
  coordinates `pyautogui` takes, in one chain from `perception.coords` and nowhere else:
  frame px -> (1 / scale) -> captured px -> + (monitor left + region left, monitor top + region
  top) -> physical screen px -> x `logical_scale` -> logical px. `logical_scale` is pyautogui's
  screen size over mss's full-screen size (1.0 on X11; 0.5 on a 2x HiDPI macOS display).
- `Frame.meta`: `monitor`, `region` (physical px), `scale`, `logical_scale`, `cursor` (the pointer
  at capture, logical px, or None when it cannot be read).

mss and pyautogui are imported when a source is created, never at module import: `import
vlagent.perception` works with no `DISPLAY`. Why mss: it grabs through XShm/XGetImage (and the
native APIs elsewhere) several times faster than `pyautogui.screenshot()` (bench/desktop.py).
"""

import time
from typing import Any

import numpy as np

from vlagent.perception.coords import Offset, Scale, compose
from vlagent.perception.errors import ConfigError, VlagentError
from vlagent.perception.frame import Frame


class ScreenCaptureError(VlagentError, OSError):
    """The screen cannot be captured: no display, a monitor that does not exist, an empty region."""

    hint = "is DISPLAY set to a running X server (and XAUTHORITY to its cookie file)?"


def parse_monitor(spec: str | int | None) -> int:
    """"1" -> 1, "all" -> 0 (every monitor), None -> 1."""
    if spec is None or spec == "":
        return 1
    if isinstance(spec, int) or str(spec).isdigit():
        index = int(spec)
        if index < 1:
            raise ConfigError(f"monitor {spec!r}: monitors count from 1 ('all' for every monitor)")
        return index
    if str(spec).lower() == "all":
        return 0
    raise ConfigError(f"monitor {spec!r} is not a monitor number (1, 2, ...) or 'all'")


def parse_region(value: Any) -> tuple[int, int, int, int] | None:
    """(left, top, width, height) from a 4-sequence or "L,T,W,H"; None passes through."""
    if value is None or value == "":
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        left, top, width, height = (int(round(float(p))) for p in parts)
    except (TypeError, ValueError):
        raise ConfigError(f"region {value!r} must be LEFT,TOP,WIDTH,HEIGHT in px") from None
    if width <= 0 or height <= 0 or left < 0 or top < 0:
        raise ConfigError(f"region {value!r}: width and height must be > 0, left and top >= 0")
    return left, top, width, height


def desktop_transform(capture_size: tuple[int, int], frame_size: tuple[int, int], origin: tuple[int, int],
                      logical_scale: float):
    """frame px -> logical screen px (see the module docstring); pure."""
    to_capture = Scale(frame_size, capture_size)
    physical = (origin[0] + capture_size[0], origin[1] + capture_size[1])
    shifted = Offset(origin[0], origin[1], capture_size, physical)
    logical = (physical[0] * logical_scale, physical[1] * logical_scale)
    return compose(to_capture, shifted, Scale(physical, logical))


class ScreenSource:
    """Capture the desktop (see the module docstring)."""

    def __init__(self, monitor: str | int | None = 1, region: Any = None, scale: float | None = None):
        if scale is not None and not (isinstance(scale, (int, float)) and 0 < float(scale) <= 1):
            raise ConfigError(f"scale must be within (0, 1], got {scale!r}")
        self.monitor, self.region, self.scale = parse_monitor(monitor), parse_region(region), scale
        try:
            import mss
        except ImportError as error:
            raise ScreenCaptureError(f"desktop capture needs mss (pip install 'vlagent[desktop]'): {error}") from None
        try:
            self._mss = mss.MSS() if hasattr(mss, "MSS") else mss.mss()
        except Exception as error:  # noqa: BLE001 - mss raises ScreenShotError without a display
            raise ScreenCaptureError(f"cannot open the display for capture: {error}") from None
        monitors = self._mss.monitors
        if self.monitor >= len(monitors):
            raise ScreenCaptureError(f"monitor {self.monitor} does not exist; this display has {len(monitors) - 1}")
        self._box = self._capture_box(monitors[self.monitor])
        self.logical_scale = self._logical_scale(monitors[0])
        self.name = f"desktop:{'all' if self.monitor == 0 else self.monitor}"

    def _capture_box(self, mon: dict) -> dict:
        if self.region is None:
            return {"left": mon["left"], "top": mon["top"], "width": mon["width"], "height": mon["height"]}
        left, top, width, height = self.region
        if left + width > mon["width"] or top + height > mon["height"]:
            raise ScreenCaptureError(f"region {self.region} does not fit monitor {self.monitor} "
                                     f"({mon['width']}x{mon['height']} px)")
        return {"left": mon["left"] + left, "top": mon["top"] + top, "width": width, "height": height}

    @staticmethod
    def _logical_scale(everything: dict) -> float:
        from vlagent.perception.sources.display import import_pyautogui

        width, _ = import_pyautogui().size()
        return float(width) / float(everything["width"]) if everything["width"] else 1.0

    def capture(self) -> Frame:
        try:
            shot = self._mss.grab(self._box)
        except Exception as error:  # noqa: BLE001 - ScreenShotError: the display went away
            raise ScreenCaptureError(f"capturing {self.name} failed: {error}") from None
        captured_at = time.time()
        capture_size = (shot.width, shot.height)
        if self.scale is not None and self.scale < 1:
            # Downscale in Pillow straight from BGRX (its raw decoder swaps channels in C); an
            # integer factor uses reduce(), a box filter, the fastest and sharpest here.
            from PIL import Image

            size = (max(1, round(shot.width * self.scale)), max(1, round(shot.height * self.scale)))
            picture = Image.frombuffer("RGB", capture_size, shot.bgra, "raw", "BGRX", 0, 1)
            factor = shot.width // size[0]
            if size[0] * factor == shot.width and size[1] * factor == shot.height:
                picture = picture.reduce(factor)
            else:
                picture = picture.resize(size, Image.BILINEAR, reducing_gap=2.0)
            image = np.asarray(picture)
        else:
            # BGRA -> RGB by gathering three columns: one pass, faster here than a reversed-slice copy
            image = np.frombuffer(shot.bgra, dtype=np.uint8).reshape(-1, 4)[:, [2, 1, 0]].reshape(
                shot.height, shot.width, 3)
        frame_size = (image.shape[1], image.shape[0])
        origin = (self._box["left"], self._box["top"])
        meta = {"monitor": self.monitor, "region": [origin[0], origin[1], *capture_size], "scale": self.scale or 1.0,
                "logical_scale": self.logical_scale, "cursor": self._cursor()}
        return Frame(image=image, captured_at=captured_at, source=self.name, meta=meta,
                     to_device=desktop_transform(capture_size, frame_size, origin, self.logical_scale))

    @staticmethod
    def _cursor() -> list[float] | None:
        from vlagent.perception.sources.display import import_pyautogui

        try:
            x, y = import_pyautogui().position()
        except Exception:  # noqa: BLE001 - no pointer (a headless display without one): recorded as unknown
            return None
        return [float(x), float(y)]

    def close(self) -> None:
        self._mss.close()
