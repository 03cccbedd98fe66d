"""The coordinate contract: device px <-> frame px <-> model-input px <-> norm-1000.

Spaces (all continuous, origin top-left, x right, y down; the centre of pixel (i, j) is
(i + 0.5, j + 0.5), so a W x H space spans [0, W] x [0, H]):

- **device px**: what the actuator sends (ADB `input tap`, the desktop's screen pixels).
- **frame px**: the image a source captured; every `Action` coordinate is in this space.
- **model-input px**: the frame after smart-resize (sides multiples of 28).
- **norm-1000**: Qwen2-VL's box space, 0..1000 on each axis relative to the image.

Each step between spaces is one small, explicit, invertible transform that carries the
sizes of both spaces: `Scale`, `Offset` (a crop) and `Rotate` (quarter turns), composed
with `Chain`. Nothing else in vlagent rescales coordinates. Written by hand because the
contract is the point: a library affine matrix would hide the sizes and the rotation rule.
"""

from dataclasses import dataclass

from vlagent.perception.errors import VlagentError

Size = tuple[float, float]  # (width, height) in the space's own units
Box = tuple[float, float, float, float]  # (x1, y1, x2, y2)

NORM_SIZE: Size = (1000.0, 1000.0)


class CoordinateError(VlagentError, ValueError):
    """A transform or point that breaks the contract (bad size, wrong space, bad rotation)."""


def _check_size(size: Size, what: str) -> tuple[float, float]:
    try:
        width, height = float(size[0]), float(size[1])
    except (TypeError, ValueError, IndexError):
        raise CoordinateError(f"{what} must be (width, height), got {size!r}") from None
    if not (width > 0 and height > 0) or width == float("inf") or height == float("inf"):
        raise CoordinateError(f"{what} must be positive and finite, got {size!r}")
    return width, height


@dataclass(frozen=True)
class Scale:
    """Map a `src` space onto a `dst` space covering the same content (a resize)."""

    src: Size
    dst: Size

    def __post_init__(self) -> None:
        object.__setattr__(self, "src", _check_size(self.src, "Scale.src"))
        object.__setattr__(self, "dst", _check_size(self.dst, "Scale.dst"))

    def apply(self, x: float, y: float) -> tuple[float, float]:
        return x * self.dst[0] / self.src[0], y * self.dst[1] / self.src[1]

    def inverse(self) -> "Scale":
        return Scale(self.dst, self.src)

    def to_dict(self) -> dict:
        return {"kind": "scale", "src": list(self.src), "dst": list(self.dst)}


@dataclass(frozen=True)
class Offset:
    """A crop: the `src` space is the region of the `dst` space whose top-left is (dx, dy).

    `apply` maps a point in the crop to the full space by adding (dx, dy).
    """

    dx: float
    dy: float
    src: Size
    dst: Size

    def __post_init__(self) -> None:
        object.__setattr__(self, "src", _check_size(self.src, "Offset.src"))
        object.__setattr__(self, "dst", _check_size(self.dst, "Offset.dst"))

    def apply(self, x: float, y: float) -> tuple[float, float]:
        return x + self.dx, y + self.dy

    def inverse(self) -> "Offset":
        return Offset(-self.dx, -self.dy, self.dst, self.src)

    def to_dict(self) -> dict:
        return {"kind": "offset", "dx": self.dx, "dy": self.dy, "src": list(self.src), "dst": list(self.dst)}


@dataclass(frozen=True)
class Rotate:
    """Rotate the `src` space clockwise by `quarter_turns` x 90 degrees.

    A W x H space becomes H x W for odd turns. Android's display rotation r (0..3, the
    screen turned counter-clockwise) maps natural-orientation px to display px with
    `Rotate(r_natural_to_display)`; which side applies is the caller's explicit choice.
    """

    quarter_turns: int
    src: Size

    def __post_init__(self) -> None:
        if self.quarter_turns not in (0, 1, 2, 3):
            raise CoordinateError(f"Rotate.quarter_turns must be 0, 1, 2 or 3, got {self.quarter_turns!r}")
        object.__setattr__(self, "src", _check_size(self.src, "Rotate.src"))

    @property
    def dst(self) -> Size:
        width, height = self.src
        return (height, width) if self.quarter_turns % 2 else (width, height)

    def apply(self, x: float, y: float) -> tuple[float, float]:
        width, height = self.src
        if self.quarter_turns == 0:
            return x, y
        if self.quarter_turns == 1:
            return height - y, x
        if self.quarter_turns == 2:
            return width - x, height - y
        return y, width - x

    def inverse(self) -> "Rotate":
        return Rotate((4 - self.quarter_turns) % 4, self.dst)

    def to_dict(self) -> dict:
        return {"kind": "rotate", "quarter_turns": self.quarter_turns, "src": list(self.src)}


Step = Scale | Offset | Rotate


@dataclass(frozen=True)
class Chain:
    """Transforms applied left to right; each step's `dst` must equal the next step's `src`."""

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        if not steps:
            raise CoordinateError("a Chain needs at least one step; use identity(size)")
        for before, after in zip(steps, steps[1:], strict=False):
            if not _same_size(before.dst, after.src):
                raise CoordinateError(f"chain mismatch: {type(before).__name__} ends in {before.dst}, "
                                      f"{type(after).__name__} starts from {after.src}")
        object.__setattr__(self, "steps", steps)

    @property
    def src(self) -> Size:
        return self.steps[0].src

    @property
    def dst(self) -> Size:
        return self.steps[-1].dst

    def apply(self, x: float, y: float) -> tuple[float, float]:
        for step in self.steps:
            x, y = step.apply(x, y)
        return x, y

    def inverse(self) -> "Chain":
        return Chain(tuple(step.inverse() for step in reversed(self.steps)))

    def then(self, other: "Transform") -> "Chain":
        return Chain(self.steps + _steps_of(other))

    def to_dict(self) -> dict:
        return {"kind": "chain", "steps": [step.to_dict() for step in self.steps]}


Transform = Scale | Offset | Rotate | Chain


def _same_size(a: Size, b: Size) -> bool:
    return abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6


def _steps_of(transform: Transform) -> tuple[Step, ...]:
    return transform.steps if isinstance(transform, Chain) else (transform,)


def compose(*transforms: Transform) -> Chain:
    """One Chain applying `transforms` left to right."""
    steps: tuple[Step, ...] = ()
    for transform in transforms:
        steps += _steps_of(transform)
    return Chain(steps)


def identity(size: Size) -> Scale:
    """The identity on a space of `size` (frame px == device px, as in the simulator)."""
    return Scale(size, size)


def transform_from_dict(data: dict) -> Transform:
    """Inverse of `to_dict`, for episode files. Raises CoordinateError on unknown input."""
    if not isinstance(data, dict):
        raise CoordinateError(f"a transform must be a dict, got {type(data).__name__}")
    kind = data.get("kind")
    try:
        if kind == "scale":
            return Scale(tuple(data["src"]), tuple(data["dst"]))
        if kind == "offset":
            return Offset(float(data["dx"]), float(data["dy"]), tuple(data["src"]), tuple(data["dst"]))
        if kind == "rotate":
            return Rotate(int(data["quarter_turns"]), tuple(data["src"]))
        if kind == "chain":
            return Chain(tuple(transform_from_dict(step) for step in data["steps"]))
    except (KeyError, TypeError) as error:
        raise CoordinateError(f"malformed {kind} transform: {error}") from None
    raise CoordinateError(f"unknown transform kind {kind!r}")


def apply_box(transform: Transform, box: Box) -> Box:
    """Map a box; the result is re-ordered so x1 <= x2 and y1 <= y2 (rotations swap corners)."""
    ax, ay = transform.apply(box[0], box[1])
    bx, by = transform.apply(box[2], box[3])
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def clamp_point(x: float, y: float, size: Size) -> tuple[float, float]:
    """Clamp a point into the space [0, W] x [0, H]."""
    width, height = size
    return min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))


def clamp_box(box: Box, size: Size) -> Box:
    """Clamp and order a box so it lies inside [0, W] x [0, H]."""
    x1, y1 = clamp_point(min(box[0], box[2]), min(box[1], box[3]), size)
    x2, y2 = clamp_point(max(box[0], box[2]), max(box[1], box[3]), size)
    return x1, y1, x2, y2


def pixel_index(x: float, y: float, size: Size) -> tuple[int, int]:
    """The integer pixel (column, row) that contains a point, clamped into a W x H raster."""
    width, height = int(size[0]), int(size[1])
    return min(max(int(x), 0), width - 1), min(max(int(y), 0), height - 1)


# The named steps of the chain. Each returns a transform whose apply() goes the way its name says.

def norm1000_to_image(image_size: Size) -> Scale:
    """norm-1000 -> px of an image of `image_size` (frame px or model-input px)."""
    return Scale(NORM_SIZE, image_size)


def image_to_norm1000(image_size: Size) -> Scale:
    """px of an image of `image_size` -> norm-1000."""
    return Scale(image_size, NORM_SIZE)


def model_to_frame(model_size: Size, frame_size: Size) -> Scale:
    """model-input px (after smart-resize) -> frame px."""
    return Scale(model_size, frame_size)


def frame_to_device_scaled(frame_size: Size, device_size: Size) -> Scale:
    """frame px -> device px for a capture that was downscaled from the device (no rotation)."""
    return Scale(frame_size, device_size)
