"""Paint a `Screen` (view trees) into an RGB image with Pillow.

Only the paint ops of visible views are drawn; a clipping view (a scrolling list) paints
its descendants into a crop of its own bounds, so nothing leaks outside it. `skip` leaves
one view and its descendants out: the frame/tree agreement test compares a frame with and
without each clickable view to prove the view drew the pixels inside its bounds.
"""

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from vlagent.sim.phone.text import draw_text
from vlagent.sim.phone.view import (
    Bitmap,
    Box,
    Color,
    Label,
    Lines,
    Oval,
    Poly,
    Rect,
    View,
    intersect,
    is_empty,
)

_DIM_LUT = [int(v * 0.55) for v in range(256)] * 3


@dataclass
class Screen:
    """What is on screen: the app window, an optional overlay (menu or dialog), the system bars.

    With an overlay, the window below is drawn (dimmed when `dim`) but is not in the UI
    tree and gets no input, as with a separate Android dialog window.
    """

    size: tuple[int, int]
    base: View
    overlay: View | None = None
    dim: bool = False
    system: list[View] = field(default_factory=list)
    background: Color = (0, 0, 0)

    @property
    def rect(self) -> Rect:
        return (0, 0, self.size[0], self.size[1])

    def interactive(self) -> list[View]:
        """Roots that are in the UI tree and receive input, in paint order."""
        return [self.overlay if self.overlay is not None else self.base, *self.system]


def _draw_op(draw: ImageDraw.ImageDraw, image: Image.Image, op, dx: int, dy: int) -> None:
    if isinstance(op, Box):
        x1, y1, x2, y2 = op.rect
        box = (x1 + dx, y1 + dy, x2 - 1 + dx, y2 - 1 + dy)
        if op.radius > 0:
            draw.rounded_rectangle(box, radius=op.radius, fill=op.fill, outline=op.outline, width=op.width or 1)
        else:
            draw.rectangle(box, fill=op.fill, outline=op.outline, width=op.width or 1)
    elif isinstance(op, Label):
        draw_text(image, op.x + dx, op.y + dy, op.text, op.size, op.fill, op.anchor, op.bold)
    elif isinstance(op, Oval):
        x1, y1, x2, y2 = op.rect
        draw.ellipse((x1 + dx, y1 + dy, x2 - 1 + dx, y2 - 1 + dy), fill=op.fill, outline=op.outline, width=op.width or 1)
    elif isinstance(op, Lines):
        draw.line([(x + dx, y + dy) for x, y in op.points], fill=op.fill, width=op.width, joint="curve")
    elif isinstance(op, Poly):
        draw.polygon([(x + dx, y + dy) for x, y in op.points], fill=op.fill)
    elif isinstance(op, Bitmap):
        bitmap: Image.Image = op.image  # type: ignore[assignment]
        mask = bitmap if bitmap.mode == "RGBA" else None
        image.paste(bitmap, (op.x + dx, op.y + dy), mask)
    else:
        raise TypeError(f"unknown paint op {type(op).__name__}")


def _paint(image: Image.Image, view: View, clip: Rect, dx: int, dy: int, skip: View | None) -> None:
    """Paint `view` into `image`, whose pixel (0, 0) is device px (-dx, -dy)."""
    if view is skip or is_empty(intersect(view.bounds, clip)):
        return
    draw = ImageDraw.Draw(image)
    for op in view.paint:
        _draw_op(draw, image, op, dx, dy)
    if not view.children:
        return
    if view.clips:
        region = intersect(view.bounds, clip)
        x1, y1, x2, y2 = region
        crop = image.crop((x1 + dx, y1 + dy, x2 + dx, y2 + dy))
        for child in view.children:
            _paint(crop, child, region, -x1, -y1, skip)
        image.paste(crop, (x1 + dx, y1 + dy))
    else:
        for child in view.children:
            _paint(image, child, clip, dx, dy, skip)


def render_image(screen: Screen, skip: View | None = None) -> Image.Image:
    """The screen as a Pillow RGB image of `screen.size` device px."""
    image = Image.new("RGB", screen.size, screen.background)
    _paint(image, screen.base, screen.rect, 0, 0, skip)
    if screen.overlay is not None:
        if screen.dim:
            image = image.point(_DIM_LUT)
        _paint(image, screen.overlay, screen.rect, 0, 0, skip)
    for view in screen.system:
        _paint(image, view, screen.rect, 0, 0, skip)
    return image


def render_array(screen: Screen, skip: View | None = None) -> np.ndarray:
    """The screen as an H x W x 3 uint8 RGB array (frame px == device px)."""
    image = render_image(screen, skip)
    width, height = screen.size
    return np.frombuffer(image.tobytes(), dtype=np.uint8).reshape(height, width, 3).copy()
