"""Video frame sampling and the per-clip visual token budget for Qwen2-VL.

Qwen2-VL samples video at 2 frames/s, groups frames in pairs (the temporal patch), gives
every frame the same size, and keeps a clip at 16384 visual tokens at most. This module
holds the two pure calculations behind that; `ImageProcessor.preprocess_video` applies them.

Frame sampling follows transformers 5.24 `Qwen2VLVideoProcessor.sample_frames` (same clamps,
same indices), computed with integers: the reference's float32 `torch.arange` now and then
yields one index more than the frame count it computed, an odd count it then pads.
"""

import math

import numpy as np

from vlagent.perception.errors import VlagentError

VIDEO_FPS = 2.0
VIDEO_MAX_TOKENS = 16384
VIDEO_MIN_FRAMES = 4
VIDEO_MAX_FRAMES = 768


class VideoInputError(VlagentError, ValueError):
    """A clip cannot be sampled or cannot fit its token budget."""


def sample_frame_indices(
    total_frames: int,
    source_fps: float | None,
    fps: float = VIDEO_FPS,
    temporal_patch_size: int = 2,
    min_frames: int = VIDEO_MIN_FRAMES,
    max_frames: int = VIDEO_MAX_FRAMES,
) -> np.ndarray:
    """Indices (int64, ascending) of the frames to keep from a clip of `total_frames` frames.

    `source_fps` is the clip's frame rate (frames/s); None means the frames are already
    sampled and all are kept. Otherwise `fps` frames/s are kept, clamped to
    [min_frames, max_frames] and to the clip, floored to a multiple of `temporal_patch_size`;
    a clip shorter than one temporal patch keeps all its frames (the caller pads it).
    """
    if total_frames < 1:
        raise VideoInputError(f"a video needs at least one frame, got {total_frames}")
    if source_fps is None:
        return np.arange(total_frames, dtype=np.int64)
    if not (source_fps > 0 and fps > 0 and math.isfinite(source_fps) and math.isfinite(fps)):
        raise VideoInputError(
            f"frame rates must be positive, got source {source_fps}, target {fps}"
        )
    cap = math.floor(min(max_frames, total_frames) / temporal_patch_size) * temporal_patch_size
    wanted = total_frames / source_fps * fps
    count = min(max(wanted, min_frames), cap, total_frames)
    count = math.floor(count / temporal_patch_size) * temporal_patch_size
    if count == 0:
        return np.arange(total_frames, dtype=np.int64)
    return np.arange(count, dtype=np.int64) * total_frames // count


def padded_frame_indices(indices: np.ndarray, temporal_patch_size: int = 2) -> np.ndarray:
    """`indices` with the last one repeated until the count is a multiple of the temporal patch."""
    pad = -len(indices) % temporal_patch_size
    return np.concatenate([indices, np.repeat(indices[-1:], pad)]) if pad else indices


def frame_max_pixels(
    grid_t: int, max_pixels: int, factor: int = 28, max_tokens: int = VIDEO_MAX_TOKENS
) -> int:
    """The per-frame pixel cap (px) that keeps `grid_t` temporal slots within `max_tokens`.

    One merged token covers factor x factor px of a frame pair, so a slot may use at most
    floor(max_tokens / grid_t) tokens. Never above the processor's own `max_pixels`.
    """
    per_slot = max_tokens // grid_t
    if per_slot < 1:
        raise VideoInputError(
            f"{grid_t} frame pairs cannot fit {max_tokens} visual tokens; sample fewer frames"
        )
    return min(max_pixels, per_slot * factor * factor)
