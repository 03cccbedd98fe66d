"""HF-format checkpoint I/O: safetensors files <-> this package's parameter names.

Reads `model.safetensors` or a sharded `model.safetensors.index.json`, under any of the names
Qwen2-VL checkpoints use: transformers 4.x / on-disk (`visual.*`, `model.*`, `lm_head.*`) or
the 5.x module tree (`model.visual.*`, `model.language_model.*`, `lm_head.*`). Writes the
on-disk names transformers 5.24 itself writes, so `Qwen2VLForConditionalGeneration.from_pretrained`
loads the result. The Conv3d patch-embed weight [E, C, T, P, P] becomes our Linear [E, C*T*P*P].
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from vlagent.perception.errors import VlagentError
from vlagent.perception.model.config import Qwen2VLConfig

PATCH_OURS, PATCH_HF = "visual.patch_embed.weight", "visual.patch_embed.proj.weight"
PREFIXES = (  # checkpoint prefix -> ours, longest first
    ("model.language_model.", "text."),
    ("model.visual.", "visual."),
    ("visual.", "visual."),
    ("model.", "text."),
    ("lm_head.", "lm_head."),
)


class CheckpointError(VlagentError, ValueError):
    """A checkpoint is missing, or its tensors do not fit the config (keys or shapes)."""


def checkpoint_files(path: Path) -> list[Path]:
    """The safetensors files of an HF-format directory."""
    single, index = path / "model.safetensors", path / "model.safetensors.index.json"
    if single.is_file():
        return [single]
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [path / shard for shard in shards]
    raise CheckpointError(f"no model.safetensors or model.safetensors.index.json in {path}")


def our_name(name: str) -> str | None:
    for prefix, ours in PREFIXES:
        if name.startswith(prefix):
            name = ours + name[len(prefix):]
            return PATCH_OURS if name == PATCH_HF else name
    return None


def read_state_dict(path: str | Path, config: Qwen2VLConfig, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Our-named tensors in `dtype`; unknown names raise, a tied lm_head is dropped."""
    state, unexpected = {}, []
    for file in checkpoint_files(Path(path)):
        with safe_open(str(file), framework="pt") as f:
            for name in f.keys():
                ours = our_name(name)
                if ours is None:
                    unexpected.append(name)
                elif not (ours.startswith("lm_head.") and config.tie_word_embeddings):
                    state[ours] = f.get_tensor(name).to(dtype)
    if unexpected:
        raise CheckpointError(f"unexpected tensors in checkpoint: {sorted(unexpected)[:10]}")
    if PATCH_OURS in state:
        state[PATCH_OURS] = state[PATCH_OURS].reshape(config.vision.embed_dim, -1)
    return state


def check_state_dict(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    """Raise CheckpointError naming missing, unexpected and mis-shaped tensors."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        raise CheckpointError(f"checkpoint does not fit the config: missing {missing[:10]}, "
                              f"unexpected {unexpected[:10]}, shape mismatches {shapes[:10]}")


def hf_state_dict(state: dict[str, torch.Tensor], config: Qwen2VLConfig) -> dict[str, torch.Tensor]:
    """Our state dict under transformers' on-disk names."""
    v = config.vision
    out = {}
    for name, tensor in state.items():
        if name == PATCH_OURS:
            name = PATCH_HF
            tensor = tensor.reshape(v.embed_dim, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size)
        elif name.startswith("text."):
            name = "model." + name[len("text."):]
        out[name] = tensor.detach().contiguous()
    return out


def write_checkpoint(path: str | Path, state: dict[str, torch.Tensor], config: Qwen2VLConfig) -> None:
    """config.json, generation_config.json and model.safetensors in transformers 5.24's format."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tensors = hf_state_dict(state, config)
    dtype = str(next(iter(tensors.values())).dtype).removeprefix("torch.")
    (path / "config.json").write_text(json.dumps(config.to_dict() | {"dtype": dtype}, indent=2) + "\n")
    generation = {"bos_token_id": config.bos_token_id, "eos_token_id": list(config.eos_token_ids),
                  "pad_token_id": config.pad_token_id}
    (path / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})
