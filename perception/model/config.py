"""Qwen2-VL configuration: dataclasses, config.json reading/writing, parameter arithmetic.

Reads both config.json layouts: transformers 4.x (flat text fields, `rope_scaling: {type: mrope}`,
`vision_config`) and 5.x (`text_config`, `vision_config`, `rope_parameters`). Writes the 5.x
layout that transformers 5.24 loads. A field missing from the file takes transformers 5.24's
default, so a file reads here as it reads there. No torch: the CLI imports this module.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from vlagent.perception.errors import (
    ConfigError,  # the one ConfigError, shared with the agent's config
    VlagentError,
)


class ModelInputError(VlagentError, ValueError):
    """Inputs that do not fit each other or the model (pad tokens vs features, grids vs pixel
    rows, a patch grid beyond the position tables). Defined here, without torch, so that both
    backends raise the same error."""


@dataclass(frozen=True)
class VisionConfig:
    """Vision tower. Sizes in channels; patch sizes in px (spatial) and frames (temporal).

    `learned_abs_pos` is a vlagent extension for tiny from-scratch models: learned row and
    column tables (`abs_pos_max_side` patches each) added after the patch embed. Off for real
    checkpoints, and then no parameter exists.

    `abs_pos_ref_grid` (rows, cols in patches) makes those tables resolution-free: a patch's
    table coordinate is its *relative* place in the image scaled to the reference grid (the grid
    the model was first trained at), read with linear interpolation
    (`positions.vision_abs_coords`), so any grid size and aspect ratio works and the reference
    grid itself reads exactly the rows it always did. None: the patch index itself, and grids
    larger than the tables are an error.
    """

    depth: int = 32
    embed_dim: int = 1280
    num_heads: int = 16
    mlp_ratio: float = 4
    hidden_size: int = 3584  # output width of the merger (= the LM hidden size)
    in_channels: int = 3
    patch_size: int = 14
    temporal_patch_size: int = 2
    spatial_merge_size: int = 2
    hidden_act: str = "quick_gelu"
    rope_theta: float = 10000.0
    learned_abs_pos: bool = False
    abs_pos_max_side: int = 64
    abs_pos_ref_grid: tuple[int, int] | None = None

    def __post_init__(self):
        ref = self.abs_pos_ref_grid
        if ref is not None:
            if not isinstance(ref, (list, tuple)) or len(ref) != 2 or not all(isinstance(n, int) and 1 <= n <= self.abs_pos_max_side for n in ref):
                raise ConfigError(f"vision.abs_pos_ref_grid must be two ints in 1..{self.abs_pos_max_side}, got {ref}")
            if not self.learned_abs_pos:
                raise ConfigError("vision.abs_pos_ref_grid needs learned_abs_pos")
            object.__setattr__(self, "abs_pos_ref_grid", tuple(ref))

    @property
    def relative_abs_pos(self) -> bool:
        """Whether the abs-position tables are read at relative coordinates (`abs_pos_ref_grid`)."""
        return self.abs_pos_ref_grid is not None  # __post_init__: only with learned_abs_pos

    @property
    def max_grid_side(self) -> int | None:
        """Patches per side the tower can take, or None for any: index-mode learned tables
        (`abs_pos_max_side` rows each) end there."""
        return self.abs_pos_max_side if self.learned_abs_pos and not self.relative_abs_pos else None

    @property
    def max_input_side(self) -> int | None:
        """The longest model-input side in px (a multiple of patch x merge) whose patch grid fits
        `max_grid_side`, or None for any."""
        side = self.max_grid_side
        if side is None:
            return None
        return side // self.spatial_merge_size * self.spatial_merge_size * self.patch_size

    def check_grid(self, grid_thw) -> None:
        """ModelInputError when a (frames, rows, cols) grid in patches [k, 3] has a side
        beyond `max_grid_side`."""
        side = self.max_grid_side
        longest = max((max(int(row[1]), int(row[2])) for row in grid_thw), default=0)
        if side is not None and longest > side:
            raise ModelInputError(f"grid side {longest} patches exceeds abs_pos_max_side {side}: this model's "
                                  f"learned position tables end there (model-input sides up to "
                                  f"{self.max_input_side} px; lower max_pixels or resize)")

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    @property
    def patch_dim(self) -> int:
        """Length of one pixel row: channels * temporal * patch * patch (1176 for Qwen2-VL)."""
        return self.in_channels * self.temporal_patch_size * self.patch_size**2

    @property
    def mlp_dim(self) -> int:
        return int(self.embed_dim * self.mlp_ratio)


@dataclass(frozen=True)
class TextConfig:
    """Qwen2 decoder with M-RoPE; `mrope_section` splits head_dim/2 frequencies over (t, h, w)."""

    vocab_size: int = 152064
    hidden_size: int = 8192
    intermediate_size: int = 29568
    num_hidden_layers: int = 80
    num_attention_heads: int = 64
    num_key_value_heads: int = 8
    rms_norm_eps: float = 1e-5
    rope_theta: float = 1e6
    mrope_section: tuple[int, ...] = (16, 24, 24)
    max_position_embeddings: int = 32768
    hidden_act: str = "silu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mrope_section", tuple(int(x) for x in self.mrope_section))

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


@dataclass(frozen=True)
class Qwen2VLConfig:
    text: TextConfig = field(default_factory=TextConfig)
    vision: VisionConfig = field(default_factory=VisionConfig)
    image_token_id: int = 151655
    video_token_id: int = 151656
    vision_start_token_id: int = 151652
    vision_end_token_id: int = 151653
    bos_token_id: int | None = 151643
    eos_token_ids: tuple[int, ...] = (151645,)
    pad_token_id: int | None = None
    tie_word_embeddings: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "eos_token_ids", _ids(self.eos_token_ids))
        validate(self)

    @classmethod
    def from_dict(cls, raw: dict) -> Qwen2VLConfig:
        return config_from_dict(raw)

    @classmethod
    def from_file(cls, path: str | Path) -> Qwen2VLConfig:
        """Read `path` (a config.json, or a directory holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / "config.json"
        if not path.is_file():
            raise ConfigError(f"no config.json at {path}")
        return config_from_dict(json.loads(path.read_text()))

    def to_dict(self) -> dict:
        return config_to_dict(self)

    def replace(self, **changes) -> Qwen2VLConfig:
        return dataclasses.replace(self, **changes)


def validate(config: Qwen2VLConfig) -> None:
    """Raise ConfigError naming the first inconsistent field."""
    t, v = config.text, config.vision
    for owner, obj in (("text", t), ("vision", v)):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
                raise ConfigError(f"{owner}.{f.name} must be positive, got {value}")
    if t.hidden_size % t.num_attention_heads:
        raise ConfigError(f"text.hidden_size {t.hidden_size} not divisible by num_attention_heads {t.num_attention_heads}")
    if t.num_attention_heads % t.num_key_value_heads:
        raise ConfigError(f"text.num_attention_heads {t.num_attention_heads} not divisible by num_key_value_heads {t.num_key_value_heads}")
    if 2 * sum(t.mrope_section) != t.head_dim:
        raise ConfigError(f"2 * sum(mrope_section {list(t.mrope_section)}) must equal text head_dim {t.head_dim}")
    if t.hidden_act != "silu":
        raise ConfigError(f"text.hidden_act {t.hidden_act!r} unsupported (only 'silu')")
    if v.embed_dim % v.num_heads or v.head_dim % 4:
        raise ConfigError(f"vision.embed_dim {v.embed_dim} / num_heads {v.num_heads} must be a multiple of 4 (2D RoPE)")
    if v.hidden_act != "quick_gelu":
        raise ConfigError(f"vision.hidden_act {v.hidden_act!r} unsupported (only 'quick_gelu')")
    if v.hidden_size != t.hidden_size:
        raise ConfigError(f"vision.hidden_size {v.hidden_size} must equal text.hidden_size {t.hidden_size}")
    ids = {"image_token_id": config.image_token_id, "video_token_id": config.video_token_id,
           "vision_start_token_id": config.vision_start_token_id,
           "vision_end_token_id": config.vision_end_token_id}
    for name, value in ids.items():
        if not 0 <= value < t.vocab_size:
            raise ConfigError(f"{name} {value} outside vocab of {t.vocab_size}")
    if not config.eos_token_ids:
        raise ConfigError("eos_token_ids is empty")


def _pick(source: dict, cls, renames: dict[str, str] | None = None) -> dict:
    """Fields of dataclass `cls` present in `source` (after renaming legacy keys)."""
    names = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for key, value in source.items():
        key = (renames or {}).get(key, key)
        if key in names and value is not None:
            out[key] = value
    return out


def _rope(section: dict, fallback_theta) -> dict:
    """theta and mrope_section from a 5.x `rope_parameters` or 4.x `rope_scaling` dict."""
    kind = section.get("rope_type", section.get("type", "default"))
    if kind not in ("default", "mrope"):
        raise ConfigError(f"rope type {kind!r} unsupported (only default/mrope)")
    out = {}
    theta = section.get("rope_theta", fallback_theta)
    if theta is not None:
        out["rope_theta"] = float(theta)
    if "mrope_section" in section:
        out["mrope_section"] = tuple(int(x) for x in section["mrope_section"])
    return out


def _ids(value) -> tuple[int, ...]:
    return tuple(int(x) for x in (value if isinstance(value, (list, tuple)) else [value]))


def config_from_dict(raw: dict) -> Qwen2VLConfig:
    """Build a config from either config.json layout (see module docstring)."""
    if raw.get("model_type", "qwen2_vl") != "qwen2_vl":
        raise ConfigError(f"model_type {raw['model_type']!r} is not qwen2_vl")
    nested = isinstance(raw.get("text_config"), dict)
    text_raw = raw["text_config"] if nested else raw
    rope = text_raw.get("rope_parameters") or text_raw.get("rope_scaling") or raw.get("rope_scaling") or {}
    text_fields = _pick(text_raw, TextConfig) | _rope(rope, text_raw.get("rope_theta"))

    vision_raw = raw.get("vision_config") or {}
    vision_fields = _pick(vision_raw, VisionConfig, {"in_chans": "in_channels"})
    vrope = vision_raw.get("rope_parameters") or {}
    if "rope_theta" in vrope:
        vision_fields["rope_theta"] = float(vrope["rope_theta"])
    for name in ("patch_size", "temporal_patch_size"):
        if isinstance(vision_fields.get(name), (list, tuple)):
            raise ConfigError(f"vision.{name} must be one int, got {vision_fields[name]}")

    top = _pick(raw, Qwen2VLConfig)
    eos = text_raw.get("eos_token_id", raw.get("eos_token_id"))
    tie = bool(raw.get("tie_word_embeddings", False) or text_raw.get("tie_word_embeddings", False))
    top.update(tie_word_embeddings=tie)
    for key in ("bos_token_id", "pad_token_id"):
        if text_raw.get(key) is not None:
            top[key] = text_raw[key]
    if eos is not None:
        top["eos_token_ids"] = _ids(eos)
    try:
        return Qwen2VLConfig(text=TextConfig(**text_fields), vision=VisionConfig(**vision_fields), **top)
    except TypeError as exc:
        raise ConfigError(f"bad config field: {exc}") from exc


def config_to_dict(config: Qwen2VLConfig) -> dict:
    """The transformers 5.x nested config.json for `config` (extension keys only when used)."""
    t, v = config.text, config.vision
    eos = list(config.eos_token_ids)
    text = {
        "model_type": "qwen2_vl_text", "vocab_size": t.vocab_size, "hidden_size": t.hidden_size,
        "intermediate_size": t.intermediate_size, "num_hidden_layers": t.num_hidden_layers,
        "num_attention_heads": t.num_attention_heads, "num_key_value_heads": t.num_key_value_heads,
        "rms_norm_eps": t.rms_norm_eps, "max_position_embeddings": t.max_position_embeddings,
        "hidden_act": t.hidden_act, "use_sliding_window": False,
        "rope_parameters": {"rope_type": "default", "rope_theta": t.rope_theta,
                            "mrope_section": list(t.mrope_section)},
        "bos_token_id": config.bos_token_id, "eos_token_id": eos[0] if len(eos) == 1 else eos,
        "pad_token_id": config.pad_token_id, "tie_word_embeddings": config.tie_word_embeddings,
    }
    vision = {
        "model_type": "qwen2_vl_vision", "depth": v.depth, "embed_dim": v.embed_dim,
        "num_heads": v.num_heads, "mlp_ratio": v.mlp_ratio, "hidden_size": v.hidden_size,
        "in_channels": v.in_channels, "patch_size": v.patch_size,
        "temporal_patch_size": v.temporal_patch_size, "spatial_merge_size": v.spatial_merge_size,
        "hidden_act": v.hidden_act,
        "rope_parameters": {"rope_type": "axial", "rope_theta": v.rope_theta},
    }
    if v.learned_abs_pos:
        vision.update(learned_abs_pos=True, abs_pos_max_side=v.abs_pos_max_side)
    if v.abs_pos_ref_grid is not None:
        vision.update(abs_pos_ref_grid=list(v.abs_pos_ref_grid))
    return {
        "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
        "text_config": text, "vision_config": vision,
        "image_token_id": config.image_token_id, "video_token_id": config.video_token_id,
        "vision_start_token_id": config.vision_start_token_id,
        "vision_end_token_id": config.vision_end_token_id,
        "tie_word_embeddings": config.tie_word_embeddings,
    }


def param_counts(config: Qwen2VLConfig) -> dict[str, int]:
    """Parameter counts by part (vision tower, merger, LM layers, embeddings, lm_head, total)."""
    t, v = config.text, config.vision
    e, m = v.embed_dim, v.mlp_dim
    block = 4 * e + (3 * e * e + 3 * e) + (e * e + e) + (e * m + m) + (m * e + e)
    vision = v.patch_dim * e + v.depth * block
    if v.learned_abs_pos:
        vision += 2 * v.abs_pos_max_side * e
    wide = e * v.spatial_merge_size**2
    merger = 2 * e + wide * wide + wide + wide * v.hidden_size + v.hidden_size
    d, kv = t.hidden_size, t.num_key_value_heads * t.head_dim
    layer = (d * d + d) + 2 * (d * kv + kv) + d * d + 3 * d * t.intermediate_size + 2 * d
    lm = t.num_hidden_layers * layer + d
    embed = t.vocab_size * d
    head = 0 if config.tie_word_embeddings else t.vocab_size * d
    return {"vision": vision, "merger": merger, "lm": lm, "embeddings": embed,
            "lm_head": head, "total": vision + merger + lm + embed + head}


QWEN2_VL_2B = Qwen2VLConfig(
    text=TextConfig(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                    num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                    rms_norm_eps=1e-6, rope_theta=1e6, mrope_section=(16, 24, 24)),
    vision=VisionConfig(depth=32, embed_dim=1280, num_heads=16, mlp_ratio=4, hidden_size=1536,
                        patch_size=14, temporal_patch_size=2, spatial_merge_size=2),
    eos_token_ids=(151645, 151643),
    pad_token_id=151643,
    tie_word_embeddings=True,
)
