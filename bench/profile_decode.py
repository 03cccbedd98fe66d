"""Where a decode step's time goes: onnxruntime's profiler over decode steps of a package.

    python bench/profile_decode.py PACKAGE [--threads 1] [--context 64] [--steps 12]

Runs `decoder.onnx` of an exported package directly (random embeddings, a `--context`-token
prefill, then `--steps` one-token steps with the cache grown by concatenation) and prints the
kernel time per step by operator type, from the profile of the decode steps only. Used for the
"what stands in the way" notes of docs/PERFORMANCE.md (## Engine). Times are per step, ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ort_profile import kernel_ms_by_op  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--context", type=int, default=64, help="prefill tokens before the profiled steps")
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    text = json.loads((args.package / "config.json").read_text())["text_config"]
    hidden, kv_heads = text["hidden_size"], text["num_key_value_heads"]
    head_dim = hidden // text["num_attention_heads"]
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.enable_profiling = True
    options.profile_file_prefix = "/tmp/vlagent-profile-decode"
    session = ort.InferenceSession(str(args.package / "decoder.onnx"), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    past = [i.name for i in session.get_inputs() if i.name.startswith("past_key_values")]
    rng = np.random.default_rng(0)

    def feed(length: int, total: int) -> dict:
        return {"inputs_embeds": (rng.standard_normal((1, length, hidden)) * 0.02).astype(np.float32),
                "attention_mask": np.ones((1, total), np.int64),
                "position_ids": np.tile(np.arange(total - length, total), (3, 1, 1)).astype(np.int64),
                "logits_index": np.array([length - 1], np.int64)}

    cache = {name: np.zeros((1, kv_heads, 0, head_dim), np.float32) for name in past}

    def run(length: int) -> float:
        inputs = feed(length, next(iter(cache.values())).shape[2] + length) | cache
        started = time.perf_counter()
        outputs = session.run(None, inputs)
        seconds = time.perf_counter() - started
        for name, value in zip(names, outputs, strict=True):
            if name.startswith("present"):  # the decoder returns only the new tokens' keys / values
                key = name.replace("present", "past_key_values")
                cache[key] = np.concatenate([cache[key], value], axis=2)
        return seconds

    run(args.context)
    wall = [run(1) for _ in range(args.steps)]
    per_op = kernel_ms_by_op(session.end_profiling(), 1, args.steps)
    total = sum(per_op.values())
    print(f"{args.package}: {args.threads} thread(s), context {args.context}, median step "
          f"{np.median(wall) * 1000:.1f} ms wall, {total:.1f} ms in kernels")
    for op, ms in sorted(per_op.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {op:24s} {ms:8.2f} ms  {ms / total:6.1%}")


if __name__ == "__main__":
    main()
