"""Qwen2-VL: vision tower + Qwen2 decoder, loading and saving HF-format checkpoints.

`Qwen2VL(input_ids, pixel_values=..., image_grid_thw=..., attention_mask=...)` returns logits
[B, L, vocab]. With `use_cache=True` it returns `(logits, Cache)`; pass the Cache back as
`past_key_values` with the next tokens (and the attention mask grown to cover them).
Vision inputs are only accepted at prefill. Vision features replace the image / video pad
tokens in order; M-RoPE positions come from `perception.positions.get_rope_index`.
The pieces an exporter needs are separate: `embed_tokens`, `visual` (VisionTower),
`text` (TextModel) and `logits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vlagent.perception import positions as P
from vlagent.perception.model.config import ModelInputError, Qwen2VLConfig
from vlagent.perception.model.text import KV, TextModel
from vlagent.perception.model.vision import VisionTower
from vlagent.perception.model.weights import check_state_dict, read_state_dict, write_checkpoint


@dataclass
class Cache:
    """Per-layer keys/values in cache order and the M-RoPE offset of each row."""

    kv: KV
    rope_deltas: torch.Tensor  # [B, 1] int64: decode position = valid index + delta

    @property
    def length(self) -> int:
        return self.kv[0][0].shape[2]


def _numpy(x) -> np.ndarray | None:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else (None if x is None else np.asarray(x))


class Qwen2VL(nn.Module):
    def __init__(self, config: Qwen2VLConfig):
        super().__init__()
        self.config = config
        self.visual = VisionTower(config.vision)
        self.text = TextModel(config.text)
        if not config.tie_word_embeddings:
            self.lm_head = nn.Linear(config.text.hidden_size, config.text.vocab_size, bias=False)
        self.apply(_init_weights)

    # --- pieces -------------------------------------------------------------------------
    def embed_tokens(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.text.embed_tokens(input_ids)

    def encode_images(self, pixel_values: torch.Tensor, grid_thw) -> torch.Tensor:
        """Patch rows [N, patch_dim] of k images or videos with grids [k, 3] -> [N / m^2, hidden]."""
        cfg = self.config.vision
        grid = _numpy(grid_thw).astype(np.int64)
        if pixel_values.ndim != 2 or pixel_values.shape[1] != cfg.patch_dim:
            raise ModelInputError(f"pixel_values must be [N, {cfg.patch_dim}], got {tuple(pixel_values.shape)}")
        if pixel_values.shape[0] != int(grid.prod(-1).sum()):
            raise ModelInputError(f"{pixel_values.shape[0]} pixel rows but grids {grid.tolist()} need {int(grid.prod(-1).sum())}")
        cfg.check_grid(grid)
        device = pixel_values.device
        pos = torch.from_numpy(P.vision_positions(grid, cfg.spatial_merge_size)).to(device)
        cu = torch.from_numpy(P.vision_cu_seqlens(grid)).to(device)
        coords = None
        if cfg.relative_abs_pos:
            coords = torch.from_numpy(P.vision_abs_coords(grid, cfg.spatial_merge_size, cfg.abs_pos_ref_grid)).to(device)
        return self.visual(pixel_values, pos, cu, coords)

    def get_rope_index(self, input_ids, image_grid_thw=None, video_grid_thw=None, attention_mask=None):
        """M-RoPE position ids [3, B, L] and rope deltas [B, 1], as int64 tensors on input_ids' device."""
        c = self.config
        pos, deltas = P.get_rope_index(
            _numpy(input_ids), _numpy(image_grid_thw), _numpy(video_grid_thw), _numpy(attention_mask),
            spatial_merge_size=c.vision.spatial_merge_size, image_token_id=c.image_token_id,
            video_token_id=c.video_token_id, vision_start_token_id=c.vision_start_token_id)
        device = input_ids.device if isinstance(input_ids, torch.Tensor) else None
        return torch.from_numpy(pos).to(device), torch.from_numpy(deltas).to(device)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        weight = self.text.embed_tokens.weight if self.config.tie_word_embeddings else self.lm_head.weight
        return F.linear(hidden, weight)

    def insert_features(self, embeds, input_ids, token_id: int, features) -> torch.Tensor:
        """Replace the embeddings of `token_id` pads, in order, by `features` [n, hidden]."""
        slots = input_ids == token_id
        if int(slots.sum()) != features.shape[0]:
            raise ModelInputError(f"{int(slots.sum())} pad tokens (id {token_id}) but {features.shape[0]} features")
        return embeds.masked_scatter(slots[..., None].expand_as(embeds), features.to(embeds.dtype))

    # --- the forward --------------------------------------------------------------------
    def forward(self, input_ids, pixel_values=None, image_grid_thw=None, attention_mask=None,
                pixel_values_videos=None, video_grid_thw=None, position_ids=None,
                past_key_values: Cache | None = None, use_cache: bool = False):
        c = self.config
        embeds = self.embed_tokens(input_ids)
        has_vision = pixel_values is not None or pixel_values_videos is not None
        if has_vision and past_key_values is not None:
            raise ModelInputError("vision inputs are only accepted at prefill (past_key_values is None)")
        if pixel_values is not None:
            embeds = self.insert_features(embeds, input_ids, c.image_token_id, self.encode_images(pixel_values, image_grid_thw))
        if pixel_values_videos is not None:
            embeds = self.insert_features(embeds, input_ids, c.video_token_id, self.encode_images(pixel_values_videos, video_grid_thw))

        if past_key_values is None:
            if position_ids is None:
                position_ids, rope_deltas = self.get_rope_index(input_ids, image_grid_thw, video_grid_thw, attention_mask)
            else:  # the same rule as get_rope_index: max position + 1 - valid length
                valid = input_ids.shape[1] if attention_mask is None else attention_mask.sum(-1, keepdim=True)
                rope_deltas = position_ids.amax(dim=(0, 2))[:, None] + 1 - valid
        else:
            rope_deltas = past_key_values.rope_deltas
            if position_ids is None:
                position_ids = decode_positions(past_key_values, input_ids.shape[1], attention_mask)

        hidden, kv = self.text(embeds, position_ids, attention_mask, None if past_key_values is None else past_key_values.kv)
        logits = self.logits(hidden)
        return (logits, Cache(kv, rope_deltas)) if use_cache else logits

    # --- checkpoints --------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path, dtype: torch.dtype = torch.float32) -> Qwen2VL:
        """Load an HF-format directory (config.json + safetensors), in eval mode."""
        config = Qwen2VLConfig.from_file(path)
        with torch.device("meta"):
            model = cls(config)
        state = read_state_dict(path, config, dtype)
        check_state_dict(state, model.state_dict())
        model.load_state_dict(state, assign=True)
        return model.eval()

    def save_pretrained(self, path: str | Path) -> None:
        """Write config.json + model.safetensors that transformers 5.24 loads."""
        write_checkpoint(path, self.state_dict(), self.config)


def decode_positions(cache: Cache, length: int, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """[3, B, length] positions of new tokens after `cache`: valid index + rope delta."""
    if attention_mask is not None:
        index = attention_mask.long().cumsum(-1)[:, -length:] - 1
    else:
        index = torch.arange(cache.length, cache.length + length, device=cache.rope_deltas.device)[None]
    return (index + cache.rope_deltas)[None].expand(3, cache.rope_deltas.shape[0], -1)


def _init_weights(module: nn.Module) -> None:
    """Random init for from-scratch models (std 0.02, as the reference's initializer_range)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
