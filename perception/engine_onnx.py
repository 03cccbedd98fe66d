"""The ONNX Runtime backend of `perception.engine`: runs an exported package, numpy in and out.

Needs only onnxruntime and numpy (never torch). Loading checks, in order: the directory is a
package (`manifest.json`), every file matches its size and sha256, and the weights fit in the
memory available now (`InsufficientMemoryError` before anything is loaded, instead of an OOM
kill later). Then it opens `vision.onnx` and `decoder.onnx` and memory-maps `embed_tokens.npy`,
from which token embeddings are gathered in numpy.

KV cache: one preallocated float32 buffer per layer and kind, [B, kv_heads, capacity, head_dim].
The decoder graph takes the whole buffer as `past` (unwritten slots hidden by the attention
mask) and returns only the new keys and values, which are copied into their slots: per step
the copy is one token's worth, never the cache. Decode steps run through an IOBinding made once
per buffer, bound to numpy arrays that are updated in place (embedding, positions, mask) and to
preallocated outputs, so a step allocates nothing. The buffer grows by `cache_headroom` slots
when full (one copy per that many tokens). Where the CUDA execution provider is available it is
used with the options below; the cache then stays in host memory and is copied per step.

int4 packages with `decoder_prefill.onnx` (perception/export/prefill.py): prefills of at least
`min_rows` new tokens run on that graph, whose int8 products are derived from the 4-bit weights
when the package is loaded (onnxruntime's 4-bit kernel is fast for one row, 2-3x slower than the
int8 GEMM for many); decode steps stay on the 4-bit graph. `int8_prefill=False` skips it.

Prefix reuse: an agent sends the same system message and instruction at every step of an
episode, with only the history and the screenshot after them changing. After each unpadded
one-prompt prefill the backend keeps the keys and values of that prompt's text before its first
image (`PrefixCache`); the next such prefill that starts with the same tokens feeds them as
`past` and computes only the rest. The reuse stops before any vision token: positions there are
plain 0..n-1 in all three M-RoPE sections (no image came yet), so cached keys, which carry their
rotary positions, are exactly what a full prefill would compute (tests/test_engine_onnx.py
checks the logits). One entry, replaced by every prefill: no growth, nothing to evict.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from vlagent.perception import positions as P
from vlagent.perception.engine import BackendNotAvailableError, EngineError
from vlagent.perception.errors import VlagentError
from vlagent.perception.export.manifest import (
    MANIFEST,
    PackageError,
    decoder_io_names,
    read_manifest,
    verify_package,
    vision_io_names,
)
from vlagent.perception.export.prefill import PREFILL_GRAPH, derived_bytes, derived_weights
from vlagent.perception.model.config import ModelInputError, Qwen2VLConfig

MEMORY_FACTOR = 1.3  # RSS after loading / graph file bytes (prepacked weights), see bench/engine.py
RUN_RESERVE = 1 << 30  # bytes on top for activations of a typical screenshot (more for huge images)
CUDA_OPTIONS = {"arena_extend_strategy": "kSameAsRequested", "cudnn_conv_algo_search": "HEURISTIC",
                "do_copy_in_default_stream": True}


class NotAPackageError(BackendNotAvailableError, PackageError):
    """The directory is not an exported package, so the onnx backend has nothing to run."""


class InsufficientMemoryError(VlagentError, MemoryError):
    """The package's weights will not fit in the memory available now."""

    def __init__(self, package: Path, needed: int, available: int):
        self.needed, self.available = needed, available
        super().__init__(f"{package} needs about {needed / 2**30:.1f} GiB of memory to load "
                         f"but {available / 2**30:.1f} GiB is available (MemAvailable)")


def available_memory() -> int | None:
    """MemAvailable in bytes from /proc/meminfo, or None where there is none (not Linux)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(package: Path, manifest: dict, available: int | None = None, int8_prefill: bool = True) -> None:
    """Raise InsufficientMemoryError when graph bytes x MEMORY_FACTOR + RUN_RESERVE exceed
    `available` bytes (default: MemAvailable now). The embedding table is memory-mapped and
    only its used rows are read, so it is not counted; an int4 package's int8 prefill weights,
    derived at load, are (unless `int8_prefill` is off)."""
    graph_bytes = sum(e["bytes"] for name, e in manifest["files"].items() if ".onnx" in name)
    if int8_prefill and "prefill" in manifest:
        graph_bytes += derived_bytes(manifest["prefill"])
    needed = int(graph_bytes * MEMORY_FACTOR) + RUN_RESERVE
    available = available_memory() if available is None else available
    if available is not None and needed > available:
        raise InsufficientMemoryError(package, needed, available)


def session_options(threads: int | None, spin: bool = False) -> ort.SessionOptions:
    """CPU settings: all graph optimizations and `threads` intra-op threads (None: one per core).
    By default the threads sleep rather than spin between ops: on a device shared with other
    work a spinning pool waits on preempted threads (measured here with one core busy: decode
    1.7x slower spinning), while on idle cores spinning saves ~10% of a decode step."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or 0  # 0: one per physical core
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return options


def default_providers() -> list:
    if "CUDAExecutionProvider" in ort.get_available_providers():
        return [("CUDAExecutionProvider", CUDA_OPTIONS), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


@dataclass
class DecodeState:
    """The KV cache of one generation and the decode step's bound buffers.

    keys/values: per layer [B, kv_heads, capacity, head_dim]; mask [B, capacity + 1] int64:
    1 for real tokens in the cache, 0 for left padding and unwritten slots, and a last column
    of 1 for the token being decoded; valid [B]: real tokens per row; rope_deltas [B, 1].
    """

    keys: list[np.ndarray]
    values: list[np.ndarray]
    mask: np.ndarray
    length: int
    valid: np.ndarray
    rope_deltas: np.ndarray
    binding: ort.IOBinding | None = None
    step_inputs: dict | None = None
    step_outputs: dict | None = None

    @property
    def capacity(self) -> int:
        return self.keys[0].shape[2]


@dataclass
class PrefixCache:
    """The text prefix of the last one-prompt prefill: ids [n] and per layer keys / values
    [1, kv_heads, n, head_dim], positions 0..n-1."""

    ids: np.ndarray
    keys: list[np.ndarray]
    values: list[np.ndarray]


class OnnxBackend:
    """Vision encoding, prefill and one-token decode steps on an exported package.

    `prefix_reuse` (default on) keeps the KV cache of the last prompt's text prefix (see the
    module docstring); `last_reused` is how many prompt tokens the last prefill took from it.
    `int8_prefill` (default on) runs long prefills of an int4 package on its int8 prefill graph,
    where it has one; `last_prefill_graph` names the graph the last prefill ran on."""

    def __init__(self, package_dir: str | Path, threads: int | None = None, providers: list | None = None,
                 verify: bool = True, cache_headroom: int = 256, spin: bool = False, prefix_reuse: bool = True,
                 int8_prefill: bool = True):
        package = Path(package_dir)
        if not (package / MANIFEST).is_file():
            raise NotAPackageError(f"{package} has no {MANIFEST}: the onnx backend runs exported packages; "
                                   f"make one with `vlagent export {package} OUT_DIR`")
        if cache_headroom < 1:
            raise EngineError(f"cache_headroom must be >= 1, got {cache_headroom}")
        self.manifest = read_manifest(package)
        verify_package(package, self.manifest, hashes=verify)
        section = self.manifest.get("prefill") if int8_prefill else None
        check_memory(package, self.manifest, int8_prefill=int8_prefill)
        self.config = Qwen2VLConfig.from_file(package)
        self.headroom = cache_headroom
        self.prefix_reuse = prefix_reuse
        self.prefix: PrefixCache | None = None
        self.last_reused = 0
        options, providers = session_options(threads, spin), providers or default_providers()
        self.vision = ort.InferenceSession(str(package / "vision.onnx"), options, providers=providers)
        self.decoder = ort.InferenceSession(str(package / "decoder.onnx"), options, providers=providers)
        self.prefill_decoder, self.prefill_min_rows, self.last_prefill_graph = None, 0, None
        if section:
            self.prefill_decoder = self._prefill_session(package, section, self.manifest["files"], providers, threads,
                                                         spin)
            self.prefill_min_rows = int(section["min_rows"])
        self._check_io()
        self.embed = np.load(package / self.manifest["embeddings"]["file"], mmap_mode="r")
        text = self.config.text
        if self.embed.shape != (text.vocab_size, text.hidden_size):
            raise PackageError(f"embed_tokens.npy has shape {self.embed.shape}, the config needs "
                               f"{(text.vocab_size, text.hidden_size)}")

    @staticmethod
    def _prefill_session(package: Path, section: dict, files: dict, providers, threads, spin) -> ort.InferenceSession:
        """The int8 prefill graph, its int8 weights derived from the int4 ones now (the options
        take the arrays as the graph's external tensors; onnxruntime prepacks them)."""
        if section.get("graph") != PREFILL_GRAPH or PREFILL_GRAPH not in files:
            raise PackageError(f"manifest prefill section names the graph {section.get('graph')!r}; a package's "
                               f"prefill graph is {PREFILL_GRAPH}, listed in its files")
        weights = derived_weights(package, section, threads)
        options = session_options(threads, spin)
        # onnxruntime copies these into its own (prepacked) weights while the session is made, so
        # the numpy arrays are dropped when this returns (checked: overwriting them after the
        # session exists changes no output)
        options.add_external_initializers(list(weights), [ort.OrtValue.ortvalue_from_numpy(a) for a in weights.values()])
        return ort.InferenceSession(str(package / section["graph"]), options, providers=providers)

    def _check_io(self) -> None:
        expected = {"vision.onnx": (self.vision, vision_io_names(self.config.vision.relative_abs_pos)),
                    "decoder.onnx": (self.decoder, decoder_io_names(self.config.text.num_hidden_layers))}
        if self.prefill_decoder is not None:
            expected[self.manifest["prefill"]["graph"]] = (self.prefill_decoder, expected["decoder.onnx"][1])
        for name, (session, (inputs, outputs)) in expected.items():
            got = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
            if got != (inputs, outputs):
                raise PackageError(f"{name} has inputs {got[0][:6]}... and outputs {got[1][:3]}..., "
                                   f"expected {inputs[:6]}... and {outputs[:3]}...")

    # --- vision -------------------------------------------------------------------------
    def encode(self, pixel_values: np.ndarray, grid_thw: np.ndarray) -> np.ndarray:
        """Visual tokens [N / merge^2, hidden] float32 for patch rows [N, 1176] with grids [k, 3]."""
        merge = self.config.vision.spatial_merge_size
        grid = np.asarray(grid_thw, dtype=np.int64)
        if pixel_values.shape[0] != int(grid.prod(-1).sum()):
            raise ModelInputError(f"{pixel_values.shape[0]} pixel rows but grids {grid.tolist()} need "
                                  f"{int(grid.prod(-1).sum())}")
        self.config.vision.check_grid(grid)  # a typed error, not onnxruntime's Gather out of bounds
        values = [np.ascontiguousarray(pixel_values, dtype=np.float32), P.vision_positions(grid, merge),
                  P.vision_cu_seqlens(grid)]
        if self.config.vision.relative_abs_pos:
            values.append(P.vision_abs_coords(grid, merge, self.config.vision.abs_pos_ref_grid))
        feed = dict(zip(vision_io_names(self.config.vision.relative_abs_pos)[0], values, strict=True))
        return self.vision.run(None, feed)[0]

    # --- text ---------------------------------------------------------------------------
    def _embed(self, input_ids: np.ndarray, image_features, video_features) -> np.ndarray:
        embeds = np.asarray(self.embed[input_ids], dtype=np.float32)
        for token_id, features in ((self.config.image_token_id, image_features), (self.config.video_token_id, video_features)):
            if features is None:
                continue
            slots = input_ids == token_id
            if int(slots.sum()) != features.shape[0]:
                raise ValueError(f"{int(slots.sum())} pad tokens (id {token_id}) but {features.shape[0]} features")
            embeds[slots] = features
        return embeds

    def _new_state(self, batch: int, capacity: int, rope_deltas: np.ndarray) -> DecodeState:
        t = self.config.text
        shape = (batch, t.num_key_value_heads, capacity, t.head_dim)
        layers = t.num_hidden_layers
        mask = np.zeros((batch, capacity + 1), np.int64)
        mask[:, -1] = 1
        return DecodeState([np.zeros(shape, np.float32) for _ in range(layers)],
                           [np.zeros(shape, np.float32) for _ in range(layers)],
                           mask, 0, np.zeros(batch, np.int64), np.asarray(rope_deltas, np.int64).reshape(batch, 1))

    def _write(self, state: DecodeState, presents: list[np.ndarray]) -> None:
        """Copy the new keys / values [B, kv, L, hd] into their cache slots and mark them valid."""
        start, n = state.length, presents[0].shape[2]
        for i in range(len(state.keys)):
            state.keys[i][:, :, start:start + n] = presents[2 * i]
            state.values[i][:, :, start:start + n] = presents[2 * i + 1]
        state.length += n

    def prefill(self, input_ids: np.ndarray, position_ids: np.ndarray, rope_deltas: np.ndarray,
                image_features: np.ndarray | None = None, video_features: np.ndarray | None = None,
                attention_mask: np.ndarray | None = None) -> tuple[np.ndarray, DecodeState]:
        """Last-position logits [B, vocab] float32 and the cache, for ids [B, L], positions [3, B, L]."""
        batch, length = input_ids.shape
        t = self.config.text
        single = self.prefix_reuse and batch == 1 and attention_mask is None
        reused = self._reusable(input_ids[0]) if single else 0
        mask = np.ones((batch, length), np.int64) if attention_mask is None else np.asarray(attention_mask, np.int64)
        inputs, _ = decoder_io_names(t.num_hidden_layers)
        if reused:
            feed = {}
            for i in range(t.num_hidden_layers):
                feed[inputs[4 + 2 * i]] = self.prefix.keys[i][:, :, :reused]
                feed[inputs[5 + 2 * i]] = self.prefix.values[i][:, :, :reused]
        else:
            empty = np.zeros((batch, t.num_key_value_heads, 0, t.head_dim), np.float32)
            feed = {name: empty for name in inputs[4:]}
        embeds = self._embed(input_ids, image_features, video_features)[:, reused:]
        feed.update(inputs_embeds=embeds, attention_mask=mask,
                    position_ids=np.ascontiguousarray(position_ids[:, :, reused:], dtype=np.int64),
                    logits_index=np.array([length - reused - 1]))
        use_int8 = self.prefill_decoder is not None and length - reused >= self.prefill_min_rows
        session = self.prefill_decoder if use_int8 else self.decoder
        logits, *presents = session.run(None, feed)
        self.last_prefill_graph = self.manifest["prefill"]["graph"] if use_int8 else "decoder.onnx"
        state = self._new_state(batch, length + self.headroom, rope_deltas)
        if reused:
            self._write(state, [v for i in range(t.num_hidden_layers) for v in (self.prefix.keys[i][:, :, :reused],
                                                                                  self.prefix.values[i][:, :, :reused])])
        self._write(state, presents)
        state.mask[:, :length] = mask
        state.valid = mask.sum(-1)
        self.last_reused = reused
        if single:
            self._keep_prefix(input_ids[0], state)
        return logits[:, -1].copy(), state

    def _text_prefix_length(self, ids: np.ndarray) -> int:
        """Tokens before the first vision token (where every M-RoPE position is 0..n-1)."""
        c = self.config
        vision = np.flatnonzero(np.isin(ids, [c.vision_start_token_id, c.image_token_id, c.video_token_id]))
        return int(vision[0]) if len(vision) else len(ids)

    def _reusable(self, ids: np.ndarray) -> int:
        """How many leading tokens of `ids` the cached prefix holds (at least one token is left
        to compute, since the prefill must return its logits)."""
        if self.prefix is None:
            return 0
        n = min(len(self.prefix.ids), self._text_prefix_length(ids), len(ids) - 1)
        if n <= 0:
            return 0
        same = self.prefix.ids[:n] == ids[:n]
        return n if same.all() else int(np.argmin(same))

    def _keep_prefix(self, ids: np.ndarray, state: DecodeState) -> None:
        n = self._text_prefix_length(ids)
        self.prefix = PrefixCache(np.array(ids[:n], np.int64), [k[:, :, :n].copy() for k in state.keys],
                                  [v[:, :, :n].copy() for v in state.values])

    def decode(self, state: DecodeState, token_ids: np.ndarray, attention_mask: np.ndarray | None = None
               ) -> tuple[np.ndarray, DecodeState]:
        """Logits [B, vocab] for one new token per row (ids [B]) after the cache in `state`."""
        if attention_mask is not None and attention_mask.shape[1] != state.length + 1:
            raise ValueError(f"attention_mask covers {attention_mask.shape[1]} tokens, the cache holds "
                             f"{state.length} + 1 new")
        if state.length == state.capacity:
            state = self._grow(state)
        if state.binding is None:
            self._bind(state)
        step = state.step_inputs
        step["inputs_embeds"][:, 0] = self.embed[np.asarray(token_ids, np.int64)]
        step["position_ids"][:] = (state.valid[:, None] + state.rope_deltas)[None]  # index of the new real token
        self.decoder.run_with_iobinding(state.binding)
        outputs = state.step_outputs
        self._write(state, [outputs[name] for name in decoder_io_names(self.config.text.num_hidden_layers)[1][1:]])
        state.mask[:, state.length - 1] = 1
        state.valid += 1
        return outputs["logits"][:, -1].copy(), state

    def _bind(self, state: DecodeState) -> None:
        """One IOBinding over the cache buffers and in-place step inputs / outputs."""
        t, batch = self.config.text, state.mask.shape[0]
        inputs, outputs = decoder_io_names(t.num_hidden_layers)
        step_in = {"inputs_embeds": np.zeros((batch, 1, t.hidden_size), np.float32), "attention_mask": state.mask,
                   "position_ids": np.zeros((3, batch, 1), np.int64), "logits_index": np.zeros(1, np.int64)}
        for i in range(t.num_hidden_layers):
            step_in[inputs[4 + 2 * i]], step_in[inputs[5 + 2 * i]] = state.keys[i], state.values[i]
        step_out = {"logits": np.zeros((batch, 1, t.vocab_size), np.float32)}
        for name in outputs[1:]:
            step_out[name] = np.zeros((batch, t.num_key_value_heads, 1, t.head_dim), np.float32)
        binding = self.decoder.io_binding()
        for name in inputs:
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(step_in[name]))
        for name in outputs:
            binding.bind_ortvalue_output(name, ort.OrtValue.ortvalue_from_numpy(step_out[name]))
        state.binding, state.step_inputs, state.step_outputs = binding, step_in, step_out

    def gather_rows(self, rows: Sequence[tuple[DecodeState, int]]) -> DecodeState:
        """A new state whose row j is row `rows[j][1]` of `rows[j][0]`: how a batching scheduler
        adds sequences to a running batch and drops finished ones between decode steps.

        Each row's real cache slots (mask 1) are packed to the front; attention does not depend
        on where a key sits (keys carry their rotary position already, and the next position
        is `valid + rope_delta` per row), so packing changes no logit, and rows of different
        lengths share one cache whose length is the longest row's."""
        valid = np.array([state.valid[row] for state, row in rows], np.int64)
        length = int(valid.max()) if len(valid) else 0
        deltas = np.array([state.rope_deltas[row, 0] for state, row in rows], np.int64).reshape(-1, 1)
        out = self._new_state(len(rows), length + self.headroom, deltas)
        for j, (state, row) in enumerate(rows):
            slots = np.flatnonzero(state.mask[row, :state.length])
            for old, new in zip(state.keys + state.values, out.keys + out.values, strict=True):
                new[j, :, :len(slots)] = old[row, :, slots].transpose(1, 0, 2)
            out.mask[j, :len(slots)] = 1
        out.length, out.valid = length, valid
        return out

    def _grow(self, state: DecodeState) -> DecodeState:
        """A state with `headroom` more slots holding the same cache (one copy per growth)."""
        bigger = self._new_state(state.mask.shape[0], state.capacity + self.headroom, state.rope_deltas)
        n = state.length
        for old, new in zip(state.keys + state.values, bigger.keys + bigger.values, strict=True):
            new[:, :, :n] = old[:, :, :n]
        bigger.mask[:, :n] = state.mask[:, :n]
        bigger.length, bigger.valid = n, state.valid
        return bigger
