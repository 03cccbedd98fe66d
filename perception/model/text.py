"""Qwen2 decoder with M-RoPE: embeddings in, final-norm hidden states and a KV cache out.

`TextModel.forward(inputs_embeds [B, L, D], position_ids [3, B, L], attention_mask [B, T] | None,
past: KV | None)` with T = past length + L. The causal mask follows cache order (key j is
visible to query i when j <= past + i), never the M-RoPE positions, which are not monotonic
around images. `attention_mask` (1 = real token, 0 = left padding) removes padded keys.
Masking is additive with the dtype's minimum rather than -inf so a fully padded query row
stays finite instead of turning into NaN and leaking through later layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vlagent.perception.model.config import TextConfig

KV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer (k, v), each [B, kv_heads, T, head_dim]


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def mrope_cos_sin(position_ids: torch.Tensor, cfg: TextConfig, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [B, 1, L, head_dim] from positions [3, B, L]: frequency chunk i uses row i % 3."""
    half = torch.arange(0, cfg.head_dim, 2, dtype=torch.float32, device=position_ids.device)
    inv_freq = 1.0 / cfg.rope_theta ** (half / cfg.head_dim)
    freqs = position_ids.float()[..., None] * inv_freq  # [3, B, L, head_dim/2]
    chunks = freqs.split(list(cfg.mrope_section), dim=-1)
    freqs = torch.cat([chunk[i % 3] for i, chunk in enumerate(chunks)], dim=-1)
    emb = torch.cat((freqs, freqs), dim=-1)[:, None]
    return emb.cos().to(dtype), emb.sin().to(dtype)


def causal_mask(attention_mask: torch.Tensor | None, batch: int, length: int, past: int,
                dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Additive mask [B, 1, L, past + L]: 0 where visible, dtype min where hidden."""
    q = torch.arange(length, device=device)[:, None] + past
    k = torch.arange(past + length, device=device)[None, :]
    visible = (k <= q)[None].expand(batch, -1, -1)
    if attention_mask is not None:
        visible = visible & attention_mask[:, None, :].bool()
    zero = torch.zeros((), dtype=dtype, device=device)
    return torch.where(visible, zero, torch.finfo(dtype).min)[:, None]


class Attention(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, self.heads * self.head_dim)
        self.k_proj = nn.Linear(cfg.hidden_size, self.kv_heads * self.head_dim)
        self.v_proj = nn.Linear(cfg.hidden_size, self.kv_heads * self.head_dim)
        self.o_proj = nn.Linear(self.heads * self.head_dim, cfg.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask, past: tuple[torch.Tensor, torch.Tensor] | None):
        b, n, _ = x.shape
        q = self.q_proj(x).view(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        groups = self.heads // self.kv_heads  # GQA: each KV head serves `groups` query heads
        y = F.scaled_dot_product_attention(q, k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1),
                                           attn_mask=mask)
        return self.o_proj(y.transpose(1, 2).reshape(b, n, -1)), (k, v)


class MLP(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask, past):
        h, kv = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x)), kv


class TextModel(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, inputs_embeds: torch.Tensor, position_ids: torch.Tensor,
                attention_mask: torch.Tensor | None = None, past: KV | None = None) -> tuple[torch.Tensor, KV]:
        """Hidden states [B, L, D] after the final norm, and the updated per-layer (k, v)."""
        b, n, _ = inputs_embeds.shape
        past_len = 0 if past is None else past[0][0].shape[2]
        mask = causal_mask(attention_mask, b, n, past_len, inputs_embeds.dtype, inputs_embeds.device)
        cos, sin = mrope_cos_sin(position_ids, self.cfg, inputs_embeds.dtype)
        x, kv = inputs_embeds, []
        for i, layer in enumerate(self.layers):
            x, layer_kv = layer(x, cos, sin, mask, None if past is None else past[i])
            kv.append(layer_kv)
        return self.norm(x), kv
