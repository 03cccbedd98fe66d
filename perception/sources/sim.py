"""`SimSource`: frames from a simulated phone (`sim.phone.Phone`), with its UI tree.

Full-resolution captures are frame px == device px (identity transform). With
`frame_width`, the render is downscaled (bilinear, aspect kept) and the Frame carries
`Scale(frame size -> device size)`, so actions in frame px still land on the right
device px. The UI tree always keeps device px, as the Frame contract says.
"""

import time
from typing import Any

import numpy as np

from vlagent.perception.coords import Scale, identity
from vlagent.perception.errors import ConfigError
from vlagent.perception.frame import Frame


class SimSource:
    """Capture Frames from `phone`; `frame_width` (px) downscales, None keeps device size."""

    name = "sim-phone"

    def __init__(self, phone: Any, frame_width: int | None = None):
        if frame_width is not None and frame_width < 8:
            raise ConfigError(f"frame_width must be at least 8 px, got {frame_width}")
        self.phone = phone
        self.frame_width = frame_width

    def capture(self) -> Frame:
        image = np.ascontiguousarray(self.phone.render())
        height, width = image.shape[:2]
        transform = identity((width, height))
        if self.frame_width is not None and self.frame_width != width:
            from PIL import Image

            frame_height = max(1, round(height * self.frame_width / width))
            resized = Image.fromarray(image).resize((self.frame_width, frame_height), Image.Resampling.BILINEAR)
            image = np.asarray(resized)
            transform = Scale((self.frame_width, frame_height), (width, height))
        return Frame(image=image, captured_at=time.time(), to_device=transform, rotation=self.phone.rotation,
                     ui_tree=tuple(self.phone.ui_tree()), source=self.name)
