"""The benchmark's configurations behind one interface: the engine's Backend protocol
(`encode`, `prefill`, `decode`) plus `config` and `decoder_weight_bytes` (bytes read per token).

`hf` drives HF transformers' Qwen2VLForConditionalGeneration stage by stage (vision features,
prefill on input embeddings with explicit M-RoPE positions, then one token per forward with its
cache), so its stages are timed exactly like ours.
"""

from __future__ import annotations

from pathlib import Path

RUNNERS = ("hf", "torch", "onnx-fp32", "onnx-int8", "onnx-int4")


def text_weight_bytes(config, bytes_per_value: int = 4) -> int:
    """Weights one decode step reads in a torch model: decoder layers, final norm, lm_head."""
    from vlagent.perception.model.config import param_counts

    t = config.text
    return (param_counts(config)["lm"] + t.vocab_size * t.hidden_size) * bytes_per_value


class HFRunner:
    def __init__(self, checkpoint: Path, threads: int):
        import torch
        from transformers import Qwen2VLForConditionalGeneration

        from vlagent.perception.model.config import Qwen2VLConfig

        torch.set_num_threads(threads)
        self.torch = torch
        self.model = Qwen2VLForConditionalGeneration.from_pretrained(checkpoint, dtype=torch.float32).eval()
        self.config = Qwen2VLConfig.from_file(checkpoint)
        self.decoder_weight_bytes = text_weight_bytes(self.config)

    def encode(self, pixel_values, grid_thw):
        with self.torch.inference_mode():
            out = self.model.model.get_image_features(self.torch.from_numpy(pixel_values), self.torch.from_numpy(grid_thw))
            return self.torch.cat(out.pooler_output)

    def prefill(self, input_ids, position_ids, rope_deltas, image_features, video_features, attention_mask):
        torch = self.torch
        with torch.inference_mode():
            ids = torch.from_numpy(input_ids)
            embeds = self.model.get_input_embeddings()(ids)
            embeds[ids == self.config.image_token_id] = image_features
            out = self.model(inputs_embeds=embeds, position_ids=torch.from_numpy(position_ids),
                             attention_mask=torch.ones_like(ids), use_cache=True, logits_to_keep=1)
        return out.logits[:, -1].numpy(), (out.cache, int(ids.shape[1]), torch.from_numpy(rope_deltas))

    def decode(self, state, token_ids, attention_mask):
        torch = self.torch
        cache, length, deltas = state
        with torch.inference_mode():
            positions = (torch.tensor([[length]]) + deltas)[None].expand(3, -1, -1)
            out = self.model(input_ids=torch.from_numpy(token_ids)[:, None], cache=cache, position_ids=positions,
                             attention_mask=torch.ones(1, length + 1, dtype=torch.long), use_cache=True)
        return out.logits[:, -1].numpy(), (out.cache, length + 1, deltas)


class TorchRunner:
    def __init__(self, checkpoint: Path, threads: int):
        from vlagent.perception.engine_torch import TorchBackend

        self.backend = TorchBackend(checkpoint, threads=threads)
        self.config = self.backend.config
        self.decoder_weight_bytes = text_weight_bytes(self.config)
        self.encode, self.prefill, self.decode = self.backend.encode, self.backend.prefill, self.backend.decode


class OnnxRunner:
    def __init__(self, package: Path, threads: int):
        from vlagent.perception.engine_onnx import OnnxBackend

        self.backend = OnnxBackend(package, threads=threads, verify=False)
        self.config = self.backend.config
        self.decoder_weight_bytes = sum(p.stat().st_size for p in package.glob("decoder.onnx*"))
        self.encode, self.prefill, self.decode = self.backend.encode, self.backend.prefill, self.backend.decode


def make_runner(name: str, path: Path, threads: int):
    if name == "hf":
        return HFRunner(path, threads)
    if name == "torch":
        return TorchRunner(path, threads)
    if name in RUNNERS:
        return OnnxRunner(path, threads)
    raise ValueError(f"unknown configuration {name!r}; choose from {RUNNERS}")

