"""The demo model's recipe: model size, image budget and optimiser settings, all in one dataclass.

`Recipe` is what a training run is reproducible from (with the seed); it is saved next to every
checkpoint as recipe.json. `model_config` turns it into a Qwen2VLConfig whose special-token ids
come from the small tokenizer (the Qwen special tokens are its last 14 ids).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from vlagent.perception.model.config import Qwen2VLConfig, TextConfig, VisionConfig
from vlagent.perception.special_tokens import IM_END, IMAGE_PAD, VIDEO_PAD, VISION_END, VISION_START


@dataclass(frozen=True)
class Recipe:
    # image budget (px): 1080x2400 frames -> 196x448 model input -> 128 visual tokens
    max_pixels: int = 28 * 28 * 128
    min_pixels: int = 56 * 56
    # vision tower
    vision_depth: int = 2
    vision_embed: int = 96
    vision_heads: int = 3
    learned_abs_pos: bool = True
    abs_pos_init: str = "sinusoid"  # "sinusoid" (unit amplitude) or "normal" (N(0, 0.02), the model default)
    # (rows, cols) patches: read the abs-pos tables at relative coordinates (any grid runs), or
    # None for index mode (VisionConfig.abs_pos_ref_grid)
    abs_pos_ref_grid: tuple[int, int] | None = None
    # language model
    hidden: int = 192
    layers: int = 3
    heads: int = 3
    kv_heads: int = 1
    intermediate: int = 384
    # data: pool of train screens (seeds [0, train_screens)), held-out seeds start at EVAL_SEED0
    train_screens: int = 3000
    action_share: float = 0.15  # fraction of samples that are next-action (behaviour cloning)
    nav_weight: float = 0.1  # sampling weight of nav-bar targets (Back/Home/Overview, on every screen) vs 1 for others
    nav_weight_from_minutes: float = 20.0  # before: a uniform target per screen (mostly nav: format first)
    action_seeds: int = 3  # oracle trajectories of every task template for task seeds 0..action_seeds-1
    detour_seeds: int = 0  # and trajectories after a wrong first tap (recovery) for task seeds 0..detour_seeds-1
    copy_share: float = 0.0  # fraction of samples from the copy rung (perception.train.copying)
    action_seed0: int = 0  # first task seed of both (sim.phone.values: >= VARIED_SEED0 draws generated values)
    # the text-only copy rung (perception.train.text_copy): a share of optimiser steps are LM-only
    # batches of `text_copy_batch` type-step prompts without an image, with a random value to copy;
    # the type steps come from the oracle trajectories of task seeds action_seed0.. + text_copy_seeds
    text_copy_share: float = 0.0
    text_copy_batch: int = 32
    text_copy_seeds: int = 40
    # budgets: a share of grounding batches comes from a second pool of varied-size screens
    # (phones, landscape phones, tablets; screens.screen_geometry) rendered at the largest of
    # `budgets` (visual tokens) and resized per batch to one budget drawn from `budgets`
    budgets: tuple[int, ...] = ()
    budget_share: float = 0.0
    budget_screens: int = 0
    budget_seed0: int = 5_000_000
    # optimisation
    batch: int = 16
    lr: float = 2e-3
    warmup: int = 100
    total_steps: int = 4000  # cosine schedule length; a time budget may stop earlier
    weight_decay: float = 0.05
    # training-only dense heads (dropped at export); weights on the loss
    dense_weight: float = 1.0
    query_weight: float = 1.0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    def __post_init__(self):
        # JSON has no tuples: normalise what from_file reads
        if self.abs_pos_ref_grid is not None:
            object.__setattr__(self, "abs_pos_ref_grid", tuple(self.abs_pos_ref_grid))
        object.__setattr__(self, "budgets", tuple(int(b) for b in self.budgets))
        for name in ("action_share", "copy_share", "budget_share", "text_copy_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a fraction in [0, 1], got {getattr(self, name)}")
        if self.text_copy_share and (self.text_copy_batch < 1 or self.text_copy_seeds < 1):
            raise ValueError("text_copy_share needs text_copy_batch and text_copy_seeds of at least 1")
        if self.budget_share and not (self.budgets and self.budget_screens):
            raise ValueError("budget_share needs budgets and budget_screens")

    @classmethod
    def from_file(cls, path: str | Path) -> Recipe:
        return cls(**json.loads(Path(path).read_text()))


EVAL_SEED0 = 1_000_000  # held-out screen seeds: EVAL_SEED0 + i, never used for training
EVAL_TASK_SEED0 = 500_000  # held-out task seeds for next-action evaluation


def model_config(recipe: Recipe, tokenizer) -> Qwen2VLConfig:
    ids = tokenizer.special_ids
    head_dim = recipe.hidden // recipe.heads
    q = head_dim // 2
    section = (q - 2 * (3 * q // 8), 3 * q // 8, 3 * q // 8)
    text = TextConfig(vocab_size=tokenizer.vocab_size, hidden_size=recipe.hidden,
                      intermediate_size=recipe.intermediate, num_hidden_layers=recipe.layers,
                      num_attention_heads=recipe.heads, num_key_value_heads=recipe.kv_heads,
                      rope_theta=10000.0, mrope_section=section, max_position_embeddings=4096)
    vision = VisionConfig(depth=recipe.vision_depth, embed_dim=recipe.vision_embed, num_heads=recipe.vision_heads,
                          mlp_ratio=2, hidden_size=recipe.hidden, learned_abs_pos=recipe.learned_abs_pos,
                          abs_pos_max_side=64, abs_pos_ref_grid=recipe.abs_pos_ref_grid)
    return Qwen2VLConfig(text=text, vision=vision, image_token_id=ids[IMAGE_PAD], video_token_id=ids[VIDEO_PAD],
                         vision_start_token_id=ids[VISION_START], vision_end_token_id=ids[VISION_END],
                         bos_token_id=None, eos_token_ids=(ids[IM_END],), pad_token_id=None,
                         tie_word_embeddings=True)


def budget_pixels(tokens: int) -> int:
    """max_pixels of a visual-token budget (one token = one merged 28x28 px cell)."""
    return 28 * 28 * tokens


def processor_settings(recipe: Recipe) -> dict:
    """preprocessor_config.json for the checkpoint (and so the exported package)."""
    from vlagent.perception.processor import CLIP_MEAN, CLIP_STD

    return {"min_pixels": recipe.min_pixels, "max_pixels": recipe.max_pixels, "patch_size": 14,
            "temporal_patch_size": 2, "merge_size": 2, "image_mean": list(CLIP_MEAN), "image_std": list(CLIP_STD)}
