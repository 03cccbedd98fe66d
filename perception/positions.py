"""Qwen2-VL position bookkeeping in pure numpy, shared by the torch model and the ONNX runtime.

Contract (matches HF transformers 5.24 `qwen2_vl`):
- `get_rope_index`: M-RoPE position ids [3, B, L] (rows t, h, w) and rope deltas [B, 1] for a
  prompt whose vision tokens are runs of `image_token_id` / `video_token_id`.
- `vision_positions`: the (h, w) patch index of every vision-tower row, in 2x2 merge-block order.
- `vision_abs_coords`: resolution-free coordinates into a tiny model's learned abs-position tables.
- `vision_cu_seqlens`: frame boundaries of the block-diagonal vision attention.
- `vision_segment_ids` / `vision_attention_mask`: the same boundaries as a per-patch id / a mask.

Written by hand (not imported from transformers) because the runtime path must not import torch.
Grids are (t, h, w) in patches of 14 px: t counts temporal patches (2 frames each).
"""

from __future__ import annotations

import numpy as np

from vlagent.perception.errors import VlagentError

TEXT, IMAGE, VIDEO = 0, 1, 2


class PositionError(VlagentError, ValueError):
    """The tokens and the vision grids disagree (token counts, number of images, shapes)."""


def _as_grid(grid_thw, name: str) -> np.ndarray:
    if grid_thw is None:
        return np.zeros((0, 3), dtype=np.int64)
    grid = np.asarray(grid_thw, dtype=np.int64)
    if grid.ndim != 2 or grid.shape[1] != 3:
        raise PositionError(f"{name} must have shape [k, 3], got {grid.shape}")
    if (grid <= 0).any():
        raise PositionError(f"{name} must be positive, got {grid.tolist()}")
    return grid


def _runs(types: np.ndarray) -> list[tuple[int, int, int]]:
    """(type, start, end) for each run of equal token types."""
    if types.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(types)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [types.size]])
    return [(int(types[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def _grid_positions(start: int, grid: np.ndarray, merge: int) -> np.ndarray:
    """[3, t*h*w/merge^2] positions of one vision block: start + (t, h, w) on the merged grid."""
    t, h, w = int(grid[0]), int(grid[1]) // merge, int(grid[2]) // merge
    tt, hh, ww = np.meshgrid(np.arange(t), np.arange(h), np.arange(w), indexing="ij")
    return np.stack([tt, hh, ww]).reshape(3, -1) + start


def get_rope_index(
    input_ids,
    image_grid_thw=None,
    video_grid_thw=None,
    attention_mask=None,
    *,
    spatial_merge_size: int,
    image_token_id: int,
    video_token_id: int,
    vision_start_token_id: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """M-RoPE position ids [3, B, L] int64 and rope deltas [B, 1] int64.

    Over the tokens where `attention_mask` is 1 (left padding gets position 0): text advances
    one position per token on all three axes; a vision block of grid (t, h, w) takes
    `base + (t, h/m, w/m)` and the text after it restarts at `base + max(h, w)/m`, as in
    transformers 5.24 (4.x used `max + 1`; they differ only when t > max(h, w)/m).
    `rope_delta = max_position + 1 - valid_len`: while decoding, the token at valid index c
    gets position c + rope_delta. Images and videos consume their grids in batch order.
    `vision_start_token_id` is accepted for signature parity with the 4.x algorithm; 5.24 finds
    vision blocks by token type alone, and so does this function.
    """
    del vision_start_token_id
    ids = np.asarray(input_ids, dtype=np.int64)
    if ids.ndim != 2:
        raise PositionError(f"input_ids must have shape [B, L], got {ids.shape}")
    mask = np.ones_like(ids, bool) if attention_mask is None else np.asarray(attention_mask) != 0
    if mask.shape != ids.shape:
        raise PositionError(f"attention_mask shape {mask.shape} != input_ids shape {ids.shape}")
    grids = {IMAGE: _as_grid(image_grid_thw, "image_grid_thw"),
             VIDEO: _as_grid(video_grid_thw, "video_grid_thw")}
    used = {IMAGE: 0, VIDEO: 0}
    merge2 = spatial_merge_size**2

    position_ids = np.zeros((3,) + ids.shape, dtype=np.int64)
    deltas = np.zeros((ids.shape[0], 1), dtype=np.int64)
    for b in range(ids.shape[0]):
        tokens = ids[b][mask[b]]
        types = np.where(tokens == image_token_id, IMAGE, np.where(tokens == video_token_id, VIDEO, TEXT))
        pieces, pos = [], 0
        for kind, start, end in _runs(types):
            if kind == TEXT:
                pieces.append(np.broadcast_to(np.arange(end - start) + pos, (3, end - start)))
                pos += end - start
                continue
            left = end - start  # one run may hold several back-to-back blocks
            while left > 0:
                if used[kind] >= len(grids[kind]):
                    name = "image" if kind == IMAGE else "video"
                    raise PositionError(f"more {name} token blocks than {name} grids ({len(grids[kind])})")
                grid = grids[kind][used[kind]]
                used[kind] += 1
                count = int(grid.prod()) // merge2
                if count > left:
                    raise PositionError(f"grid {grid.tolist()} needs {count} tokens, the prompt has {left}")
                pieces.append(_grid_positions(pos, grid, spatial_merge_size))
                pos += int(max(grid[1], grid[2])) // spatial_merge_size
                left -= count
        if pieces:
            row = np.concatenate(pieces, axis=1)
            position_ids[:, b, mask[b]] = row
            deltas[b, 0] = row.max() + 1 - tokens.size
    for kind, name in ((IMAGE, "image"), (VIDEO, "video")):
        if used[kind] != len(grids[kind]):
            raise PositionError(f"{len(grids[kind])} {name} grids but {used[kind]} {name} blocks in input_ids")
    return position_ids, deltas


def vision_positions(grid_thw, merge_size: int) -> np.ndarray:
    """[N, 2] int64 (h, w) patch index of every vision row, merge-block order, frames repeated."""
    out = []
    for t, h, w in _as_grid(grid_thw, "grid_thw"):
        if h % merge_size or w % merge_size:
            raise PositionError(f"grid {(t, h, w)} is not divisible by merge size {merge_size}")
        hh, ww = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        blocks = (h // merge_size, merge_size, w // merge_size, merge_size)
        hw = np.stack([hh.reshape(blocks).transpose(0, 2, 1, 3).ravel(),
                       ww.reshape(blocks).transpose(0, 2, 1, 3).ravel()], axis=-1)
        out.append(np.tile(hw, (t, 1)))
    return np.concatenate(out).astype(np.int64) if out else np.zeros((0, 2), np.int64)


def vision_abs_coords(grid_thw, merge_size: int, ref_grid: tuple[int, int]) -> np.ndarray:
    """[N, 2] float32 (row, col) coordinates into the learned absolute-position tables.

    Each patch's centre as a fraction of its image, scaled to the reference grid `ref_grid`
    (rows, cols in patches): ``(i + 0.5) * R / h - 0.5``, clipped to [0, R - 1]. On the
    reference grid this is the patch index itself; on any other grid it is the same relative
    place, read between table rows by linear interpolation (`VisionTower`). Rows in the order of
    `vision_positions`.
    """
    ref = np.asarray(ref_grid, dtype=np.float64)
    out = []
    for t, h, w in _as_grid(grid_thw, "grid_thw"):
        index = vision_positions([[t, h, w]], merge_size).astype(np.float64)
        coords = (index + 0.5) * (ref / np.array([h, w], np.float64)) - 0.5
        out.append(np.clip(coords, 0.0, ref - 1))
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 2), np.float32)


def vision_cu_seqlens(grid_thw) -> np.ndarray:
    """[frames + 1] int64 cumulative patch counts: one attention block per temporal patch."""
    grid = _as_grid(grid_thw, "grid_thw")
    lengths = np.repeat(grid[:, 1] * grid[:, 2], grid[:, 0])
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def vision_segment_ids(cu_seqlens) -> np.ndarray:
    """[N] int64 block index of every patch row, from cu_seqlens [frames + 1]."""
    cu = np.asarray(cu_seqlens, dtype=np.int64)
    return np.repeat(np.arange(cu.size - 1), np.diff(cu))


def vision_attention_mask(cu_seqlens) -> np.ndarray:
    """[N, N] bool, True where patch i may attend to patch j (same frame of the same image)."""
    seg = vision_segment_ids(cu_seqlens)
    return seg[:, None] == seg[None, :]
