"""Samples -> padded torch batches, with the per-visual-token targets of the dense heads.

Visual tokens are the merged 2x2 patch cells in row-major order over the (h/28, w/28) grid of
the model input; a token's position is its cell centre in norm-1000. Dense targets per token:
the label class of the smallest target element whose box contains that centre (0 = none,
else 1 + crc32(label) mod LABEL_BUCKETS - 1), its box as four coordinates / 10 (0..100 classes),
and whether that element is the queried one. -100 marks "no target" for the CE losses.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch

from vlagent.perception.processor import ImageProcessor
from vlagent.perception.train.samples import IGNORE, Sample, encode
from vlagent.perception.train.screens import Target

LABEL_BUCKETS = 512


@dataclass
class Batch:
    input_ids: torch.Tensor  # [B, L] int64, right-padded
    attention_mask: torch.Tensor  # [B, L] int64
    labels: torch.Tensor  # [B, L] int64, IGNORE outside answers
    pixel_values: torch.Tensor  # [N, 1176] float32
    grid_thw: torch.Tensor  # [B, 3] int64
    dense_label: torch.Tensor  # [T] int64 over all visual tokens of the batch
    dense_box: torch.Tensor  # [T, 4] int64 (IGNORE where no element)
    dense_query: torch.Tensor  # [T] float32 1/0, -1 where the sample is not a grounding query
    dense_pos: torch.Tensor  # [T, 2] int64: the token's cell centre (x, y) in norm-1000 / 10


def label_class(label: str) -> int:
    return 1 + zlib.crc32(label.encode()) % (LABEL_BUCKETS - 1)


def token_targets(targets: list[Target], query: Target | None, gh: int, gw: int):
    """Dense targets for a gh x gw grid of visual tokens (see module docstring)."""
    cx = (np.arange(gw) + 0.5) / gw * 1000
    cy = (np.arange(gh) + 0.5) / gh * 1000
    area = np.full((gh, gw), np.inf)
    lab = np.zeros((gh, gw), np.int64)
    box = np.full((gh, gw, 4), IGNORE, np.int64)
    hit = np.zeros((gh, gw), np.float32)
    for t in targets:
        x1, y1, x2, y2 = t.box
        inside = ((cy >= y1) & (cy < y2))[:, None] & ((cx >= x1) & (cx < x2))[None, :]
        a = (x2 - x1) * (y2 - y1)
        take = inside & (a < area)
        area[take] = a
        lab[take] = label_class(t.label)
        box[take] = np.array(t.box) // 10
        hit[take] = 1.0 if (query is not None and t == query) else 0.0
    if query is None:
        hit[:] = -1.0
    return lab.reshape(-1), box.reshape(-1, 4), hit.reshape(-1)


def collate(samples: list[Sample], screen_targets: list[list[Target] | None], tokenizer,
            processor: ImageProcessor, pad_id: int) -> Batch:
    vision = processor.preprocess_images([s.image for s in samples])
    counts = vision.token_counts
    rows, labels = zip(*(encode(tokenizer, s, n) for s, n in zip(samples, counts, strict=True)), strict=True)
    length = max(len(r) for r in rows)
    ids = np.full((len(rows), length), pad_id, np.int64)
    lab = np.full((len(rows), length), IGNORE, np.int64)
    mask = np.zeros((len(rows), length), np.int64)
    for i, (r, lb) in enumerate(zip(rows, labels, strict=True)):
        ids[i, :len(r)], lab[i, :len(r)], mask[i, :len(r)] = r, lb, 1
    dl, db, dq, dp = [], [], [], []
    for s, targets, (_, gh, gw) in zip(samples, screen_targets, vision.grid_thw, strict=True):
        gh, gw = int(gh) // 2, int(gw) // 2
        yy, xx = np.meshgrid((np.arange(gh) + 0.5) / gh * 100, (np.arange(gw) + 0.5) / gw * 100, indexing="ij")
        dp.append(np.stack([xx.ravel(), yy.ravel()], 1).astype(np.int64))
        if targets is None:
            dl.append(np.full(gh * gw, IGNORE)), db.append(np.full((gh * gw, 4), IGNORE)), dq.append(np.full(gh * gw, -1.0))
        else:
            a, b, c = token_targets(targets, s.target, gh, gw)
            dl.append(a), db.append(b), dq.append(c)
    return Batch(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(lab),
                 torch.from_numpy(vision.pixel_values), torch.from_numpy(vision.grid_thw),
                 torch.from_numpy(np.concatenate(dl)).long(), torch.from_numpy(np.concatenate(db)).long(),
                 torch.from_numpy(np.concatenate(dq)).float(), torch.from_numpy(np.concatenate(dp)))
