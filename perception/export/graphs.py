"""Export wrappers: the torch modules whose inputs and outputs are exactly the ONNX graphs' I/O.

`VisionGraph(pixel_values [N, 1176] f32, positions [N, 2] i64, cu_seqlens [K + 1] i64)
-> image_embeds [N / merge^2, hidden]`: the vision tower's arithmetic, with the (h, w) patch
indices and frame bounds as tensors and the block-diagonal mask built from cu_seqlens with
comparisons, so N and K stay symbolic. Its attention is one masked attention over all frames.

`DecoderGraph(inputs_embeds [B, L, D], attention_mask [B, S + L] i64, position_ids [3, B, L] i64,
logits_index [K] i64, past_key_values.{i}.key/value [B, kv_heads, S, head_dim])
-> logits [B, K, vocab], present.{i}.key/value [B, kv_heads, L, head_dim]`.
One graph serves prefill (S = 0) and decode (L = 1). `present.*` holds only the L NEW keys and
values: the runtime writes them into its preallocated cache, so no step copies the whole
cache. S is the cache's capacity, not its fill: slots not yet written are hidden by
`attention_mask` = 0, so the runtime can bind one fixed buffer per layer for many steps.
Attention is computed as softmax over [past scores | new scores] with the values summed in
two products, so the cache is only read (no concat), and grouped-query heads are folded into
the query length so the kv heads are never repeated. `logits_index` picks the positions
whose logits are returned (the engine asks for the last; parity tests for all of them).
Each layer's q/k/v and gate/up products are one product each (`FusedProjections`): a decode
step costs per operator as well as per weight byte (bench/peers.py, docs/PERFORMANCE.md).

The decoder's attention is written here rather than reusing `Attention.forward` because the
torch model concatenates past and new keys and repeats kv heads, which in a graph means a
full copy of the cache per layer and step; the arithmetic is the same and is checked
against the torch model by the parity tests.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vlagent.perception.export.manifest import decoder_io_names, vision_io_names
from vlagent.perception.model.qwen2vl import Qwen2VL
from vlagent.perception.model.text import Attention, causal_mask, mrope_cos_sin, rotate_half
from vlagent.perception.model.vision import VisionAttention, apply_rope, frame_mask, vision_rope

__all__ = ["DecoderGraph", "VisionGraph", "attend", "decoder_io_names", "vision_attend", "vision_io_names"]


def vision_attend(attn: VisionAttention, x, cos, sin, bias):
    """Block-diagonal self-attention of patch rows x [N, E]; bias [1, 1, N, N] is additive.

    In torch, cos / sin are [N, 1, hd] (`vision_rope`, broadcast over heads) and the attention
    is SDPA. Exported, cos / sin are the half tables [N, hd / 2] (`vision_rope`'s two halves are
    equal) and the graph is ONNX Runtime's fused contrib ops, the same arithmetic:
    `com.microsoft.RotaryEmbedding` for q and k (one pass each, about 5x faster on CPU than the
    rotate-half Mul/Split/Neg/Concat/Add it replaces, bench/vision_tower.py), and one
    `com.microsoft.MultiHeadAttention` (on CPU about 2x faster than the opset-23 `Attention` op
    with a mask, and it never holds all heads' [N, N] scores at once).
    """
    n, dim = x.shape
    q, k, v = attn.qkv(x).view(n, 3, attn.num_heads, -1).unbind(1)  # [N, H, hd] each
    if torch.onnx.is_in_onnx_export():
        # position ids 0..N-1 index the per-patch tables: row i of cos / sin is patch i's (h, w) angle
        ids = torch.arange(n, device=x.device)[None]
        q, k = (torch.onnx.ops.symbolic("com.microsoft::RotaryEmbedding", (t.reshape(1, n, dim), ids, cos, sin),
                                        {"interleaved": 0}, dtype=x.dtype, shape=(1, n, dim), version=1)
                for t in (q, k))
        y = torch.onnx.ops.symbolic("com.microsoft::MultiHeadAttention", (q, k, v.reshape(1, n, dim), None, None, bias),
                                    {"num_heads": attn.num_heads}, dtype=x.dtype, shape=(1, n, dim), version=1)
    else:
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        heads = [t.transpose(0, 1)[None] for t in (q, k, v)]
        y = F.scaled_dot_product_attention(*heads, attn_mask=bias).transpose(1, 2)
    return attn.proj(y.reshape(n, dim))


class VisionGraph(nn.Module):
    """The vision tower's forward (`perception.model.vision.VisionTower`) with `vision_attend`."""

    def __init__(self, model: Qwen2VL):
        super().__init__()
        self.visual = model.visual

    def forward(self, pixel_values, positions, cu_seqlens, abs_coords=None):
        tower, cfg = self.visual, self.visual.cfg
        x = tower.patch_embed(pixel_values)
        if cfg.learned_abs_pos:
            x = x + tower.abs_pos(positions, abs_coords)
        cos, sin = vision_rope(positions, cfg.head_dim, cfg.rope_theta)
        if torch.onnx.is_in_onnx_export():
            cos, sin = cos[:, : cfg.head_dim // 2], sin[:, : cfg.head_dim // 2]  # RotaryEmbedding's tables
        else:
            cos, sin = cos[:, None], sin[:, None]  # broadcast over heads of [N, H, hd]
        same_frame = frame_mask(cu_seqlens, x.shape[0])
        bias = torch.where(same_frame, 0.0, torch.finfo(x.dtype).min)[None, None]
        for block in tower.blocks:
            x = x + vision_attend(block.attn, block.norm1(x), cos, sin, bias)
            x = x + block.mlp(block.norm2(x))
        return tower.merger(x)


def fuse_linears(*linears: nn.Linear) -> nn.Linear:
    """One Linear computing `linears` side by side (outputs concatenated in order).

    Each original module's weight (and bias) becomes a view of the fused one, so nothing is
    held twice and the originals compute what they did. Per-column quantization (int8 per
    column, int4 blocks along K per column) gives the fused weight exactly the codes of the parts.
    """
    rows = [lin.out_features for lin in linears]
    fused = nn.Linear(linears[0].in_features, sum(rows), bias=linears[0].bias is not None)
    with torch.no_grad():
        fused.weight = nn.Parameter(torch.cat([lin.weight for lin in linears]))
        weights = fused.weight.detach().split(rows)
        biases = [None] * len(rows)
        if fused.bias is not None:
            fused.bias = nn.Parameter(torch.cat([lin.bias for lin in linears]))
            biases = fused.bias.detach().split(rows)
        for lin, weight, bias in zip(linears, weights, biases, strict=True):
            lin.weight = nn.Parameter(weight, requires_grad=lin.weight.requires_grad)
            if bias is not None:
                lin.bias = nn.Parameter(bias, requires_grad=lin.bias.requires_grad)
    return fused


class FusedProjections(nn.Module):
    """A decoder layer's q/k/v as one product (`qkv`) and gate/up as one (`gate_up`).

    Why: a decode step is a row times each weight, so what it costs beyond reading the weights is
    per operator; one MatMulNBits over [q | k | v] (N = 2048 at 2B) replaces three, the k / v
    ones being too narrow (N = 256) to keep two threads busy, and gate / up become one N = 17920
    product. perception/train/from_package.py splits them back by these names."""

    def __init__(self, attn: Attention, mlp):
        super().__init__()
        self.qkv = fuse_linears(attn.q_proj, attn.k_proj, attn.v_proj)
        self.gate_up = fuse_linears(mlp.gate_proj, mlp.up_proj)


def attend(attn: Attention, qkv: nn.Linear, x, cos, sin, mask, past_k, past_v):
    """Self-attention of new tokens x [B, L, D] over past (capacity S) + themselves.

    mask [B, 1, L, S + L] is additive; `qkv` is the layer's fused q/k/v product.
    Returns (output [B, L, D], new k, new v [B, kv, L, hd]).
    """
    b, n, _ = x.shape
    heads, kv_heads, head_dim = attn.heads, attn.kv_heads, attn.head_dim
    groups = heads // kv_heads
    qkv_heads = qkv(x).view(b, n, heads + 2 * kv_heads, head_dim).transpose(1, 2)
    qk, v = qkv_heads.split((heads + kv_heads, kv_heads), dim=1)
    qk = qk * cos + rotate_half(qk) * sin  # q and k rotated together: one rotary per layer
    q, k = qk.split((heads, kv_heads), dim=1)
    # query head h uses kv head h // groups: fold the groups into the query length
    qg = (q * head_dim**-0.5).reshape(b, kv_heads, groups * n, head_dim)
    scores = torch.cat((qg @ past_k.transpose(-1, -2), qg @ k.transpose(-1, -2)), dim=-1)
    total = scores.shape[-1]
    scores = scores.view(b, kv_heads, groups, n, total) + mask[:, :, None]
    probs = torch.softmax(scores, dim=-1).view(b, kv_heads, groups * n, total)
    past_len = past_k.shape[2]
    y = probs[..., :past_len] @ past_v + probs[..., past_len:] @ v
    y = y.view(b, heads, n, head_dim).transpose(1, 2).reshape(b, n, heads * head_dim)
    return attn.o_proj(y), k, v


class DecoderGraph(nn.Module):
    """The decoder's forward for export (I/O in the module docstring).

    Building it re-points `model`'s q/k/v and gate/up Parameters to views of the fused ones
    (`fuse_linears`): the values and the model's own forward stay the same, but an optimizer
    holding the old Parameter objects would no longer reach them, so export from a model loaded
    for the purpose (as `export_package` does from a checkpoint directory), not mid-training."""

    def __init__(self, model: Qwen2VL):
        super().__init__()
        self.text = model.text
        self.cfg = model.config.text
        tied = model.config.tie_word_embeddings
        self.lm_head = model.text.embed_tokens if tied else model.lm_head
        self.fused = nn.ModuleList(FusedProjections(layer.self_attn, layer.mlp) for layer in model.text.layers)

    def forward(self, inputs_embeds, attention_mask, position_ids, logits_index, *past):
        b, n, _ = inputs_embeds.shape
        mask = causal_mask(attention_mask, b, n, past[0].shape[2], inputs_embeds.dtype, inputs_embeds.device)
        cos, sin = mrope_cos_sin(position_ids, self.cfg, inputs_embeds.dtype)
        x, presents = inputs_embeds, []
        for i, (layer, fused) in enumerate(zip(self.text.layers, self.fused, strict=True)):
            h, k, v = attend(layer.self_attn, fused.qkv, layer.input_layernorm(x), cos, sin, mask,
                             past[2 * i], past[2 * i + 1])
            x = x + h
            gate, up = fused.gate_up(layer.post_attention_layernorm(x)).chunk(2, dim=-1)
            x = x + layer.mlp.down_proj(F.silu(gate) * up)
            presents += [k, v]
        hidden = self.text.norm(x).index_select(1, logits_index)
        # an untied head is called as its module so that its product carries the name `lm_head`
        logits = hidden @ self.lm_head.weight.T if isinstance(self.lm_head, nn.Embedding) else self.lm_head(hidden)
        return (logits, *presents)
