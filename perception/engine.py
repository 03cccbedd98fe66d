"""Text generation with Qwen2-VL: prompt + images/videos in, new tokens and text out.

`load(model_dir, backend="torch")` reads `config.json`, `tokenizer.json`, and when present
`preprocessor_config.json` (pixel limits) and `generation_config.json` (stop ids). The engine
owns everything that is not tensor math: preprocessing, vision-pad expansion, M-RoPE
positions (`perception.positions`), sampling (`perception.sampling`), stopping, streaming
and timings. A backend only runs tensors: `encode(pixels, grid) -> features`,
`prefill(ids, positions, deltas, image_features, video_features, mask) -> (logits, state)`,
`decode(state, ids, mask) -> (logits, state)`, logits as numpy [B, vocab].

This module imports no torch: each backend is imported inside `load` only when asked for
(`perception.engine_torch` needs torch; `perception.engine_onnx` only onnxruntime).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vlagent.perception.errors import VlagentError
from vlagent.perception.model.config import Qwen2VLConfig
from vlagent.perception.positions import get_rope_index
from vlagent.perception.processor import ImageProcessor, VisionInput
from vlagent.perception.sampling import SamplingParams, choose
from vlagent.perception.tokenizer import Tokenizer, expand_vision_pads

StreamCallback = Callable[[str, int], None]  # (text delta, token id), once per new token


class EngineError(VlagentError, ValueError):
    """Bad engine options or generation arguments."""


class BackendNotAvailableError(VlagentError, NotImplementedError):
    """The requested backend is not built (yet) or its dependencies are missing."""


@dataclass(frozen=True)
class Generation:
    """One completion. token_ids: new tokens (a final stop token included); text: their decoded
    text without the stop token; prompt_tokens: prompt length after pad expansion;
    timings (s): preprocess, vision, prefill, and decode (one entry per decode step); and
    `reused_tokens`, a count: prompt tokens the prefill took from the backend's prefix cache."""

    token_ids: list[int]
    text: str
    prompt_tokens: int
    finish_reason: str  # "stop" (an eos id) or "length"
    timings: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """What a backend runs. Arrays: ids int64 [B, L], positions int64 [3, B, L], deltas int64
    [B, 1], mask int64 [B, T] or None (no padding), logits float32 [B, vocab] (last position)."""

    def encode(self, pixel_values: np.ndarray, grid_thw: np.ndarray) -> Any: ...

    def prefill(self, input_ids: np.ndarray, position_ids: np.ndarray, rope_deltas: np.ndarray,
                image_features: Any, video_features: Any, attention_mask: np.ndarray | None) -> tuple[np.ndarray, Any]: ...

    def decode(self, state: Any, token_ids: np.ndarray, attention_mask: np.ndarray | None) -> tuple[np.ndarray, Any]: ...


class Engine:
    def __init__(self, backend: Backend, tokenizer: Tokenizer, processor: ImageProcessor, config: Qwen2VLConfig,
                 stop_ids: Sequence[int]):
        self.backend, self.tokenizer, self.processor, self.config = backend, tokenizer, processor, config
        self.stop_ids = frozenset(int(i) for i in stop_ids)
        # Token choice sees only the ids the tokenizer can decode. A checkpoint's LM head may
        # have more rows than its tokenizer (Qwen2-VL pads 151,657 ids to 151,936); no text maps
        # to the padding rows, so choosing one could only fail the decode. A trained model gives
        # them no weight; an untrained one would otherwise end in UnknownTokenError.
        self.output_vocab = min(int(config.text.vocab_size), int(tokenizer.vocab_size))

    def generate(self, prompt: str, images: Sequence = (), videos: Sequence = (), max_new_tokens: int = 64,
                 do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0, seed: int | None = None,
                 ignore_eos: bool = False, stream: StreamCallback | None = None) -> Generation:
        """Complete `prompt`, which holds one `<|vision_start|><|image_pad|><|vision_end|>` per
        image (`<|video_pad|>` per video). Images: PIL images or uint8 HxWxC arrays; a video
        is a sequence of frames (or an array [F, H, W, C]) already sampled, all one size."""
        return self.generate_batch([prompt], [images], [videos], max_new_tokens, do_sample, temperature,
                                   top_p, seed, ignore_eos, stream)[0]

    def generate_batch(self, prompts: Sequence[str], images: Sequence[Sequence] | None = None,
                       videos: Sequence[Sequence] | None = None, max_new_tokens: int = 64,
                       do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0,
                       seed: int | None = None, ignore_eos: bool = False,
                       stream: StreamCallback | None = None) -> list[Generation]:
        """Complete several prompts together (left padding); images[i] / videos[i] belong to
        prompts[i]. `stream` is only accepted for a single prompt. Timings are the batch's."""
        if isinstance(prompts, str) or not prompts:
            raise EngineError("prompts must be a non-empty sequence of strings")
        if max_new_tokens < 1:
            raise EngineError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if stream is not None and len(prompts) != 1:
            raise EngineError("stream is only supported for a single prompt")
        params = SamplingParams(do_sample, temperature, top_p)
        images = images if images is not None else [()] * len(prompts)
        videos = videos if videos is not None else [()] * len(prompts)
        if len(images) != len(prompts) or len(videos) != len(prompts):
            raise EngineError(f"{len(prompts)} prompts but {len(images)} image lists and {len(videos)} video lists")

        timings: dict[str, Any] = {}
        rows, logits, state, mask = self._start(prompts, images, videos, self.processor, timings)
        padded = bool((mask == 0).any())
        new, texts, reasons = self._decode(logits, state, mask if padded else None, params, seed,
                                           max_new_tokens, ignore_eos, stream, timings)
        return [Generation(new[b], texts[b], len(rows[b]), reasons[b], timings) for b in range(len(rows))]

    def prepare(self, prompts: Sequence[str], images: Sequence[Sequence], videos: Sequence[Sequence] | None = None,
                processor: ImageProcessor | None = None) -> Prepared:
        """Everything before the model runs: pixels, token rows, padding and M-RoPE positions.
        Pure numpy and tokenizers (no backend call), so a server can prepare requests on other
        threads while the backend decodes; `processor` overrides the engine's pixel limits."""
        start = time.perf_counter()
        videos = videos if videos is not None else [()] * len(prompts)
        rows, image_input, video_input = self._prepare(prompts, images, videos, processor)
        ids, mask = _left_pad(rows, pad_id=self.config.pad_token_id or 0)
        grids = [None if v is None else v.grid_thw for v in (image_input, video_input)]
        c = self.config
        positions, deltas = get_rope_index(ids, grids[0], grids[1], mask, spatial_merge_size=c.vision.spatial_merge_size,
                                           image_token_id=c.image_token_id, video_token_id=c.video_token_id)
        return Prepared(rows, image_input, video_input, ids, mask, positions, deltas, _since(start))

    def prefill(self, prompt: str, images: Sequence = (), videos: Sequence = (), processor: ImageProcessor | None = None,
                prepared: Prepared | None = None) -> tuple[np.ndarray, Any, int, dict[str, float]]:
        """Encode and prefill one prompt (prepared here, or by `prepare` beforehand): (next-token
        logits [vocab], the backend's decode state, prompt tokens, timings in s). For a
        scheduler that decodes many sequences together."""
        timings: dict[str, Any] = {}
        prepared = prepared or self.prepare([prompt], [images], [videos], processor)
        logits, state = self._prefill(prepared, timings)
        return logits[0], state, len(prepared.rows[0]), timings

    def _start(self, prompts, images, videos, processor, timings):
        """Token rows, last-position logits [B, vocab], the decode state and the padding mask."""
        prepared = self.prepare(prompts, images, videos, processor)
        logits, state = self._prefill(prepared, timings)
        return prepared.rows, logits, state, prepared.mask

    def _prefill(self, prepared: Prepared, timings: dict) -> tuple[np.ndarray, Any]:
        image_input, video_input, ids, mask = prepared.image_input, prepared.video_input, prepared.ids, prepared.mask
        positions, deltas = prepared.positions, prepared.deltas
        timings["preprocess"] = prepared.seconds

        start = time.perf_counter()
        features = [None if v is None else self.backend.encode(v.pixel_values, v.grid_thw) for v in (image_input, video_input)]
        timings["vision"] = _since(start)

        start = time.perf_counter()
        padded = bool((mask == 0).any())
        logits, state = self.backend.prefill(ids, positions, deltas, features[0], features[1], mask if padded else None)
        timings["prefill"] = _since(start)
        timings["reused_tokens"] = int(getattr(self.backend, "last_reused", 0))
        return logits, state

    def _decode(self, logits, state, mask, params, seed, max_new_tokens, ignore_eos, stream, timings):
        """Choose, stream and feed back tokens until every row stops; per-row ids, text, reason."""
        rows = len(logits)
        rng = np.random.default_rng(seed)
        decoders = [self.tokenizer.stream_decoder() for _ in range(rows)]
        new: list[list[int]] = [[] for _ in range(rows)]
        texts, reasons = [""] * rows, [""] * rows
        timings["decode"] = []
        while True:
            for b in range(rows):
                if reasons[b]:
                    continue
                token = choose(logits[b][: self.output_vocab], params, rng)
                new[b].append(token)
                stop = not ignore_eos and token in self.stop_ids
                reasons[b] = "stop" if stop else ("length" if len(new[b]) == max_new_tokens else "")
                delta = "" if stop else decoders[b].push(token)  # the stop token adds no text
                delta += decoders[b].flush() if reasons[b] else ""
                texts[b] += delta
                if stream is not None:
                    stream(delta, token)
            if all(reasons):
                return new, texts, reasons
            start = time.perf_counter()
            if mask is not None:
                mask = np.concatenate([mask, np.ones((rows, 1), mask.dtype)], axis=1)
            last = np.array([n[-1] for n in new], dtype=np.int64)  # finished rows repeat their last id
            logits, state = self.backend.decode(state, last, mask)
            timings["decode"].append(_since(start))

    def _prepare(self, prompts, images, videos, processor=None):
        """Token rows with pads expanded, and all images / videos of the batch in prompt order."""
        # a model whose position tables end at a grid side takes nothing larger, whoever made the processor
        processor = (processor or self.processor).with_max_side(self.config.vision.max_input_side)
        rows, image_items, video_items = [], [], []
        for prompt, prompt_images, prompt_videos in zip(prompts, images, videos, strict=True):
            these_images = [processor.preprocess_image(image) for image in prompt_images]
            these_videos = [processor.preprocess_video(frames) for frames in prompt_videos]
            text = expand_vision_pads(prompt, [v.num_tokens for v in these_images], [v.num_tokens for v in these_videos])
            rows.append(self.tokenizer.encode(text))
            image_items += these_images
            video_items += these_videos
        join = lambda items: VisionInput.concat(items) if items else None  # noqa: E731
        return rows, join(image_items), join(video_items)


@dataclass(frozen=True)
class Prepared:
    """Prompts ready for the backend (`Engine.prepare`): token rows (pads expanded), the batch's
    vision inputs, left-padded ids and mask [B, L], M-RoPE positions [3, B, L] and deltas [B, 1],
    and the seconds it took."""

    rows: list[list[int]]
    image_input: VisionInput | None
    video_input: VisionInput | None
    ids: np.ndarray
    mask: np.ndarray
    positions: np.ndarray
    deltas: np.ndarray
    seconds: float


def _left_pad(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """ids [B, L] int64 and mask [B, L] int64 (0 = padding on the left)."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for b, row in enumerate(rows):
        ids[b, width - len(row):] = row
        mask[b, width - len(row):] = 1
    return ids, mask


def _since(start: float) -> float:
    return time.perf_counter() - start


BACKEND_OPTIONS = {"torch": ("dtype", "threads"), "onnx": ("threads", "providers", "verify", "cache_headroom", "spin", "prefix_reuse",
                                                            "int8_prefill")}
PROCESSOR_OPTIONS = ("min_pixels", "max_pixels")


def load(model_dir: str | Path, backend: str = "torch", **options) -> Engine:
    """An Engine over the HF-format checkpoint (torch) or exported package (onnx) in `model_dir`.

    Options: `min_pixels` / `max_pixels` (px, override preprocessor_config.json; a model with
    index-mode position tables also caps the longer model-input side at
    `config.vision.max_input_side` px, so larger images run at the largest size it takes); for the torch
    backend `dtype` ("float32", "bfloat16", "float16") and `threads` (torch intra-op threads);
    for the onnx backend (a `vlagent export` package; numpy + onnxruntime only) `threads`
    (intra-op threads per session), `providers` (onnxruntime execution providers), `verify`
    (check every file's sha256, default True), `cache_headroom` (KV slots added at a time) and
    `spin` (busy-wait between ops: faster on idle cores, slower on shared ones; default False)
    and `prefix_reuse` (keep the KV cache of the last prompt's text before its first image for
    the next prompt that starts the same way, as an agent's steps do; default True) and
    `int8_prefill` (an int4 package's prompts of 4 or more new tokens on its int8 prefill graph,
    derived from the 4-bit weights at load: faster prompts for more memory; default True).
    """
    if backend not in BACKEND_OPTIONS:
        raise EngineError(f"unknown backend {backend!r}; choose one of {sorted(BACKEND_OPTIONS)}")
    unknown = set(options) - set(BACKEND_OPTIONS[backend]) - set(PROCESSOR_OPTIONS)
    if unknown:
        raise EngineError(f"unknown options for backend {backend!r}: {sorted(unknown)}")
    model_dir = Path(model_dir)
    backend_options = {k: options[k] for k in BACKEND_OPTIONS[backend] if k in options}
    runner = _onnx_backend(model_dir, backend_options) if backend == "onnx" else None  # verified before use
    config = Qwen2VLConfig.from_file(model_dir)
    tokenizer = Tokenizer.from_file(model_dir / "tokenizer.json")
    overrides = {k: options[k] for k in PROCESSOR_OPTIONS if k in options}
    settings = model_dir / "preprocessor_config.json"
    processor = ImageProcessor.from_config(settings, **overrides) if settings.is_file() else ImageProcessor(**overrides)
    processor = processor.with_max_side(config.vision.max_input_side)
    stop_ids = set(tokenizer.eos_ids) | set(config.eos_token_ids)
    generation = model_dir / "generation_config.json"
    if generation.is_file():
        eos = json.loads(generation.read_text()).get("eos_token_id")
        stop_ids |= set(eos if isinstance(eos, list) else [] if eos is None else [eos])

    if runner is None:
        from vlagent.perception.engine_torch import TorchBackend

        runner = TorchBackend(model_dir, **backend_options)
    return Engine(runner, tokenizer, processor, config, sorted(stop_ids))


def _onnx_backend(model_dir: Path, options: dict) -> Backend:
    """The onnx backend, imported only when asked for (it needs onnxruntime, never torch)."""
    try:
        from vlagent.perception.engine_onnx import OnnxBackend
    except ModuleNotFoundError as exc:
        if exc.name != "onnxruntime":
            raise
        raise BackendNotAvailableError(f"the onnx backend needs onnxruntime: {exc}") from exc
    return OnnxBackend(model_dir, **options)
