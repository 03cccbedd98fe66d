"""Qwen2-VL dynamic-resolution preprocessing: images and videos to vision patches.

Contract: `ImageProcessor.preprocess_image(image)` returns exactly (bit for bit) the
`pixel_values` and `image_grid_thw` of transformers 5.24's `Qwen2VLImageProcessorPil` with the
same settings. An image is converted to RGB, resized bicubic to `smart_resize`'s size (sides
multiples of patch_size * merge_size px), rescaled by 1/255, normalised with the CLIP mean and
std, repeated to the temporal patch, and cut into rows of C*T*14*14 values, rows ordered in
2x2 merge blocks. Videos use the same patching with real frame pairs (grid_t = frames / 2).

Why hand-written instead of calling transformers: the runtime path must not import torch or
transformers, and this version is faster while giving the same numbers. Rescale and
normalise are fused into three float32 ufunc passes over uint8 data already in patch order
(fl32(v) / fl32(255) equals the reference's fl32(fl64(v) * (1/255)) for all 256 values, and the
subtract and divide are the reference's own float32 operations), the temporal repeat is a
broadcast in the last pass, and large images are resized and patched on a small thread pool.
"""

import json
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vlagent.perception.errors import ConfigError, VlagentError
from vlagent.perception.image_ops import ImageInputError, resize_bicubic, to_rgb_image
from vlagent.perception.video import (
    VIDEO_FPS,
    VIDEO_MAX_TOKENS,
    VideoInputError,
    frame_max_pixels,
    padded_frame_indices,
    sample_frame_indices,
)

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "ImageInputError",
    "ImageProcessor",
    "ImageSizeError",
    "VideoInputError",
    "VisionInput",
    "patchify",
    "smart_resize",
]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT_MIN_PIXELS = 56 * 56
DEFAULT_MAX_PIXELS = 28 * 28 * 1280
MAX_ASPECT_RATIO = 200


class ImageSizeError(VlagentError, ValueError):
    """An image size Qwen2-VL cannot take: a non-positive side or an aspect ratio over 200."""


def smart_resize(
    height: int,
    width: int,
    factor: int = 28,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[int, int]:
    """Qwen2-VL's model-input size (h, w) in px for an image of height x width px.

    Sides are rounded to multiples of `factor` (Python's round: halves go to even), then
    scaled down (floor) to fit `max_pixels` or up (ceil) to reach `min_pixels`, keeping the
    aspect ratio as closely as possible. Same arithmetic as transformers' `smart_resize`.
    """
    if height <= 0 or width <= 0:
        raise ImageSizeError(f"image sides must be positive, got height={height}, width={width}")
    ratio = max(height, width) / min(height, width)
    if ratio > MAX_ASPECT_RATIO:
        raise ImageSizeError(
            f"aspect ratio must be at most {MAX_ASPECT_RATIO}, got {ratio} for {height}x{width} (HxW)"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True, eq=False)
class VisionInput:
    """Patches of one or more images (or videos) for the vision tower.

    pixel_values: float32 [N, C*T*p*p], one row per 14x14 patch (T = temporal patch).
    grid_thw: int64 [k, 3], (frame pairs, patch rows, patch columns) per item; N = sum of products.
    merge_size: patches merged per side into one language-model token (2 for Qwen2-VL).
    """

    pixel_values: np.ndarray
    grid_thw: np.ndarray
    merge_size: int = 2

    def __post_init__(self) -> None:
        if self.pixel_values.dtype != np.float32 or self.pixel_values.ndim != 2:
            raise ValueError(
                f"pixel_values must be float32 [N, D], got {self.pixel_values.dtype} {self.pixel_values.shape}"
            )
        if (
            self.grid_thw.dtype != np.int64
            or self.grid_thw.ndim != 2
            or self.grid_thw.shape[1] != 3
        ):
            raise ValueError(
                f"grid_thw must be int64 [k, 3], got {self.grid_thw.dtype} {self.grid_thw.shape}"
            )
        patches = int(self.grid_thw.prod(axis=1).sum())
        if patches != self.pixel_values.shape[0]:
            raise ValueError(
                f"grid_thw covers {patches} patches but pixel_values has {self.pixel_values.shape[0]} rows"
            )

    @property
    def token_counts(self) -> list[int]:
        """Language-model tokens per item: t * h * w / merge_size**2."""
        return [int(n) for n in self.grid_thw.prod(axis=1) // self.merge_size**2]

    @property
    def num_tokens(self) -> int:
        """Language-model tokens over all items."""
        return sum(self.token_counts)

    @classmethod
    def concat(cls, items: Sequence["VisionInput"]) -> "VisionInput":
        """One VisionInput holding `items` in order (one grid_thw row per item)."""
        if not items:
            raise ValueError("cannot concatenate zero VisionInputs")
        merge_sizes = {item.merge_size for item in items}
        if len(merge_sizes) != 1:
            raise ValueError(
                f"cannot concatenate VisionInputs with merge sizes {sorted(merge_sizes)}"
            )
        if len(items) == 1:
            return items[0]
        return cls(
            np.concatenate([item.pixel_values for item in items]),
            np.concatenate([item.grid_thw for item in items]),
            items[0].merge_size,
        )


def patchify(
    frames: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    patch_size: int = 14,
    temporal_patch_size: int = 2,
    merge_size: int = 2,
    pool: Executor | None = None,
) -> np.ndarray:
    """Normalised patches float32 [gt*gh*gw, C*T*p*p] of uint8 frames [F, h, w, C].

    F == 1 is an image, repeated to the temporal patch; otherwise F must be a multiple of it.
    `mean` and `std` are float32 [C]. Rows come in merge blocks, columns are (C, T, y, x).
    """
    count, height, width, channels = frames.shape
    unit = patch_size * merge_size
    if height % unit or width % unit:
        raise ImageSizeError(
            f"frame sides must be multiples of {unit} px, got {height}x{width} (HxW)"
        )
    if count != 1 and count % temporal_patch_size:
        raise VideoInputError(
            f"frame count must be 1 or a multiple of {temporal_patch_size}, got {count}"
        )
    groups, per_group = (
        (1, 1) if count == 1 else (count // temporal_patch_size, temporal_patch_size)
    )
    rows, cols, m, p = height // unit, width // unit, merge_size, patch_size
    # (group, block row, block col, merge y, merge x, channel, frame, y, x)
    source = frames.reshape(groups, per_group, rows, m, p, cols, m, p, channels)
    source = source.transpose(0, 2, 5, 3, 6, 8, 1, 4, 7)
    out = np.empty((groups, rows, cols, m, m, channels, temporal_patch_size, p, p), np.float32)
    mean4 = mean.astype(np.float32).reshape(channels, 1, 1, 1)
    std4 = std.astype(np.float32).reshape(channels, 1, 1, 1)
    step = max(1, 48 // cols)  # block rows per chunk: keeps the float temporaries cache-sized

    def fill(job: tuple[int, int]) -> None:
        group, start = job
        stop = min(rows, start + step)
        scaled = np.divide(
            np.ascontiguousarray(source[group, start:stop]), np.float32(255), dtype=np.float32
        )
        np.subtract(scaled, mean4, out=scaled)
        np.divide(scaled, std4, out=out[group, start:stop])  # broadcasts one frame to T

    jobs = [(g, r) for g in range(groups) for r in range(0, rows, step)]
    if pool is None:
        for job in jobs:
            fill(job)
    else:
        list(pool.map(fill, jobs))
    return out.reshape(groups * rows * cols * m * m, channels * temporal_patch_size * p * p)


def _common_frame_size(
    frames: "Sequence[Image.Image | np.ndarray] | np.ndarray", used: list[int]
) -> tuple[int, int]:
    """(height, width) in px shared by the frames at `used`; VideoInputError if they differ."""
    sizes = {
        (frame.height, frame.width)
        if isinstance(frame, Image.Image)
        else tuple(np.shape(frame)[:2])
        for frame in (frames[i] for i in used)
    }
    if len(sizes) != 1:
        raise VideoInputError(
            f"all video frames must share one size, got (h, w) sizes {sorted(sizes)}"
        )
    return sizes.pop()


def default_threads() -> int:
    """Preprocessing threads when none are asked for: half the cores, at most 4.

    A split resize only pays off on free cores; on a busy 2-core machine it measured slower
    than one thread (docs/PERFORMANCE.md), so small machines stay single-threaded.
    """
    return max(1, min(4, (os.cpu_count() or 1) // 2))


class ImageProcessor:
    """Qwen2-VL preprocessing with the settings of one checkpoint (pixel limits in px).

    `threads` (default `default_threads()`) splits the resize and patching of large images;
    the output does not depend on it. `max_side` (px, None: no limit) caps the longer
    model-input side after `smart_resize`, for models that cannot take larger patch grids
    (`perception.engine.load` sets it from the model's config).
    """

    def __init__(
        self,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        patch_size: int = 14,
        temporal_patch_size: int = 2,
        merge_size: int = 2,
        image_mean: Sequence[float] = CLIP_MEAN,
        image_std: Sequence[float] = CLIP_STD,
        threads: int | None = None,
        max_side: int | None = None,
    ) -> None:
        for name, value in (
            ("min_pixels", min_pixels),
            ("max_pixels", max_pixels),
            ("patch_size", patch_size),
            ("temporal_patch_size", temporal_patch_size),
            ("merge_size", merge_size),
        ):
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if min_pixels > max_pixels:
            raise ConfigError(f"min_pixels ({min_pixels}) exceeds max_pixels ({max_pixels})")
        if len(image_mean) != 3 or len(image_std) != 3 or min(image_std) <= 0:
            raise ConfigError(f"need 3 means and 3 positive stds, got {image_mean} and {image_std}")
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self.patch_size = patch_size
        self.temporal_patch_size = temporal_patch_size
        self.merge_size = merge_size
        self.image_mean = tuple(float(v) for v in image_mean)
        self.image_std = tuple(float(v) for v in image_std)
        self.threads = threads if threads is not None else default_threads()
        if self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        factor = patch_size * merge_size
        if max_side is not None and (not isinstance(max_side, int) or max_side < factor or max_side % factor):
            raise ConfigError(f"max_side must be None or a positive multiple of {factor} px, got {max_side!r}")
        self.max_side = max_side

    def with_max_side(self, max_side: int | None) -> "ImageProcessor":
        """This processor, or a copy whose model-input sides are at most `max_side` px (the
        smaller of its own limit and this one; None adds no limit)."""
        if max_side is None or (self.max_side is not None and self.max_side <= max_side):
            return self
        return ImageProcessor(self.min_pixels, self.max_pixels, self.patch_size, self.temporal_patch_size,
                              self.merge_size, self.image_mean, self.image_std, self.threads, max_side)

    def _fit_side(self, h: int, w: int) -> tuple[int, int]:
        """(h, w) model-input px scaled down (floor to the factor) so the longer side is at most
        `max_side`: for models whose position tables end at a grid side (`VisionConfig.max_grid_side`).
        The aspect ratio is kept as closely as the factor allows; below `min_pixels` if it must."""
        if self.max_side is None or max(h, w) <= self.max_side:
            return h, w
        scale = self.max_side / max(h, w)
        f = self.factor
        return max(f, math.floor(h * scale / f) * f), max(f, math.floor(w * scale / f) * f)

    @classmethod
    def from_config(
        cls, config: "dict | str | os.PathLike[str]", **overrides: object
    ) -> "ImageProcessor":
        """From a `preprocessor_config.json` (path, its directory, or the parsed dict)."""
        if not isinstance(config, dict):
            path = Path(config)
            path = path / "preprocessor_config.json" if path.is_dir() else path
            config = json.loads(path.read_text())
        size = config.get("size") or {}
        kwargs: dict[str, object] = {
            "min_pixels": config.get("min_pixels", size.get("shortest_edge", DEFAULT_MIN_PIXELS)),
            "max_pixels": config.get("max_pixels", size.get("longest_edge", DEFAULT_MAX_PIXELS)),
        }
        for key in ("patch_size", "temporal_patch_size", "merge_size", "image_mean", "image_std"):
            if key in config:
                kwargs[key] = config[key]
        kwargs.update(overrides)
        return cls(**kwargs)  # type: ignore[arg-type]

    @property
    def factor(self) -> int:
        """Model-input sides are multiples of this many px (patch_size * merge_size)."""
        return self.patch_size * self.merge_size

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """Model-input (h, w) in px for an image of height x width px: `smart_resize`, then
        `max_side` when set."""
        return self._fit_side(*smart_resize(height, width, self.factor, self.min_pixels, self.max_pixels))

    def num_image_tokens(self, height: int, width: int) -> int:
        """Language-model tokens for an image of height x width px, without touching pixels."""
        h, w = self.resized_size(height, width)
        return (h // self.factor) * (w // self.factor)

    def preprocess_image(self, image: "Image.Image | np.ndarray") -> VisionInput:
        """Patches of one image (PIL image of any mode, or uint8 HxW[xC] array)."""
        return self.preprocess_images([image])

    def preprocess_images(self, images: Sequence["Image.Image | np.ndarray"]) -> VisionInput:
        """Patches of several images, concatenated; one grid_thw row per image."""
        if isinstance(images, (Image.Image, np.ndarray)) or len(images) == 0:
            raise ImageInputError("preprocess_images takes a non-empty sequence of images")
        with self._pool() as pool:
            items = [self._image(image, pool) for image in images]
        return VisionInput.concat(items)

    def preprocess_video(
        self,
        frames: "Sequence[Image.Image | np.ndarray] | np.ndarray",
        fps: float = VIDEO_FPS,
        source_fps: float | None = None,
        max_tokens: int = VIDEO_MAX_TOKENS,
    ) -> VisionInput:
        """Patches of one clip: grid_thw is one row (frame pairs, patch rows, patch columns).

        With `source_fps` (frames/s of `frames`) the clip is sampled at `fps` frames/s; without
        it every frame is kept. The count is padded to even by repeating the last frame, all
        frames must share one size, and frames shrink until the clip fits `max_tokens`.
        """
        if isinstance(frames, Image.Image) or (isinstance(frames, np.ndarray) and frames.ndim != 4):
            raise VideoInputError(
                "video frames must be a sequence of images or a uint8 array [T, H, W, C]"
            )
        indices = padded_frame_indices(
            sample_frame_indices(len(frames), source_fps, fps, self.temporal_patch_size),
            self.temporal_patch_size,
        )
        grid_t = len(indices) // self.temporal_patch_size
        height, width = _common_frame_size(frames, sorted(set(indices.tolist())))
        max_pixels = frame_max_pixels(grid_t, self.max_pixels, self.factor, max_tokens)
        h, w = self._fit_side(*smart_resize(
            height, width, self.factor, min(self.min_pixels, max_pixels), max_pixels
        ))
        tokens = grid_t * (h // self.factor) * (w // self.factor)
        if tokens > max_tokens:
            raise VideoInputError(
                f"a {height}x{width} (HxW) clip of {len(indices)} frames needs {tokens} tokens, over {max_tokens}"
            )
        with self._pool() as pool:
            resized: dict[int, np.ndarray] = {}
            for i in indices.tolist():  # one frame at a time: only resized frames stay in memory
                if i not in resized:
                    resized[i] = resize_bicubic(to_rgb_image(frames[i]), (w, h), pool, self.threads)
            stack = np.stack([resized[i] for i in indices.tolist()])
            values = patchify(
                stack,
                *self._norm(),
                self.patch_size,
                self.temporal_patch_size,
                self.merge_size,
                pool,
            )
        grid = np.array([[grid_t, h // self.patch_size, w // self.patch_size]], dtype=np.int64)
        return VisionInput(values, grid, self.merge_size)

    def _image(self, image: "Image.Image | np.ndarray", pool: Executor | None) -> VisionInput:
        rgb = to_rgb_image(image)
        h, w = self.resized_size(rgb.height, rgb.width)
        pixels = resize_bicubic(rgb, (w, h), pool, self.threads)
        values = patchify(
            pixels[None],
            *self._norm(),
            self.patch_size,
            self.temporal_patch_size,
            self.merge_size,
            pool,
        )
        grid = np.array([[1, h // self.patch_size, w // self.patch_size]], dtype=np.int64)
        return VisionInput(values, grid, self.merge_size)

    def _norm(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.image_mean, np.float32), np.array(self.image_std, np.float32)

    @contextmanager
    def _pool(self) -> Iterator[Executor | None]:
        if self.threads == 1:
            yield None
        else:
            with ThreadPoolExecutor(self.threads, thread_name_prefix="vlagent-preprocess") as pool:
                yield pool
