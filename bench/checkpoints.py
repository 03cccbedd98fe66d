"""Random Qwen2-VL-2B-shaped checkpoints for the benchmarks (timing needs shapes, not training).

`save_random_checkpoint(path, text=..., vision=...)` writes the small tokenizer and a model whose
config is `QWEN2_VL_2B` with the given text / vision fields replaced and its special token ids
set to the small tokenizer's, initialised with seed 0 (std 0.02), so every benchmark that builds
"the 2B shapes with N layers" builds the same weights.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path


def save_random_checkpoint(path: Path, text: dict | None = None, vision: dict | None = None) -> None:
    import torch

    from vlagent.perception.model import QWEN2_VL_2B, Qwen2VL
    from vlagent.perception.tokenizer import (
        IM_END,
        IMAGE_PAD,
        VIDEO_PAD,
        VISION_END,
        VISION_START,
        build_small_tokenizer,
    )

    path.mkdir(parents=True, exist_ok=True)
    ids = build_small_tokenizer(path).special_ids
    base = QWEN2_VL_2B
    config = base.replace(text=dataclasses.replace(base.text, **(text or {})),
                          vision=dataclasses.replace(base.vision, **(vision or {})),
                          image_token_id=ids[IMAGE_PAD], video_token_id=ids[VIDEO_PAD],
                          vision_start_token_id=ids[VISION_START], vision_end_token_id=ids[VISION_END],
                          eos_token_ids=(ids[IM_END],), bos_token_id=None, pad_token_id=None)
    torch.manual_seed(0)
    Qwen2VL(config).save_pretrained(path)
