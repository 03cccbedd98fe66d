"""Pixel operations that must match the Hugging Face Qwen2-VL PIL processor bit for bit.

`to_rgb_image` converts any accepted input to an RGB PIL image exactly as transformers'
`convert_to_rgb` does (transparency is composited onto white). `resize_bicubic` returns the
same uint8 pixels as `np.asarray(image.resize(size, Image.BICUBIC))`, the reference resize.

Why hand-written: the reference resize is the slowest step of preprocessing (about 18 ms for
a 1080x2400 screenshot on one core). Pillow resamples in two separable passes and releases the
GIL in each, and a pass is independent along the other axis, so the passes can be cut into
strips and run on a thread pool with identical coefficients, hence identical output. That
only holds while we run the passes in Pillow's own order, which Pillow 13 started choosing
per size (`ImagingResampleInner` in libImaging/Resample.c). The split is therefore used only
for Pillow versions whose order rule is known here; any other version takes the plain
one-call path, which is exact by construction.
"""

from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np
import PIL
from PIL import Image

from vlagent.perception.errors import VlagentError

# Pillow majors whose pass-order rule `_horizontal_first` mirrors (checked against their C sources).
_SPLIT_PILLOW_MAJORS = range(10, 14)
# Below this many source pixels a split costs more in thread hand-offs than it saves.
_SPLIT_MIN_PIXELS = 512 * 512


class ImageInputError(VlagentError, ValueError):
    """An image has a type, dtype, shape or mode the processor cannot take."""


def to_rgb_image(image: "Image.Image | np.ndarray") -> Image.Image:
    """An RGB PIL image of `image`, with transparency composited onto white.

    Accepts a PIL image of any mode, or a uint8 array HxW, HxWx1, HxWx3 or HxWx4 (channels
    last, RGB(A) order). Matches `transformers.image_transforms.convert_to_rgb`.
    """
    if isinstance(image, Image.Image):
        if "A" in image.getbands() or image.info.get("transparency") is not None:
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, rgba).convert("RGB")
        return image if image.mode == "RGB" else image.convert("RGB")
    if isinstance(image, np.ndarray):
        return Image.fromarray(_array_to_rgb(image), "RGB")
    raise ImageInputError(f"expected a PIL image or a numpy array, got {type(image).__name__}")


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint8:
        raise ImageInputError(f"image arrays must be uint8 (0-255), got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageInputError(
            f"image arrays must be HxW or HxWxC with C in (1, 3, 4), got shape {array.shape}"
        )
    channels = array.shape[2]
    if channels == 1:
        return np.repeat(array, 3, axis=2)
    if channels == 4:
        # Same float64 expression and rounding as the reference, so the bytes agree.
        alpha = array[..., 3:4] / 255
        composite = alpha * array[..., :3] + (1 - alpha) * 255
        return np.round(composite).astype(np.uint8)
    return np.ascontiguousarray(array)


def resize_bicubic(
    image: Image.Image, size: tuple[int, int], pool: Executor | None = None, parts: int = 2
) -> np.ndarray:
    """`np.asarray(image.resize(size, BICUBIC))` bit for bit: uint8 [h, w, C] for size (w, h) px.

    With a `pool`, each resampling pass is cut into `parts` strips that run concurrently.
    """
    src_w, src_h = image.size
    dst_w, dst_h = size
    if dst_w <= 0 or dst_h <= 0:
        raise ImageInputError(f"resize target must be positive, got {size}")
    if (
        pool is None
        or parts < 2
        or image.mode not in ("RGB", "L")
        or src_w * src_h < _SPLIT_MIN_PIXELS
        or int(PIL.__version__.split(".")[0]) not in _SPLIT_PILLOW_MAJORS
    ):
        return np.asarray(image.resize((dst_w, dst_h), Image.Resampling.BICUBIC))
    passes = _pass_order(src_w, src_h, dst_w, dst_h)
    current = image
    for index, axis in enumerate(passes):
        last = index == len(passes) - 1
        strips = _run_pass(current, axis, dst_w if axis == "h" else dst_h, pool, parts)
        if last:
            return np.concatenate([np.asarray(s) for s in strips], axis=0 if axis == "h" else 1)
        current = _assemble(strips, axis)
    return np.array(image)  # same size: Pillow's resize is a copy


def _pass_order(src_w: int, src_h: int, dst_w: int, dst_h: int) -> list[str]:
    """The passes Pillow runs for this resize, in its order: "h" changes width, "v" height."""
    order = ["h", "v"] if _horizontal_first(src_w, src_h, dst_w, dst_h) else ["v", "h"]
    needed = {"h": dst_w != src_w, "v": dst_h != src_h}
    return [axis for axis in order if needed[axis]]


def _horizontal_first(src_w: int, src_h: int, dst_w: int, dst_h: int) -> bool:
    if int(PIL.__version__.split(".")[0]) >= 13:
        # Pillow 13: run the vertical pass first when height shrinks over twice as much as width.
        return not (src_h - dst_h > 0 and src_h - dst_h > (src_w - dst_w) * 2)
    return True


def _cuts(length: int, parts: int) -> list[int]:
    return [length * i // parts for i in range(parts + 1)]


def _run_pass(
    image: Image.Image, axis: str, target: int, pool: Executor, parts: int
) -> list[Image.Image]:
    """One resampling pass, split along the axis it does not touch (rows for "h", columns for "v")."""
    width, height = image.size
    bicubic = Image.Resampling.BICUBIC
    if axis == "h":
        rows = _cuts(height, parts)

        def strip(i: int) -> Image.Image:
            piece = image.crop((0, rows[i], width, rows[i + 1]))
            return piece.resize((target, rows[i + 1] - rows[i]), bicubic)
    else:
        cols = _cuts(width, parts)

        def strip(i: int) -> Image.Image:
            piece = image.crop((cols[i], 0, cols[i + 1], height))
            return piece.resize((cols[i + 1] - cols[i], target), bicubic)

    return list(pool.map(strip, range(parts)))


def _assemble(strips: Sequence[Image.Image], axis: str) -> Image.Image:
    """Paste the strips of one pass back into one image (stacked vertically after an "h" pass)."""
    if axis == "h":
        size = (strips[0].width, sum(s.height for s in strips))
    else:
        size = (sum(s.width for s in strips), strips[0].height)
    whole = Image.new(strips[0].mode, size)
    offset = 0
    for piece in strips:
        whole.paste(piece, (0, offset) if axis == "h" else (offset, 0))
        offset += piece.height if axis == "h" else piece.width
    return whole
