"""The training step's forward: Qwen2VL plus training-only dense heads (never exported).

`TrainModel` wraps a `Qwen2VL` and adds, per visual token,
- on the vision features (merger output): the label class of the element there, the token's own
  cell centre and its element's box, both as the hundreds/tens digits the answer writes - a
  stage-1 signal that makes the vision tower encode what is where, in a digit-readable form,
  with ~110 supervised targets per image instead of one answer;
- on the language model's last hidden state at image positions: whether that token lies in the
  queried element (binary), and there the queried box's digits - which teaches image tokens to
  read the query placed before them and to hold what the answer has to copy.
Only `model` (the Qwen2VL) is saved as the checkpoint; the heads live in the trainer state.
The forward is the model's own pieces in the model's own order (embed, encode_images,
insert_features, get_rope_index, text, logits), so nothing here diverges from inference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vlagent.perception.model.qwen2vl import Qwen2VL
from vlagent.perception.train.batch import LABEL_BUCKETS, Batch
from vlagent.perception.train.samples import IGNORE


def sinusoid_abs_pos(model: Qwen2VL, scale: float = 1.0) -> None:
    """Initialise the learned absolute row/column tables (VisionConfig.learned_abs_pos) with 1D
    sinusoids at unit amplitude (row table on the even, column table on the odd channel halves).
    At the default N(0, 0.02) init the tables are ~35x smaller than the patch embedding and
    position read-out did not start within minutes (docs/TRAINING.md, rung 1)."""
    visual = model.visual
    if not model.config.vision.learned_abs_pos:
        return
    n, d = visual.pos_row.weight.shape
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(-torch.arange(0, d // 2, dtype=torch.float32) / (d // 2) * 4.0)  # periods 2*pi .. ~340 patches
    table = torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], dim=1) * scale
    with torch.no_grad():
        visual.pos_row.weight.zero_()
        visual.pos_col.weight.zero_()
        half = d // 2
        visual.pos_row.weight[:, :half] = table[:, ::2][:, :half]
        visual.pos_col.weight[:, half:] = table[:, 1::2][:, :d - half]


def encode_each(model: Qwen2VL, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
    """`encode_images` one image at a time: the tower's block-diagonal mask over a whole batch
    costs O(total patches^2) (8x slower at 16 images of 720 patches); per image it is O(720^2)."""
    sizes = grid_thw.prod(-1).tolist()
    chunks = pixel_values.split(sizes)
    return torch.cat([model.encode_images(c, grid_thw[i:i + 1]) for i, c in enumerate(chunks)])


def digits(values: torch.Tensor) -> torch.Tensor:
    """Coordinates / 10 (0..100) -> [..., 2 * k] (hundreds 0..10, tens 0..9), as the answer writes them."""
    return torch.stack([values // 10, values % 10], dim=-1).flatten(-2)


def digit_loss(head: nn.Linear, x: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """CE of `head(x)` read as [n, 2k, 11] digit logits against the digits of `values` [n, k]."""
    if x.shape[0] == 0:
        return x.sum() * 0
    target = digits(values)
    return F.cross_entropy(head(x).view(x.shape[0], target.shape[1], 11).flatten(0, 1), target.flatten())


class TrainModel(nn.Module):
    def __init__(self, model: Qwen2VL):
        super().__init__()
        self.model = model
        d = model.config.text.hidden_size
        self.label_head = nn.Linear(d, LABEL_BUCKETS)
        self.pos_head = nn.Linear(d, 4 * 11)  # the token's own cell centre (x, y) as digits
        self.box_head = nn.Linear(d, 8 * 11)  # its element's box as digits
        self.query_head = nn.Linear(d, 1)
        self.query_box_head = nn.Linear(d, 8 * 11)  # in the LM: the queried element's box, at its tokens

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        m, c = self.model, self.model.config
        embeds = m.embed_tokens(batch.input_ids)
        feats = encode_each(m, batch.pixel_values, batch.grid_thw)
        embeds = m.insert_features(embeds, batch.input_ids, c.image_token_id, feats)
        pos, _ = m.get_rope_index(batch.input_ids, batch.grid_thw, None, batch.attention_mask)
        hidden, _ = m.text(embeds, pos, batch.attention_mask, None)
        logits = m.logits(hidden)
        lm = F.cross_entropy(logits[:, :-1].flatten(0, 1), batch.labels[:, 1:].flatten(), ignore_index=IGNORE)
        out = {"lm": lm}
        out["dense_label"] = F.cross_entropy(self.label_head(feats), batch.dense_label, ignore_index=IGNORE)
        out["dense_pos"] = digit_loss(self.pos_head, feats, batch.dense_pos)
        valid = batch.dense_box[:, 0] != IGNORE
        out["dense_box"] = digit_loss(self.box_head, feats[valid], batch.dense_box[valid])
        image_hidden = hidden[batch.input_ids == c.image_token_id]
        q = batch.dense_query >= 0
        out["query"] = (F.binary_cross_entropy_with_logits(self.query_head(image_hidden[q]).squeeze(-1),
                                                           batch.dense_query[q], pos_weight=torch.tensor(5.0))
                        if q.any() else feats.sum() * 0)
        hit = batch.dense_query == 1
        out["query_box"] = digit_loss(self.query_box_head, image_hidden[hit], batch.dense_box[hit])
        return out
