"""`AdbSource`: frames from an Android device through the adb server.

Capture is raw `screencap` over `exec:` (binary-safe, no PNG encoding on the phone),
decoded with numpy; `screencap -p` is the fallback when the raw bytes cannot be decoded.

Coordinates: Android's `input` takes **display px** of the current rotation, and
screencap captures exactly that display, so device px here = display px and the capture's
own header gives the device size at the moment of capture. `to_device` is then
`Scale(frame size, capture size)` — the identity unless `scale` downsizes the frame on the
host. `wm size` (the natural, unrotated size) is never used for the mapping: scaling by it
is the classic "taps are off in landscape" bug. The rotation (0-3) is read from
`dumpsys display` when the source starts and whenever the capture's aspect flips, and is
reported in `Frame.rotation`.

`Frame.meta`: "capture" ("raw" or "png"), "capture_s" (seconds spent), "device_size"
(display px), "natural_size" (px), and "black": True when the frame is black, which is how
FLAG_SECURE screens capture — the policy is looking at nothing.
"""

import time

import numpy as np

from vlagent.perception.coords import Scale, identity
from vlagent.perception.errors import ConfigError
from vlagent.perception.frame import Frame
from vlagent.perception.sources.adb_device import (
    AdbCommandError,
    AdbConnectionLost,
    AdbDevice,
    AdbDeviceError,
    AdbDeviceGone,
)
from vlagent.perception.sources.screencap import (
    ScreencapError,
    UnsupportedFormat,
    is_black,
    parse_png_screencap,
    parse_raw_screencap,
    parse_rotation,
    parse_wm_size,
    xml_from_dump,
)

__all__ = ["AdbSource", "AdbDeviceError", "AdbDeviceGone", "AdbConnectionLost", "AdbCommandError"]

DUMP_PATH = "/data/local/tmp/vlagent_dump.xml"


class AdbSource:
    """Frames from one device. `scale` (0 < scale <= 1) downsizes frames on the host;
    `ui_tree=True` adds a `uiautomator dump` to every capture (slower); `prefer_raw=False`
    captures PNG. Give `device` to share one AdbDevice with an AdbActuator."""

    def __init__(self, serial: str | None = None, scale: float | None = None, prefer_raw: bool = True,
                 ui_tree: bool = False, host: str | None = None, port: int | None = None,
                 device: AdbDevice | None = None, reconnect_timeout_s: float = 10.0,
                 command_timeout_s: float = 30.0):
        if scale is not None and not (0 < scale <= 1):
            raise ConfigError(f"scale must be in (0, 1], got {scale!r}")
        self.device = device or AdbDevice(serial, host, port, reconnect_timeout_s, command_timeout_s)
        self.scale = scale
        self.prefer_raw = prefer_raw
        self.ui_tree = ui_tree
        self._natural_size: tuple[int, int] | None = None
        self._rotation: int | None = None
        self._landscape: bool | None = None  # the aspect of the capture the rotation was read at

    @property
    def serial(self) -> str:
        return self.device.serial

    def natural_size(self) -> tuple[int, int]:
        """The panel's natural (unrotated) size in px, from `wm size` (cached)."""
        if self._natural_size is None:
            self._natural_size = parse_wm_size(self.device.shell(["wm", "size"], retry=True).text)
        return self._natural_size

    def rotation(self, refresh: bool = False) -> int:
        """The display rotation in quarter turns, from `dumpsys display`."""
        if refresh or self._rotation is None:
            self._rotation = parse_rotation(self.device.shell(["dumpsys", "display"], retry=True).text)
        return self._rotation

    def grab(self) -> tuple[np.ndarray, str]:
        """One capture in display px: (HxWx3 RGB, "raw" or "png")."""
        if self.prefer_raw:
            try:
                image, _ = parse_raw_screencap(self.device.exec_out(["screencap"], retry=True))
                return image, "raw"
            except UnsupportedFormat:
                self.prefer_raw = False  # this device's raw format will not change: PNG from now on
            except ScreencapError:
                pass  # a truncated capture (the device dropped mid-way): PNG this once
        return parse_png_screencap(self.device.exec_out(["screencap", "-p"], retry=True)), "png"

    def capture(self) -> Frame:
        """One Frame: the screen (scaled when asked), its transform to device px, the
        rotation, the capture time, and the UI tree when `ui_tree` is on."""
        start = time.monotonic()
        image, method = self.grab()
        capture_s = time.monotonic() - start
        captured_at = time.time()
        device_size = (image.shape[1], image.shape[0])
        landscape = device_size[0] > device_size[1]
        if self._landscape != landscape:
            self._landscape = landscape
            self.rotation(refresh=True)
        rotation = self.rotation()
        frame_image = self._scaled(image)
        frame_size = (frame_image.shape[1], frame_image.shape[0])
        to_device = identity(frame_size) if frame_size == device_size else Scale(frame_size, device_size)
        nodes = self.read_ui_tree() if self.ui_tree else None
        meta = {"capture": method, "capture_s": capture_s, "device_size": device_size,
                "natural_size": self.natural_size(), "black": is_black(image)}
        return Frame(frame_image, captured_at, to_device, rotation, nodes, f"adb:{self.serial}", meta)

    def _scaled(self, image: np.ndarray) -> np.ndarray:
        if self.scale is None or self.scale == 1:
            return image
        from PIL import Image

        height, width = image.shape[:2]
        size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        factor = round(1 / self.scale)
        pil = Image.fromarray(image)
        if abs(1 / self.scale - factor) < 1e-9 and width % factor == 0 and height % factor == 0:
            resized = pil.reduce(factor)  # an exact box filter, several times faster than resize
        else:
            resized = pil.resize(size, Image.Resampling.BILINEAR)
        return np.asarray(resized, dtype=np.uint8)

    def read_ui_tree(self):
        """The device's UI tree (bounds in device px) via `uiautomator dump`."""
        from vlagent.perception.uitree import parse_uiautomator_xml

        result = self.device.shell(["uiautomator", "dump", DUMP_PATH], ["cat", DUMP_PATH], retry=True)
        return tuple(parse_uiautomator_xml(xml_from_dump(result.text)))

    def close(self) -> None:
        """Nothing to release: every command opens and closes its own adb connection."""
