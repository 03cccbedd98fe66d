"""`Frame`: what every frame source returns, the first value in the data flow.

A Frame is an RGB image in **frame px**, the time it was captured, and the transform that
maps frame px to the device px its actuator speaks. The optional UI tree keeps bounds in
**device px**, exactly as the device reported them; `ui_tree_in_frame_px` maps them.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from vlagent.perception.coords import Transform, apply_box, clamp_box, identity
from vlagent.perception.errors import VlagentError

if TYPE_CHECKING:
    from vlagent.perception.uitree import UINode


class FrameError(VlagentError, ValueError):
    """A frame whose image or metadata breaks the contract."""


@dataclass(frozen=True)
class Frame:
    """One captured image.

    image: H x W x 3 uint8 RGB, frame px.
    captured_at: seconds since the epoch (time.time()) when the capture finished.
    to_device: frame px -> device px; its `src` is (W, H).
    rotation: the device's display rotation in quarter turns (0..3) at capture time.
    ui_tree: visible UI nodes with bounds in device px, when the source has them.
    source: a short name of the source ("sim-phone", "adb:SERIAL", ...).
    """

    image: np.ndarray
    captured_at: float
    to_device: Transform | None = None
    rotation: int = 0
    ui_tree: "tuple[UINode, ...] | None" = None
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            shape = getattr(image, "shape", None)
            dtype = getattr(image, "dtype", None)
            raise FrameError(f"Frame.image must be an HxWx3 uint8 RGB array, got shape {shape} dtype {dtype}")
        if self.rotation not in (0, 1, 2, 3):
            raise FrameError(f"Frame.rotation must be 0..3 quarter turns, got {self.rotation!r}")
        if self.to_device is None:
            object.__setattr__(self, "to_device", identity(self.size))
        src = self.to_device.src
        if abs(src[0] - self.width) > 1e-6 or abs(src[1] - self.height) > 1e-6:
            raise FrameError(f"Frame.to_device starts from {src}, but the image is {self.width}x{self.height}")
        if self.ui_tree is not None:
            object.__setattr__(self, "ui_tree", tuple(self.ui_tree))

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in frame px."""
        return self.width, self.height

    @property
    def device_size(self) -> tuple[float, float]:
        """(width, height) in device px."""
        return self.to_device.dst

    def to_frame_px(self, x: float, y: float) -> tuple[float, float]:
        """device px -> frame px."""
        return self.to_device.inverse().apply(x, y)

    def box_to_frame_px(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A device-px box -> frame px, clamped to the frame."""
        return clamp_box(apply_box(self.to_device.inverse(), box), self.size)
