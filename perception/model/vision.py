"""Qwen2-VL vision tower: patch rows in, merged visual tokens out.

`VisionTower.forward(pixel_values [N, 1176], positions [N, 2], cu_seqlens [frames + 1])`
returns `[N / merge^2, out_hidden]`. Everything data-dependent (the (h, w) index of each patch,
frame boundaries) comes in as tensors computed by `perception.positions`, and the
block-diagonal attention is one masked attention whose mask is built from cu_seqlens with
comparisons only: no split by `grid_thw.tolist()`, so an exported graph keeps N dynamic.

The reference Conv3d patch embed (kernel = stride = (2, 14, 14)) is a Linear over the
pre-flattened 1176-value patch rows; checkpoints are reshaped on load (see `weights.py`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vlagent.perception.model.config import VisionConfig

LAYER_NORM_EPS = 1e-6  # fixed in the reference, not a config field


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate in float32 whatever the weights' dtype, as the reference does."""
    xf = x.float()
    return (xf * cos + rotate_half(xf) * sin).to(x.dtype)


def vision_rope(positions: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [N, head_dim] for (h, w) patch indices [N, 2]: concat(h*f, w*f), doubled."""
    quarter = torch.arange(0, head_dim // 2, 2, dtype=torch.float32, device=positions.device)
    inv_freq = 1.0 / theta ** (quarter / (head_dim // 2))
    freqs = positions.float()[..., None] * inv_freq  # [N, 2, head_dim/4]
    freqs = freqs.flatten(1)  # [N, head_dim/2]: h frequencies then w frequencies
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def frame_mask(cu_seqlens: torch.Tensor, n: int) -> torch.Tensor:
    """[N, N] bool: True where both patches lie in the same frame segment of cu_seqlens."""
    index = torch.arange(n, device=cu_seqlens.device)
    segment = (index[:, None] >= cu_seqlens[None, :]).sum(-1)  # no slicing: keeps K symbolic from 2 up
    return segment[:, None] == segment[None, :]


class VisionAttention(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.num_heads = cfg.num_heads
        self.qkv = nn.Linear(cfg.embed_dim, 3 * cfg.embed_dim)
        self.proj = nn.Linear(cfg.embed_dim, cfg.embed_dim)

    def forward(self, x, cos, sin, mask):
        n, dim = x.shape
        q, k, v = self.qkv(x).view(n, 3, self.num_heads, -1).permute(1, 2, 0, 3)  # [H, N, hd] each
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(y.transpose(0, 1).reshape(n, dim))


class VisionMLP(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.embed_dim, cfg.mlp_dim)
        self.fc2 = nn.Linear(cfg.mlp_dim, cfg.embed_dim)

    def forward(self, x):
        x = self.fc1(x)
        return self.fc2(x * torch.sigmoid(1.702 * x))  # QuickGELU


class VisionBlock(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.embed_dim, eps=LAYER_NORM_EPS)
        self.attn = VisionAttention(cfg)
        self.norm2 = nn.LayerNorm(cfg.embed_dim, eps=LAYER_NORM_EPS)
        self.mlp = VisionMLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.norm1(x), cos, sin, mask)
        return x + self.mlp(self.norm2(x))


def lerp_rows(table: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Rows of `table` [S, e] at float coordinates [N] (clamped to [0, S - 1]), linearly interpolated."""
    last = table.shape[0] - 1
    coords = coords.clamp(0, last)  # outside the table: its edge rows, never an extrapolation
    low = coords.floor()
    frac = (coords - low)[:, None].to(table.dtype)
    low = low.long()
    high = (low + 1).clamp(max=last)
    # index_select rather than table[low]: exported, it reads the named table itself (one Gather),
    # where advanced indexing left a renamed copy of the table per read (from_package reads names)
    return table.index_select(0, low) * (1 - frac) + table.index_select(0, high) * frac


class PatchMerger(nn.Module):
    """LayerNorm, then each 2x2 block of consecutive rows -> one LM-width token."""

    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.wide = cfg.embed_dim * cfg.spatial_merge_size**2
        self.ln_q = nn.LayerNorm(cfg.embed_dim, eps=LAYER_NORM_EPS)
        self.mlp = nn.Sequential(nn.Linear(self.wide, self.wide), nn.GELU(), nn.Linear(self.wide, cfg.hidden_size))

    def forward(self, x):
        return self.mlp(self.ln_q(x).reshape(-1, self.wide))


class VisionTower(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = nn.Linear(cfg.patch_dim, cfg.embed_dim, bias=False)
        if cfg.learned_abs_pos:
            self.pos_row = nn.Embedding(cfg.abs_pos_max_side, cfg.embed_dim)
            self.pos_col = nn.Embedding(cfg.abs_pos_max_side, cfg.embed_dim)
        self.blocks = nn.ModuleList(VisionBlock(cfg) for _ in range(cfg.depth))
        self.merger = PatchMerger(cfg)

    def abs_pos(self, positions: torch.Tensor, abs_coords: torch.Tensor | None) -> torch.Tensor:
        """[N, embed] learned absolute position: the tables at the patch index (`abs_coords`
        None), or read between rows at float coordinates [N, 2] (`positions.vision_abs_coords`)."""
        if abs_coords is None:
            return self.pos_row(positions[:, 0]) + self.pos_col(positions[:, 1])
        return lerp_rows(self.pos_row.weight, abs_coords[:, 0]) + lerp_rows(self.pos_col.weight, abs_coords[:, 1])

    def forward(self, pixel_values: torch.Tensor, positions: torch.Tensor, cu_seqlens: torch.Tensor,
                abs_coords: torch.Tensor | None = None) -> torch.Tensor:
        """pixel_values [N, patch_dim], positions [N, 2] (h, w), cu_seqlens [frames + 1],
        abs_coords [N, 2] float (only with `abs_pos_ref_grid`) -> [N/m^2, hidden]."""
        x = self.patch_embed(pixel_values.to(self.patch_embed.weight.dtype))
        if self.cfg.learned_abs_pos:
            x = x + self.abs_pos(positions, abs_coords)
        cos, sin = vision_rope(positions, self.cfg.head_dim, self.cfg.rope_theta)
        mask = frame_mask(cu_seqlens, x.shape[0])
        for block in self.blocks:
            x = block(x, cos, sin, mask)
        return self.merger(x)
