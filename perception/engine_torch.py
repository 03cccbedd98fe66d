"""The torch backend of `perception.engine`: runs `perception.model.Qwen2VL` with a KV cache.

It only runs tensors: numpy in, numpy logits out. Prompts, positions, sampling and stopping
belong to the engine; this module knows nothing about tokenization.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vlagent.perception.model.qwen2vl import Cache, Qwen2VL

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class TorchBackend:
    """Vision encoding, prefill and one-token decode steps on a loaded checkpoint."""

    def __init__(self, model_dir: str | Path, dtype: str = "float32", threads: int | None = None):
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
        if threads is not None:
            torch.set_num_threads(threads)
        self.model = Qwen2VL.from_pretrained(model_dir, DTYPES[dtype])
        self.config = self.model.config

    @torch.inference_mode()
    def encode(self, pixel_values: np.ndarray, grid_thw: np.ndarray) -> torch.Tensor:
        """Vision features [tokens, hidden] for patch rows [N, 1176] with grids [k, 3]."""
        return self.model.encode_images(torch.from_numpy(pixel_values), grid_thw)

    @torch.inference_mode()
    def prefill(self, input_ids: np.ndarray, position_ids: np.ndarray, rope_deltas: np.ndarray,
                image_features: torch.Tensor | None = None, video_features: torch.Tensor | None = None,
                attention_mask: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """Last-position logits [B, vocab] float32 and the cache, for ids [B, L], positions [3, B, L]."""
        ids = torch.from_numpy(input_ids)
        embeds = self.model.embed_tokens(ids)
        if image_features is not None:
            embeds = self.model.insert_features(embeds, ids, self.config.image_token_id, image_features)
        if video_features is not None:
            embeds = self.model.insert_features(embeds, ids, self.config.video_token_id, video_features)
        mask = None if attention_mask is None else torch.from_numpy(attention_mask)
        hidden, kv = self.model.text(embeds, torch.from_numpy(position_ids), mask)
        return self._logits(hidden), Cache(kv, torch.from_numpy(rope_deltas))

    @torch.inference_mode()
    def decode(self, cache: Cache, token_ids: np.ndarray, attention_mask: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """Logits [B, vocab] for one new token per row (ids [B]) after `cache`."""
        mask = None if attention_mask is None else torch.from_numpy(attention_mask)
        logits, cache = self.model(torch.from_numpy(token_ids)[:, None], attention_mask=mask,
                                   past_key_values=cache, use_cache=True)
        return logits[:, -1].float().numpy(), cache

    def _logits(self, hidden: torch.Tensor) -> np.ndarray:
        return self.model.logits(hidden[:, -1:])[:, -1].float().numpy()
